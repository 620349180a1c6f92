"""StreamSession, sans-IO: RTP datagrams and a clock in; frames, video facts and timeouts out."""

from __future__ import annotations

import pytest

from media.ps.mux import PsMuxer
from media.rtp.packet import build_rtp
from media.rtp.packetizer import Packetizer
from media.session import StreamSession
from tests.media.conftest import AUDIO_PS, D1_RTP, MIDSTART_PS, encode_frames
from tests.media.replay import d1_rtp_packets, ps_to_rtp
from tests.vectors import vector_path

D1_SSRC = 0x05F5ED76


def _feed(session: StreamSession, packets: list[bytes], start: float = 0.0, step: float = 0.001) -> int:
    frames = 0
    for index, packet in enumerate(packets):
        frames += sum(f.stream == "video" for f in session.receive(packet, start + index * step))
    return frames + sum(f.stream == "video" for f in session.finish())


def test_the_d1_capture_yields_every_frame_and_the_picture_size_of_its_first_keyframe() -> None:
    session = StreamSession("d1", ssrc=D1_SSRC, now=0.0)
    frames = _feed(session, d1_rtp_packets(vector_path(D1_RTP)))
    assert frames == 1400  # 1,400 distinct RTP timestamps, one frame each
    assert (session.video.codec, session.video.width, session.video.height) == ("h264", 704, 576)  # type: ignore[union-attr]
    assert (session.stats.packets, session.stats.lost, session.ssrc_mismatches) == (3096, 0, 0)


def test_a_capture_that_starts_mid_pes_resynchronises_and_starts_at_its_first_keyframe() -> None:
    session = StreamSession("mid", ssrc=9, now=0.0)
    packets = ps_to_rtp(vector_path(MIDSTART_PS).read_bytes(), ssrc=9)
    out = []
    for index, packet in enumerate(packets):
        out += session.receive(packet, index * 0.001)
    assert out[0].keyframe
    assert (session.video.width, session.video.height) == (1920, 1080)  # type: ignore[union-attr]


def test_packets_with_another_ssrc_are_dropped_in_strict_mode() -> None:
    session = StreamSession("strict", ssrc=1234, now=0.0)
    assert _feed(session, d1_rtp_packets(vector_path(D1_RTP))[:400]) == 0
    assert (session.ssrc_mismatches, session.stats.packets, session.video) == (400, 0, None)
    assert session.last_packet_at is None  # foreign packets do not keep the stream alive


def test_tolerant_mode_accepts_the_ssrc_the_device_actually_sends() -> None:
    session = StreamSession("tolerant", ssrc=1234, tolerant_ssrc=True, now=0.0)
    assert _feed(session, d1_rtp_packets(vector_path(D1_RTP))[:400]) > 0
    assert (session.ssrc_mismatches, session.ssrc_seen) == (0, D1_SSRC)
    assert session.video is not None


def test_frames_before_the_first_keyframe_are_not_emitted() -> None:
    frames = encode_frames("libx264", count=12)  # keyframes at 0, 5, 10
    muxer = PsMuxer()
    packetizer = Packetizer(ssrc=5)
    packets = [p for f in frames[1:] for p in packetizer.packetize(muxer.mux(f), f.pts)]
    session = StreamSession("late-join", ssrc=5, now=0.0)
    out = [f for i, p in enumerate(packets) for f in session.receive(p, i * 0.01)]
    assert out[0].keyframe and out[0].pts == frames[5].pts
    assert len(out) == 7
    assert session.video_frames == 11


def test_the_audio_only_sample_is_reported_as_audio_only_without_video() -> None:
    session = StreamSession("audio", ssrc=3, now=0.0)
    packets = ps_to_rtp(vector_path(AUDIO_PS).read_bytes(), ssrc=3, limit=200_000)
    assert _feed(session, packets) == 0
    assert session.video is None
    assert session.audio_only
    assert session.audio_codec == "g711a"
    assert session.snapshot(1.0)["audio_only"] is True


def test_a_frame_cut_short_when_the_stream_ends_is_dropped_not_emitted_half() -> None:
    packets = d1_rtp_packets(vector_path(D1_RTP))[:600]
    assert not packets[-1][1] & 0x80  # the cut falls inside a frame
    session = StreamSession("cut", ssrc=None, now=0.0)
    frames = [f for i, p in enumerate(packets) for f in session.receive(p, i * 0.001)]
    assert session.finish() == []
    assert len(frames) == sum(1 for p in packets if p[1] & 0x80)


def test_garbage_datagrams_are_counted_not_raised() -> None:
    session = StreamSession("junk", ssrc=None, now=0.0)
    assert session.receive(b"\x00" * 20, 0.1) == []
    assert session.receive(b"", 0.1) == []
    assert session.malformed == 2


class TestRtpTimeout:
    def test_a_stream_that_never_receives_times_out_after_the_timeout_from_opening(self) -> None:
        session = StreamSession("silent", ssrc=1, rtp_timeout=5.0, now=100.0)
        assert not session.timed_out(104.9)
        assert session.timed_out(105.0)

    def test_each_packet_pushes_the_deadline_back(self) -> None:
        session = StreamSession("live", ssrc=1, rtp_timeout=5.0, now=100.0)
        session.receive(build_rtp(payload_type=96, sequence=1, timestamp=0, ssrc=1, payload=b"x"), 103.0)
        assert session.deadline() == 108.0
        assert not session.timed_out(107.9)
        assert session.timed_out(108.0)

    def test_foreign_ssrc_packets_do_not_postpone_the_timeout(self) -> None:
        session = StreamSession("live", ssrc=1, rtp_timeout=5.0, now=100.0)
        session.receive(build_rtp(payload_type=96, sequence=1, timestamp=0, ssrc=2, payload=b"x"), 104.0)
        assert session.timed_out(105.0)


@pytest.mark.parametrize("reorder", [False, True])
def test_reordered_packets_are_put_back_in_order(reorder: bool) -> None:
    packets = d1_rtp_packets(vector_path(D1_RTP))[:600]
    if reorder:
        for index in range(3, len(packets) - 1, 7):  # not the first: it fixes the start sequence
            packets[index], packets[index + 1] = packets[index + 1], packets[index]
    session = StreamSession("reorder", ssrc=D1_SSRC, now=0.0)
    frames = _feed(session, packets)
    assert session.stats.lost == 0
    assert frames == sum(1 for p in packets if p[1] & 0x80)  # complete frames: those whose marker came


def test_packets_with_csrcs_extensions_or_padding_give_the_same_frames_as_plain_ones() -> None:
    plain = d1_rtp_packets(vector_path(D1_RTP))[:400]
    dressed = []
    for index, data in enumerate(plain):
        b1 = data[1]
        seq, ts = int.from_bytes(data[2:4], "big"), int.from_bytes(data[4:8], "big")
        dressed.append(
            build_rtp(
                payload_type=b1 & 0x7F,
                sequence=seq,
                timestamp=ts,
                ssrc=D1_SSRC,
                payload=data[12:],
                marker=bool(b1 & 0x80),
                csrcs=(7,) if index % 3 == 0 else (),
                extension_profile=0xBEDE if index % 3 == 1 else None,
                extension=b"\x00" * 4 if index % 3 == 1 else b"",
                padding=4 if index % 3 == 2 else 0,
            )
        )
    results = []
    for packets in (plain, dressed):
        session = StreamSession("dressed", ssrc=D1_SSRC, now=0.0)
        frames = [f for index, p in enumerate(packets) for f in session.receive(p, index * 0.001)]
        results.append([(f.pts, f.keyframe, f.data) for f in frames])
        assert session.stats.lost == 0 and session.malformed == 0
    assert results[0] == results[1] and len(results[0]) > 100
