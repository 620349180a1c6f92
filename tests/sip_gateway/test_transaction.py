"""Transaction layer: every retransmission instant and every timeout, driven by ``now``.

T1 = 0.5 s, T2 = 4 s, T4 = 5 s (the RFC defaults), so 64*T1 = 32 s.
"""

from __future__ import annotations

from sip_gateway.core.message import Request, parse_message
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

DEVICE: Peer = ("udp", "192.168.6.71", 5060)
DEVICE_TCP: Peer = ("tcp", "192.168.6.71", 5060)
PLATFORM: Peer = ("udp", "192.168.6.106", 5062)


def raw_request(
    method: str,
    *,
    branch: str | None = "z9hG4bK776asdhds",
    cseq: int = 1,
    via: str = "SIP/2.0/UDP 192.168.6.106:5062",
    rport: bool = False,
    call_id: str = "a84b4c76e66710",
    from_tag: str = "1928301774",
    to_tag: str | None = None,
    body: bytes = b"",
) -> bytes:
    params = (";rport" if rport else "") + (f";branch={branch}" if branch else "")
    to = "<sip:34020000001320000001@3402000000>" + (f";tag={to_tag}" if to_tag else "")
    head = (
        f"{method} sip:34020000001320000001@192.168.6.71:5060 SIP/2.0\r\n"
        f"Via: {via}{params}\r\n"
        "Max-Forwards: 70\r\n"
        f"From: <sip:34020000002000000001@3402000000>;tag={from_tag}\r\n"
        f"To: {to}\r\n"
        f"Call-ID: {call_id}\r\n"
        f"CSeq: {cseq} {method}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def request(method: str, **kwargs: object) -> Request:
    message = parse_message(raw_request(method, **kwargs))  # type: ignore[arg-type]
    assert isinstance(message, Request)
    return message


def response_to(req: Request, status: int, to_tag: str | None = "totag1") -> bytes:
    return make_response(req, status, to_tag=to_tag if status > 100 else None).to_bytes()


def sent_times(layer: TransactionLayer, until: float) -> list[tuple[float, Outgoing]]:
    """Fire every timer up to ``until`` at its exact deadline, recording what goes out when."""
    sent: list[tuple[float, Outgoing]] = []
    while (deadline := layer.next_timer()) is not None and deadline <= until:
        layer.handle_timers(deadline)
        sent.extend((deadline, out) for out in layer.outgoing())
    return sent


def only(events: list[object], kind: type) -> list[object]:
    return [e for e in events if isinstance(e, kind)]


def first_line(data: bytes) -> str:
    return data.split(b"\r\n", 1)[0].decode()


# ---------------------------------------------------------------- non-INVITE client
def test_non_invite_client_retransmits_doubling_to_t2_and_times_out_at_timer_f() -> None:
    layer = TransactionLayer()
    key = layer.send_request(request("MESSAGE"), DEVICE, 0.0)
    assert [o.peer for o in layer.outgoing()] == [DEVICE]
    sent = sent_times(layer, 40.0)
    times = [t for t, _ in sent]
    assert times == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    assert all(first_line(o.data).startswith("MESSAGE ") for _, o in sent)
    events = layer.events()
    assert len(events) == 1 and isinstance(events[0], TransactionTimedOut)
    assert events[0].key == key and events[0].request.method == "MESSAGE"
    assert len(layer) == 0 and layer.next_timer() is None


def test_non_invite_client_in_proceeding_retransmits_every_t2() -> None:
    layer = TransactionLayer()
    req = request("MESSAGE")
    key = layer.send_request(req, DEVICE, 0.0)
    layer.outgoing()
    layer.receive(response_to(req, 100), DEVICE, 0.2)
    assert [type(e) for e in layer.events()] == [ResponseReceived]
    times = [t for t, _ in sent_times(layer, 40.0)]
    assert times == [0.5, 4.5, 8.5, 12.5, 16.5, 20.5, 24.5, 28.5]
    events = layer.events()
    assert [type(e) for e in events] == [TransactionTimedOut] and events[0].key == key  # type: ignore[union-attr]


def test_non_invite_client_final_absorbs_retransmissions_until_timer_k() -> None:
    layer = TransactionLayer()
    req = request("REGISTER")
    key = layer.send_request(req, DEVICE, 0.0)
    layer.outgoing()
    layer.receive(response_to(req, 200), DEVICE, 1.0)  # after one retransmission would be due
    events = layer.events()
    assert len(events) == 1 and isinstance(events[0], ResponseReceived)
    assert events[0].key == key and events[0].response.status == 200 and events[0].request is req
    layer.receive(response_to(req, 200), DEVICE, 2.0)
    assert layer.events() == [] and layer.outgoing() == []
    assert layer.next_timer() == 6.0  # Timer K = T4 after the final response
    layer.handle_timers(5.9)
    assert len(layer) == 1
    layer.handle_timers(6.0)
    assert len(layer) == 0 and layer.outgoing() == [] and layer.events() == []
    layer.receive(response_to(req, 200), DEVICE, 7.0)
    assert [type(e) for e in layer.events()] == [MessageDropped]


def test_non_invite_client_over_tcp_never_retransmits_but_times_out() -> None:
    layer = TransactionLayer()
    layer.send_request(request("MESSAGE", via="SIP/2.0/TCP 192.168.6.106:5062"), DEVICE_TCP, 0.0)
    assert len(layer.outgoing()) == 1
    assert sent_times(layer, 31.9) == [] and layer.events() == []
    layer.handle_timers(32.0)
    assert [type(e) for e in layer.events()] == [TransactionTimedOut]
    assert len(layer) == 0


def test_non_invite_client_over_tcp_ends_at_the_final_response() -> None:
    layer = TransactionLayer()
    req = request("MESSAGE", via="SIP/2.0/TCP 192.168.6.106:5062")
    layer.send_request(req, DEVICE_TCP, 0.0)
    layer.receive(response_to(req, 200), DEVICE_TCP, 0.1)
    assert len(layer) == 0 and layer.next_timer() is None


def test_transport_error_fails_pending_client_transactions_of_that_peer_only() -> None:
    layer = TransactionLayer()
    key = layer.send_request(request("MESSAGE", via="SIP/2.0/TCP 192.168.6.106:5062"), DEVICE_TCP, 0.0)
    layer.send_request(request("MESSAGE", branch="z9hG4bKother"), DEVICE, 0.0)
    layer.transport_error(DEVICE_TCP, 1.0)
    events = layer.events()
    assert [(type(e), e.key) for e in events] == [(TransactionTimedOut, key)]  # type: ignore[union-attr]
    assert len(layer) == 1


# ---------------------------------------------------------------- INVITE client
def test_invite_client_timer_a_doubles_without_cap_and_timer_b_fires_at_32s() -> None:
    layer = TransactionLayer()
    key = layer.send_request(request("INVITE"), DEVICE, 0.0)
    layer.outgoing()
    times = [t for t, _ in sent_times(layer, 40.0)]
    assert times == [0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    events = layer.events()
    assert [(type(e), e.key) for e in events] == [(TransactionTimedOut, key)]  # type: ignore[union-attr]
    assert len(layer) == 0


def test_invite_client_provisional_stops_retransmission_and_guard_bounds_proceeding() -> None:
    layer = TransactionLayer()
    req = request("INVITE")
    layer.send_request(req, DEVICE, 0.0)
    layer.outgoing()
    layer.receive(response_to(req, 100), DEVICE, 0.1)
    layer.receive(response_to(req, 101), DEVICE, 0.2)
    assert [e.response.status for e in layer.events()] == [100, 101]  # type: ignore[union-attr]
    assert sent_times(layer, 180.0) == [] and layer.events() == []
    layer.handle_timers(180.1)
    assert [type(e) for e in layer.events()] == [TransactionTimedOut]
    assert len(layer) == 0


def test_invite_client_acks_a_non_2xx_final_with_the_same_branch_until_timer_d() -> None:
    layer = TransactionLayer()
    req = request("INVITE", cseq=20)
    layer.send_request(req, DEVICE, 0.0)
    layer.outgoing()
    layer.receive(response_to(req, 486, to_tag="busy9"), DEVICE, 0.3)
    assert [e.response.status for e in layer.events()] == [486]  # type: ignore[union-attr]
    (ack_out,) = layer.outgoing()
    ack = parse_message(ack_out.data)
    assert isinstance(ack, Request) and ack.method == "ACK" and ack.uri == req.uri
    assert ack.top_via.branch == req.top_via.branch and len(ack.vias) == 1
    assert str(ack.cseq) == "20 ACK" and ack.to_addr.tag == "busy9"
    assert ack.from_addr.tag == req.from_addr.tag and ack.call_id == req.call_id
    # A retransmitted 486 is answered with the same ACK and not reported again.
    layer.receive(response_to(req, 486, to_tag="busy9"), DEVICE, 1.0)
    assert [o.data for o in layer.outgoing()] == [ack_out.data] and layer.events() == []
    assert sent_times(layer, 32.2) == [] and len(layer) == 1
    layer.handle_timers(32.3)  # Timer D = 32 s after the final response
    assert len(layer) == 0 and layer.events() == []


def test_invite_client_passes_every_2xx_up_until_timer_m() -> None:
    layer = TransactionLayer()
    req = request("INVITE")
    key = layer.send_request(req, DEVICE, 0.0)
    layer.outgoing()
    layer.receive(response_to(req, 200), DEVICE, 0.1)
    layer.receive(response_to(req, 200), DEVICE, 0.6)  # retransmitted 2xx: the dialog re-ACKs
    events = layer.events()
    assert [(type(e), e.key) for e in events] == [(ResponseReceived, key)] * 2  # type: ignore[union-attr]
    assert layer.outgoing() == []  # no ACK from the transaction layer for a 2xx
    layer.receive(response_to(req, 486), DEVICE, 0.7)
    assert [type(e) for e in layer.events()] == [MessageDropped]
    layer.handle_timers(32.0)
    assert len(layer) == 1
    layer.handle_timers(32.1)
    assert len(layer) == 0 and layer.events() == []


def test_invite_client_over_tcp_sends_ack_and_ends_at_once() -> None:
    layer = TransactionLayer()
    req = request("INVITE", via="SIP/2.0/TCP 192.168.6.106:5062")
    layer.send_request(req, DEVICE_TCP, 0.0)
    layer.outgoing()
    layer.receive(response_to(req, 488), DEVICE_TCP, 0.1)
    assert [first_line(o.data) for o in layer.outgoing()] == [f"ACK {req.uri} SIP/2.0"]
    assert len(layer) == 0


# ---------------------------------------------------------------- non-INVITE server
def test_nonstart_invite_server_absorbs_retransmissions_and_resends_the_last_response() -> None:
    layer = TransactionLayer()
    data = raw_request("MESSAGE")
    layer.receive(data, DEVICE, 0.0)
    (event,) = layer.events()
    assert isinstance(event, RequestReceived) and event.peer == DEVICE and event.key.startswith("s:")
    layer.receive(data, DEVICE, 0.5)  # Trying: absorbed silently
    assert layer.events() == [] and layer.outgoing() == []
    layer.send_response(make_response(event.request, 200, to_tag="t1"), 0.6)
    (answer,) = layer.outgoing()
    assert answer.peer == DEVICE and first_line(answer.data) == "SIP/2.0 200 OK"
    for at in (1.0, 2.0, 4.0):
        layer.receive(data, DEVICE, at)
        assert layer.outgoing() == [answer] and layer.events() == []
    # A second final response from the TU is discarded.
    layer.send_response(make_response(event.request, 500, to_tag="t1"), 5.0)
    assert layer.outgoing() == []
    layer.handle_timers(32.5)
    assert len(layer) == 1
    layer.handle_timers(32.6)  # Timer J = 64*T1 after the final response
    assert len(layer) == 0
    layer.receive(data, DEVICE, 33.0)
    assert [type(e) for e in layer.events()] == [RequestReceived]


def test_nonstart_invite_server_provisional_is_resent_on_retransmission() -> None:
    layer = TransactionLayer()
    data = raw_request("MESSAGE")
    layer.receive(data, DEVICE, 0.0)
    (event,) = layer.events()
    assert isinstance(event, RequestReceived)
    layer.send_response(make_response(event.request, 100), 0.1)
    (trying,) = layer.outgoing()
    layer.receive(data, DEVICE, 0.5)
    assert layer.outgoing() == [trying]


def test_nonstart_invite_server_over_tcp_ends_with_the_final_response() -> None:
    layer = TransactionLayer()
    layer.receive(raw_request("MESSAGE", via="SIP/2.0/TCP 192.168.6.106:5062"), DEVICE_TCP, 0.0)
    (event,) = layer.events()
    assert isinstance(event, RequestReceived)
    layer.send_response(make_response(event.request, 200, to_tag="x"), 0.0)
    assert [o.peer for o in layer.outgoing()] == [DEVICE_TCP]
    assert len(layer) == 0


def test_nonstart_invite_server_that_the_tu_never_answers_is_dropped_after_64_t1() -> None:
    layer = TransactionLayer()
    layer.receive(raw_request("MESSAGE"), DEVICE, 0.0)
    layer.events()
    layer.handle_timers(32.0)
    assert len(layer) == 0 and layer.events() == [] and layer.outgoing() == []


# ---------------------------------------------------------------- INVITE server
def start_invite_server(layer: TransactionLayer, data: bytes) -> RequestReceived:
    layer.receive(data, DEVICE, 0.0)
    (event,) = layer.events()
    assert isinstance(event, RequestReceived)
    return event


def teststart_invite_server_sends_100_trying_at_once_and_again_on_retransmission() -> None:
    layer = TransactionLayer()
    data = raw_request("INVITE")
    start_invite_server(layer, data)
    (trying,) = layer.outgoing()
    assert first_line(trying.data) == "SIP/2.0 100 Trying" and trying.peer == DEVICE
    assert parse_message(trying.data).to_addr.tag is None
    layer.receive(data, DEVICE, 0.4)
    assert layer.outgoing() == [trying] and layer.events() == []


def teststart_invite_server_retransmits_non_2xx_on_timer_g_until_timer_h() -> None:
    layer = TransactionLayer()
    event = start_invite_server(layer, raw_request("INVITE"))
    layer.outgoing()
    layer.send_response(make_response(event.request, 486, to_tag="b"), 0.0)
    (final,) = layer.outgoing()
    sent = sent_times(layer, 40.0)
    assert [t for t, _ in sent] == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    assert all(o == final for _, o in sent)
    events = layer.events()
    assert [(type(e), e.key) for e in events] == [(TransactionTimedOut, event.key)]  # type: ignore[union-attr]
    assert len(layer) == 0


def teststart_invite_server_ack_stops_timer_g_and_timer_i_ends_it() -> None:
    layer = TransactionLayer()
    invite = raw_request("INVITE")
    event = start_invite_server(layer, invite)
    layer.outgoing()
    layer.send_response(make_response(event.request, 404, to_tag="nf"), 0.0)
    layer.outgoing()
    layer.handle_timers(0.5)
    assert len(layer.outgoing()) == 1
    ack = raw_request("ACK", to_tag="nf")
    layer.receive(ack, DEVICE, 0.7)
    assert layer.events() == []  # the ACK of a non-2xx belongs to the transaction
    layer.receive(ack, DEVICE, 0.8)
    layer.receive(invite, DEVICE, 0.9)  # Confirmed absorbs everything
    assert layer.events() == [] and layer.outgoing() == []
    assert sent_times(layer, 5.6) == [] and len(layer) == 1
    layer.handle_timers(5.7)  # Timer I = T4 after the ACK
    assert len(layer) == 0 and layer.events() == []


def teststart_invite_server_over_tcp_ends_at_the_ack() -> None:
    layer = TransactionLayer()
    via = "SIP/2.0/TCP 192.168.6.106:5062"
    layer.receive(raw_request("INVITE", via=via), DEVICE_TCP, 0.0)
    (event,) = layer.events()
    assert isinstance(event, RequestReceived)
    layer.send_response(make_response(event.request, 486, to_tag="b"), 0.0)
    assert sent_times(layer, 31.0) == []
    layer.receive(raw_request("ACK", via=via, to_tag="b"), DEVICE_TCP, 1.0)
    assert len(layer) == 0


def teststart_invite_server_retransmits_2xx_until_the_ack_and_absorbs_invites_until_timer_l() -> None:
    layer = TransactionLayer()
    invite = raw_request("INVITE")
    event = start_invite_server(layer, invite)
    layer.outgoing()
    layer.send_response(make_response(event.request, 200, to_tag="ok"), 0.0)
    (ok,) = layer.outgoing()
    sent = sent_times(layer, 4.0)
    assert [t for t, _ in sent] == [0.5, 1.5, 3.5] and all(o == ok for _, o in sent)
    layer.receive(invite, DEVICE, 4.5)  # Accepted: a retransmitted INVITE is absorbed
    assert layer.outgoing() == [] and layer.events() == []
    # The ACK to a 2xx has its own branch; it reaches the TU with no transaction key.
    layer.receive(raw_request("ACK", branch="z9hG4bKack2xx", to_tag="ok"), DEVICE, 5.0)
    (ack,) = layer.events()
    assert isinstance(ack, RequestReceived) and ack.key == "" and ack.request.method == "ACK"
    assert sent_times(layer, 31.9) == []
    layer.handle_timers(32.0)  # Timer L
    assert len(layer) == 0 and layer.events() == []


def teststart_invite_server_2xx_never_acked_is_reported_after_64_t1() -> None:
    layer = TransactionLayer()
    event = start_invite_server(layer, raw_request("INVITE"))
    layer.outgoing()
    layer.send_response(make_response(event.request, 200, to_tag="ok"), 0.0)
    layer.outgoing()
    times = [t for t, _ in sent_times(layer, 40.0)]
    assert times == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    events = layer.events()
    assert [(type(e), e.key) for e in events] == [(TransactionTimedOut, event.key)]  # type: ignore[union-attr]


def teststart_invite_server_proceeding_guard_drops_an_unanswered_invite() -> None:
    layer = TransactionLayer(invite_proceeding=60.0)
    start_invite_server(layer, raw_request("INVITE"))
    layer.handle_timers(60.0)
    assert len(layer) == 0


def test_stray_ack_is_passed_up_without_a_key() -> None:
    layer = TransactionLayer()
    layer.receive(raw_request("ACK", to_tag="x"), DEVICE, 0.0)
    (event,) = layer.events()
    assert isinstance(event, RequestReceived) and event.key == "" and len(layer) == 0
