"""The registrar: who is registered, from where, until when; sans-IO.

Decides the answer to each REGISTER (challenge, 200, 403, 400) from the request, the peer it
came from and `now`, and keeps the registrations the gateway routes requests by. Liveness (the
last keepalive) lives here too, so one structure says which devices are reachable.
"""

from __future__ import annotations

import enum
import heapq
import itertools
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from sip_gateway.core.digest import DigestOutcome, DigestServer
from sip_gateway.core.errors import SipParseError
from sip_gateway.core.frozen import quick_init
from sip_gateway.core.message import Request, Response
from sip_gateway.core.responses import make_response
from sip_gateway.outbound import device_uri
from sip_gateway.transport import Peer

logger = logging.getLogger(__name__)

MAX_EXPIRES = 86_400 * 2
MIN_EXPIRES = 60

PasswordFor = Callable[[str], str | None]  # device ID -> password, None when the device is refused


class Outcome(enum.Enum):
    CHALLENGED = "challenged"
    REGISTERED = "registered"  # new, or back after being unreachable
    REFRESHED = "refreshed"
    UNREGISTERED = "unregistered"
    REFUSED = "refused"
    BAD_REQUEST = "bad_request"


@dataclass(slots=True)
class Registration:
    device_id: str
    peer: Peer
    contact: str
    call_id: str
    expires: int
    expires_at: float
    last_seen: float
    user_agent: str = ""
    gb_version: str = ""
    extra: dict[str, str] = field(default_factory=dict)


@quick_init
@dataclass(frozen=True, slots=True)
class RegisterDecision:
    outcome: Outcome
    response: Response
    reason: str
    registration: Registration | None = None


def requested_expires(request: Request) -> int | None:
    """Expires from the header, else from the first Contact's parameter; None when absent."""
    if request.expires is not None:
        return request.expires
    try:
        contacts = request.contacts
    except SipParseError:
        return None
    for contact in contacts:
        value = contact.param("expires")
        if value is not None and value.strip().isdigit():
            return int(value.strip())
    return None


class Registrar:
    def __init__(
        self,
        *,
        digest: DigestServer,
        password_for: PasswordFor,
        default_expires: int = 3600,
        gb_date: Callable[[], str],
    ) -> None:
        self.digest = digest
        self.password_for = password_for
        self.default_expires = default_expires
        self.gb_date = gb_date
        self.registrations: dict[str, Registration] = {}
        # When each device may next need removing, so `expire` looks only at those due: a heap
        # of (time, device ID), and the time of each device's one live entry (others are stale).
        self._due: list[tuple[float, str]] = []
        self._scheduled: dict[str, float] = {}
        self._keepalive_timeout: float | None = None  # the heap holds deadlines computed with it
        # To tags: a counter from a random start, digits only (some GB devices mishandle letters).
        # A retransmitted REGISTER is answered by its server transaction with the same response;
        # one arriving after that is gone may get another tag, which a REGISTER never uses.
        self._tags = itertools.count(10**9 + secrets.randbelow(8 * 10**9))

    def __len__(self) -> int:
        return len(self.registrations)

    def get(self, device_id: str) -> Registration | None:
        return self.registrations.get(device_id)

    def handle(self, request: Request, peer: Peer, now: float) -> RegisterDecision:
        try:
            device_id = request.from_user or ""
        except SipParseError as exc:
            return self._bad(request, f"unreadable From: {exc.reason}")
        if not device_id:
            return self._bad(request, "From carries no device ID")
        headers = request.headers
        expires = requested_expires(request)
        existing = self.registrations.get(device_id)
        call_id = request.call_id
        authorization = headers.get("Authorization")
        if not self._same_binding(existing, call_id, authorization, peer, now):
            verdict = self._authenticate(request, authorization, device_id, now)
            if verdict is not None:
                return verdict
        contact = headers.get("Contact")
        version = headers.get("X-GB-Ver")
        if expires == 0:
            self.registrations.pop(device_id, None)
            return RegisterDecision(Outcome.UNREGISTERED, self._ok(request, 0, contact, version), "unregistered")
        granted = min(max(expires if expires is not None else self.default_expires, MIN_EXPIRES), MAX_EXPIRES)
        registration = Registration(
            device_id=device_id,
            peer=peer,
            contact=contact or f"<{device_uri(device_id, peer)}>",
            call_id=call_id,
            expires=granted,
            expires_at=now + granted,
            last_seen=now,
            user_agent=(headers.get("User-Agent") or "")[:128],
            gb_version=(version or "")[:8],
        )
        fresh = existing is None or existing.expires_at < now
        self.registrations[device_id] = registration
        self._schedule(registration)
        outcome = Outcome.REGISTERED if fresh else Outcome.REFRESHED
        return RegisterDecision(outcome, self._ok(request, granted, contact, version), outcome.value, registration)

    @staticmethod
    def _same_binding(
        existing: Registration | None, call_id: str, authorization: str | None, peer: Peer, now: float
    ) -> bool:
        """A refresh on the same Call-ID from the same address is not challenged again, as GB
        devices expect (many cache no credentials); anything else proves its password."""
        return (
            existing is not None
            and existing.expires_at >= now
            and existing.call_id == call_id
            and existing.peer == peer
            and authorization is None
        )

    def _authenticate(
        self, request: Request, authorization: str | None, device_id: str, now: float
    ) -> RegisterDecision | None:
        password = self.password_for(device_id)
        result = self.digest.verify(
            authorization,
            method="REGISTER",
            now=now,
            password_lookup=lambda _user: password,
        )
        if result.ok:
            return None
        if result.outcome is DigestOutcome.UNKNOWN_USER:
            return self._refuse(request, device_id, "device is not accepted by this platform")
        if result.outcome is DigestOutcome.BAD_RESPONSE and "not issued" not in result.reason:
            return self._refuse(request, device_id, result.reason)
        if result.outcome is DigestOutcome.MALFORMED:
            logger.info("REGISTER from %s: malformed credentials: %s", device_id, result.reason)
            return self._bad(request, f"malformed Authorization: {result.reason}")
        stale = result.outcome in (DigestOutcome.STALE, DigestOutcome.REPLAY)
        challenge = self.digest.challenge(now, stale=stale)
        if result.outcome is not DigestOutcome.MISSING:
            logger.info("REGISTER from %s challenged again: %s", device_id, result.reason)
        response = make_response(
            request, 401, to_tag=self._tag(), headers=[("WWW-Authenticate", challenge.to_header())]
        )
        return RegisterDecision(Outcome.CHALLENGED, response, result.reason)

    def _refuse(self, request: Request, device_id: str, reason: str) -> RegisterDecision:
        logger.warning("REGISTER from %s refused: %s", device_id, reason)
        return RegisterDecision(Outcome.REFUSED, make_response(request, 403, to_tag=self._tag()), reason)

    def _bad(self, request: Request, reason: str) -> RegisterDecision:
        response = make_response(request, 400, to_tag=self._tag(), headers=[("Warning", f'399 - "{reason}"')])
        return RegisterDecision(Outcome.BAD_REQUEST, response, reason)

    def _ok(self, request: Request, expires: int, contact: str | None, version: str | None) -> Response:
        headers = [("Date", self.gb_date()), ("Expires", str(expires))]
        if contact and expires:
            headers.append(("Contact", contact))
        if version:
            headers.append(("X-GB-Ver", version))
        return make_response(request, 200, to_tag=self._tag(), headers=headers)

    def _tag(self) -> str:
        return str(next(self._tags))

    # --- liveness -------------------------------------------------------------------------------
    def touch(self, device_id: str, peer: Peer, now: float) -> Registration | None:
        """A keepalive (or any request) from a registered device: it is alive, and its address
        may have changed behind NAT."""
        registration = self.registrations.get(device_id)
        if registration is None or registration.expires_at < now:
            return None
        registration.last_seen = now
        registration.peer = peer
        return registration

    def expire(self, now: float, keepalive_timeout: float) -> list[tuple[str, str]]:
        """Remove registrations that expired or whose keepalives stopped; (device ID, reason)."""
        if keepalive_timeout != self._keepalive_timeout:
            self._keepalive_timeout = keepalive_timeout
            self._due, self._scheduled = [], {}
            for current in self.registrations.values():
                self._schedule(current)
        gone: list[tuple[str, str]] = []
        due = self._due
        while due and due[0][0] < now:
            at, device_id = heapq.heappop(due)
            if self._scheduled.get(device_id) != at:
                continue  # superseded by an earlier deadline
            del self._scheduled[device_id]
            registration = self.registrations.get(device_id)
            if registration is None:
                continue
            if registration.expires_at < now:
                gone.append((device_id, "registration expired"))
            elif registration.last_seen + keepalive_timeout < now:
                gone.append((device_id, "keepalive timeout"))
            else:
                self._schedule(registration)  # refreshed or kept alive since: look again later
                continue
            del self.registrations[device_id]
        return gone

    def _schedule(self, registration: Registration) -> None:
        """Make sure `expire` looks at the device no later than it may be due. Keepalives only
        push the deadline back, so `touch` needs no entry of its own."""
        if self._keepalive_timeout is None:
            return  # the first `expire` schedules every registration
        at = min(registration.expires_at, registration.last_seen + self._keepalive_timeout)
        device_id = registration.device_id
        scheduled = self._scheduled.get(device_id)
        if scheduled is None or at < scheduled:
            self._scheduled[device_id] = at
            heapq.heappush(self._due, (at, device_id))
