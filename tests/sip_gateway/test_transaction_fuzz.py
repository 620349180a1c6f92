"""Property-based fuzzing of the transaction layer: whatever bytes arrive, at whatever time,
``receive`` and ``handle_timers`` never raise (not even SipParseError); bad input is dropped
and reported."""

from __future__ import annotations

from functools import cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sip_gateway.core.message import Request, parse_message
from sip_gateway.core.transaction import MessageDropped, Peer, TransactionLayer
from tests.sip_gateway.test_transaction import raw_request
from tests.vectors import vector_files

PEERS: list[Peer] = [("udp", "192.168.6.71", 5060), ("tcp", "10.0.0.9", 5061), ("udp", "::1", 5070)]


@cache
def seeds() -> tuple[bytes, ...]:
    own = [raw_request(m, rport=True) for m in ("INVITE", "MESSAGE", "REGISTER", "ACK", "BYE")]
    own.append(raw_request("MESSAGE", branch=None))
    captured = [p.read_bytes() for p in vector_files("sip/dahua_sd_hik_nvr", "*.sip")]
    return tuple(own + captured)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(seeds())))
    for _ in range(draw(st.integers(0, 4))):
        action = draw(st.sampled_from(["flip", "cut", "insert", "dup"]))
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        if action == "flip":
            data[at] = draw(st.integers(0, 255))
        elif action == "cut":
            del data[at : at + draw(st.integers(1, 40))]
        elif action == "insert":
            data[at:at] = draw(
                st.sampled_from([b"\r\n", b";", b",", b" ", b":", b"\x00", b"SIP/2.0 ", b";rport"])
            )
        else:
            end = min(len(data), at + draw(st.integers(1, 60)))
            data[at:at] = data[at:end]
    return bytes(data)


inputs = st.lists(
    st.tuples(
        st.one_of(st.binary(max_size=300), mutated()),
        st.sampled_from(PEERS),
        st.floats(min_value=0, max_value=200, allow_nan=False),
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inputs)
def test_receive_and_timers_never_raise(messages: list[tuple[bytes, Peer, float]]) -> None:
    layer = TransactionLayer()
    # Give responses something to match: start client transactions from the seeds.
    for seed in seeds()[:3]:
        request = parse_message(seed)
        assert isinstance(request, Request)
        layer.send_request(request, PEERS[0], 0.0)
    for data, peer, now in sorted(messages, key=lambda m: m[2]):
        layer.receive(data, peer, now)
        layer.handle_timers(now)
        for event in layer.events():
            if isinstance(event, MessageDropped):
                assert event.reason
        for out in layer.outgoing():
            # A stateless error echoes the peer's headers as they came; anything else we send
            # was built or checked by us and must parse.
            if not out.data.startswith((b"SIP/2.0 400 ", b"SIP/2.0 505 ")):
                parse_message(out.data)
    layer.handle_timers(1000.0)
    assert len(layer) == 0
