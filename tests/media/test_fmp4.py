"""Fragmented MP4 for MSE: an init segment and fragments that a decoder plays back in full."""

from __future__ import annotations

import io

import av
import pytest

from media.fmp4 import Fmp4Error, Fmp4Fragmenter, mime_codec, mime_from_sps, split_boxes
from media.live import _starts_with_sync_sample
from media.ps.frame import Frame
from media.ps.h26x import inspect_access_unit
from media.timestamps import Timeline
from tests.media.conftest import encode_frames


def _fragment(
    frames: list[Frame], codec: str, size: tuple[int, int], per_frame: bool
) -> tuple[Fmp4Fragmenter, list[bytes]]:
    fragmenter = Fmp4Fragmenter(codec, *size, per_frame=per_frame)
    timeline = Timeline()
    fragments: list[bytes] = []
    for frame in frames:
        fragments += fragmenter.push(frame, *timeline.map(frame.pts, frame.dts))
    fragments += fragmenter.close()
    return fragmenter, fragments


def _decode(blob: bytes) -> tuple[int, int, int, str]:
    with av.open(io.BytesIO(blob)) as container:
        stream = container.streams.video[0]
        count = len(list(container.decode(stream)))
        return count, stream.codec_context.width, stream.codec_context.height, stream.codec_context.name


@pytest.mark.parametrize("per_frame", [True, False], ids=["fragment-per-frame", "fragment-per-gop"])
def test_d1_frames_become_an_init_segment_and_fragments_that_decode_to_every_frame(
    d1_frames: list[Frame], per_frame: bool
) -> None:
    video = [f for f in d1_frames if f.stream == "video"]
    fragmenter, fragments = _fragment(video, "h264", (704, 576), per_frame)
    assert fragmenter.init is not None and fragmenter.init[4:8] == b"ftyp"
    assert len(fragments) == (1347 if per_frame else 54)
    assert all(f[4:8] == b"moof" for f in fragments)
    assert sum(map(_starts_with_sync_sample, fragments)) == 54  # one per IDR
    assert _decode(fragmenter.init + b"".join(fragments)) == (1347, 704, 576, "h264")
    assert fragmenter.errors == 0


def test_the_mse_codecs_string_comes_from_the_sps_main_profile_level_3(d1_frames: list[Frame]) -> None:
    fragmenter, _ = _fragment([f for f in d1_frames if f.stream == "video"][:30], "h264", (704, 576), True)
    assert fragmenter.mime == "avc1.4D001E"


def test_h265_is_fragmented_with_an_hevc_codecs_string() -> None:
    frames = encode_frames("libx265", count=12)
    fragmenter, fragments = _fragment(frames, "h265", (320, 180), True)
    assert fragmenter.mime is not None and fragmenter.mime.split(".")[0] in ("hev1", "hvc1")
    assert fragmenter.mime.split(".")[1] == "1"  # Main profile
    assert _decode(fragmenter.init + b"".join(fragments)) == (12, 320, 180, "hevc")  # type: ignore[operator]


def test_a_frame_the_muxer_rejects_is_dropped_and_the_rest_still_plays(d1_frames: list[Frame]) -> None:
    video = [f for f in d1_frames if f.stream == "video"][:50]
    fragmenter = Fmp4Fragmenter("h264", 704, 576)
    fragments: list[bytes] = []
    for index, frame in enumerate(video):
        dts = index * 3600 if index != 10 else 9 * 3600  # frame 10 repeats frame 9's DTS
        fragments += fragmenter.push(frame, dts, dts)
    fragments += fragmenter.close()
    assert fragmenter.errors == 1
    assert _decode(fragmenter.init + b"".join(fragments))[0] == 49  # type: ignore[operator]


def test_codecs_without_an_mp4_mapping_are_refused_up_front() -> None:
    with pytest.raises(Fmp4Error, match="no fMP4 output for g711a"):
        Fmp4Fragmenter("g711a", None, None)


def test_split_boxes_keeps_an_incomplete_box_for_later() -> None:
    buf = bytearray(b"\x00\x00\x00\x08free\x00\x00\x00\x0bmdat\x01")
    assert split_boxes(buf) == [(b"free", b"\x00\x00\x00\x08free")]
    buf += b"\x02\x03"
    assert split_boxes(buf) == [(b"mdat", b"\x00\x00\x00\x0bmdat\x01\x02\x03")]
    assert buf == bytearray()


def test_mime_codec_is_none_without_a_known_configuration_box() -> None:
    assert mime_codec(b"\x00\x00\x00\x08free") is None


def test_the_codecs_string_from_the_sps_alone_matches_the_muxers(d1_frames: list[Frame]) -> None:
    first = next(index for index, frame in enumerate(d1_frames) if frame.keyframe)
    h264, h265 = d1_frames[first : first + 3], encode_frames("libx265", count=3)
    for codec, frames, size in (("h264", h264, (704, 576)), ("h265", h265, (320, 180))):
        fragmenter = Fmp4Fragmenter(codec, *size)
        for frame in frames:
            fragmenter.push(frame, frame.pts, frame.dts)
        fragmenter.close()
        sps = inspect_access_unit(frames[0].data, codec).sps
        assert fragmenter.mime is not None and mime_from_sps(codec, sps) == fragmenter.mime
    assert mime_from_sps("h264", None) is None and mime_from_sps("mpeg4", b"\x00\x01\x02\x03") is None
