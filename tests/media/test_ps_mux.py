"""Our GB-style PS muxer: byte layout, round trips through RTP, and an independent reader (FFmpeg)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from media.ps.demux import PsDemuxer
from media.ps.frame import Frame
from media.ps.mux import MAX_PES_PAYLOAD, MuxError, PsMuxer, pack_header, pes_packets, system_header
from media.ps.psm import crc32_mpeg2, parse_psm
from media.rtp.framing import split_headerless
from media.rtp.packet import parse_rtp
from media.rtp.packetizer import Packetizer
from media.rtp.reorder import ReorderBuffer
from tests.media.conftest import AUDIO_PS, D1_PS, D1_RTP, demux_all, encode_frames
from tests.vectors import vector_path

av = pytest.importorskip("av")


@pytest.mark.parametrize(
    ("scr", "wire"),
    [
        (0, "000001ba 44 00 04 00 04 01 005f6b f8"),
        (0x1FFFFFFFF, "000001ba 7f ff ff ff fc 01 005f6b f8"),
        (90000, "000001ba 44 00 16 fc 84 01 005f6b f8"),
    ],
)
def test_pack_header_layout(scr: int, wire: str) -> None:
    header = pack_header(scr)
    assert header == bytes.fromhex(wire)
    bits = f"{int.from_bytes(header[4:10], 'big'):048b}"
    # '01' SCR[32..30] 1 SCR[29..15] 1 SCR[14..0] 1 ext(9) 1
    assert bits[0:2] == "01" and bits[5] == bits[21] == bits[37] == bits[47] == "1"
    assert int(bits[2:5] + bits[6:21] + bits[22:37], 2) == scr


@pytest.mark.parametrize(
    ("pts", "dts", "wire"),
    [
        (None, None, "000001e0 0005 80 00 00 4142"),
        (90000, None, "000001e0 000a 80 80 05 21 00 05 bf 21 4142"),
        (93600, 90000, "000001e0 000f 80 c0 0a 31 00 05 db 41 11 00 05 bf 21 4142"),
        (90000, 90000, "000001e0 000a 80 80 05 21 00 05 bf 21 4142"),
    ],
)
def test_pes_header_layout(pts: int | None, dts: int | None, wire: str) -> None:
    assert pes_packets(0xE0, b"AB", pts, dts) == [bytes.fromhex(wire)]


@pytest.mark.parametrize(
    ("size", "pieces"),
    [(0, [0]), (MAX_PES_PAYLOAD, [MAX_PES_PAYLOAD]), (200_000, [65408, 65408, 65408, 3776])],
)
def test_frames_over_0xff80_bytes_span_several_pes(size: int, pieces: list[int]) -> None:
    packets = pes_packets(0xE0, bytes(size), 0, 0)
    assert [len(p) - 6 - 3 - p[8] for p in packets] == pieces
    assert all(len(p) - 6 <= 0xFFFF for p in packets)
    assert [p[7] for p in packets] == [0x80] + [0x00] * (len(pieces) - 1)  # PTS on the first only


def test_system_header_and_psm_precede_keyframes_only(d1_frames: list[Frame]) -> None:
    muxer = PsMuxer()
    packs = [muxer.mux(f) for f in d1_frames[:200]]
    with_psm = [i for i, p in enumerate(packs) if b"\x00\x00\x01\xbc" in p[:64]]
    keyframes = [i for i, f in enumerate(d1_frames[:200]) if f.keyframe]
    assert with_psm == sorted({0, *keyframes})
    for pack in packs:
        assert pack.count(b"\x00\x00\x01\xba") == 1 and pack.startswith(b"\x00\x00\x01\xba")
    assert packs[0][14:].startswith(system_header(video=True, audio=False))


def test_psm_written_by_the_muxer_has_a_valid_crc_and_g711_entry() -> None:
    pack = PsMuxer(video_codec="h265", audio_codec="g711u").mux(Frame("audio", "g711u", 0, 0, b"\x7f" * 160))
    start = pack.index(b"\x00\x00\x01\xbc")
    length = int.from_bytes(pack[start + 4 : start + 6], "big") + 6
    psm = pack[start : start + length]
    assert parse_psm(psm) == {0xE0: 0x24, 0xC0: 0x91}
    assert crc32_mpeg2(psm) == 0  # a CRC over data plus its CRC is zero for CRC-32/MPEG-2


@pytest.mark.parametrize(
    ("options", "frame"),
    [
        ({"video_codec": "h264"}, Frame("video", "h265", 0, 0, b"")),
        ({"video_codec": "h264"}, Frame("audio", "g711a", 0, 0, b"")),
    ],
)
def test_frames_the_muxer_was_not_set_up_for_raise_mux_error(options: dict[str, str], frame: Frame) -> None:
    with pytest.raises(MuxError):
        PsMuxer(**options).mux(frame)


def test_unknown_codecs_are_refused_at_construction() -> None:
    with pytest.raises(MuxError):
        PsMuxer(video_codec="vp8")
    with pytest.raises(MuxError):
        PsMuxer(video_codec="g711a")


def mux_to_rtp(frames: list[Frame], muxer: PsMuxer, ssrc: int = 0x0100000001 & 0xFFFFFFFF) -> list[bytes]:
    packetizer = Packetizer(ssrc=ssrc, first_sequence=65000)
    return [p for f in frames for p in packetizer.packetize(muxer.mux(f), f.pts)]


def rtp_to_frames(packets: list[bytes], depth: int = 8) -> list[Frame]:
    reorder = ReorderBuffer(depth=depth)
    demuxer = PsDemuxer()
    frames: list[Frame] = []
    released = [r for p in packets for r in reorder.push(parse_rtp(p))] + reorder.flush()
    assert all(r.lost_before == 0 for r in released)
    for r in released:
        frames += demuxer.feed(r.packet.payload)
    return frames + demuxer.flush()


def test_vector_frames_survive_mux_packetize_reorder_and_demux(d1_frames: list[Frame]) -> None:
    packets = mux_to_rtp(d1_frames, PsMuxer())
    rng = random.Random(96)
    for i in range(7, len(packets) - 4, 7):  # swap neighbours as a network would
        j = i + rng.randint(1, 3)
        packets[i], packets[j] = packets[j], packets[i]
    assert rtp_to_frames(packets) == d1_frames
    assert {parse_rtp(p).sequence for p in packets[:600]} >= {65535, 0}  # crossed the wrap


def test_g711_audio_survives_the_round_trip() -> None:
    frames, _ = demux_all(vector_path(AUDIO_PS).read_bytes())
    frames = frames[:3000]
    assert rtp_to_frames(mux_to_rtp(frames, PsMuxer(video_codec=None, audio_codec="g711a"))) == frames


@pytest.mark.parametrize("encoder", ["libx264", "libx265"])
def test_encoder_output_survives_the_round_trip(encoder: str) -> None:
    frames = encode_frames(encoder, count=30)
    codec = frames[0].codec
    assert rtp_to_frames(mux_to_rtp(frames, PsMuxer(video_codec=codec))) == frames


def test_camera_rtp_capture_payload_gives_a_superset_of_the_ps_capture(d1_frames: list[Frame]) -> None:
    packets = split_headerless(vector_path(D1_RTP).read_bytes())
    frames = rtp_to_frames(packets)
    assert len(frames) == 1400  # 1400 RTP timestamps, 1400 packs
    start = frames.index(d1_frames[0])
    assert frames[start : start + len(d1_frames)] == d1_frames


def _ffmpeg_read(path: Path) -> tuple[str, int, int, int, str | None]:
    with av.open(str(path), format="mpeg") as container:
        stream = container.streams.video[0]
        count = sum(1 for packet in container.demux(stream) if packet.size)
        audio = container.streams.audio[0].codec_context.name if container.streams.audio else None
        return (
            stream.codec_context.name,
            stream.codec_context.width,
            stream.codec_context.height,
            count,
            audio,
        )


def test_ffmpeg_reads_our_muxed_ps_as_h264_704x576(d1_frames: list[Frame], tmp_path: Path) -> None:
    path = tmp_path / "muxed.ps"
    muxer = PsMuxer()
    path.write_bytes(b"".join(muxer.mux(f) for f in d1_frames))
    assert _ffmpeg_read(path) == ("h264", 704, 576, len(d1_frames), None)


def test_ffmpeg_reads_our_muxed_h265_with_g711a(tmp_path: Path) -> None:
    video = encode_frames("libx265", count=25)
    audio = [Frame("audio", "g711a", i * 1440, i * 1440, bytes([0xD5]) * 128) for i in range(40)]
    muxer = PsMuxer(video_codec="h265", audio_codec="g711a")
    ordered = sorted(video + audio, key=lambda f: (f.dts, f.stream != "video"))
    path = tmp_path / "muxed_h265.ps"
    path.write_bytes(b"".join(muxer.mux(f) for f in ordered))
    assert _ffmpeg_read(path) == ("hevc", 320, 180, 25, "pcm_alaw")


def test_demuxed_access_units_decode_in_ffmpeg(d1_frames: list[Frame]) -> None:
    decoder = av.CodecContext.create("h264", "r")
    pictures = []
    for frame in d1_frames[:30]:
        pictures += decoder.decode(av.Packet(frame.data))
    assert len(pictures) >= 25
    assert {(p.width, p.height) for p in pictures} == {(704, 576)}
    assert pictures[0].key_frame


def test_midstart_access_units_decode_from_the_first_keyframe() -> None:
    frames, _ = demux_all(vector_path("ps/hik_1080p_h264_midstart.ps").read_bytes())
    first = next(i for i, f in enumerate(frames) if f.keyframe)
    decoder = av.CodecContext.create("h264", "r")
    pictures = [p for f in frames[first : first + 10] for p in decoder.decode(av.Packet(f.data))]
    assert len(pictures) >= 8 and (pictures[0].width, pictures[0].height) == (1920, 1080)


def test_d1_ps_vector_path_is_used_not_copied() -> None:
    assert vector_path(D1_PS).is_file()


def test_lost_rtp_packets_cost_whole_frames_never_corrupt_ones(d1_frames: list[Frame]) -> None:
    packets = mux_to_rtp(d1_frames, PsMuxer())
    rng = random.Random(3550)
    lost = set(rng.sample(range(1, len(packets)), 40))
    reorder = ReorderBuffer(depth=4)
    demuxer = PsDemuxer()
    frames: list[Frame] = []
    for index, raw in enumerate(packets):
        if index in lost:
            continue
        for released in reorder.push(parse_rtp(raw)):
            if released.lost_before:
                demuxer.mark_loss()
            frames += demuxer.feed(released.packet.payload)
    frames += demuxer.flush()
    assert reorder.lost == 40
    clean = set(d1_frames)
    assert all(frame in clean for frame in frames)
    assert len(d1_frames) - 2 * 40 <= len(frames) < len(d1_frames)
