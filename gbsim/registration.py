"""Registration and keepalive for one device, sans-IO.

REGISTER (challenged, answered with digest), refresh before expiry on the same Call-ID,
keepalive MESSAGEs at an interval. When the platform forgets us (a keepalive answered with an
error, `keepalive_misses` keepalives unanswered, or a failed refresh) we register again from
scratch with exponential backoff and jitter, so 10,000 devices do not stampede a restarted
platform.
"""

from __future__ import annotations

import enum
import math
import random
from collections.abc import Callable

from gbsim.config import DeviceConfig
from gbsim.profiles import apply_body_quirks
from gbsim.sipmsg import build_request, via_value
from sip_gateway.core.digest import DigestChallenge, DigestClient
from sip_gateway.core.errors import SipParseError
from sip_gateway.core.ids import IdSource
from sip_gateway.core.message import Request, Response
from sip_gateway.manscdp.device_build import keepalive

# (request, kind) -> None: hands a request to the device core, which tracks its answer.
Sender = Callable[[Request, str], None]
Notice = Callable[[bool, str], None]


_SN_MARK = 987654321


class RegState(enum.Enum):
    IDLE = "idle"
    REGISTERING = "registering"
    REGISTERED = "registered"
    WAITING = "waiting"  # backing off before the next attempt
    STOPPED = "stopped"


class Registration:
    __slots__ = (
        "cfg", "ids", "rng", "send", "notice", "state", "call_id", "from_tag", "cseq",
        "auth_tried", "failures", "deadline", "ka_deadline", "ka_misses", "ka_sn",
        "registrations", "digest", "unregistering", "ka_template",
    )  # fmt: skip

    def __init__(
        self, cfg: DeviceConfig, ids: IdSource, rng: random.Random, send: Sender, notice: Notice
    ) -> None:
        self.cfg = cfg
        self.ids = ids
        self.rng = rng
        self.send = send
        self.notice = notice
        self.state = RegState.IDLE
        self.call_id = ""
        self.from_tag = ""
        self.cseq = 0
        self.auth_tried = False
        self.failures = 0
        self.deadline = math.inf  # refresh or retry
        self.ka_deadline = math.inf
        self.ka_misses = 0
        self.ka_sn = 0
        self.registrations = 0
        self.digest = DigestClient(cfg.device_id, cfg.password)
        self.unregistering = False
        self.ka_template = b""

    @property
    def registered(self) -> bool:
        return self.state is RegState.REGISTERED

    @property
    def server_uri(self) -> str:
        """The platform's URI: where REGISTER and out-of-dialog MESSAGEs go."""
        return f"sip:{self.cfg.server_id}@{self.cfg.domain}"

    @property
    def next_deadline(self) -> float:
        return min(self.deadline, self.ka_deadline)

    # -- driving ------------------------------------------------------------------
    def start(self, now: float) -> None:
        self._new_binding()
        self._register(now, authorization=None)

    def stop(self, now: float) -> None:
        """Unregister (Expires: 0) and stop all timers."""
        was_registered = self.registered
        self.state = RegState.STOPPED
        self.deadline = self.ka_deadline = math.inf
        if was_registered:
            self.unregistering = True
            self._register(now, authorization=None, expires=0)  # answered like any REGISTER

    def on_timer(self, now: float) -> None:
        if self.state is RegState.STOPPED:
            return
        if now >= self.deadline:
            self.deadline = math.inf
            if self.state is RegState.REGISTERED:
                self._register(now, authorization=None)  # refresh, same Call-ID
            elif self.state is RegState.WAITING:
                self._new_binding()
                self._register(now, authorization=None)
        if now >= self.ka_deadline and self.state is RegState.REGISTERED:
            self.ka_deadline = now + self.cfg.timing.keepalive_interval
            self.send_keepalive()

    def send_keepalive(self) -> None:
        self.ka_sn += 1
        if not self.ka_template:
            # Rendered once: at 10,000 devices the XML builder would cost more than the SIP work.
            self.ka_template = apply_body_quirks(
                keepalive(_SN_MARK, self.cfg.device_id, charset=self.cfg.body_charset), self.cfg.profile
            )
        body = self.ka_template.replace(b"<SN>%d</SN>" % _SN_MARK, b"<SN>%d</SN>" % self.ka_sn, 1)
        self.send(self.message_request(body), "keepalive")

    # -- answers ------------------------------------------------------------------
    def on_register_response(self, response: Response, now: float) -> None:
        status = response.status
        if status < 200:
            return
        if status in (401, 407) and not self.auth_tried:
            header = response.headers.get("WWW-Authenticate" if status == 401 else "Proxy-Authenticate")
            if header is not None and self._answer_challenge(header, status, now):
                return
        if self.unregistering or self.state is RegState.STOPPED:
            self.unregistering = False
            return
        if 200 <= status < 300:
            self._registered(response, now)
            return
        self._failed(now, f"REGISTER answered {status}")

    def on_register_timeout(self, now: float) -> None:
        if self.state is not RegState.STOPPED:
            self._failed(now, "REGISTER timed out")

    def on_keepalive_response(self, response: Response, now: float) -> None:
        if response.status < 200:
            return
        if response.status < 300:
            self.ka_misses = 0
        elif self.state is RegState.REGISTERED:
            # The platform does not know us (restarted, or dropped us): register again.
            self._lost(now, f"keepalive answered {response.status}")

    def on_keepalive_timeout(self, now: float) -> None:
        self.ka_misses += 1
        if self.ka_misses >= self.cfg.timing.keepalive_misses and self.state is RegState.REGISTERED:
            self._lost(now, f"{self.ka_misses} keepalives unanswered")

    # -- internals ----------------------------------------------------------------
    def _new_binding(self) -> None:
        self.call_id = self.ids.call_id(self.cfg.local_host)
        self.from_tag = self.ids.tag()
        self.cseq = 0

    def _register(
        self, now: float, authorization: str | None, expires: int | None = None, *, proxy: bool = False
    ) -> None:
        cfg = self.cfg
        self.auth_tried = authorization is not None
        if expires is None and self.state is not RegState.REGISTERED:
            self.state = RegState.REGISTERING
        self.cseq += 1
        aor = f"<sip:{cfg.device_id}@{cfg.domain}>"
        extra = [("Expires", str(cfg.timing.expires if expires is None else expires))]
        if cfg.profile.gb_version:
            extra.append(("X-GB-Ver", cfg.profile.gb_version))
        if authorization is not None:
            extra.insert(0, ("Proxy-Authorization" if proxy else "Authorization", authorization))
        request = build_request(
            "REGISTER",
            self.server_uri,
            via=via_value(cfg.transport, cfg.local_host, cfg.local_port, self.ids.branch()),
            from_value=f"{aor};tag={self.from_tag}",
            to_value=aor,
            call_id=self.call_id,
            cseq=self.cseq,
            contact=f"<sip:{cfg.device_id}@{cfg.local_host}:{cfg.local_port}>",
            user_agent=cfg.profile.user_agent,
            extra=extra,
        )
        self.send(request, "register")

    def _answer_challenge(self, header: str, status: int, now: float) -> bool:
        try:
            challenge = DigestChallenge.parse(header)
            value = self.digest.authorization(
                challenge, method="REGISTER", uri=self.server_uri, cnonce=self.ids.cnonce()
            )
        except SipParseError:
            return False
        if not self.cfg.profile.digest_algorithm:
            value = _drop_param(value, "algorithm")
        # The retry keeps the Call-ID and raises the CSeq (RFC 3261 22.2).
        self._register(
            now, authorization=value, expires=0 if self.unregistering else None, proxy=status == 407
        )
        return True

    def _registered(self, response: Response, now: float) -> None:
        granted = response.expires
        if granted is None:
            contacts = response.contacts
            param = contacts[0].param("expires") if contacts else None
            granted = int(param) if param and param.isdigit() else self.cfg.timing.expires
        granted = max(granted, 1)
        first = self.state is not RegState.REGISTERED
        self.state = RegState.REGISTERED
        self.failures = 0
        self.auth_tried = False
        self.deadline = now + granted * self.cfg.timing.refresh_ratio
        if first:
            self.registrations += 1
            self.ka_misses = 0
            self.ka_deadline = now + self.cfg.timing.keepalive_interval
            self.notice(True, "registered")

    def _failed(self, now: float, reason: str) -> None:
        was = self.state is RegState.REGISTERED
        self.state = RegState.WAITING
        self.ka_deadline = math.inf
        self.failures += 1
        t = self.cfg.timing
        delay = min(t.retry_min * 2 ** (self.failures - 1), t.retry_max)
        self.deadline = now + delay * self.rng.uniform(0.75, 1.25)
        if was:
            self.notice(False, reason)

    def _lost(self, now: float, reason: str) -> None:
        self.state = RegState.WAITING
        self.ka_deadline = math.inf
        self.failures = 0
        self.deadline = now + self.cfg.timing.retry_min * self.rng.uniform(0.0, 1.0)
        self.notice(False, reason)

    def message_request(self, body: bytes) -> Request:
        cfg = self.cfg
        return build_request(
            "MESSAGE",
            self.server_uri,
            via=via_value(cfg.transport, cfg.local_host, cfg.local_port, self.ids.branch()),
            from_value=f"<sip:{cfg.device_id}@{cfg.domain}>;tag={self.ids.tag()}",
            to_value=f"<sip:{cfg.server_id}@{cfg.domain}>",
            call_id=self.ids.call_id(cfg.local_host),
            cseq=1,
            user_agent=cfg.profile.user_agent,
            body=body,
        )


def _drop_param(value: str, name: str) -> str:
    parts = [part for part in value.split(", ") if not part.lower().startswith(name + "=")]
    return ", ".join(parts)
