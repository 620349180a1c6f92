"""RTP fixed header: what each byte means, and that garbage raises RtpError and nothing else."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from media.rtp.packet import RtpError, RtpPacket, build_rtp, parse_rtp

PARSE_TABLE = [
    pytest.param(
        bytes.fromhex("80600000 00000000 05f5ed76") + b"PS",
        RtpPacket(payload_type=96, sequence=0, timestamp=0, ssrc=0x05F5ED76, payload=b"PS"),
        id="camera-first-packet",
    ),
    pytest.param(
        bytes.fromhex("80e0ffff 00015f90 00000001") + b"x",
        RtpPacket(96, 0xFFFF, 90000, 1, b"x", marker=True),
        id="marker-and-last-sequence",
    ),
    pytest.param(
        bytes.fromhex("82080001 00000002 00000003 0000000a 0000000b") + b"pay",
        RtpPacket(8, 1, 2, 3, b"pay", csrcs=(10, 11)),
        id="two-csrcs",
    ),
    pytest.param(
        bytes.fromhex("90600001 00000002 00000003 bede0001 10ff0000") + b"pay",
        RtpPacket(96, 1, 2, 3, b"pay", extension_profile=0xBEDE, extension=bytes.fromhex("10ff0000")),
        id="header-extension",
    ),
    pytest.param(
        bytes.fromhex("a0600001 00000002 00000003") + b"pay" + b"\x00\x00\x03",
        RtpPacket(96, 1, 2, 3, b"pay", padding=3),
        id="padding",
    ),
]


@pytest.mark.parametrize(("wire", "expected"), PARSE_TABLE)
def test_parse_reads_every_header_field(wire: bytes, expected: RtpPacket) -> None:
    assert parse_rtp(wire) == expected


@pytest.mark.parametrize(("wire", "expected"), PARSE_TABLE)
def test_build_writes_the_same_bytes_back(wire: bytes, expected: RtpPacket) -> None:
    assert expected.to_bytes() == wire


ERROR_TABLE = [
    pytest.param(b"", "shorter than the 12-byte", id="empty"),
    pytest.param(bytes.fromhex("8060000000000000000000"), "shorter", id="eleven-bytes"),
    pytest.param(bytes.fromhex("40600000 00000000 00000000"), "version 1", id="version-1"),
    pytest.param(bytes.fromhex("00000000 00000000 00000000"), "version 0", id="zeros"),
    pytest.param(bytes.fromhex("81600000 00000000 00000000"), "CSRC", id="csrc-missing"),
    pytest.param(bytes.fromhex("90600000 00000000 00000000 bede"), "extension", id="ext-header-cut"),
    pytest.param(bytes.fromhex("90600000 00000000 00000000 bede0002 0000"), "overruns", id="ext-cut"),
    pytest.param(bytes.fromhex("a0600000 00000000 00000000 00"), "padding count 0", id="padding-0"),
    pytest.param(bytes.fromhex("a0600000 00000000 00000000 0020"), "padding count 32", id="padding-big"),
]


@pytest.mark.parametrize(("wire", "message"), ERROR_TABLE)
def test_malformed_packets_raise_rtp_error(wire: bytes, message: str) -> None:
    with pytest.raises(RtpError, match=message):
        parse_rtp(wire)


@given(st.binary(max_size=80))
def test_arbitrary_bytes_parse_or_raise_only_rtp_error(data: bytes) -> None:
    try:
        packet = parse_rtp(data)
    except RtpError:
        return
    assert len(packet.payload) <= len(data) - 12


@given(
    payload_type=st.integers(0, 127),
    sequence=st.integers(0, 0xFFFF),
    timestamp=st.integers(0, 0xFFFFFFFF),
    ssrc=st.integers(0, 0xFFFFFFFF),
    payload=st.binary(max_size=64),
    marker=st.booleans(),
    csrcs=st.lists(st.integers(0, 0xFFFFFFFF), max_size=15).map(tuple),
    padding=st.integers(0, 255),
)
def test_build_then_parse_is_identity(
    payload_type: int,
    sequence: int,
    timestamp: int,
    ssrc: int,
    payload: bytes,
    marker: bool,
    csrcs: tuple[int, ...],
    padding: int,
) -> None:
    packet = RtpPacket(payload_type, sequence, timestamp, ssrc, payload, marker, csrcs, padding=padding)
    assert parse_rtp(packet.to_bytes()) == packet


def test_build_refuses_unaligned_extension() -> None:
    with pytest.raises(RtpError):
        build_rtp(
            payload_type=96,
            sequence=0,
            timestamp=0,
            ssrc=0,
            payload=b"",
            extension_profile=1,
            extension=b"abc",
        )
