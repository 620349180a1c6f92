"""What the PS demuxer emits and the muxer takes: elementary-stream frames, and codec tables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

StreamKind = Literal["video", "audio"]

# stream_type values used by GB/T 28181 (annex C) and ISO/IEC 13818-1.
STREAM_TYPE_CODECS: dict[int, str] = {
    0x10: "mpeg4",
    0x1B: "h264",
    0x24: "h265",
    0x80: "svac",
    0x0F: "aac",
    0x90: "g711a",
    0x91: "g711u",
    0x92: "g722.1",
    0x93: "g723.1",
    0x99: "g729",
    0x9B: "svac-audio",
}
CODEC_STREAM_TYPES: dict[str, int] = {codec: st for st, codec in STREAM_TYPE_CODECS.items()}
VIDEO_CODECS = frozenset({"mpeg4", "h264", "h265", "svac"})


@dataclass(frozen=True, slots=True)
class Frame:
    """One access unit (video) or one PES worth of samples (audio); timestamps in 90 kHz units."""

    stream: StreamKind
    codec: str
    pts: int
    dts: int
    data: bytes
    keyframe: bool = False
