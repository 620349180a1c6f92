"""PS packs to RTP the way cameras send them."""

from __future__ import annotations

import pytest

from media.rtp.packet import parse_rtp
from media.rtp.packetizer import Packetizer


@pytest.mark.parametrize(
    ("size", "counts"), [(1, [1]), (1400, [1400]), (1401, [1400, 1]), (3000, [1400, 1400, 200])]
)
def test_pack_is_split_at_payload_size_with_marker_on_last(size: int, counts: list[int]) -> None:
    packetizer = Packetizer(ssrc=0x05F5ED76, first_sequence=0xFFFF)
    packets = [parse_rtp(p) for p in packetizer.packetize(bytes(size), timestamp=90000)]
    assert [len(p.payload) for p in packets] == counts
    assert [p.marker for p in packets] == [False] * (len(counts) - 1) + [True]
    assert {(p.timestamp, p.ssrc, p.payload_type) for p in packets} == {(90000, 0x05F5ED76, 96)}
    assert [p.sequence for p in packets] == [(0xFFFF + i) & 0xFFFF for i in range(len(counts))]


def test_sequence_continues_across_frames_and_payload_size_is_configurable() -> None:
    packetizer = Packetizer(ssrc=1, payload_type=98, payload_size=100)
    first = packetizer.packetize(bytes(250), 0)
    second = packetizer.packetize(bytes(10), 3600)
    assert [parse_rtp(p).sequence for p in first + second] == [0, 1, 2, 3]
    assert parse_rtp(second[0]).payload_type == 98
