"""A clip: elementary-stream frames with 90 kHz timestamps from 0, looped by the senders.

Made once per run, either from a PS file (demuxed with our own PS demuxer, starting at its
first key frame) or from an encoded test pattern (`pattern.encode_pattern`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from media.ps.demux import PsDemuxer
from media.ps.frame import Frame

CLOCK = 90000


class ClipError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Clip:
    frames: tuple[Frame, ...]  # sorted by DTS, the first is a video key frame when there is video
    duration: int  # 90 kHz; the loop period
    video_codec: str | None
    audio_codec: str | None
    width: int | None = None
    height: int | None = None

    @property
    def seconds(self) -> float:
        return self.duration / CLOCK

    @property
    def video_frames(self) -> int:
        return sum(1 for frame in self.frames if frame.stream == "video")

    def keyframe_index_at(self, time: int) -> int:
        """Index of the last frame a decoder can start from at or before `time` (90 kHz)."""
        best = 0
        for index, frame in enumerate(self.frames):
            if frame.dts > time:
                break
            if self.video_codec is None or (frame.keyframe and frame.stream == "video"):
                best = index
        return best


def make_clip(frames: list[Frame], *, width: int | None = None, height: int | None = None) -> Clip:
    """Normalise frames into a loopable clip: start at the first video key frame, DTS from 0."""
    has_video = any(frame.stream == "video" for frame in frames)
    if has_video:
        first_key = next((i for i, f in enumerate(frames) if f.stream == "video" and f.keyframe), None)
        if first_key is None:
            raise ClipError("no video key frame: nothing a player could start from")
        frames = frames[first_key:]
    if not frames:
        raise ClipError("no frames")
    if not has_video:
        frames = _retime_audio(frames)
    frames = sorted(frames, key=lambda f: f.dts)
    origin = frames[0].dts
    shifted = [replace(f, pts=f.pts - origin, dts=f.dts - origin) for f in frames]
    video = [f for f in shifted if f.stream == "video"] or shifted
    step = (video[-1].dts - video[0].dts) // max(len(video) - 1, 1) if len(video) > 1 else CLOCK // 25
    duration = max(video[-1].dts + step, shifted[-1].dts + 1)
    video_codec = next((f.codec for f in shifted if f.stream == "video"), None)
    audio_codec = next((f.codec for f in shifted if f.stream == "audio"), None)
    return Clip(tuple(shifted), duration, video_codec, audio_codec, width, height)


def _retime_audio(frames: list[Frame]) -> list[Frame]:
    """Audio-only files carry unreliable timestamps (the research-institute sample jumps);
    G.711 is 8000 bytes a second, so time each frame by the bytes before it."""
    if not all(f.codec in ("g711a", "g711u") for f in frames):
        return frames
    out, position = [], 0
    for frame in frames:
        ts = position * CLOCK // 8000
        out.append(replace(frame, pts=ts, dts=ts, keyframe=True))
        position += len(frame.data)
    return out


def clip_from_ps_file(path: str | Path, *, max_seconds: float | None = None) -> Clip:
    """Read a GB PS file (as cameras send it) into a clip."""
    data = Path(path).read_bytes()
    demuxer = PsDemuxer()
    frames: list[Frame] = []
    for start in range(0, len(data), 65536):
        frames += demuxer.feed(data[start : start + 65536])
    frames += demuxer.flush()
    clip = make_clip(frames, width=demuxer.width, height=demuxer.height)
    if max_seconds is not None and clip.seconds > max_seconds:
        limit = int(max_seconds * CLOCK)
        kept = [f for f in clip.frames if f.dts < limit]
        clip = make_clip(kept, width=clip.width, height=clip.height)
    return clip
