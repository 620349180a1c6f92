"""MANSRTSP: the RTSP-like playback control carried in INFO bodies (GB/T 28181 annex B).

PLAY RTSP/1.0 / CSeq / Scale: 2.0        speed (negative = reverse)
PLAY RTSP/1.0 / CSeq / Range: npt=100-   seek to 100 s into the requested span
PLAY RTSP/1.0 / CSeq / Range: npt=now-   resume
PAUSE RTSP/1.0 / CSeq / PauseTime: now   pause
"""

from __future__ import annotations

from dataclasses import dataclass

MANSRTSP_TYPE = "application/mansrtsp"


class MansrtspError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class PlaybackCommand:
    method: str  # PLAY, PAUSE or TEARDOWN
    cseq: int | None = None
    scale: float | None = None
    # Seconds from the start of the requested span; None = resume where we are ("now").
    seek: float | None = None


def parse_mansrtsp(body: bytes) -> PlaybackCommand:
    text = body.decode("utf-8", "replace").replace("\r\n", "\n").strip()
    if not text:
        raise MansrtspError("empty MANSRTSP body")
    lines = text.split("\n")
    parts = lines[0].split()
    if not parts or (len(parts) > 1 and not parts[-1].upper().startswith("RTSP/")):
        raise MansrtspError(f"bad MANSRTSP request line {lines[0][:60]!r}")
    method = parts[0].upper()
    if method not in ("PLAY", "PAUSE", "TEARDOWN"):
        raise MansrtspError(f"unsupported MANSRTSP method {method[:20]!r}")
    cseq: int | None = None
    scale: float | None = None
    seek: float | None = None
    for line in lines[1:]:
        name, _, value = line.partition(":")
        key, value = name.strip().lower(), value.strip()
        try:
            if key == "cseq":
                cseq = int(value)
            elif key == "scale":
                scale = float(value)
            elif key == "range":
                seek = _npt_start(value)
        except ValueError as exc:
            raise MansrtspError(f"bad {name.strip()} value {value[:30]!r}") from exc
    if scale is not None and not (0.01 <= abs(scale) <= 64):
        raise MansrtspError(f"scale {scale} out of range")
    return PlaybackCommand(method, cseq, scale, seek)


def _npt_start(value: str) -> float | None:
    if not value.lower().startswith("npt="):
        raise ValueError(value)
    start = value[4:].split("-", 1)[0].strip().lower()
    if start in ("", "now"):
        return None
    seconds = float(start)
    if seconds < 0:
        raise ValueError(value)
    return seconds
