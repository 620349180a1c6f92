"""Fragmented MP4 for live view over WebSocket (MSE): an init segment, then moof+mdat fragments.

PyAV's mp4 muxer (codec copy) writes into an in-memory sink; the bytes are cut at top-level box
boundaries into the init segment (ftyp+moov) and fragments (moof+mdat). The muxer writes a
fragment when the next frame arrives, so a per-frame fragment is one frame behind the input.
With `audio=True` the init segment declares a second track, AAC-LC from media/audio.py
(`push_audio`), and the MIME type names both codecs; `codec=None` makes an audio-only stream.
"""

from __future__ import annotations

import io
import logging
import struct

import av

from media.audio import MIME_CODEC as AAC_MIME_CODEC
from media.audio import AudioPacket
from media.packets import TIME_BASE, add_audio_stream, audio_packet, frame_packet
from media.ps.frame import Frame
from media.ps.h26x import unescape_rbsp

logger = logging.getLogger(__name__)

_AV_CODECS = {"h264": "h264", "h265": "hevc"}
# A video frame waits at most this long (microseconds) in the muxer for audio to interleave with,
# so a camera whose audio lags or pauses does not hold back the live picture.
_MAX_INTERLEAVE_DELTA = "500000"


class Fmp4Error(RuntimeError):
    """The stream cannot be written as fragmented MP4 (an unsupported codec)."""


def split_boxes(buf: bytearray) -> list[tuple[bytes, bytes]]:
    """Remove complete top-level ISO BMFF boxes from the front of `buf`; return (type, box)."""
    out: list[tuple[bytes, bytes]] = []
    pos = 0
    size_all = len(buf)
    while size_all - pos >= 8:
        size = struct.unpack_from("!I", buf, pos)[0]
        header = 8
        if size == 1:
            if size_all - pos < 16:
                break
            size = struct.unpack_from("!Q", buf, pos + 8)[0]
            header = 16
        if size < header:
            raise Fmp4Error(f"box of size {size} in the muxer's output")
        if size_all - pos < size:
            break
        out.append((bytes(buf[pos + 4 : pos + 8]), bytes(buf[pos : pos + size])))
        pos += size
    del buf[:pos]
    return out


def mime_codec(init: bytes) -> str | None:
    """The RFC 6381 codecs parameter MSE needs (e.g. avc1.4D401E), read from the init segment."""
    at = init.find(b"avcC")
    if at != -1 and len(init) >= at + 8:
        profile, compat, level = init[at + 5], init[at + 6], init[at + 7]
        return f"avc1.{profile:02X}{compat:02X}{level:02X}"
    at = init.find(b"hvcC")
    if at == -1 or len(init) < at + 4 + 13:
        return None
    return _hevc_codecs("hvc1" if b"hvc1" in init else "hev1", init[at + 4 : at + 4 + 13])


def mime_from_sps(codec: str, sps: bytes | None) -> str | None:
    """The same codecs parameter as `mime_codec`, from the SPS alone: no muxer needs to run.

    H.264: profile, constraint flags and level are the SPS's first three bytes, as avcC copies
    them. H.265: the general profile_tier_level is the 12 bytes after the SPS's first RBSP byte,
    as hvcC copies it; FFmpeg's mp4 muxer tags HEVC `hev1`.
    """
    if not sps:
        return None
    if codec == "h264":
        if len(sps) < 4:
            return None
        return f"avc1.{sps[1]:02X}{sps[2]:02X}{sps[3]:02X}"
    if codec == "h265":
        rbsp = unescape_rbsp(sps[2:24])  # 13 RBSP bytes, plus room for emulation bytes
        if len(rbsp) < 13:
            return None
        return _hevc_codecs("hev1", b"\x01" + rbsp[1:13])
    return None


def _hevc_codecs(tag: str, c: bytes) -> str:
    """RFC 6381 / ISO 14496-15 annex E string from hvcC's first 13 bytes."""
    space = ("", "A", "B", "C")[c[1] >> 6]
    tier = "H" if c[1] & 0x20 else "L"
    profile = c[1] & 0x1F
    compat = int.from_bytes(c[2:6], "big")
    compat_reversed = int(f"{compat:032b}"[::-1], 2)
    constraints = list(c[6:12])
    while constraints and constraints[-1] == 0:
        constraints.pop()
    parts = [tag, f"{space}{profile}", f"{compat_reversed:X}", f"{tier}{c[12]}"]
    parts += [f"{b:X}" for b in constraints]
    return ".".join(parts)


def content_type(video_codecs: str | None, *, audio: bool) -> str | None:
    """The MIME type MSE's addSourceBuffer takes: video/mp4 with the video's codecs parameter,
    plus AAC-LC when the stream carries audio; audio/mp4 for an audio-only stream."""
    if video_codecs is None:
        return f'audio/mp4; codecs="{AAC_MIME_CODEC}"' if audio else None
    codecs = f"{video_codecs},{AAC_MIME_CODEC}" if audio else video_codecs
    return f'video/mp4; codecs="{codecs}"'


class _Sink(io.RawIOBase):
    def __init__(self) -> None:
        self.buf = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self.buf += data
        return len(data)


class Fmp4Fragmenter:
    """Frames in (Annex B, 90 kHz, increasing DTS), fMP4 bytes out.

    `per_frame=True` cuts a fragment at every frame (lowest latency); otherwise at keyframes.
    The first frame must be a keyframe carrying the parameter sets. A frame the muxer rejects is
    dropped and counted in `errors`; it never raises to the caller after the first frame. With
    audio the video is track 1 and the audio track 2; audio-only, the audio is track 1.
    """

    def __init__(
        self,
        codec: str | None,
        width: int | None,
        height: int | None,
        *,
        per_frame: bool = True,
        audio: bool = False,
    ) -> None:
        name = _AV_CODECS.get(codec) if codec is not None else None
        if name is None and not (codec is None and audio):
            raise Fmp4Error(f"no fMP4 output for {codec}")
        flags = "empty_moov+default_base_moof"
        options = {"flush_packets": "1"}
        if not per_frame:
            flags += "+frag_keyframe"
        elif audio:
            # frag_every_frame cuts at every packet of either track, before the muxer knows the
            # video frame's duration (it writes 0 and the timeline slips): a fragment as soon as
            # it holds any duration is one per video frame, with the audio since the last one.
            options["frag_duration"] = "1"
        else:
            flags += "+frag_every_frame"
        options["movflags"] = flags
        if audio and name:
            options["max_interleave_delta"] = _MAX_INTERLEAVE_DELTA
        self._sink = _Sink()
        self._container = av.open(self._sink, "w", format="mp4", options=options)
        self._stream = self._container.add_mux_stream(name, width=width or 0, height=height or 0) if name else None
        if self._stream is not None:
            self._stream.time_base = TIME_BASE
        self._audio = add_audio_stream(self._container) if audio else None
        self.audio = audio
        self.init: bytes | None = None
        self.mime: str | None = None
        self.errors = 0
        self._head: list[bytes] = []
        self._pending: list[bytes] = []
        self._closed = False

    def push(self, frame: Frame, pts: int, dts: int) -> list[bytes]:
        """Mux one frame; return the fragments completed so far (usually the previous frame's)."""
        if self._closed or self._stream is None:
            return []
        packet = frame_packet(frame, self._stream, pts, dts)
        try:
            self._container.mux(packet)
        except (av.FFmpegError, ValueError) as exc:
            self.errors += 1
            logger.debug("fmp4: frame at dts %d dropped: %s", dts, exc)
            return []
        return self._collect()

    def push_audio(self, audio: AudioPacket) -> list[bytes]:
        """Mux one AAC frame; return the fragments completed so far."""
        if self._closed or self._audio is None:
            return []
        try:
            self._container.mux(audio_packet(audio, self._audio))
        except (av.FFmpegError, ValueError) as exc:
            self.errors += 1
            logger.debug("fmp4: audio at %d dropped: %s", audio.pts, exc)
            return []
        return self._collect()

    @property
    def content_type(self) -> str | None:
        """The full MIME type for MSE: audio-only at once, with video once the init segment exists."""
        if self._stream is not None and self.mime is None:
            return None
        return content_type(self.mime, audio=self.audio)

    def close(self) -> list[bytes]:
        """Flush the last fragment and release the muxer."""
        if self._closed:
            return []
        self._closed = True
        try:
            self._container.close()
        except (av.FFmpegError, ValueError) as exc:
            logger.debug("fmp4: close failed: %s", exc)
        return self._collect()

    def _collect(self) -> list[bytes]:
        fragments: list[bytes] = []
        for kind, box in split_boxes(self._sink.buf):
            if self.init is None:
                self._head.append(box)
                if kind == b"moov":
                    self.init = b"".join(self._head)
                    self.mime = mime_codec(self.init)
                    self._head = []
                continue
            self._pending.append(box)
            if kind == b"mdat":
                fragments.append(b"".join(self._pending))
                self._pending = []
        return fragments
