"""Sequence reordering, loss accounting and receive statistics."""

from __future__ import annotations

import pytest

from media.rtp.packet import RtpPacket
from media.rtp.reorder import ReorderBuffer, StreamStats, seq_delta


def pkt(seq: int, ts: int = 0, size: int = 100) -> RtpPacket:
    return RtpPacket(96, seq & 0xFFFF, ts, 1, bytes(size))


@pytest.mark.parametrize(
    ("a", "b", "delta"),
    [(5, 3, 2), (3, 5, -2), (0, 0xFFFF, 1), (0xFFFF, 0, -1), (0x7FFF, 0, 0x7FFF), (0x8000, 0, -0x8000)],
)
def test_seq_delta_handles_wraparound(a: int, b: int, delta: int) -> None:
    assert seq_delta(a, b) == delta


REORDER_TABLE = [
    # (depth, arrival order, released order, lost, late, duplicates)
    pytest.param(4, [1, 2, 3, 4], [1, 2, 3, 4], 0, 0, 0, id="in-order"),
    pytest.param(4, [1, 3, 2, 4], [1, 2, 3, 4], 0, 0, 0, id="swap"),
    pytest.param(4, [0xFFFE, 0, 0xFFFF, 1], [0xFFFE, 0xFFFF, 0, 1], 0, 0, 0, id="wraparound"),
    pytest.param(2, [1, 3, 4, 5], [1, 3, 4, 5], 1, 0, 0, id="loss-after-depth"),
    pytest.param(4, [1, 3, 4, 5], [1], 0, 0, 0, id="still-waiting"),
    pytest.param(4, [1, 2, 2, 3], [1, 2, 3], 0, 1, 0, id="duplicate-after-release-is-late"),
    pytest.param(4, [1, 3, 3, 2], [1, 2, 3], 0, 0, 1, id="duplicate-while-held"),
    pytest.param(0, [1, 4, 2], [1, 4], 2, 1, 0, id="depth-zero-never-waits"),
]


@pytest.mark.parametrize(("depth", "arrivals", "released", "lost", "late", "dups"), REORDER_TABLE)
def test_reorder_buffer(
    depth: int, arrivals: list[int], released: list[int], lost: int, late: int, dups: int
) -> None:
    buffer = ReorderBuffer(depth=depth)
    out = [r.packet.sequence for seq in arrivals for r in buffer.push(pkt(seq))]
    assert out == released
    assert (buffer.lost, buffer.late, buffer.duplicates) == (lost, late, dups)


def test_released_packet_says_how_many_were_lost_before_it() -> None:
    buffer = ReorderBuffer(depth=1)
    assert buffer.push(pkt(10))[0].lost_before == 0
    assert buffer.push(pkt(13)) == []
    released = buffer.push(pkt(14))
    assert [(r.packet.sequence, r.lost_before) for r in released] == [(13, 2), (14, 0)]


def test_flush_releases_held_packets_counting_holes() -> None:
    buffer = ReorderBuffer(depth=8)
    buffer.push(pkt(1))
    buffer.push(pkt(4))
    buffer.push(pkt(6))
    assert [(r.packet.sequence, r.lost_before) for r in buffer.flush()] == [(4, 2), (6, 1)]
    assert buffer.lost == 3


def test_a_large_jump_restarts_the_sequence() -> None:
    buffer = ReorderBuffer(depth=4, max_jump=100)
    buffer.push(pkt(1))
    assert [r.packet.sequence for r in buffer.push(pkt(30000))] == [30000]
    assert buffer.resets == 1


def test_stats_count_packets_bytes_and_loss() -> None:
    stats = StreamStats(window=1.0)
    stats.record(pkt(1, 0, 100), now=0.0)
    stats.record(pkt(3, 3600, 100), now=0.04, lost_before=1)
    assert (stats.packets, stats.bytes, stats.lost) == (2, 224, 1)


def test_jitter_is_zero_when_arrivals_follow_timestamps() -> None:
    stats = StreamStats()
    for i in range(50):
        stats.record(pkt(i, i * 3600), now=10 + i * 0.04)
    assert stats.jitter == pytest.approx(0, abs=1e-6)


def test_jitter_follows_rfc3550_estimator() -> None:
    stats = StreamStats()
    stats.record(pkt(0, 0), now=0.0)
    stats.record(pkt(1, 3600), now=0.05)  # 10 ms late = 900 ticks of transit difference
    assert stats.jitter == pytest.approx(900 / 16)


def test_bitrate_and_frame_rate_over_window() -> None:
    stats = StreamStats(window=1.0)
    for frame in range(50):  # 25 fps for 2 s, two 500-byte packets per frame
        for _ in range(2):
            stats.record(pkt(0, frame * 3600, 488), now=frame * 0.04)
    assert stats.frame_rate(now=1.98) == pytest.approx(25)
    assert stats.bitrate(now=1.98) == pytest.approx(25 * 2 * 500 * 8)
    assert stats.bitrate(now=10.0) == 0
