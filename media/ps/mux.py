"""GB/T 28181-style MPEG-PS muxer: one pack per frame, as cameras send it.

FFmpeg cannot write this shape (no PSM, other stream ids, no G.711), so the device simulator
uses this one. Each frame becomes one pack: pack header, then (before keyframes and at the start)
a system header and a PSM, then the frame's PES packets, split when a frame exceeds 0xFF80 bytes.
"""

from __future__ import annotations

import struct

from media.ps.frame import CODEC_STREAM_TYPES, VIDEO_CODECS, Frame
from media.ps.psm import build_psm

VIDEO_STREAM_ID = 0xE0
AUDIO_STREAM_ID = 0xC0
MAX_PES_PAYLOAD = 0xFF80
# SCR leads the DTS by 40 ms, as common camera muxers do.
SCR_LEAD = 3600
DEFAULT_MUX_RATE = 6106  # units of 50 bytes/s, ~2.4 Mbit/s; decoders only use it for buffering hints
_AUDIO_ONLY_PSM_INTERVAL = 50


class MuxError(ValueError):
    """A frame the muxer cannot represent (unknown codec, stream not configured)."""


def _timestamp(prefix: int, value: int) -> bytes:
    value &= 0x1FFFFFFFF
    return bytes(
        (
            (prefix << 4) | ((value >> 29) & 0x0E) | 0x01,
            (value >> 22) & 0xFF,
            ((value >> 14) & 0xFE) | 0x01,
            (value >> 7) & 0xFF,
            ((value << 1) & 0xFE) | 0x01,
        )
    )


def pack_header(scr: int, mux_rate: int = DEFAULT_MUX_RATE) -> bytes:
    """MPEG-2 pack header, 14 bytes, no stuffing (byte 13 = 0xF8)."""
    scr &= 0x1FFFFFFFF
    ext = 0
    return b"\x00\x00\x01\xba" + bytes(
        (
            0x44 | ((scr >> 27) & 0x38) | ((scr >> 28) & 0x03),
            (scr >> 20) & 0xFF,
            0x04 | ((scr >> 12) & 0xF8) | ((scr >> 13) & 0x03),
            (scr >> 5) & 0xFF,
            0x04 | ((scr << 3) & 0xF8) | ((ext >> 7) & 0x03),
            ((ext << 1) & 0xFE) | 0x01,
            (mux_rate >> 14) & 0xFF,
            (mux_rate >> 6) & 0xFF,
            ((mux_rate << 2) & 0xFC) | 0x03,
            0xF8,
        )
    )


def system_header(*, video: bool, audio: bool, rate_bound: int = DEFAULT_MUX_RATE) -> bytes:
    """System header declaring at most one video (0xE0) and one audio (0xC0) stream."""
    body = bytearray(
        (
            0x80 | ((rate_bound >> 15) & 0x7F),
            (rate_bound >> 7) & 0xFF,
            ((rate_bound << 1) & 0xFE) | 0x01,
            int(audio) << 2,  # audio_bound, fixed_flag 0, CSPS_flag 0
            0xE0 | int(video),  # audio/video lock flags, marker, video_bound
            0x7F,
        )
    )
    if video:
        body += bytes((VIDEO_STREAM_ID, 0xE0, 0xE8))  # buffer bound scale 1 KiB, 232 KiB
    if audio:
        body += bytes((AUDIO_STREAM_ID, 0xC0, 0x20))  # buffer bound scale 128 B, 4 KiB
    return b"\x00\x00\x01\xbb" + struct.pack("!H", len(body)) + bytes(body)


def pes_packets(stream_id: int, payload: bytes, pts: int | None, dts: int | None) -> list[bytes]:
    """PES packets for one frame; only the first carries timestamps."""
    out: list[bytes] = []
    view = memoryview(payload)
    first = True
    offset = 0
    while first or offset < len(payload):
        chunk = view[offset : offset + MAX_PES_PAYLOAD]
        offset += len(chunk)
        if first and pts is not None:
            if dts is not None and dts != pts:
                flags, header = 0xC0, _timestamp(0x3, pts) + _timestamp(0x1, dts)
            else:
                flags, header = 0x80, _timestamp(0x2, pts)
        else:
            flags, header = 0x00, b""
        first = False
        length = 3 + len(header) + len(chunk)
        out.append(
            b"\x00\x00\x01"
            + bytes((stream_id,))
            + struct.pack("!HBBB", length, 0x80, flags, len(header))
            + header
            + bytes(chunk)
        )
    return out


class PsMuxer:
    """Turns `Frame`s into PS packs, one pack per frame."""

    def __init__(self, *, video_codec: str | None = "h264", audio_codec: str | None = None) -> None:
        for codec in (video_codec, audio_codec):
            if codec is not None and codec not in CODEC_STREAM_TYPES:
                raise MuxError(f"no PS stream_type for codec {codec!r}")
        if video_codec is not None and video_codec not in VIDEO_CODECS:
            raise MuxError(f"{video_codec!r} is not a video codec")
        self.video_codec = video_codec
        self.audio_codec = audio_codec
        entries: list[tuple[int, int]] = []
        if video_codec:
            entries.append((CODEC_STREAM_TYPES[video_codec], VIDEO_STREAM_ID))
        if audio_codec:
            entries.append((CODEC_STREAM_TYPES[audio_codec], AUDIO_STREAM_ID))
        self._headers = system_header(video=video_codec is not None, audio=audio_codec is not None)
        self._psm_entries = entries
        self._psm_version = 0
        self._frames = 0

    def mux(self, frame: Frame) -> bytes:
        if frame.stream == "video":
            if frame.codec != self.video_codec:
                raise MuxError(f"video codec {frame.codec!r}, muxer set up for {self.video_codec!r}")
            stream_id = VIDEO_STREAM_ID
        else:
            if frame.codec != self.audio_codec:
                raise MuxError(f"audio codec {frame.codec!r}, muxer set up for {self.audio_codec!r}")
            stream_id = AUDIO_STREAM_ID
        with_headers = (
            self._frames == 0
            or (frame.keyframe and frame.stream == "video")
            or (self.video_codec is None and self._frames % _AUDIO_ONLY_PSM_INTERVAL == 0)
        )
        self._frames += 1
        parts = [pack_header(max(frame.dts - SCR_LEAD, 0))]
        if with_headers:
            parts.append(self._headers)
            parts.append(build_psm(self._psm_entries, self._psm_version))
        dts = frame.dts if frame.stream == "video" else None
        parts.extend(pes_packets(stream_id, frame.data, frame.pts, dts))
        return b"".join(parts)
