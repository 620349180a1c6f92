"""Property tests: whatever the bytes, the parser returns a message or raises SipParseError,
and the framer yields events or raises SipFramingError. Seeds are real messages, mutated."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sip_gateway.core.digest import DigestOutcome, DigestServer
from sip_gateway.core.errors import SipFramingError, SipParseError
from sip_gateway.core.framing import MessageFramed, StreamFramer
from sip_gateway.core.message import Request, parse_message, serialize
from sip_gateway.core.responses import make_stateless_error
from tests.sip_gateway.test_captures import capture_files, repair_capture
from tests.vectors import vector_files

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _seeds() -> list[bytes]:
    seeds = [repair_capture(p.read_bytes()) for p in capture_files()]
    seeds += [p.read_bytes() for p in vector_files("sip/rfc4475", "*.dat")]
    return seeds or [
        b"REGISTER sip:34020000002000000001@3402000000 SIP/2.0\r\nVia: SIP/2.0/UDP 1.2.3.4;branch=z9hG4bK1\r\n"
        b"From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n"
    ]


SEEDS = _seeds()
SIP_ALPHABET = b' \t\r\n:;,<>"@=/[]?%\\0SIPsip2.-'


@st.composite
def mutated_messages(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 8))):
        if not data:
            break
        position = draw(st.integers(0, len(data) - 1))
        action = draw(st.integers(0, 3))
        if action == 0:
            data[position] = draw(st.sampled_from(SIP_ALPHABET))
        elif action == 1:
            del data[position : position + draw(st.integers(1, 20))]
        elif action == 2:
            data[position:position] = bytes(draw(st.lists(st.sampled_from(SIP_ALPHABET), max_size=6)))
        else:
            data[position] = draw(st.integers(0, 255))
    return bytes(data)


def check_parse(data: bytes) -> None:
    try:
        message = parse_message(data)
    except SipParseError as exc:
        assert exc.reason
        response = make_stateless_error(exc)
        if response is not None:
            serialize(response)
        return
    wire = serialize(message)
    again = parse_message(wire)
    assert again.body == message.body
    assert serialize(again) == wire
    if isinstance(message, Request):
        make_stateless_error(data)


@SETTINGS
@given(st.binary(max_size=600))
def test_arbitrary_bytes_parse_or_raise_sip_parse_error(data: bytes) -> None:
    check_parse(data)


@SETTINGS
@given(mutated_messages())
def test_mutated_real_messages_parse_or_raise_sip_parse_error(data: bytes) -> None:
    check_parse(data)


@SETTINGS
@given(mutated_messages(), st.lists(st.integers(1, 64), min_size=1, max_size=30))
def test_framer_yields_or_raises_framing_error(data: bytes, sizes: list[int]) -> None:
    framer = StreamFramer(max_message_size=8192, max_headers=64)
    stream = data + b"\r\n\r\n" + data
    position = 0
    try:
        while position < len(stream):
            size = sizes[position % len(sizes)]
            for event in framer.feed(stream[position : position + size]):
                if isinstance(event, MessageFramed):
                    check_parse(event.data)
            position += size
    except SipFramingError as exc:
        assert exc.reason


@SETTINGS
@given(st.text(max_size=300))
def test_digest_verify_never_raises(value: str) -> None:
    server = DigestServer("3402000000", b"s", qop=True)
    result = server.verify("Digest " + value, method="REGISTER", now=0.0, password_lookup=lambda _: "pw")
    assert isinstance(result.outcome, DigestOutcome)
