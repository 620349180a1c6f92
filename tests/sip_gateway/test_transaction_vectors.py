"""The captured Dahua/Hikvision session through the transaction layer, both sides.

Only the bodiless messages' missing blank line matters here; files are fed as they are, since
the layer must cope with what devices send. The vectors are found through ``tests.vectors``.
"""

from __future__ import annotations

from sip_gateway.core.message import Request, Response, parse_message
from sip_gateway.core.responses import make_response
from sip_gateway.core.transaction import (
    Peer,
    RequestReceived,
    ResponseReceived,
    TransactionLayer,
)
from tests.vectors import vector_path

CAPTURE = "sip/dahua_sd_hik_nvr"
DOME: Peer = ("udp", "192.168.6.71", 5060)
PLATFORM: Peer = ("udp", "192.168.6.106", 5062)


def capture(name: str) -> bytes:
    return vector_path(f"{CAPTURE}/{name}").read_bytes()


def capture_request(name: str) -> Request:
    message = parse_message(capture(name))
    assert isinstance(message, Request)
    return message


def test_platform_invite_client_takes_the_dome_100_101_and_200() -> None:
    layer = TransactionLayer()
    invite = capture_request("19_platform_INVITE.sip")
    key = layer.send_request(invite, DOME, 0.0)
    assert key == "c:z9hG4bK2420824424|INVITE"
    (sent,) = layer.outgoing()
    assert parse_message(sent.data) == invite
    for at, name in ((0.05, "20_device_resp100-INVITE.sip"), (0.1, "21_device_resp101-INVITE.sip")):
        layer.receive(capture(name), DOME, at)
    assert layer.next_timer() is not None and layer.next_timer() > 100  # type: ignore[operator]
    layer.receive(capture("22_device_resp200-INVITE.sip"), DOME, 0.4)
    events = layer.events()
    assert all(isinstance(e, ResponseReceived) and e.key == key and e.request is invite for e in events)
    statuses = [e.response.status for e in events]  # type: ignore[union-attr]
    assert statuses == [100, 101, 200]
    assert events[1].response.reason == "Dialog Establishement"  # type: ignore[union-attr]
    assert layer.outgoing() == []  # the ACK to a 2xx is the dialog layer's (file 23)
    layer.receive(capture("22_device_resp200-INVITE.sip"), DOME, 1.0)
    assert [type(e) for e in layer.events()] == [ResponseReceived]
    layer.handle_timers(32.4)
    assert len(layer) == 0


def test_dome_invite_server_answers_the_platform_and_takes_its_ack() -> None:
    layer = TransactionLayer()
    layer.receive(capture("19_platform_INVITE.sip"), PLATFORM, 0.0)
    (event,) = layer.events()
    assert isinstance(event, RequestReceived) and event.request.method == "INVITE"
    via = event.request.top_via
    assert (via.received, via.rport) == ("192.168.6.106", 5062)  # "rport" was empty
    (trying,) = layer.outgoing()
    assert trying.peer == PLATFORM and trying.data.startswith(b"SIP/2.0 100 Trying\r\n")
    layer.send_response(make_response(event.request, 101, "Dialog Establishement", to_tag="1504032660"), 0.01)
    layer.send_response(make_response(event.request, 200, to_tag="1504032660"), 0.02)
    assert [o.data.split(b"\r\n")[0] for o in layer.outgoing()] == [
        b"SIP/2.0 101 Dialog Establishement",
        b"SIP/2.0 200 OK",
    ]
    layer.handle_timers(0.52)
    assert len(layer.outgoing()) == 1  # the 2xx is retransmitted until the ACK
    layer.receive(capture("23_platform_ACK.sip"), PLATFORM, 0.6)
    (ack,) = layer.events()
    assert isinstance(ack, RequestReceived) and ack.key == "" and ack.request.method == "ACK"
    layer.handle_timers(20.0)
    assert layer.outgoing() == []


def test_register_challenge_and_bye_responses_match_their_client_transactions() -> None:
    layer = TransactionLayer()
    register = capture_request("01_device_REGISTER.sip")
    key = layer.send_request(register, PLATFORM, 0.0)
    layer.receive(capture("02_platform_resp401-REGISTER.sip"), PLATFORM, 0.02)
    bye = capture_request("24_platform_BYE.sip")
    bye_key = layer.send_request(bye, DOME, 0.0)
    layer.receive(capture("25_device_resp200-BYE.sip"), DOME, 0.03)
    events = layer.events()
    assert [(e.key, e.response.status) for e in events] == [(key, 401), (bye_key, 200)]  # type: ignore[union-attr]
    assert all(isinstance(e.response, Response) for e in events)  # type: ignore[union-attr]


def test_every_capture_message_is_handled_without_raising() -> None:
    folder = vector_path(CAPTURE)
    layer = TransactionLayer()
    for index, path in enumerate(sorted(folder.glob("*.sip"))):
        layer.receive(path.read_bytes(), PLATFORM, index * 0.1)
        layer.handle_timers(index * 0.1)
    assert layer.events()
