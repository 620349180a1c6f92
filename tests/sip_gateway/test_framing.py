"""Stream framing: every vector fed whole, one byte at a time, split at every boundary, and
concatenated many per feed; keepalives; limits and framing errors."""

from __future__ import annotations

from functools import cache

import pytest

from sip_gateway.core.errors import SipFramingError, SipParseError
from sip_gateway.core.framing import (
    FramerEvent,
    KeepalivePing,
    KeepalivePong,
    MessageFramed,
    StreamFramer,
)
from sip_gateway.core.message import parse_message, serialize
from tests.sip_gateway.test_captures import capture_files, fri_trace_messages, repair_capture
from tests.vectors import vector_files

# Torture files whose bytes are a whole stream message (a body matching Content-Length).
STREAM_SAFE_RFC4475 = [
    "wsinv",
    "intmeth",
    "esc01",
    "escnull",
    "esc02",
    "lwsdisp",
    "longreq",
    "semiuri",
    "transports",
    "mpart01",
    "unreason",
    "noreason",
    "badinv01",
    "scalar02",
    "scalarlg",
    "quotbal",
    "ltgtruri",
    "lwsruri",
    "lwsstart",
    "trws",
    "escruri",
    "baddate",
    "regbadct",
    "badaspec",
    "badvers",
    "mismatch01",
    "mismatch02",
    "bigcode",
    "badbranch",
    "insuf",
    "unkscm",
    "novelsc",
    "unksm2",
    "bext01",
    "invut",
    "regaut01",
    "multi01",
    "bcast",
    "zeromf",
    "cparam01",
    "cparam02",
    "regescrt",
    "sdp01",
]


@cache
def stream_vectors() -> dict[str, bytes]:
    """Vectors as they would arrive on TCP: one message each, exactly as long as framed."""
    vectors: dict[str, bytes] = {}
    for path in vector_files("sip/rfc4475", "*.dat"):
        if path.stem in STREAM_SAFE_RFC4475:
            vectors[f"rfc4475/{path.stem}"] = path.read_bytes()
    for path in capture_files():
        vectors[f"capture/{path.stem}"] = repair_capture(path.read_bytes())
    return vectors


def frame_all(chunks: list[bytes], **limits: int) -> list[FramerEvent]:
    framer = StreamFramer(**limits)
    events: list[FramerEvent] = []
    for chunk in chunks:
        events.extend(framer.feed(chunk))
    assert framer.buffered == 0
    return events


def messages_of(events: list[FramerEvent]) -> list[bytes]:
    return [e.data for e in events if isinstance(e, MessageFramed)]


def test_there_are_stream_vectors() -> None:
    if not stream_vectors():
        pytest.skip("SIP vectors absent")
    assert len(stream_vectors()) == len(STREAM_SAFE_RFC4475) + 53


@pytest.mark.parametrize("name", sorted(stream_vectors()))
def test_vector_framed_whole_bytewise_and_at_every_split(name: str) -> None:
    data = stream_vectors()[name]
    assert messages_of(frame_all([data])) == [data]
    assert messages_of(frame_all([bytes([b]) for b in data])) == [data]
    step = 1 if len(data) < 1200 else 7  # every boundary; a sample on the long ones
    for cut in range(1, len(data), step):
        assert messages_of(frame_all([data[:cut], data[cut:]])) == [data]


def test_all_vectors_concatenated_in_one_feed_with_keepalives_between() -> None:
    vectors = list(stream_vectors().values()) or pytest.skip("SIP vectors absent")
    stream = b"\r\n\r\n".join(vectors)
    events = frame_all([stream])
    assert messages_of(events) == vectors
    assert sum(isinstance(e, KeepalivePing) for e in events) == len(vectors) - 1


def test_fri_trace_streamed_in_odd_chunks_frames_every_message() -> None:
    messages = fri_trace_messages()
    stream = b"".join(messages)
    chunks = [stream[i : i + 1379] for i in range(0, len(stream), 1379)]
    framed = messages_of(frame_all(chunks))
    assert len(framed) == len(messages) == 3046
    # The three messages with logging damage swallow bytes of their successor, as a real
    # stream with a wrong Content-Length would; all others come out exactly.
    assert sum(a == b for a, b in zip(framed, messages, strict=True)) >= 3046 - 6


def test_framed_messages_parse_like_datagrams() -> None:
    for data in stream_vectors().values():
        framed = messages_of(frame_all([data]))[0]
        try:
            datagram = parse_message(data)
        except SipParseError:
            with pytest.raises(SipParseError):
                parse_message(framed)
        else:
            assert serialize(parse_message(framed)) == serialize(datagram)


MESSAGE = b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nl: 4\r\n\r\nbody"


def test_ping_and_pong_events() -> None:
    events = frame_all([b"\r\n\r\n", MESSAGE, b"\r\n", MESSAGE, b"\r\n\r\n\r\n\r\n"])
    assert events == [
        KeepalivePing(),
        MessageFramed(MESSAGE),
        KeepalivePong(),
        MessageFramed(MESSAGE),
        KeepalivePing(),
        KeepalivePing(),
    ]


def test_ping_reported_as_soon_as_complete() -> None:
    framer = StreamFramer()
    assert framer.feed(b"\r\n") == []
    assert framer.feed(b"\r") == []
    assert framer.feed(b"\n") == [KeepalivePing()]


def test_lf_only_messages_are_framed() -> None:
    message = MESSAGE.replace(b"\r\n", b"\n")
    assert messages_of(frame_all([message + message])) == [message, message]


def test_folded_content_length_is_read() -> None:
    message = b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length:\r\n 4\r\n\r\nbody"
    assert messages_of(frame_all([message])) == [message]


@pytest.mark.parametrize(
    ("stream", "reason"),
    [
        (b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: -5\r\n\r\n", "negative Content-Length"),
        (b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 5x\r\n\r\n", "bad Content-Length"),
        (b"OPTIONS sip:a@b SIP/2.0\r\nl: 5\r\nContent-Length: 13\r\n\r\n", "conflicting Content-Length"),
        (b"OPTIONS sip:a@b SIP/2.0\r\nl: 999999\r\n\r\n", "exceeds"),
        (b"\r\rOPTIONS", "bare CR"),
    ],
)
def test_framing_errors_are_named_and_sticky(stream: bytes, reason: str) -> None:
    framer = StreamFramer(max_message_size=4096)
    with pytest.raises(SipFramingError) as caught:
        framer.feed(stream)
    assert reason in caught.value.reason
    assert isinstance(caught.value, SipParseError)
    with pytest.raises(SipFramingError):
        framer.feed(MESSAGE)


def test_header_count_limit_even_before_the_blank_line() -> None:
    framer = StreamFramer(max_headers=10)
    with pytest.raises(SipFramingError, match="header lines"):
        for _ in range(20):
            framer.feed(b"X-Filler: 1\r\n")


def test_size_limit_without_a_blank_line() -> None:
    framer = StreamFramer(max_message_size=1000, max_headers=10_000)
    with pytest.raises(SipFramingError, match="byte limit"):
        framer.feed(b"OPTIONS sip:a@b SIP/2.0\r\n" + b"X" * 2000)


def test_clerr_waits_for_more_data_on_a_stream() -> None:
    for path in vector_files("sip/rfc4475", "clerr.dat"):
        framer = StreamFramer()
        assert framer.feed(path.read_bytes()) == []
        assert framer.buffered == len(path.read_bytes())


@pytest.mark.parametrize("name", ["mcl01", "ncl"])
def test_rfc4475_framing_errors_close_the_stream(name: str) -> None:
    for path in vector_files("sip/rfc4475", f"{name}.dat"):
        with pytest.raises(SipFramingError):
            StreamFramer().feed(path.read_bytes())


def test_close_inside_a_message_is_a_named_error() -> None:
    framer = StreamFramer()
    assert framer.feed(MESSAGE[:-2]) == []
    with pytest.raises(SipFramingError, match="connection closed"):
        framer.close()


def test_close_between_messages_is_fine() -> None:
    framer = StreamFramer()
    assert framer.feed(MESSAGE) == [MessageFramed(MESSAGE)]
    framer.close()


@pytest.mark.parametrize("cut", [10, 40, 70])
def test_every_truncation_of_a_message_waits_then_fails_on_close(cut: int) -> None:
    framer = StreamFramer()
    assert framer.feed(MESSAGE[:cut]) == []
    with pytest.raises(SipFramingError):
        framer.close()
