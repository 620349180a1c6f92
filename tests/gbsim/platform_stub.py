"""A minimal platform for gbsim tests, built from the same SIP core the gateway uses.

Sans-IO like the device core: `handle_request` answers what a device sends (REGISTER with a
digest challenge, MESSAGE, NOTIFY), and the request builders make what a platform sends
(queries, INVITE, ACK, INFO, BYE). `Wire` carries messages between it and `DeviceCore`s in
memory, through bytes, so both sides' serialisation is exercised.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field

from gbsim.actions import Action, SendRequest, SendResponse
from gbsim.device import DeviceCore
from sip_gateway.core.digest import DigestServer
from sip_gateway.core.headers import Headers
from sip_gateway.core.message import Request, Response, parse_message
from sip_gateway.core.responses import make_response
from sip_gateway.manscdp import Message, parse_manscdp
from sip_gateway.sdp import Transport, build_offer

SERVER_ID = "34020000002000000001"
DOMAIN = "3402000000"
PASSWORD = "12345678"


@dataclass
class PlatformStub:
    server_id: str = SERVER_ID
    domain: str = DOMAIN
    password: str = PASSWORD
    host: str = "127.0.0.1"
    port: int = 5060
    qop: bool = True
    algorithm_in_challenge: bool = True
    up: bool = True
    registered: dict[str, str] = field(default_factory=dict)
    keepalives: Counter[str] = field(default_factory=Counter)
    messages: list[Message] = field(default_factory=list)
    raw_bodies: list[bytes] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    challenges: int = 0

    def __post_init__(self) -> None:
        self.digest = DigestServer(
            self.domain, b"stub-secret", qop=self.qop, algorithm_in_challenge=self.algorithm_in_challenge
        )
        self._seq = itertools.count(1)

    def restart(self) -> None:
        """Forget every registration, as a platform that restarted without persistence."""
        self.registered.clear()

    # -- answering devices ----------------------------------------------------------
    def handle_request(self, request: Request, now: float) -> Response | None:
        if not self.up:
            return None
        self.requests.append(request)
        user = request.from_addr.sip_uri.user or ""
        if request.method == "REGISTER":
            return self._register(request, user, now)
        if request.method in ("MESSAGE", "NOTIFY"):
            message = parse_manscdp(request.body)
            if message.cmd_type == "Keepalive" and user not in self.registered:
                return make_response(request, 403, to_tag="p1")
            if message.cmd_type == "Keepalive":
                self.keepalives[user] += 1
            self.messages.append(message)
            self.raw_bodies.append(request.body)
            return make_response(request, 200, to_tag="p1")
        return make_response(request, 405, to_tag="p1")

    def _register(self, request: Request, user: str, now: float) -> Response:
        if request.expires is None:
            return make_response(request, 400, to_tag="p1")
        result = self.digest.verify(
            request.headers.get("Authorization"),
            method="REGISTER",
            now=now,
            password_lookup=lambda _u: self.password,
        )
        if not result.ok:
            self.challenges += 1
            challenge = self.digest.challenge(now).to_header()
            return make_response(request, 401, to_tag="p1", headers=[("WWW-Authenticate", challenge)])
        if request.expires == 0:
            self.registered.pop(user, None)
        else:
            self.registered[user] = request.contacts[0].uri
        return make_response(
            request,
            200,
            to_tag="p1",
            headers=[("Date", "2024-05-01T12:00:00.000"), ("Expires", str(request.expires))],
        )

    # -- requests to devices --------------------------------------------------------
    def request(
        self,
        method: str,
        target: str,
        body: bytes = b"",
        *,
        content_type: str = "Application/MANSCDP+xml",
        call_id: str | None = None,
        extra: list[tuple[str, str]] | None = None,
        to_tag: str | None = None,
        from_tag: str = "ptag",
        cseq: int = 1,
    ) -> Request:
        n = next(self._seq)
        headers = Headers(
            [
                ("Via", f"SIP/2.0/UDP {self.host}:{self.port};rport;branch=z9hG4bKstub{n}"),
                ("From", f"<sip:{self.server_id}@{self.domain}>;tag={from_tag}"),
                ("To", f"<sip:{target}@{self.domain}>" + (f";tag={to_tag}" if to_tag else "")),
                ("Call-ID", call_id or f"stub-{n}@{self.host}"),
                ("CSeq", f"{cseq} {method}"),
                ("Max-Forwards", "70"),
                ("Contact", f"<sip:{self.server_id}@{self.host}:{self.port}>"),
            ]
        )
        for name, value in extra or ():
            headers.add(name, value)
        if body:
            headers.add("Content-Type", content_type)
        return Request(method, f"sip:{target}@{self.domain}", headers, body)

    def invite(
        self,
        channel_id: str,
        *,
        port: int,
        ssrc: str = "0100000001",
        session: str = "Play",
        transport: Transport = Transport.UDP,
        start: int = 0,
        end: int = 0,
        download_speed: int | None = None,
    ) -> Request:
        sdp = build_offer(
            session=session,  # type: ignore[arg-type]
            origin_id=self.server_id,
            address=self.host,
            port=port,
            ssrc=ssrc,
            transport=transport,
            channel_id=channel_id if session != "Play" else None,
            start_time=start,
            end_time=end,
            download_speed=download_speed,
        )
        return self.request(
            "INVITE",
            channel_id,
            sdp.encode(),
            content_type="APPLICATION/SDP",
            extra=[("Subject", f"{channel_id}:{ssrc},{self.server_id}:0")],
        )

    def in_dialog(
        self,
        method: str,
        invite: Request,
        answer: Response,
        body: bytes = b"",
        *,
        content_type: str = "Application/MANSRTSP",
        cseq: int = 2,
    ) -> Request:
        target = invite.sip_uri.user or ""
        return self.request(
            method,
            target,
            body,
            content_type=content_type,
            call_id=invite.call_id,
            to_tag=answer.to_addr.tag,
            cseq=1 if method == "ACK" else cseq,
        )


class Wire:
    """Carries messages between devices and the stub in memory, as bytes both ways."""

    def __init__(self, stub: PlatformStub, *devices: DeviceCore) -> None:
        self.stub = stub
        self.devices = list(devices)
        self.actions: list[Action] = []
        self.responses: list[Response] = []  # device answers to the stub's requests
        self.sent: list[Request] = []  # requests devices sent

    def pump(self, now: float) -> None:
        busy = True
        while busy:
            busy = False
            for device in self.devices:
                outbox, device.outbox = device.outbox, []
                for action in outbox:
                    busy = True
                    self._carry(device, action, now)

    def _carry(self, device: DeviceCore, action: Action, now: float) -> None:
        if isinstance(action, SendRequest):
            request = parse_message(action.request.to_bytes())
            assert isinstance(request, Request)
            self.sent.append(request)
            response = self.stub.handle_request(request, now)
            if response is not None:
                back = parse_message(response.to_bytes())
                assert isinstance(back, Response)
                device.on_response(back, now)
        elif isinstance(action, SendResponse):
            back = parse_message(action.response.to_bytes())
            assert isinstance(back, Response)
            self.responses.append(back)
        else:
            self.actions.append(action)

    def deliver(self, device: DeviceCore, request: Request, now: float) -> list[Response]:
        """Send a platform request to a device; the device's answers to it."""
        start = len(self.responses)
        parsed = parse_message(request.to_bytes())
        assert isinstance(parsed, Request)
        device.on_request(parsed, now)
        self.pump(now)
        return [r for r in self.responses[start:] if r.call_id == request.call_id]

    def run(self, until: float, now: float = 0.0) -> float:
        """Advance time to `until`, firing device timers as they come due."""
        while now < until:
            self.pump(now)
            due = min((d.deadline for d in self.devices), default=until)
            now = min(max(due, now + 1e-6), until) if due <= until else until
            for device in self.devices:
                if device.deadline <= now:
                    device.on_timer(now)
            self.pump(now)
        return now
