"""Fragmented MP4 for MSE: an init segment and fragments that a decoder plays back in full."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import av
import pytest

from media.audio import AudioPacket
from media.fmp4 import Fmp4Error, Fmp4Fragmenter, mime_codec, mime_from_sps, split_boxes
from media.fragment import (
    NON_SYNC_SAMPLE,
    SYNC_SAMPLE,
    length_prefixed,
    nal_units,
    read_tracks,
    starts_with_sync_sample,
)
from media.ps.frame import Frame
from media.ps.h26x import inspect_access_unit
from media.timestamps import Timeline
from tests.media.conftest import MIDSTART_PS, aac_packets, demux_all, encode_frames
from tests.media.replay import ffprobe
from tests.vectors import vector_path


def _fragment(frames: list[Frame], codec: str, size: tuple[int, int]) -> tuple[Fmp4Fragmenter, list[bytes]]:
    fragmenter = Fmp4Fragmenter(codec, *size)
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


def test_d1_frames_become_an_init_segment_and_fragments_that_decode_to_every_frame(
    d1_frames: list[Frame],
) -> None:
    video = [f for f in d1_frames if f.stream == "video"]
    fragmenter, fragments = _fragment(video, "h264", (704, 576))
    assert fragmenter.init is not None and fragmenter.init[4:8] == b"ftyp"
    assert len(fragments) == 1347
    assert all(f[4:8] == b"moof" for f in fragments)
    assert sum(map(starts_with_sync_sample, fragments)) == 54  # one per IDR
    assert _decode(fragmenter.init + b"".join(fragments)) == (1347, 704, 576, "h264")
    assert fragmenter.errors == 0


def test_the_mse_codecs_string_comes_from_the_sps_main_profile_level_3(d1_frames: list[Frame]) -> None:
    fragmenter, _ = _fragment([f for f in d1_frames if f.stream == "video"][:30], "h264", (704, 576))
    assert fragmenter.mime == "avc1.4D001E"


def test_h265_is_fragmented_with_an_hevc_codecs_string() -> None:
    frames = encode_frames("libx265", count=12)
    fragmenter, fragments = _fragment(frames, "h265", (320, 180))
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


def _fragment_with_audio(frames: list[Frame], audio: list[AudioPacket]) -> tuple[Fmp4Fragmenter, list[bytes]]:
    fragmenter = Fmp4Fragmenter("h264", 704, 576, audio=True)
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


def test_with_audio_the_init_segment_has_both_tracks_and_both_decode(
    d1_frames: list[Frame], g711a: bytes
) -> None:
    video = [f for f in d1_frames if f.stream == "video"][:300]  # 12 s
    audio = aac_packets(g711a, 11.5)
    fragmenter, fragments = _fragment_with_audio(video, audio)
    assert fragmenter.content_type == 'video/mp4; codecs="avc1.4D001E,mp4a.40.2"'
    assert sum(map(starts_with_sync_sample, fragments)) == 12  # still one per IDR: audio starts none
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
    assert all(starts_with_sync_sample(f) for f in fragments)  # any AAC frame is a starting point
    with av.open(io.BytesIO(fragmenter.init + b"".join(fragments))) as container:  # type: ignore[operator]
        assert len(list(container.decode(audio=0))) == len(audio)


# ---- the writer's own fragments: timing, decoding frame-exact ------------------------------------


def _traf_fields(fragment: bytes) -> tuple[int, int, int, int, int, int]:
    """(track_ID, tfdt, duration, size, flags, composition offset) of a one-sample fragment."""
    tfhd, tfdt, trun = (fragment.index(kind) + 4 for kind in (b"tfhd", b"tfdt", b"trun"))
    track = struct.unpack_from("!I", fragment, tfhd + 4)[0]
    base = struct.unpack_from("!Q", fragment, tfdt + 4)[0]
    duration, size, flags, cts = struct.unpack_from("!IIIi", fragment, trun + 12)
    return track, base, duration, size, flags, cts


def _keyframe_stream(codec: str = "libx264", count: int = 6) -> list[Frame]:
    """Encoded frames starting with a keyframe (one every 5), 320x180."""
    return encode_frames(codec, count=count)


@pytest.mark.parametrize(
    ("dts", "tfdts", "durations"),
    [
        ([0, 3600, 7200, 10800], [0, 3600, 7200, 10800], [7200, 7200, 7200, 7200]),
        ([0, 6000, 9600, 21600], [0, 6000, 9600, 21600], [7200, 12000, 7200, 24000]),
        ([1000, 4000, 4000, 7000], [1000, 4000, 7000], [7200, 6000, 6000]),
    ],
    ids=["steady-25fps", "changing-steps", "repeated-dts-dropped"],
)
def test_each_frame_goes_out_at_once_with_its_duration_guessed_from_the_last_step_and_its_true_tfdt(
    dts: list[int], tfdts: list[int], durations: list[int]
) -> None:
    """Declared duration: DURATION_SLACK (2) times the last step; the first frame's guess is
    one frame at 25 fps."""
    frames = _keyframe_stream(count=len(dts))
    fragmenter = Fmp4Fragmenter("h264", 320, 180)
    out = []
    for frame, time in zip(frames, dts, strict=True):
        pushed = fragmenter.push(frame, time, time)
        assert len(pushed) <= 1  # never held back for the next frame
        out += pushed
    fields = [_traf_fields(f) for f in out]
    assert [f[1] for f in fields] == tfdts  # the true decode time: estimates never accumulate
    assert [f[2] for f in fields] == durations
    assert fragmenter.errors == len(dts) - len(tfdts)


@pytest.mark.parametrize("skipped", [0, 1, 2, 3], ids=lambda n: f"{n}-frames-skipped")
def test_a_camera_skipping_up_to_three_frames_stays_one_coded_frame_group_for_mse(skipped: int) -> None:
    """MSE starts a new group, dropping frames to the next keyframe, when a DTS lands more than
    twice the previous frame's duration after it: the declared durations keep skips inside."""
    frames = _keyframe_stream(count=3)
    fragmenter = Fmp4Fragmenter("h264", 320, 180)
    times = [0, 3600, 3600 * (2 + skipped)]
    fields = [
        _traf_fields(f) for frame, t in zip(frames, times, strict=True) for f in fragmenter.push(frame, t, t)
    ]
    assert fields[2][1] - fields[1][1] <= 2 * fields[1][2]


def test_the_composition_offset_is_pts_minus_dts_and_keyframes_are_sync_samples() -> None:
    frames = _keyframe_stream(count=2)
    fragmenter = Fmp4Fragmenter("h264", 320, 180)
    first = fragmenter.push(frames[0], 7200, 3600)[0]
    second = fragmenter.push(frames[1], 14400, 7200)[0]
    assert _traf_fields(first)[4:] == (SYNC_SAMPLE, 3600)
    assert _traf_fields(second)[4] == (SYNC_SAMPLE if frames[1].keyframe else NON_SYNC_SAMPLE)
    assert _traf_fields(first)[3] == len(length_prefixed(frames[0].data, "h264"))


def test_decode_time_stays_continuous_across_the_33_bit_wrap_through_the_timeline() -> None:
    frames = _keyframe_stream(count=6)
    start = (1 << 33) - 2 * 3600  # two frames before the PS clock wraps
    timeline = Timeline()
    fragmenter = Fmp4Fragmenter("h264", 320, 180)
    out: list[bytes] = []
    for index, frame in enumerate(frames):
        raw = (start + index * 3600) % (1 << 33)
        out += fragmenter.push(frame, *timeline.map(raw, raw))
    assert [_traf_fields(f)[1] for f in out] == [index * 3600 for index in range(6)]
    assert fragmenter.errors == 0


def test_frames_before_the_first_keyframe_are_skipped_and_a_broken_frame_is_counted(
    d1_frames: list[Frame],
) -> None:
    video = [f for f in d1_frames if f.stream == "video"]
    first = next(index for index, frame in enumerate(video) if frame.keyframe)
    fragmenter = Fmp4Fragmenter("h264", 704, 576)
    assert fragmenter.push(video[first + 1], 0, 0) == [] and fragmenter.init is None
    assert len(fragmenter.push(video[first], 3600, 3600)) == 1 and fragmenter.init is not None
    assert fragmenter.push(Frame("video", "h264", 0, 0, b"\xff\xfe"), 7200, 7200) == []
    assert len(fragmenter.push(video[first + 1], 10800, 10800)) == 1
    assert fragmenter.errors == 1


def test_audio_fragments_carry_the_aac_track_at_its_own_timescale(g711a: bytes) -> None:
    audio = aac_packets(g711a, 1.0)
    fragmenter = Fmp4Fragmenter("h264", 320, 180, audio=True)
    assert fragmenter.push_audio(audio[0]) == []  # no init segment before the first keyframe
    fragmenter.push(_keyframe_stream(count=1)[0], 0, 0)
    tracks = {t.handler: t for t in read_tracks(fragmenter.init or b"")}
    assert (tracks[b"vide"].track_id, tracks[b"soun"].track_id, tracks[b"soun"].timescale) == (1, 2, 16000)
    fields = [_traf_fields(f) for p in audio[1:4] for f in fragmenter.push_audio(p)]
    assert [f[0] for f in fields] == [2, 2, 2]
    assert [f[1] for f in fields] == [p.pts * 16000 // 90000 for p in audio[1:4]]
    assert [f[2] for f in fields] == [1024, 1024, 1024]


def _decoded(blob: bytes) -> dict[str, list[int]]:
    """Decoded frames' timestamps per kind, in the 90 kHz output time."""
    times: dict[str, list[int]] = {"video": [], "audio": []}
    with av.open(io.BytesIO(blob)) as container:
        for frame in container.decode():
            kind = "audio" if isinstance(frame, av.AudioFrame) else "video"
            assert frame.pts is not None and frame.time_base is not None
            times[kind].append(round(frame.pts * frame.time_base * 90000))
    return times


def _clip(codec: str, audio: bool) -> list[Frame]:
    from gbsim.stream.pattern import encode_pattern

    if codec == "h265" and "libx265" not in av.codecs_available:
        pytest.skip("libx265 not available")
    return list(encode_pattern(codec, seconds=3.0, audio=audio).frames)


def _source(name: str, d1_frames: list[Frame]) -> tuple[list[Frame], str, tuple[int, int]]:
    if name == "d1":
        return d1_frames, "h264", (704, 576)
    if name == "1080p-midstart":
        return demux_all(vector_path(MIDSTART_PS).read_bytes())[0], "h264", (1920, 1080)
    codec = name.split("-")[1]
    return _clip(codec, audio=False), codec, (640, 360)


@pytest.mark.parametrize("audio", [False, True], ids=["video", "video+aac"])
@pytest.mark.parametrize("name", ["d1", "1080p-midstart", "gbsim-h264", "gbsim-h265"])
def test_init_and_fragments_decode_frame_exact_and_ffprobe_reads_them(
    name: str, audio: bool, d1_frames: list[Frame], g711a: bytes, tmp_path: Path
) -> None:
    frames, codec, size = _source(name, d1_frames)
    video = [f for f in frames if f.stream == "video"]
    first = next(index for index, frame in enumerate(video) if frame.keyframe)
    timeline = Timeline()
    times = [timeline.map(f.pts, f.dts) for f in video]
    aac = aac_packets(g711a, times[-1][1] / 90000) if audio else []
    fragmenter = Fmp4Fragmenter(codec, *size, audio=audio)
    pending = list(aac)
    fragments: list[bytes] = []
    for frame, (pts, dts) in zip(video, times, strict=True):
        fragments += fragmenter.push(frame, pts, dts)
        while pending and fragmenter.init is not None and pending[0].pts <= dts:
            fragments += fragmenter.push_audio(pending.pop(0))
    assert fragmenter.errors == 0 and fragmenter.init is not None
    expected = sorted(pts for pts, _ in times[first:])
    decoded = _decoded(fragmenter.init + b"".join(fragments))
    assert decoded["video"] == expected  # every frame from the first keyframe, at its own time
    assert len(decoded["audio"]) == len(aac) - len(pending)  # every AAC frame pushed
    path = tmp_path / "live.mp4"
    path.write_bytes(fragmenter.init + b"".join(fragments))
    probe = ffprobe(path)
    kinds = {s["codec_type"]: s for s in probe["streams"]}
    assert int(kinds["video"]["nb_read_frames"]) == len(expected)
    assert kinds["video"]["width"] == size[0] and ("audio" in kinds) is audio


def test_a_late_joiner_gets_the_kept_group_written_out_and_it_decodes(
    d1_frames: list[Frame], g711a: bytes
) -> None:
    video = [f for f in d1_frames if f.stream == "video"][:120]
    timeline = Timeline()
    times = [timeline.map(f.pts, f.dts) for f in video]
    aac = aac_packets(g711a, 4.0)
    fragmenter = Fmp4Fragmenter("h264", 704, 576, audio=True)
    group: list[tuple[Frame, int, int]] = []
    for frame, (pts, dts) in zip(video, times, strict=True):
        group = [(frame, pts, dts)] if frame.keyframe else [*group, (frame, pts, dts)]
        fragmenter.push(frame, pts, dts)
    kept_aac = [p for p in aac if p.pts >= group[0][2]]
    replayed = fragmenter.replay(group, kept_aac)
    assert starts_with_sync_sample(replayed[0]) and len(replayed) == len(group) + len(kept_aac)
    durations = [_traf_fields(f)[2] for f in replayed if _traf_fields(f)[0] == 1]
    steps = [b[2] - a[2] for a, b in zip(group, group[1:], strict=False)]
    assert durations[:-1] == steps  # the true steps, known now; the last is the estimate
    decoded = _decoded((fragmenter.init or b"") + b"".join(replayed))
    assert decoded["video"] == sorted(pts for _, pts, _ in group)
    assert len(decoded["audio"]) == len(kept_aac)


def test_a_late_joiner_without_a_kept_keyframe_gets_nothing_to_wait_for_the_next(
    d1_frames: list[Frame],
) -> None:
    video = [f for f in d1_frames if f.stream == "video"]
    first = next(index for index, frame in enumerate(video) if frame.keyframe)
    fragmenter = Fmp4Fragmenter("h264", 704, 576)
    fragmenter.push(video[first], 0, 0)
    assert fragmenter.replay([(video[first + 1], 3600, 3600)], []) == []


def test_a_keyframe_without_parameter_sets_is_counted_and_the_next_good_one_starts_the_stream() -> None:
    keyframe = _keyframe_stream(count=1)[0]
    bare = b"".join(b"\x00\x00\x00\x01" + nal for nal in nal_units(keyframe.data) if nal[0] & 0x1F not in (7, 8))
    fragmenter = Fmp4Fragmenter("h264", 320, 180)
    assert fragmenter.push(Frame("video", "h264", 0, 0, bare, keyframe=True), 0, 0) == []
    assert (fragmenter.init, fragmenter.content_type, fragmenter.errors) == (None, None, 1)
    assert len(fragmenter.push(keyframe, 3600, 3600)) == 1
    assert fragmenter.content_type == 'video/mp4; codecs="avc1.64000C"'  # High, level 1.2
