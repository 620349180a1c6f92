"""H.264/H.265 bitstream helpers: Exp-Golomb, emulation prevention, SPS picture size, keyframes."""

from __future__ import annotations

import pytest

from media.ps.frame import Frame
from media.ps.h26x import (
    BitReader,
    BitstreamError,
    guess_video_codec,
    inspect_access_unit,
    parse_h264_sps,
    parse_h265_sps,
    unescape_rbsp,
)
from tests.media.conftest import MIDSTART_PS, demux_all, encode_frames
from tests.vectors import vector_path


@pytest.mark.parametrize(
    ("escaped", "raw"),
    [
        (b"\x00\x00\x03\x01", b"\x00\x00\x01"),
        (b"\x00\x00\x03\x00\x00\x03", b"\x00\x00\x00\x00"),
        (b"\x12\x00\x00\x03\x03\x00", b"\x12\x00\x00\x03\x00"),
        (b"\x00\x03\x00", b"\x00\x03\x00"),
    ],
)
def test_emulation_prevention_bytes_are_removed(escaped: bytes, raw: bytes) -> None:
    assert unescape_rbsp(escaped) == raw


def bits(text: str) -> bytes:
    text = text.replace(" ", "")
    text += "0" * (-len(text) % 8)
    return int(text, 2).to_bytes(len(text) // 8, "big")


def test_exp_golomb_codes() -> None:
    reader = BitReader(bits("1 010 011 00100 00101 0001000 0000000011111111 1 1"))
    assert [reader.ue(), reader.ue(), reader.ue(), reader.ue()] == [0, 1, 2, 3]
    assert [reader.se(), reader.se()] == [-2, 4]
    assert reader.ue() == 510
    assert reader.u(1) == 1


def test_reading_past_the_end_raises_bitstream_error() -> None:
    reader = BitReader(b"\x00")
    with pytest.raises(BitstreamError):
        reader.ue()
    with pytest.raises(BitstreamError):
        BitReader(b"\xff").u(9)


@pytest.mark.parametrize(
    ("payload", "codec"),
    [
        (b"\x00\x00\x00\x01\x67\x4d\x00\x2a", "h264"),
        (b"\x00\x00\x00\x01\x09\xf0", "h264"),
        (b"\x00\x00\x01\x41\x9a", "h264"),
        (b"\x00\x00\x00\x01\x40\x01\x0c\x01", "h265"),
        (b"\x00\x00\x00\x01\x46\x01\x10", "h265"),
        (b"\x00\x00\x01\x26\x01\xaf", "h265"),
        (b"\x00\x00\x01\xb6\x10", None),
        (b"no start code", None),
        (b"\x00\x00\x01", None),
    ],
)
def test_codec_is_guessed_from_the_first_nal_header(payload: bytes, codec: str | None) -> None:
    assert guess_video_codec(payload) == codec


def test_h264_sps_of_the_1080p_camera_applies_cropping() -> None:
    frames, _ = demux_all(vector_path(MIDSTART_PS).read_bytes())
    info = inspect_access_unit(next(f for f in frames if f.keyframe).data, "h264")
    assert info.keyframe and info.sps is not None
    sps = parse_h264_sps(info.sps)
    assert (sps.width, sps.height, sps.profile_idc) == (1920, 1080, 77)  # coded 1920x1088, Main


@pytest.mark.parametrize(("width", "height"), [(320, 180), (352, 288), (200, 120)])
def test_h264_sps_from_x264_high_profile(width: int, height: int) -> None:
    frames = encode_frames("libx264", count=1, width=width, height=height)
    info = inspect_access_unit(frames[0].data, "h264")
    assert info.keyframe and info.sps is not None
    sps = parse_h264_sps(info.sps)
    assert (sps.width, sps.height) == (width, height)
    assert sps.profile_idc == 100


@pytest.mark.parametrize(("width", "height"), [(320, 180), (352, 288), (200, 120)])
def test_h265_sps_from_x265(width: int, height: int) -> None:
    frames = encode_frames("libx265", count=1, width=width, height=height)
    info = inspect_access_unit(frames[0].data, "h265")
    assert info.keyframe and info.sps is not None
    assert len(info.parameter_sets) == 3  # VPS, SPS, PPS
    sps = parse_h265_sps(info.sps)
    assert (sps.codec, sps.width, sps.height) == ("h265", width, height)


@pytest.mark.parametrize("nal", [b"", b"\x68\xce", b"\x67", b"\x67\x4d\x00"])
def test_broken_h264_sps_raises_bitstream_error(nal: bytes) -> None:
    with pytest.raises(BitstreamError):
        parse_h264_sps(nal)


def test_keyframe_flag_matches_the_encoder() -> None:
    frames: list[Frame] = encode_frames("libx265", count=11)
    assert [inspect_access_unit(f.data, "h265").keyframe for f in frames] == [f.keyframe for f in frames]
    assert sum(f.keyframe for f in frames) >= 2
