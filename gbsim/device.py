"""`DeviceCore`: one simulated GB/T 28181 device (an NVR or IPC with channels), sans-IO.

Feed it parsed requests and responses with the current time (`on_request`, `on_response`,
`on_timeout`, `on_timer`); it appends actions to `outbox` (messages to send, media to start,
control or stop) and exposes the next time it wants to be woken in `deadline`. It never
reads a clock or touches a socket, so a whole flow runs in memory in tests.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Iterable, Iterator
from datetime import datetime

from gbsim.actions import (
    Action,
    ControlMedia,
    RegistrationChanged,
    SendRequest,
    SendResponse,
    StartMedia,
    StopMedia,
)
from gbsim.answers import answer_message
from gbsim.config import DeviceConfig
from gbsim.mansrtsp import MansrtspError, parse_mansrtsp
from gbsim.notify import alarm_body, media_status_body, position_body
from gbsim.registration import Registration
from gbsim.session import MediaSession, OfferError, PortAllocator, invited_channel, make_answer
from gbsim.sipmsg import dialog_from_request, in_dialog_request, via_value
from gbsim.state import DeviceState
from gbsim.subscriptions import Subscription, Subscriptions, catalog_notify_requests
from sip_gateway.core.ids import IdSource
from sip_gateway.core.message import Request, Response
from sip_gateway.core.responses import make_response
from sip_gateway.manscdp import ManscdpError, parse_manscdp
from sip_gateway.sdp import Transport

ALLOW = "INVITE, ACK, BYE, CANCEL, INFO, MESSAGE, SUBSCRIBE, NOTIFY, OPTIONS"


def _sequential_ports(start: int = 30000) -> PortAllocator:
    counter = iter(range(start, 65536, 2))

    def allocate(call_id: str, transport: Transport) -> int:
        return next(counter)

    return allocate


class DeviceCore:
    def __init__(
        self,
        cfg: DeviceConfig,
        *,
        seed: int | str | None = None,
        allocate_port: PortAllocator | None = None,
        wall_offset: float = 0.0,
        video_codec: str = "h264",
    ) -> None:
        self.cfg = cfg
        self.rng = random.Random(seed if seed is not None else cfg.device_id)
        self.ids = IdSource(self.rng)
        self.state = DeviceState(cfg)
        self.outbox: list[Action] = []
        self.allocate_port = allocate_port or _sequential_ports()
        self.wall_offset = wall_offset
        self.video_codec = video_codec
        self.reg = Registration(cfg, self.ids, self.rng, self._send_tracked, self._registration_notice)
        # (Call-ID, CSeq number) -> (kind, deadline)
        self._pending: dict[tuple[str, int], tuple[str, float]] = {}
        # MESSAGEs and NOTIFYs sent one at a time, each after the previous one's answer; each
        # entry yields its requests as they are due, and `_ahead` is the next one made early.
        self._queue: deque[Iterator[Request]] = deque()
        self._ahead: Request | None = None
        self._queue_busy = False
        self._sessions: dict[str, MediaSession] = {}
        self._subscriptions = Subscriptions()
        self._sn = 0
        self._now_hint = 0.0  # the time of the last call in: request deadlines count from it

    # -- driving ------------------------------------------------------------------
    def start(self, now: float) -> None:
        self._now_hint = now
        self.reg.start(now)

    def stop(self, now: float) -> None:
        self._now_hint = now
        for call_id in list(self._sessions):
            self._end_session(call_id)
        self.reg.stop(now)

    @property
    def registered(self) -> bool:
        return self.reg.registered

    @property
    def deadline(self) -> float:
        # Every request waits the same time and `now` never goes back, so insertion order is
        # deadline order: the first pending entry is the earliest.
        pending = next(iter(self._pending.values()))[1] if self._pending else math.inf
        return min(self.reg.next_deadline, pending)

    def on_timer(self, now: float) -> None:
        self._now_hint = now
        expired = []
        for key, entry in self._pending.items():
            if entry[1] > now:
                break
            expired.append(key)
        for key in expired:
            kind, _ = self._pending.pop(key)
            self._failed(kind, now)
        self.reg.on_timer(now)

    def wall(self, now: float) -> datetime:
        return datetime.fromtimestamp(now + self.wall_offset)

    # -- responses to our requests --------------------------------------------------
    def on_response(self, response: Response, now: float) -> None:
        self._now_hint = now
        try:
            key = (response.call_id, response.cseq.number)
        except ValueError:  # a CSeq we cannot read: not a response to us
            return
        entry = self._pending.get(key)
        if entry is None or response.status < 200:
            return
        del self._pending[key]
        kind = entry[0]
        if kind == "register":
            self.reg.on_register_response(response, now)
        elif kind == "keepalive":
            self.reg.on_keepalive_response(response, now)
        elif kind == "queued":
            self._queue_next()

    def on_timeout(self, request: Request, now: float) -> None:
        """The transaction layer gave up on one of our requests (Timer F or a transport error)."""
        self._now_hint = now
        entry = self._pending.pop((request.call_id, request.cseq.number), None)
        if entry is not None:
            self._failed(entry[0], now)

    def _failed(self, kind: str, now: float) -> None:
        if kind == "register":
            self.reg.on_register_timeout(now)
        elif kind == "keepalive":
            self.reg.on_keepalive_timeout(now)
        elif kind == "queued":
            self._queue_next()

    # -- requests from the platform -------------------------------------------------
    def on_request(self, request: Request, now: float) -> None:
        self._now_hint = now
        handler = getattr(self, f"_on_{request.method.lower()}", None)
        if handler is None:
            self._respond(request, 405, headers=[("Allow", ALLOW)])
            return
        handler(request, now)

    def _on_message(self, request: Request, now: float) -> None:
        session = self._sessions.get(request.call_id)
        try:
            msg = parse_manscdp(request.body)
        except ManscdpError:
            self._respond(request, 400)
            return
        self._respond(request, 200)
        if session is not None:
            return
        self.queue_messages(answer_message(msg, self.state, self.wall(now)))

    def _on_subscribe(self, request: Request, now: float) -> None:
        expires = request.expires if request.expires is not None else 3600
        known = self._subscriptions.get(request.call_id)  # a refresh keeps its dialog
        dialog = known.dialog if known is not None else dialog_from_request(request, self.ids.tag())
        contact = self._contact(dialog.local_uri)
        self._respond(
            request, 200, to_tag=dialog.local_tag, headers=[("Expires", str(expires)), ("Contact", contact)]
        )
        if expires == 0:
            self._subscriptions.remove(request.call_id)
            return
        sub = Subscription(dialog, now + expires, request.headers.get("Event") or "Catalog")
        self._subscriptions.put(request.call_id, sub)
        if sub.is_catalog and known is None:
            self._notify_catalog(sub, now, "ON", None)

    def set_channel_status(self, channel_id: str, online: bool, now: float) -> None:
        """A channel goes on or off line: catalog subscribers get a NOTIFY with Event ON/OFF."""
        self._now_hint = now
        self.state.channels[channel_id].online = online
        for sub in self._subscriptions.live_catalog(now):
            self._notify_catalog(sub, now, "ON" if online else "OFF", {channel_id})

    def _notify_catalog(self, sub: Subscription, now: float, event: str, only: set[str] | None) -> None:
        self._sn += 1
        self._queue.append(
            catalog_notify_requests(sub, self.state, sn=self._sn, now=now, event=event, only=only, via=self._via)
        )
        self._queue_start()

    def _on_invite(self, request: Request, now: float) -> None:
        if request.call_id in self._sessions:  # a re-INVITE: keep the stream, answer the same
            self._respond(request, 488)
            return
        channel_id = invited_channel(request, self.cfg.device_id, self.state.channels)
        if channel_id is None:
            self._respond(request, 404)
            return
        self._sn += 1
        try:
            answer = make_answer(
                request.body,
                call_id=request.call_id,
                channel_id=channel_id,
                local_host=self.cfg.local_host,
                allocate=self.allocate_port,
                fallback_ssrc=self._own_ssrc(),
                video_codec=self.video_codec,
                stream_profile_attr=self.cfg.profile.stream_profile_attr,
                own_ssrc=self.cfg.profile.own_ssrc,
            )
        except OfferError as exc:
            self._respond(request, exc.status)
            return
        dialog = dialog_from_request(request, self.ids.tag())
        self._sessions[request.call_id] = MediaSession(answer.plan, dialog)
        contact = [("Contact", self._contact(f"sip:{channel_id}@{self.cfg.domain}"))]
        if self.cfg.profile.provisional_101:
            self._respond(request, 101, "Dialog Establishement", to_tag=dialog.local_tag, headers=contact)
        self._respond(
            request,
            200,
            to_tag=dialog.local_tag,
            headers=[*contact, ("Content-Type", "application/sdp")],
            body=answer.sdp,
        )

    def _own_ssrc(self) -> str:
        """The SSRC this device picks itself: live, our domain, sequences from 9000 so that
        tests can tell it from a platform's (which count from 1)."""
        return f"0{self.cfg.domain[3:8]}{9000 + self._sn % 1000:04d}"

    def _on_ack(self, request: Request, now: float) -> None:
        session = self._sessions.get(request.call_id)
        if session is not None and not session.acked:
            session.acked = True
            self.outbox.append(StartMedia(session.plan))

    def _on_bye(self, request: Request, now: float) -> None:
        if request.call_id not in self._sessions:
            self._respond(request, 481)
            return
        self._respond(request, 200)
        self._end_session(request.call_id)

    def _on_info(self, request: Request, now: float) -> None:
        session = self._sessions.get(request.call_id)
        if session is None:
            self._respond(request, 481)
            return
        try:
            command = parse_mansrtsp(request.body)
        except MansrtspError:
            self._respond(request, 400)
            return
        self._respond(request, 200)
        if session.acked:
            self.outbox.append(ControlMedia(request.call_id, command))

    def _on_cancel(self, request: Request, now: float) -> None:
        self._respond(request, 200)  # the INVITE was answered at once, nothing left to cancel

    def _on_options(self, request: Request, now: float) -> None:
        self._respond(request, 200, headers=[("Allow", ALLOW)])

    def _on_notify(self, request: Request, now: float) -> None:
        self._respond(request, 200)

    # -- things the device does on its own ------------------------------------------
    def session_ids(self) -> list[str]:
        """Call-IDs of the media sessions this device has answered."""
        return list(self._sessions)

    def hang_up(self, call_id: str, now: float) -> None:
        """End a media session from the device's side: stop sending and BYE the platform."""
        session = self._sessions.get(call_id)
        if session is None:
            return
        self._now_hint = now
        request = in_dialog_request(session.dialog, "BYE", via=self._via(), user_agent=self.cfg.profile.user_agent)
        self._end_session(call_id)
        self._send_tracked(request, "plain")

    def media_finished(self, call_id: str, now: float) -> None:
        """The file being played back or downloaded ended: tell the platform (MediaStatus 121)."""
        session = self._sessions.get(call_id)
        if session is None or session.ended:
            return
        session.ended = True
        self._now_hint = now
        self._sn += 1
        body = media_status_body(self.cfg, self._sn, session.plan.channel_id)
        request = in_dialog_request(
            session.dialog, "MESSAGE", via=self._via(), user_agent=self.cfg.profile.user_agent, body=body
        )
        self._send_tracked(request, "plain")

    def raise_alarm(
        self,
        now: float,
        *,
        channel_id: str | None = None,
        priority: int = 1,
        method: int = 2,
        alarm_type: int | None = None,
        description: str = "gbsim alarm",
    ) -> None:
        self._now_hint = now
        self._sn += 1
        self.state.alarm_active = True
        body = alarm_body(
            self.cfg,
            self._sn,
            channel_id or self.cfg.device_id,
            self.wall(now),
            priority=priority,
            method=method,
            alarm_type=alarm_type,
            description=description,
        )
        self.queue_message(body)

    def send_position(
        self, now: float, longitude: float, latitude: float, *, speed: float = 0.0, direction: float = 0.0
    ) -> None:
        self._now_hint = now
        self._sn += 1
        self.queue_message(
            position_body(self.cfg, self._sn, self.wall(now), longitude, latitude, speed, direction)
        )

    def queue_message(self, body: bytes) -> None:
        """A MESSAGE to the platform, sent after the previous queued one is answered."""
        self.queue_messages((body,))

    def queue_messages(self, bodies: Iterable[bytes]) -> None:
        """MESSAGEs to the platform, one at a time as for `queue_message`; each is built when due."""
        self._queue.append(self.reg.message_request(body) for body in bodies)
        self._queue_start()

    @property
    def next_unprepared(self) -> bool:
        """A queued request waits to be built (see `prepare_next`)."""
        return self._queue_busy and self._ahead is None and bool(self._queue)

    def prepare_next(self) -> None:
        """Build the next queued request now, while the one sent waits for its answer: the
        runner calls this once the send is out, so building it costs no time between the
        answer and the next request."""
        if self.next_unprepared:
            self._ahead = self._queue_pull()

    # -- internals ----------------------------------------------------------------
    def _queue_start(self) -> None:
        if not self._queue_busy:
            self._queue_next()

    def _queue_next(self) -> None:
        request = self._ahead if self._ahead is not None else self._queue_pull()
        self._ahead = None
        if request is None:
            self._queue_busy = False
            return
        self._queue_busy = True
        self._send_tracked(request, "queued")

    def _queue_pull(self) -> Request | None:
        while self._queue:
            request = next(self._queue[0], None)
            if request is not None:
                return request
            self._queue.popleft()
        return None

    def _send_tracked(self, request: Request, kind: str) -> None:
        deadline = self._now_hint + self.cfg.timing.request_timeout
        self._pending[(request.call_id, request.cseq.number)] = (kind, deadline)
        self.outbox.append(SendRequest(request))

    def _registration_notice(self, registered: bool, reason: str) -> None:
        self.outbox.append(RegistrationChanged(self.cfg.device_id, registered, reason))
        if not registered:
            for call_id in list(self._sessions):
                self._end_session(call_id)

    def _end_session(self, call_id: str) -> None:
        # Also before the ACK: the runner may have opened a port for the answer.
        if self._sessions.pop(call_id, None) is not None:
            self.outbox.append(StopMedia(call_id))

    def _contact(self, uri: str) -> str:
        user = uri.split(":", 1)[-1].split("@", 1)[0]
        return f"<sip:{user}@{self.cfg.local_host}:{self.cfg.local_port}>"

    def _via(self) -> str:
        return via_value(self.cfg.transport, self.cfg.local_host, self.cfg.local_port, self.ids.branch())

    def _respond(
        self,
        request: Request,
        status: int,
        reason: str | None = None,
        *,
        to_tag: str | None = None,
        headers: list[tuple[str, str]] | None = None,
        body: bytes = b"",
    ) -> None:
        extra = [("User-Agent", self.cfg.profile.user_agent), *(headers or [])]
        tag = to_tag if to_tag is not None else (self.ids.tag() if status > 100 else None)
        self.outbox.append(
            SendResponse(make_response(request, status, reason, to_tag=tag, headers=extra, body=body))
        )
