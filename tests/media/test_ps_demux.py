"""The PS demuxer on real camera captures and on hostile input.

Expected counts, and why:
- D1 camera: 1509 video PES make 1347 frames, one per pack (53.9 s at 25 fps). No frame is large
  (at most 35,974 bytes); the extra 162 PES = 54 keyframes x 3: the camera puts SPS, PPS, SEI and
  the IDR slice in four PES of one pack, only the first carrying a PTS. 54 PSMs (one before each
  keyframe), 54 private 0xBD PES skipped, no byte dropped.
- 1080p camera: the capture starts 1,651 bytes into a PES; those bytes are dropped, then 650
  frames (43.3 s at 15 fps) with all 8 IDR frames, though the PSM misstates its own layout.
- Audio-only tool sample: 35,353 G.711 A-law frames, no video, despite a PSM that declares video
  and an es_map_length that disagrees with its entries.
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from media.ps.demux import PsDemuxer
from media.ps.frame import Frame
from media.ps.mux import pack_header, pes_packets
from media.ps.psm import build_psm, parse_psm
from tests.media.conftest import AUDIO_PS, D1_PS, MIDSTART_PS, demux_all, encode_frames
from tests.vectors import vector_path


@dataclass(frozen=True)
class Expect:
    video_frames: int
    keyframes: int
    audio_frames: int
    codecs: set[str]
    size: tuple[int, int] | None
    video_pes: int
    private_pes: int
    dropped_bytes: int
    seconds: float


VECTORS = [
    pytest.param(D1_PS, Expect(1347, 54, 0, {"h264"}, (704, 576), 1509, 54, 0, 53.9), id="d1-private-bd"),
    pytest.param(
        MIDSTART_PS, Expect(650, 8, 0, {"h264"}, (1920, 1080), 650, 0, 1651, 43.3), id="1080p-midstart"
    ),
    pytest.param(AUDIO_PS, Expect(0, 0, 35353, {"g711a"}, None, 0, 0, 0, 319.3), id="audio-only-bad-psm"),
]


@pytest.mark.parametrize(("name", "expect"), VECTORS)
def test_vector_demuxes_to_the_expected_frames(name: str, expect: Expect) -> None:
    frames, demuxer = demux_all(vector_path(name).read_bytes())
    video = [f for f in frames if f.stream == "video"]
    audio = [f for f in frames if f.stream == "audio"]
    stats = demuxer.stats
    assert (len(video), sum(f.keyframe for f in video), len(audio)) == (
        expect.video_frames,
        expect.keyframes,
        expect.audio_frames,
    )
    assert {f.codec for f in frames} == expect.codecs
    assert (None if demuxer.sps is None else (demuxer.width, demuxer.height)) == expect.size
    assert (stats.video_pes, stats.private_pes, stats.dropped_bytes) == (
        expect.video_pes,
        expect.private_pes,
        expect.dropped_bytes,
    )
    assert stats.resyncs == 0 and stats.dropped_frames == 0
    timeline = video or audio
    assert (timeline[-1].pts - timeline[0].pts) / 90000 == pytest.approx(expect.seconds, abs=0.1)
    if video:
        assert stats.packs == len(video)  # one pack per frame
        pts = [f.pts for f in video]
        assert pts == sorted(pts) and len(set(pts)) == len(pts)


@pytest.mark.parametrize("name", [D1_PS, MIDSTART_PS])
def test_every_keyframe_is_an_idr_access_unit_with_parameter_sets(name: str) -> None:
    frames, _ = demux_all(vector_path(name).read_bytes())
    for frame in (f for f in frames if f.keyframe):
        assert frame.data.startswith(b"\x00\x00\x00\x01\x67")  # SPS first
        assert b"\x00\x00\x01\x68" in frame.data[:200]  # then PPS
        assert b"\x00\x00\x01\x65" in frame.data  # and an IDR slice


def test_d1_keyframe_is_joined_from_four_pes(d1_frames: list[Frame]) -> None:
    keyframe = next(f for f in d1_frames if f.keyframe)
    nal_types = [
        keyframe.data[i + 3] & 0x1F
        for i in range(len(keyframe.data) - 3)
        if keyframe.data[i : i + 3] == b"\x00\x00\x01"
    ]
    assert nal_types == [7, 8, 6, 5]  # SPS, PPS, SEI, IDR: one PES each in the capture


def test_vector_psms_are_read_despite_their_lies() -> None:
    for name, expected in [
        (D1_PS, {0xE0: 0x1B}),
        (MIDSTART_PS, {0xE0: 0x1B, 0xC0: 0x90}),
        (AUDIO_PS, {0xE0: 0x1B, 0xC0: 0x90}),
    ]:
        assert demux_all(vector_path(name).read_bytes())[1].stream_types == expected, name


PSM_TABLE = [
    pytest.param(build_psm([(0x1B, 0xE0), (0x90, 0xC0)]), {0xE0: 0x1B, 0xC0: 0x90}, id="plain"),
    pytest.param(
        # H.264 entry declares 16 descriptor bytes but carries one 12-byte descriptor; audio follows.
        b"\x00\x00\x01\xbc\x00\x1e\xe1\xff\x00\x00\x00\x14"
        + b"\x1b\xe0\x00\x10"
        + b"\x2a\x0a"
        + bytes(10)
        + b"\x90\xc0\x00\x00"
        + bytes(4),
        {0xE0: 0x1B, 0xC0: 0x90},
        id="descriptor-length-too-long",
    ),
    pytest.param(
        # es_map_length says 8, the entries take 14.
        b"\x00\x00\x01\xbc\x00\x18\xe1\xff\x00\x00\x00\x08"
        + b"\x1b\xe0\x00\x06\x0a\x04eng\x00"
        + b"\x90\xc0\x00\x00"
        + bytes(4),
        {0xE0: 0x1B, 0xC0: 0x90},
        id="es-map-length-too-short",
    ),
    pytest.param(b"\x00\x00\x01\xbc\x00\x02\xe1", {}, id="truncated"),
    pytest.param(b"\x00\x00\x01\xbc\xff\xff" + bytes(20), {}, id="zeros"),
]


@pytest.mark.parametrize(("unit", "streams"), PSM_TABLE)
def test_psm_parser_trusts_descriptors_over_declared_lengths(unit: bytes, streams: dict[int, int]) -> None:
    assert parse_psm(unit) == streams


def test_feeding_at_random_boundaries_gives_the_same_frames(d1_bytes: bytes, d1_frames: list[Frame]) -> None:
    rng = random.Random(28181)
    demuxer = PsDemuxer()
    frames: list[Frame] = []
    pos = 0
    while pos < len(d1_bytes):
        step = rng.choice([1, 2, 3, 5, 13, 188, 1400, 4000, 70000])
        frames += demuxer.feed(d1_bytes[pos : pos + step])
        pos += step
    assert frames + demuxer.flush() == d1_frames


def test_feeding_one_byte_at_a_time_gives_the_same_frames(d1_bytes: bytes) -> None:
    prefix = d1_bytes[:60000]
    expected, _ = demux_all(prefix, chunk=len(prefix))
    demuxer = PsDemuxer()
    frames = [f for i in range(len(prefix)) for f in demuxer.feed(prefix[i : i + 1])]
    assert frames + demuxer.flush() == expected
    assert len(expected) > 5


def test_every_split_point_of_a_small_stream_gives_the_same_frames(d1_bytes: bytes) -> None:
    stream = d1_bytes[:6000]
    expected, _ = demux_all(stream, chunk=len(stream))
    for cut in range(len(stream) + 1):
        demuxer = PsDemuxer()
        assert demuxer.feed(stream[:cut]) + demuxer.feed(stream[cut:]) + demuxer.flush() == expected


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 30000), max_size=8))
def test_any_split_points_give_the_same_frames(cuts: list[int]) -> None:
    stream = vector_path(D1_PS).read_bytes()[:30000]
    expected, _ = demux_all(stream, chunk=len(stream))
    demuxer = PsDemuxer()
    frames: list[Frame] = []
    previous = 0
    for cut in [*sorted(cuts), len(stream)]:
        frames += demuxer.feed(stream[previous:cut])
        previous = cut
    assert frames + demuxer.flush() == expected


def test_midstart_capture_fed_from_any_offset_resynchronises() -> None:
    data = vector_path(MIDSTART_PS).read_bytes()
    for offset in (1, 17, 5000, 100001):
        frames, demuxer = demux_all(data[offset:])
        keyframes = [f for f in frames if f.keyframe]
        assert 7 <= len(keyframes) <= 8 and demuxer.width == 1920


def test_corrupted_input_never_raises_and_recovers(d1_bytes: bytes, d1_frames: list[Frame]) -> None:
    rng = random.Random(1)
    data = bytearray(d1_bytes[:400000])
    for _ in range(40):
        data[rng.randrange(len(data))] = rng.randrange(256)
    frames, demuxer = demux_all(bytes(data), chunk=977)
    clean = [f for f in d1_frames if f.pts <= frames[-1].pts]
    intact = set(clean) & set(frames)
    assert len(intact) >= len(clean) - 45  # each corruption costs at most about one frame
    assert demuxer.stats.bytes_in == len(data)


@pytest.mark.parametrize("cut", [1, 3, 4, 10, 13, 14, 20, 100, 2000, 50001])
def test_truncated_input_never_raises(d1_bytes: bytes, cut: int) -> None:
    frames, _ = demux_all(d1_bytes[:cut])
    assert all(isinstance(f, Frame) for f in frames)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.binary(max_size=400), max_size=12))
def test_arbitrary_bytes_never_raise(chunks: list[bytes]) -> None:
    demuxer = PsDemuxer(max_frame_size=4096)
    for chunk in chunks:
        demuxer.feed(chunk)
    demuxer.flush()


START_CODE_SOUP = st.lists(
    st.sampled_from(
        [
            b"\x00\x00\x01\xba",
            b"\x00\x00\x01\xe0",
            b"\x00\x00\x01\xc0",
            b"\x00\x00\x01\xbc",
            b"\x00\x00\x01\xbd",
        ]
        + [b"\x00\x00", b"\xff", b"\x44", b"\x80\xc0\x0a", b"\x00\x10", b"\x21\x00\x01"]
    )
    | st.binary(max_size=12),
    max_size=60,
).map(b"".join)


@settings(max_examples=500)
@given(START_CODE_SOUP, st.integers(1, 50))
def test_start_code_soup_never_raises(data: bytes, chunk: int) -> None:
    demux_all(data, chunk=chunk, max_frame_size=2048)


def test_garbage_without_pack_headers_is_dropped_not_buffered() -> None:
    demuxer = PsDemuxer()
    for _ in range(100):
        assert demuxer.feed(b"\x00\x00\x01\xe0" + bytes(range(256)) * 40) == []
    assert len(demuxer._buf) <= 3
    assert demuxer.stats.dropped_bytes == 100 * (4 + 256 * 40) - len(demuxer._buf)


def test_unbounded_pes_that_never_ends_is_bounded_by_max_frame_size() -> None:
    demuxer = PsDemuxer(max_frame_size=100_000)
    demuxer.feed(pack_header(0) + b"\x00\x00\x01\xe0\x00\x00\x80\x80\x05" + bytes.fromhex("2100010001"))
    for _ in range(100):
        demuxer.feed(b"\x00\x00\x00\x01\x41" + bytes(5000))
    assert demuxer._size <= 100_000 and len(demuxer._buf) <= 3
    assert demuxer.stats.dropped_frames >= 1


def _unbounded_stream(frames: list[Frame], with_psm: bool) -> bytes:
    """Pack header + (optional PSM) + one length-0 video PES per frame, as some cameras send."""
    out = bytearray()
    for frame in frames:
        out += pack_header(frame.dts)
        if with_psm:
            out += build_psm([(0x24 if frame.codec == "h265" else 0x1B, 0xE0)])
        pes = pes_packets(0xE0, b"", frame.pts, frame.dts)[0]
        out += pes[:4] + b"\x00\x00" + pes[6:] + frame.data
    return bytes(out)


def test_length_zero_pes_runs_to_the_next_start_code(d1_frames: list[Frame]) -> None:
    frames = d1_frames[:60]
    assert demux_all(_unbounded_stream(frames, with_psm=True), chunk=333)[0] == frames


@pytest.mark.parametrize("encoder", ["libx264", "libx265"])
def test_codec_is_guessed_from_nal_units_when_no_psm_was_seen(encoder: str) -> None:
    frames = encode_frames(encoder)
    got, demuxer = demux_all(_unbounded_stream(frames, with_psm=False), chunk=101)
    assert got == frames
    assert demuxer.stream_types == {}
    assert (demuxer.width, demuxer.height) == (320, 180)


def test_mpeg1_pack_headers_and_pes_headers_are_tolerated() -> None:
    scr = b"\x00\x00\x01\xba\x21\x00\x01\x00\x01\x80\x00\x01"  # MPEG-1 pack header, 12 bytes
    au = b"\x00\x00\x00\x01\x09\xf0"
    pes_body = b"\xff\xff" + b"\x21\x00\x01\x00\x01" + au  # stuffing, PTS only
    pes = b"\x00\x00\x01\xe0" + struct.pack("!H", len(pes_body)) + pes_body
    frames, demuxer = demux_all(
        scr + pes + scr + pes.replace(b"\x21\x00\x01\x00\x01", b"\x21\x00\x01\x00\x03")
    )
    assert [(f.pts, f.data) for f in frames] == [(0, au), (1, au)]
    assert demuxer.stats.packs == 2


@pytest.mark.parametrize(
    ("stream_type", "payload", "codec"),
    [
        (None, b"\xd5" * 160, "g711a"),
        (None, b"\xff\xf1\x50\x80\x02\x1f\xfc" + bytes(9), "aac"),
        (0x91, b"\x7f" * 160, "g711u"),
        (0x0F, b"\xff\xf1\x50\x80\x02\x1f\xfc" + bytes(9), "aac"),
    ],
)
def test_audio_codec_comes_from_psm_or_a_sane_guess(
    stream_type: int | None, payload: bytes, codec: str
) -> None:
    stream = pack_header(0)
    if stream_type is not None:
        stream += build_psm([(stream_type, 0xC0)])
    stream += b"".join(pes_packets(0xC0, payload, 900, None))
    frames, _ = demux_all(stream)
    assert frames == [Frame("audio", codec, 900, 900, payload, False)]


def test_private_and_padding_units_between_pes_are_skipped() -> None:
    au = b"\x00\x00\x00\x01\x41\x9a"
    stream = (
        pack_header(0)
        + b"\x00\x00\x01\xbd\x00\x04abcd"
        + b"".join(pes_packets(0xE0, au, 3600, 3600))
        + b"\x00\x00\x01\xbe\x00\x03\xff\xff\xff"
        + b"\x00\x00\x01\xbf\x00\x00"
        + b"\x00\x00\x01\xf0\x00\x02\x80\x00"  # ECM: length-prefixed, not a video stream
    )
    frames, demuxer = demux_all(stream, chunk=7)
    assert [f.data for f in frames] == [au]
    assert (demuxer.stats.private_pes, demuxer.stats.skipped_units, demuxer.stats.video_pes) == (2, 2, 1)


def test_frames_split_by_pts_alone_match_one_frame_per_pack(d1_bytes: bytes, d1_frames: list[Frame]) -> None:
    assert demux_all(d1_bytes, frame_per_pack=False)[0] == d1_frames


def test_continuation_pes_whose_frame_start_was_lost_is_dropped() -> None:
    first = b"\x00\x00\x00\x01\x41\x9a\x01"
    orphan = b"\x00\x00\x00\x01\x41\x9a\x02"
    second = b"\x00\x00\x00\x01\x41\x9a\x03"
    stream = (
        pack_header(0)
        + b"".join(pes_packets(0xE0, first, 3600, 3600))
        + pack_header(3600)
        + b"".join(pes_packets(0xE0, orphan, None, None))
        + pack_header(7200)
        + b"".join(pes_packets(0xE0, second, 10800, 10800))
    )
    frames, demuxer = demux_all(stream)
    assert [(f.pts, f.data) for f in frames] == [(3600, first), (10800, second)]
    assert demuxer.stats.dropped_bytes == len(orphan)


def test_keyframes_without_parameter_sets_get_the_last_ones_seen() -> None:
    frames = [f for f in encode_frames("libx264", count=11) if f.keyframe]
    assert len(frames) >= 2
    sps_pps = frames[0].data[: frames[0].data.index(b"\x00\x00\x01\x06")]  # up to the SEI
    bare = b"\x00" + frames[1].data[frames[1].data.index(b"\x00\x00\x01\x65") :]  # IDR slice only
    stream = b"".join(
        pack_header(f.dts) + b"".join(pes_packets(0xE0, f.data, f.pts, f.dts)) for f in frames[:1]
    )
    stream += pack_header(frames[1].dts) + b"".join(pes_packets(0xE0, bare, frames[1].pts, frames[1].dts))
    got, _ = demux_all(stream)
    assert got[1].keyframe
    assert got[1].data == sps_pps + bare
