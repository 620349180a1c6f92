"""Transaction layer: matching (RFC 3261 and RFC 2543 keys, CANCEL), NAT (rport/received),
stateless errors, garbage, and bounded memory."""

from __future__ import annotations

import pytest

from sip_gateway.core.message import Response, parse_message
from sip_gateway.core.responses import make_response
from sip_gateway.core.transaction import (
    MessageDropped,
    Outgoing,
    Peer,
    RequestReceived,
    ResponseReceived,
    TransactionLayer,
    TransactionTimedOut,
)
from tests.sip_gateway.test_transaction import (
    DEVICE,
    first_line,
    raw_request,
    request,
    response_to,
    sent_times,
    start_invite_server,
)


# ---------------------------------------------------------------- matching, NAT, errors
def test_stray_response_is_dropped() -> None:
    layer = TransactionLayer()
    layer.receive(response_to(request("MESSAGE"), 200), DEVICE, 0.0)
    (event,) = layer.events()
    assert isinstance(event, MessageDropped) and "stray" in event.reason and event.peer == DEVICE
    assert layer.outgoing() == []


def test_response_with_other_cseq_method_does_not_match() -> None:
    layer = TransactionLayer()
    req = request("INVITE")
    layer.send_request(req, DEVICE, 0.0)
    cancel = request("CANCEL")  # same branch, other method: another transaction
    layer.receive(response_to(cancel, 200), DEVICE, 0.1)
    assert [type(e) for e in layer.events()] == [MessageDropped]


def test_empty_rport_is_filled_and_the_response_goes_to_the_source() -> None:
    layer = TransactionLayer()
    nat: Peer = ("udp", "203.0.113.9", 40123)
    layer.receive(raw_request("REGISTER", rport=True), nat, 0.0)
    (event,) = layer.events()
    assert isinstance(event, RequestReceived)
    via = event.request.top_via
    assert via.received == "203.0.113.9" and via.rport == 40123
    assert (via.host, via.port, via.branch) == ("192.168.6.106", 5062, "z9hG4bK776asdhds")
    layer.send_response(make_response(event.request, 200, to_tag="r"), 0.0)
    (out,) = layer.outgoing()
    assert out.peer == nat
    assert b";rport=40123;branch=z9hG4bK776asdhds;received=203.0.113.9\r\n" in out.data
    # The retransmission (same sent-by and branch) still matches the stamped transaction.
    layer.receive(raw_request("REGISTER", rport=True), nat, 0.5)
    assert layer.outgoing() == [out] and layer.events() == []


def test_without_rport_received_is_added_only_when_the_source_differs() -> None:
    layer = TransactionLayer()
    data = raw_request("MESSAGE")
    layer.receive(data, ("udp", "192.168.6.106", 5062), 0.0)
    (same,) = layer.events()
    assert isinstance(same, RequestReceived) and same.request.top_via.received is None
    assert same.request.headers == parse_message(data).headers
    layer.receive(raw_request("MESSAGE", branch="z9hG4bKnat"), ("udp", "10.9.9.9", 7000), 0.0)
    (other,) = layer.events()
    assert isinstance(other, RequestReceived)
    assert other.request.top_via.received == "10.9.9.9" and other.request.top_via.rport is None
    layer.send_response(make_response(other.request, 200, to_tag="r"), 0.0)
    assert [o.peer for o in layer.outgoing()] == [("udp", "10.9.9.9", 7000)]


def test_stamping_keeps_the_other_vias_in_order() -> None:
    layer = TransactionLayer()
    via = "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKtop;rport, SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKlow\r\nVia: SIP/2.0/UDP 10.0.0.3"
    layer.receive(raw_request("MESSAGE", via=via, branch="z9hG4bKlast"), ("udp", "1.1.1.1", 1), 0.0)
    (event,) = layer.events()
    assert isinstance(event, RequestReceived)
    assert [(v.host, v.branch, v.rport) for v in event.request.vias] == [
        ("10.0.0.1", "z9hG4bKtop", 1),
        ("10.0.0.2", "z9hG4bKlow", None),
        ("10.0.0.3", "z9hG4bKlast", None),
    ]


def test_response_without_transaction_goes_to_received_and_rport() -> None:
    layer = TransactionLayer()
    req = request("INVITE", via="SIP/2.0/UDP 192.168.6.106:5062;received=198.51.100.7;rport=6000")
    layer.send_response(make_response(req, 200, to_tag="a"), 0.0)
    assert [o.peer for o in layer.outgoing()] == [("udp", "198.51.100.7", 6000)]
    req = request("INVITE", via="SIP/2.0/TCP 192.168.6.106")
    layer.send_response(make_response(req, 200, to_tag="a"), 0.0)
    assert [o.peer for o in layer.outgoing()] == [("tcp", "192.168.6.106", 5060)]


def test_rfc2543_request_without_magic_cookie_is_matched_on_call_id_cseq_and_from_tag() -> None:
    layer = TransactionLayer()
    data = raw_request("MESSAGE", branch=None)
    layer.receive(data, DEVICE, 0.0)
    (event,) = layer.events()
    assert isinstance(event, RequestReceived)
    layer.receive(data, DEVICE, 0.1)
    assert layer.events() == []
    layer.receive(raw_request("MESSAGE", branch=None, cseq=2), DEVICE, 0.2)
    assert [type(e) for e in layer.events()] == [RequestReceived]
    layer.send_response(make_response(event.request, 200, to_tag="old"), 0.3)
    (answer,) = layer.outgoing()
    assert answer.peer == DEVICE
    layer.receive(data, DEVICE, 0.4)
    assert layer.outgoing() == [answer]


def test_rfc2543_ack_confirms_thestart_invite_server_transaction() -> None:
    layer = TransactionLayer()
    event = start_invite_server(layer, raw_request("INVITE", branch="1234", cseq=7))
    layer.outgoing()
    layer.send_response(make_response(event.request, 603, to_tag="d"), 0.0)
    layer.outgoing()
    layer.receive(raw_request("ACK", branch="1234", cseq=7, to_tag="d"), DEVICE, 0.1)
    assert layer.events() == []
    assert sent_times(layer, 5.0) == []


def test_rfc2543_client_transaction_matches_responses() -> None:
    layer = TransactionLayer()
    req = request("OPTIONS", branch=None)
    key = layer.send_request(req, DEVICE, 0.0)
    layer.receive(response_to(req, 200), DEVICE, 0.1)
    assert [(type(e), e.key) for e in layer.events()] == [(ResponseReceived, key)]  # type: ignore[union-attr]


def test_parseable_enough_garbage_gets_a_stateless_400() -> None:
    layer = TransactionLayer()
    bad = raw_request("MESSAGE").replace(b"Content-Length: 0", b"Content-Length: -5")
    layer.receive(bad, DEVICE, 0.0)
    (answer,) = layer.outgoing()
    response = parse_message(answer.data)
    assert isinstance(response, Response) and response.status == 400 and answer.peer == DEVICE
    assert response.call_id == "a84b4c76e66710" and response.headers.get("Warning")
    (event,) = layer.events()
    assert isinstance(event, MessageDropped) and "400" in event.reason
    assert len(layer) == 0


def test_bad_version_gets_505() -> None:
    layer = TransactionLayer()
    layer.receive(raw_request("MESSAGE").replace(b"SIP/2.0\r\n", b"SIP/7.0\r\n", 1), DEVICE, 0.0)
    (answer,) = layer.outgoing()
    assert first_line(answer.data).startswith("SIP/2.0 505")


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00\xff\xfe garbage",
        b"hello world\r\n\r\n",
        b"SIP/2.0 200 OK\r\nVia: nonsense\r\n\r\n",
        raw_request("ACK").replace(b"Content-Length: 0", b"Content-Length: x"),
    ],
)
def test_garbage_and_bad_acks_are_dropped_without_answer(data: bytes) -> None:
    layer = TransactionLayer()
    layer.receive(data, DEVICE, 0.0)
    assert layer.outgoing() == []
    (event,) = layer.events()
    assert isinstance(event, MessageDropped) and event.reason


def test_send_request_refuses_ack_and_duplicate_keys() -> None:
    layer = TransactionLayer()
    with pytest.raises(ValueError, match="ACK"):
        layer.send_request(request("ACK"), DEVICE, 0.0)
    layer.send_request(request("MESSAGE"), DEVICE, 0.0)
    with pytest.raises(ValueError, match="already"):
        layer.send_request(request("MESSAGE"), DEVICE, 0.0)


def test_send_stateless_sends_as_is() -> None:
    layer = TransactionLayer()
    ack = request("ACK", to_tag="x")
    layer.send_stateless(ack, DEVICE)
    assert layer.outgoing() == [Outgoing(ack.to_bytes(), DEVICE)] and len(layer) == 0


def test_completed_transactions_expire_so_memory_stays_bounded() -> None:
    layer = TransactionLayer()
    for i in range(3000):
        layer.receive(raw_request("REGISTER", branch=f"z9hG4bKn{i}", rport=True), DEVICE, i * 0.001)
        layer.send_request(request("MESSAGE", branch=f"z9hG4bKc{i}"), DEVICE, i * 0.001)
    for event in layer.events():
        assert isinstance(event, RequestReceived)
        layer.send_response(make_response(event.request, 200, to_tag="t"), 3.0)
    assert len(layer) == 6000
    layer.handle_timers(100.0)
    assert len(layer) == 0 and layer.next_timer() is None
    assert len([e for e in layer.events() if isinstance(e, TransactionTimedOut)]) == 3000


def test_timer_handling_late_still_fires_everything_due_once() -> None:
    layer = TransactionLayer()
    layer.send_request(request("MESSAGE"), DEVICE, 0.0)
    layer.outgoing()
    layer.handle_timers(3.6)  # E was due at 0.5, 1.5 and 3.5: one catch-up retransmission
    assert len(layer.outgoing()) == 1
    assert layer.next_timer() is not None and layer.next_timer() > 3.6  # type: ignore[operator]


def test_answered_server_transactions_beyond_max_completed_go_early() -> None:
    layer = TransactionLayer(max_completed=10)
    for i in range(30):
        layer.receive(raw_request("MESSAGE", branch=f"z9hG4bKm{i}"), DEVICE, 0.0)
        (event,) = layer.events()
        assert isinstance(event, RequestReceived)
        layer.send_response(make_response(event.request, 200, to_tag="t"), 0.0)
    assert len(layer) == 10
    layer.outgoing()
    layer.receive(raw_request("MESSAGE", branch="z9hG4bKm29"), DEVICE, 1.0)
    assert layer.events() == [] and len(layer.outgoing()) == 1  # recent ones still absorb
    layer.receive(raw_request("MESSAGE", branch="z9hG4bKm0"), DEVICE, 1.0)
    assert [type(e) for e in layer.events()] == [RequestReceived]  # the oldest was let go


def test_cancel_finds_its_invite_which_is_then_answered_487() -> None:
    layer = TransactionLayer()
    event = start_invite_server(layer, raw_request("INVITE", rport=True))
    layer.outgoing()
    layer.receive(raw_request("CANCEL", rport=True), DEVICE, 0.2)
    (cancel,) = layer.events()
    assert isinstance(cancel, RequestReceived) and cancel.key != event.key
    invite = layer.invite_for_cancel(cancel.request)
    assert invite is event.request
    layer.send_response(make_response(cancel.request, 200, to_tag="c"), 0.2)
    layer.send_response(make_response(invite, 487, to_tag="c"), 0.2)
    assert [first_line(o.data) for o in layer.outgoing()] == [
        "SIP/2.0 200 OK",
        "SIP/2.0 487 Request Terminated",
    ]
    assert layer.invite_for_cancel(cancel.request) is None  # no longer proceeding
    layer.receive(raw_request("CANCEL", branch="z9hG4bKnone"), DEVICE, 0.3)
    (other,) = layer.events()
    assert isinstance(other, RequestReceived) and layer.invite_for_cancel(other.request) is None


def test_a_received_parameter_already_present_is_replaced() -> None:
    layer = TransactionLayer()
    via = "SIP/2.0/UDP 192.168.6.106:5062;received=1.2.3.4;rport"
    layer.receive(raw_request("MESSAGE", via=via), ("udp", "5.6.7.8", 9), 0.0)
    (event,) = layer.events()
    assert isinstance(event, RequestReceived)
    top = event.request.top_via
    assert (top.received, top.rport, top.branch) == ("5.6.7.8", 9, "z9hG4bK776asdhds")
    assert event.request.headers.get("Via", "").count("received") == 1
