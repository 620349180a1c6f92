"""Fragmented MP4 for MSE: an init segment and fragments that a decoder plays back in full."""

from __future__ import annotations

import io

import av
import pytest

from media.audio import AudioPacket
from media.fmp4 import Fmp4Error, Fmp4Fragmenter, mime_codec, mime_from_sps, split_boxes
from media.live import _starts_with_sync_sample
from media.ps.frame import Frame
from media.ps.h26x import inspect_access_unit
from media.timestamps import Timeline
from tests.media.conftest import aac_packets, encode_frames


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


def _fragment_with_audio(
    frames: list[Frame], audio: list[AudioPacket], per_frame: bool
) -> tuple[Fmp4Fragmenter, list[bytes]]:
    fragmenter = Fmp4Fragmenter("h264", 704, 576, per_frame=per_frame, audio=True)
    timeline = Timeline()
    pending = list(audio)
    fragments: list[bytes] = []
    for frame in frames:
        pts, dts = timeline.map(frame.pts, frame.dts)
        fragments += fragmenter.push(frame, pts, dts)
        while pending and pending[0].pts <= dts:
            fragments += fragmenter.push_audio(pending.pop(0))
    fragments += fragmenter.close()
    return fragmenter, fragments


@pytest.mark.parametrize("per_frame", [True, False], ids=["fragment-per-frame", "fragment-per-gop"])
def test_with_audio_the_init_segment_has_both_tracks_and_both_decode(
    d1_frames: list[Frame], g711a: bytes, per_frame: bool
) -> None:
    video = [f for f in d1_frames if f.stream == "video"][:300]  # 12 s
    audio = aac_packets(g711a, 11.5)
    fragmenter, fragments = _fragment_with_audio(video, audio, per_frame)
    assert fragmenter.content_type == 'video/mp4; codecs="avc1.4D001E,mp4a.40.2"'
    assert sum(map(_starts_with_sync_sample, fragments)) == 12  # still one per IDR: audio starts none
    with av.open(io.BytesIO(fragmenter.init + b"".join(fragments))) as container:  # type: ignore[operator]
        assert [s.type for s in container.streams] == ["video", "audio"]
        decoded = {"video": 0, "audio": 0}
        samples = 0
        for frame in container.decode():
            kind = "audio" if isinstance(frame, av.AudioFrame) else "video"
            decoded[kind] += 1
            samples += frame.samples if isinstance(frame, av.AudioFrame) else 0
    assert decoded == {"video": 300 - 0, "audio": len(audio)}
    assert samples / 16000 == pytest.approx(len(audio) * 1024 / 16000)
    assert fragmenter.errors == 0


def test_an_audio_only_stream_is_fragmented_as_audio_mp4() -> None:
    fragmenter = Fmp4Fragmenter(None, None, None, audio=True)
    assert fragmenter.content_type == 'audio/mp4; codecs="mp4a.40.2"'


def test_audio_only_fragments_decode(g711a: bytes) -> None:
    audio = aac_packets(g711a, 3.0)
    fragmenter = Fmp4Fragmenter(None, None, None, audio=True)
    fragments: list[bytes] = []
    for packet in audio:
        fragments += fragmenter.push_audio(packet)
    fragments += fragmenter.close()
    assert all(_starts_with_sync_sample(f) for f in fragments)  # any AAC frame is a starting point
    with av.open(io.BytesIO(fragmenter.init + b"".join(fragments))) as container:  # type: ignore[operator]
        assert len(list(container.decode(audio=0))) == len(audio)
