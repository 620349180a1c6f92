"""A platform and a device, each a TransactionLayer, wired together in memory: a whole GB
flow with no network. REGISTER with a digest challenge, Keepalive, INVITE (100, 101, 200,
ACK, with a lost ACK recovered by the 2xx retransmission), INFO, BYE, and a Catalog
SUBSCRIBE with NOTIFY, refresh and Expires: 0. The device sits behind NAT, so the platform
only ever sees its public address."""

from __future__ import annotations

import random
from collections.abc import Callable

from sip_gateway.core.dialog import Dialog, LocalAddress, answer_invite, build_request
from sip_gateway.core.digest import DigestChallenge, DigestClient, DigestOutcome, DigestServer
from sip_gateway.core.header_values import NameAddress
from sip_gateway.core.ids import IdSource
from sip_gateway.core.message import Request, Response
from sip_gateway.core.responses import make_response
from sip_gateway.core.subscription import Notifier, Subscriber
from sip_gateway.core.transaction import (
    Event,
    Outgoing,
    Peer,
    RequestReceived,
    ResponseReceived,
    TransactionLayer,
)

DOMAIN = "3402000000"
PLATFORM_ID = "34020000002000000001"
DEVICE_ID = "34020000001320000001"
PLATFORM_ADDR = LocalAddress("10.0.0.1", 5060)
DEVICE_ADDR = LocalAddress("192.168.1.64", 5060)  # private: the platform never sees it
PLATFORM_PEER: Peer = ("udp", "10.0.0.1", 5060)  # as the device reaches the platform
DEVICE_PUBLIC: Peer = ("udp", "203.0.113.5", 40000)  # the device as the platform sees it (NAT)
PASSWORD = "12345678"
MANSCDP = "Application/MANSCDP+xml"


class Wire:
    """Carries bytes between the two layers and keeps the clock."""

    def __init__(self) -> None:
        self.platform = TransactionLayer()
        self.device = TransactionLayer()
        self.now = 0.0
        self.platform_events: list[Event] = []
        self.device_events: list[Event] = []
        self.dropped: list[bytes] = []

    def pump(self, drop: Callable[[Outgoing], bool] = lambda _: False) -> None:
        """Deliver everything both sides want to send until both are quiet."""
        while True:
            to_device = self.platform.outgoing()
            to_platform = self.device.outgoing()
            if not to_device and not to_platform:
                break
            for out in to_device:
                assert out.peer == DEVICE_PUBLIC  # always the NAT address the request came from
                if drop(out):
                    self.dropped.append(out.data)
                else:
                    self.device.receive(out.data, PLATFORM_PEER, self.now)
            for out in to_platform:
                assert out.peer == PLATFORM_PEER
                if drop(out):
                    self.dropped.append(out.data)
                else:
                    self.platform.receive(out.data, DEVICE_PUBLIC, self.now)
            self.platform_events += self.platform.events()
            self.device_events += self.device.events()

    def advance(self, to: float) -> None:
        """Move the clock, firing every timer at its own deadline on the way."""
        while True:
            deadlines = [d for d in (self.platform.next_timer(), self.device.next_timer()) if d is not None]
            if not deadlines or min(deadlines) > to:
                break
            self.now = max(self.now, min(deadlines))
            self.platform.handle_timers(self.now)
            self.device.handle_timers(self.now)
            self.pump()
        self.now = to

    def take_platform(self) -> list[Event]:
        events, self.platform_events = self.platform_events, []
        return events

    def take_device(self) -> list[Event]:
        events, self.device_events = self.device_events, []
        return events


def one(events: list[Event], kind: type) -> Event:
    assert len(events) == 1 and isinstance(events[0], kind), events
    return events[0]


def responses(events: list[Event]) -> list[Response]:
    assert all(isinstance(e, ResponseReceived) for e in events), events
    return [e.response for e in events if isinstance(e, ResponseReceived)]


def device_request(
    method: str, ids: IdSource, *, cseq: int, call_id: str, tag: str, **kwargs: object
) -> Request:
    return build_request(
        method,
        f"sip:{PLATFORM_ID}@{DOMAIN}",
        from_addr=f"<sip:{DEVICE_ID}@{DOMAIN}>;tag={tag}",
        to_addr=f"<sip:{DEVICE_ID}@{DOMAIN}>" if method == "REGISTER" else f"<sip:{PLATFORM_ID}@{DOMAIN}>",
        call_id=call_id,
        cseq=cseq,
        via_host=DEVICE_ADDR.host,
        via_port=DEVICE_ADDR.port,
        transport="UDP",
        branch=ids.branch(),
        **kwargs,  # type: ignore[arg-type]
    )


def register(wire: Wire, ids: IdSource, digest: DigestServer) -> None:
    call_id, tag = ids.call_id(), ids.tag()
    contact = f"sip:{DEVICE_ID}@{DEVICE_ADDR.host}:{DEVICE_ADDR.port}"
    first = device_request(
        "REGISTER",
        ids,
        cseq=1,
        call_id=call_id,
        tag=tag,
        contact=contact,
        extra_headers=[("Expires", "3600")],
    )
    wire.device.send_request(first, PLATFORM_PEER, wire.now)
    wire.pump()
    incoming = one(wire.take_platform(), RequestReceived)
    assert isinstance(incoming, RequestReceived) and incoming.peer == DEVICE_PUBLIC
    assert incoming.request.top_via.received == "203.0.113.5" and incoming.request.top_via.rport == 40000
    result = digest.verify(
        incoming.request.headers.get("Authorization"),
        method="REGISTER",
        now=wire.now,
        password_lookup=lambda _: PASSWORD,
    )
    assert result.outcome is DigestOutcome.MISSING
    challenge = digest.challenge(wire.now)
    wire.platform.send_response(
        make_response(
            incoming.request, 401, to_tag=ids.tag(), headers=[("WWW-Authenticate", challenge.to_header())]
        ),
        wire.now,
    )
    wire.pump()
    (r401,) = responses(wire.take_device())
    assert r401.status == 401
    client = DigestClient(DEVICE_ID, PASSWORD)
    authorization = client.authorization(
        DigestChallenge.parse(r401.headers.get("WWW-Authenticate") or ""),
        method="REGISTER",
        uri=first.uri,
        cnonce=ids.cnonce(),
    )
    second = device_request(
        "REGISTER",
        ids,
        cseq=2,
        call_id=call_id,
        tag=tag,
        contact=contact,
        extra_headers=[("Expires", "3600"), ("Authorization", authorization)],
    )
    wire.device.send_request(second, PLATFORM_PEER, wire.now)
    wire.pump()
    incoming = one(wire.take_platform(), RequestReceived)
    assert isinstance(incoming, RequestReceived)
    result = digest.verify(
        incoming.request.headers.get("Authorization"),
        method="REGISTER",
        now=wire.now,
        password_lookup=lambda _: PASSWORD,
    )
    assert result.ok and result.username == DEVICE_ID
    wire.platform.send_response(
        make_response(
            incoming.request,
            200,
            to_tag=ids.tag(),
            headers=[("Date", "2024-05-01T12:00:00.000"), ("Expires", "3600")],
        ),
        wire.now,
    )
    wire.pump()
    (r200,) = responses(wire.take_device())
    assert r200.status == 200 and r200.headers.get("Date") == "2024-05-01T12:00:00.000"


def keepalive(wire: Wire, ids: IdSource) -> None:
    body = f'<?xml version="1.0"?>\r\n<Notify><CmdType>Keepalive</CmdType><SN>1</SN><DeviceID>{DEVICE_ID}</DeviceID><Status>OK</Status></Notify>'.encode()
    message = device_request(
        "MESSAGE", ids, cseq=20, call_id=ids.call_id(), tag=ids.tag(), body=body, content_type=MANSCDP
    )
    wire.device.send_request(message, PLATFORM_PEER, wire.now)
    wire.pump()
    incoming = one(wire.take_platform(), RequestReceived)
    assert isinstance(incoming, RequestReceived) and incoming.request.body == body
    wire.platform.send_response(make_response(incoming.request, 200, to_tag=ids.tag()), wire.now)
    wire.pump()
    (ok,) = responses(wire.take_device())
    assert ok.status == 200 and ok.body == b""


def test_a_whole_gb_session_runs_in_memory() -> None:
    wire = Wire()
    platform_ids = IdSource(random.Random(1))
    device_ids = IdSource(random.Random(2))
    digest = DigestServer(DOMAIN, b"secret", qop=True)

    # ---- REGISTER -> 401 -> REGISTER with Authorization -> 200, then a Keepalive
    register(wire, device_ids, digest)
    wire.advance(1.0)
    keepalive(wire, device_ids)

    # ---- INVITE -> 100 -> 101 -> 200 -> ACK (the first ACK is lost)
    invite = build_request(
        "INVITE",
        f"sip:{DEVICE_ID}@203.0.113.5:40000",
        from_addr=f"<sip:{PLATFORM_ID}@{DOMAIN}>;tag={platform_ids.tag()}",
        to_addr=f"<sip:{DEVICE_ID}@{DOMAIN}>",
        call_id=platform_ids.call_id(),
        cseq=20,
        via_host=PLATFORM_ADDR.host,
        via_port=PLATFORM_ADDR.port,
        transport="UDP",
        branch=platform_ids.branch(),
        contact=f"sip:{PLATFORM_ID}@10.0.0.1:5060",
        body=b"v=0\r\ny=0100000001\r\n",
        content_type="application/sdp",
        extra_headers=[("Subject", f"{DEVICE_ID}:0100000001,{PLATFORM_ID}:0")],
    )
    wire.now = 2.0
    invite_key = wire.platform.send_request(invite, DEVICE_PUBLIC, wire.now)
    wire.pump()
    incoming = one(wire.take_device(), RequestReceived)
    assert isinstance(incoming, RequestReceived) and incoming.request.method == "INVITE"
    device_tag = device_ids.tag()
    device_contact = f"sip:{DEVICE_ID}@{DEVICE_ADDR.host}:{DEVICE_ADDR.port}"
    r101 = answer_invite(
        incoming.request, 101, reason="Dialog Establishement", local_tag=device_tag, contact=device_contact
    )
    r200 = answer_invite(
        incoming.request,
        200,
        local_tag=device_tag,
        contact=device_contact,
        body=b"v=0\r\ny=0100000001\r\n",
        content_type="application/sdp",
    )
    device_dialog = Dialog.uas(incoming.request, r200, DEVICE_ADDR)
    wire.device.send_response(r101, wire.now)
    wire.device.send_response(r200, wire.now)
    wire.pump()
    got = responses(wire.take_platform())
    assert [r.status for r in got] == [100, 101, 200]
    platform_dialog = Dialog.uac(invite, got[1], PLATFORM_ADDR)  # the 101 opens an early dialog
    ack = platform_dialog.on_invite_response(got[2], branch=platform_ids.branch())
    assert ack is not None and platform_dialog.state == "confirmed"
    wire.platform.send_stateless(ack, DEVICE_PUBLIC)
    wire.pump(drop=lambda out: out.data.startswith(b"ACK "))  # lost on the way
    assert len(wire.dropped) == 1
    # The device retransmits its 200 at T1; the platform answers it with the same ACK.
    wire.advance(2.5)
    (again,) = (e for e in wire.take_platform() if isinstance(e, ResponseReceived))
    assert again.key == invite_key and platform_dialog.is_2xx_retransmission(again.response)
    resent = platform_dialog.on_invite_response(again.response, branch="z9hG4bKunused")
    assert resent is ack
    wire.platform.send_stateless(ack, DEVICE_PUBLIC)
    wire.pump()
    ack_in = one(wire.take_device(), RequestReceived)
    assert isinstance(ack_in, RequestReceived) and ack_in.key == "" and device_dialog.matches(ack_in.request)
    wire.advance(10.0)
    assert wire.take_platform() == [] and wire.take_device() == []  # no more 2xx retransmissions

    # ---- INFO (MANSRTSP) inside the dialog, then BYE
    for method, body in (("INFO", b"PAUSE RTSP/1.0\r\nCSeq: 1\r\nPauseTime: now\r\n"), ("BYE", b"")):
        request = platform_dialog.request(
            method,
            branch=platform_ids.branch(),
            body=body,
            content_type="Application/MANSRTSP" if body else None,
        )
        wire.platform.send_request(request, DEVICE_PUBLIC, wire.now)
        wire.pump()
        incoming = one(wire.take_device(), RequestReceived)
        assert isinstance(incoming, RequestReceived) and incoming.request.body == body
        answer = device_dialog.receive_request(incoming.request)
        assert answer is not None and answer.status == 200
        wire.device.send_response(answer, wire.now)
        wire.pump()
        (ok,) = responses(wire.take_platform())
        assert ok.status == 200 and str(ok.cseq) == f"{request.cseq.number} {method}"
    assert device_dialog.state == "terminated" and platform_dialog.state == "terminated"

    # ---- SUBSCRIBE Catalog -> 200 -> NOTIFY -> 200 -> refresh -> Expires: 0
    wire.advance(20.0)
    subscriber = Subscriber(
        event="Catalog;id=1",
        target_uri=f"sip:{DEVICE_ID}@203.0.113.5:40000",
        from_addr=NameAddress(f"sip:{PLATFORM_ID}@{DOMAIN}"),
        to_addr=NameAddress(f"sip:{DEVICE_ID}@{DOMAIN}"),
        call_id=platform_ids.call_id(),
        local_tag=platform_ids.tag(),
        local=PLATFORM_ADDR,
        contact=f"sip:{PLATFORM_ID}@10.0.0.1:5060",
        expires=600,
    )
    query = f"<Query><CmdType>Catalog</CmdType><SN>2</SN><DeviceID>{DEVICE_ID}</DeviceID></Query>".encode()
    wire.platform.send_request(
        subscriber.subscribe(branch=platform_ids.branch(), body=query, content_type=MANSCDP),
        DEVICE_PUBLIC,
        wire.now,
    )
    wire.pump()
    incoming = one(wire.take_device(), RequestReceived)
    assert isinstance(incoming, RequestReceived)
    notifier, accepted = Notifier.accept(
        incoming.request, now=wire.now, local_tag=device_ids.tag(), contact=device_contact, local=DEVICE_ADDR
    )
    wire.device.send_response(accepted, wire.now)
    wire.pump()
    (ok,) = responses(wire.take_platform())
    subscriber.on_response(ok, wire.now)
    assert subscriber.state == "active" and subscriber.refresh_at == 560.0

    def notify_round(at: float) -> Request:
        wire.now = at
        notify = notifier.notify(
            branch=device_ids.branch(), now=wire.now, body=b"<Notify/>", content_type=MANSCDP
        )
        wire.device.send_request(notify, PLATFORM_PEER, wire.now)
        wire.pump()
        incoming = one(wire.take_platform(), RequestReceived)
        assert isinstance(incoming, RequestReceived)
        wire.platform.send_response(subscriber.on_notify(incoming.request, wire.now), wire.now)
        wire.pump()
        (ok,) = responses(wire.take_device())
        assert ok.status == 200
        return incoming.request

    first_notify = notify_round(21.0)
    assert first_notify.headers.get("Subscription-State") == "active;expires=599"

    wire.advance(560.0)
    assert subscriber.check(wire.now) == "refresh"
    wire.platform.send_request(
        subscriber.refresh(branch=platform_ids.branch(), now=wire.now), DEVICE_PUBLIC, wire.now
    )
    wire.pump()
    incoming = one(wire.take_device(), RequestReceived)
    assert isinstance(incoming, RequestReceived)
    wire.device.send_response(notifier.on_subscribe(incoming.request, wire.now), wire.now)
    wire.pump()
    (ok,) = responses(wire.take_platform())
    subscriber.on_response(ok, wire.now)
    assert subscriber.expires_at == 1160.0 and notifier.expires_at == 1160.0

    wire.advance(600.0)
    wire.platform.send_request(subscriber.unsubscribe(branch=platform_ids.branch()), DEVICE_PUBLIC, wire.now)
    wire.pump()
    incoming = one(wire.take_device(), RequestReceived)
    assert isinstance(incoming, RequestReceived) and incoming.request.expires == 0
    wire.device.send_response(notifier.on_subscribe(incoming.request, wire.now), wire.now)
    wire.pump()
    (ok,) = responses(wire.take_platform())
    subscriber.on_response(ok, wire.now)
    final = notify_round(600.0)
    assert final.headers.get("Subscription-State") == "terminated;reason=timeout"
    assert subscriber.state == "terminated" and notifier.expired(wire.now)

    # ---- Nothing lingers: every transaction on both sides expires.
    wire.advance(700.0)
    assert len(wire.platform) == 0 and len(wire.device) == 0
    assert wire.take_platform() == [] and wire.take_device() == []
