"""Shared inputs for the media tests: frames demuxed from real vectors, and encoded samples."""

from __future__ import annotations

from fractions import Fraction

import pytest

from media.ps.demux import PsDemuxer
from media.ps.frame import Frame
from tests.vectors import vector_path

D1_PS = "ps/hik_d1_h264_private_bd.ps"
MIDSTART_PS = "ps/hik_1080p_h264_midstart.ps"
AUDIO_PS = "ps/fri_g711a_audio_only_bad_psm.mpg"
D1_RTP = "rtp/hik_d1_h264.rtp"
D1_LEN16 = "rtp/hik_d1_h264.len16.rtpdump"


def demux_all(data: bytes, chunk: int = 1400, **options: object) -> tuple[list[Frame], PsDemuxer]:
    demuxer = PsDemuxer(**options)  # type: ignore[arg-type]
    frames: list[Frame] = []
    for start in range(0, len(data), chunk):
        frames += demuxer.feed(data[start : start + chunk])
    frames += demuxer.flush()
    return frames, demuxer


@pytest.fixture(scope="session")
def d1_bytes() -> bytes:
    return vector_path(D1_PS).read_bytes()


@pytest.fixture(scope="session")
def d1_frames(d1_bytes: bytes) -> list[Frame]:
    return demux_all(d1_bytes)[0]


def encode_frames(codec: str, count: int = 12, width: int = 320, height: int = 180) -> list[Frame]:
    """Annex B access units from a real encoder (PyAV), as `Frame`s with 25 fps timestamps."""
    av = pytest.importorskip("av")
    if codec not in av.codecs_available:
        pytest.skip(f"encoder {codec} not available in this PyAV build")
    context = av.CodecContext.create(codec, "w")
    context.width = width
    context.height = height
    context.pix_fmt = "yuv420p"
    context.time_base = Fraction(1, 25)
    context.gop_size = 5
    context.options = {"bf": "0"} if codec == "libx264" else {"x265-params": "log-level=none:bframes=0"}
    frames: list[Frame] = []
    name = "h264" if codec == "libx264" else "h265"
    packets = []
    for index in range(count):
        picture = av.VideoFrame(width, height, "yuv420p")
        for plane in picture.planes:
            plane.update(bytes([(index * 17 + plane.line_size) % 256]) * plane.buffer_size)
        picture.pts = index
        packets += context.encode(picture)
    packets += context.encode(None)
    for packet in packets:
        pts = int(packet.pts) * 3600
        frames.append(Frame("video", name, pts, pts, bytes(packet), packet.is_keyframe))
    return frames
