"""Finding RTP packets in byte streams: RFC 4571 over TCP, `$` interleaving, headerless files."""

from __future__ import annotations

import random
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from media.rtp.framing import TcpFramer, split_headerless
from media.rtp.packet import RtpPacket, parse_rtp
from tests.media.conftest import D1_LEN16, D1_RTP
from tests.vectors import vector_path


def rtp(seq: int, payload: bytes = b"payload", ssrc: int = 0x05F5ED76) -> bytes:
    return RtpPacket(96, seq, seq * 3600, ssrc, payload).to_bytes()


def len16(packet: bytes) -> bytes:
    return struct.pack("!H", len(packet)) + packet


def interleaved(packet: bytes, channel: int = 0) -> bytes:
    return b"$" + bytes((channel,)) + struct.pack("!H", len(packet)) + packet


PACKETS = [rtp(i, bytes([i]) * (i * 7 % 50)) for i in range(8)]

FRAMER_TABLE = [
    pytest.param(b"".join(len16(p) for p in PACKETS), PACKETS, 0, id="rfc4571"),
    pytest.param(b"".join(interleaved(p) for p in PACKETS), PACKETS, 0, id="dollar-interleaved"),
    pytest.param(
        b"".join(len16(p) if i % 2 else interleaved(p, 2) for i, p in enumerate(PACKETS)),
        PACKETS,
        0,
        id="mixed",
    ),
    pytest.param(
        b"\x01\x02\x03" + len16(PACKETS[0]) + len16(PACKETS[1]), PACKETS[:2], 3, id="leading-garbage"
    ),
    pytest.param(
        struct.pack("!H", 5) + b"\x80abcd" + len16(PACKETS[2]), PACKETS[2:3], 7, id="length-too-small"
    ),
    pytest.param(len16(PACKETS[0])[:-1], [], 0, id="truncated-waits"),
]


@pytest.mark.parametrize(("stream", "packets", "dropped"), FRAMER_TABLE)
def test_framer_yields_packets_whatever_the_split(stream: bytes, packets: list[bytes], dropped: int) -> None:
    whole = TcpFramer()
    assert whole.feed(stream) == packets
    assert whole.dropped_bytes == dropped
    for cut in range(len(stream) + 1):
        split = TcpFramer()
        assert split.feed(stream[:cut]) + split.feed(stream[cut:]) == packets
    one_by_one = TcpFramer()
    assert [p for i in range(len(stream)) for p in one_by_one.feed(stream[i : i + 1])] == packets


@given(st.lists(st.binary(max_size=300), max_size=20))
def test_framer_never_raises_and_stays_bounded(chunks: list[bytes]) -> None:
    framer = TcpFramer(max_buffer=1000)
    for chunk in chunks:
        for packet in framer.feed(chunk):
            assert packet[0] >> 6 == 2
    assert len(framer._buf) <= 0x10004 + 300


def test_headerless_file_splits_into_the_capture_packets() -> None:
    packets = [parse_rtp(p) for p in split_headerless(vector_path(D1_RTP).read_bytes())]
    assert len(packets) == 3096
    assert [p.sequence for p in packets] == list(range(3096))
    assert {p.ssrc for p in packets} == {0x05F5ED76}
    assert {p.payload_type for p in packets} == {96}
    # One frame per timestamp; the last packet of a frame carries the marker and may be shorter,
    # every other packet carries exactly 1,400 bytes.
    assert len({p.timestamp for p in packets}) == sum(p.marker for p in packets) == 1400
    assert all(len(p.payload) == 1400 for p in packets if not p.marker)
    assert sum(p.marker and len(p.payload) == 1400 for p in packets) == 1  # a frame that ends on 1,400
    assert (packets[-1].timestamp - packets[0].timestamp) / 90000 == pytest.approx(55.96, abs=0.01)


def test_len16_dump_through_tcp_framer_gives_the_same_packets() -> None:
    expected = split_headerless(vector_path(D1_RTP).read_bytes())
    stream = vector_path(D1_LEN16).read_bytes()
    rng = random.Random(4571)
    framer = TcpFramer()
    got: list[bytes] = []
    pos = 0
    while pos < len(stream):
        step = rng.randint(1, 3000)
        got += framer.feed(stream[pos : pos + step])
        pos += step
    assert got == expected
    assert framer.dropped_bytes == 0


def test_headerless_split_of_synthetic_stream() -> None:
    stream = b"".join(PACKETS)
    assert split_headerless(stream) == PACKETS
    assert split_headerless(b"") == []
