"""The gateway's SIP application: answers devices and turns what they say into Celery tasks.

Everything here runs on the event loop and never waits on the database: registrations and
liveness live in the registrar (memory), device state goes out through the task sink, and
progress events go straight to the Channels layer.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import fields
from datetime import datetime
from typing import Any

from sip_gateway.catalog_subscriptions import CatalogSubscriptions
from sip_gateway.core.message import Request, Response
from sip_gateway.core.responses import make_response
from sip_gateway.core.transaction import RequestReceived
from sip_gateway.endpoint import SipEndpoint, SipTimeout
from sip_gateway.keepalives import KeepaliveBatch
from sip_gateway.manscdp import (
    CatalogAssembler,
    CatalogItem,
    CatalogResponse,
    DeviceInfoResponse,
    DeviceStatusResponse,
    Keepalive,
    ManscdpError,
    parse_manscdp,
)
from sip_gateway.manscdp import build as manscdp_build
from sip_gateway.manscdp.catalog_assembly import Assembled
from sip_gateway.outbound import RequestFactory
from sip_gateway.play import Player
from sip_gateway.registrar import Outcome, Registrar, Registration
from sip_gateway.task_sink import TaskSink

logger = logging.getLogger(__name__)

EventPublisher = Callable[..., Awaitable[None]]
TASKS = "devices.tasks."
PROGRESS_EVERY = 0.5  # seconds between catalog.progress events (and hand-overs) for one sync
HAND_OVER_ITEMS = 2000  # or sooner, when this many catalog items wait to be handed over
QUERY_CONCURRENCY = 32  # new devices being queried at once
_ITEM_KEYS = tuple(f.name for f in fields(CatalogItem) if f.name not in ("info", "fields"))


def catalog_item_dict(item: CatalogItem) -> dict[str, Any]:
    """A catalog item as the JSON the devices services take (fields the device left out are
    left out: a 10,000-channel catalog is a third smaller)."""
    data = {key: value for key in _ITEM_KEYS if (value := getattr(item, key)) is not None}
    data["raw"] = dict(item.fields)
    return data


class GatewayApp:
    def __init__(
        self,
        *,
        endpoint: SipEndpoint,
        registrar: Registrar,
        requests: RequestFactory,
        tasks: TaskSink,
        publish: EventPublisher,
        wall_clock: Callable[[], datetime],
        keepalive_timeout: float,
        timestamp: Callable[[], str] | None = None,
        catalog_timeout: float = 30.0,
        query_timeout: float = 4.0,
        query_on_register: bool = True,
    ) -> None:
        self.endpoint = endpoint
        self.registrar = registrar
        self.requests = requests
        self.tasks = tasks
        self.publish = publish
        self.wall_clock = wall_clock
        # The wall-clock time as ISO 8601 text, for each registration report: the service passes
        # a cheaper one than formatting a datetime every time.
        self.timestamp = timestamp or (lambda: wall_clock().isoformat())
        self.keepalive_timeout = keepalive_timeout
        self.query_timeout = query_timeout
        self.query_on_register = query_on_register
        self.keepalives = KeepaliveBatch()
        self.catalogs = CatalogAssembler(timeout=catalog_timeout)
        self._progress_sent: dict[tuple[str, int], float] = {}
        self._sn = itertools.count(1)
        self._background: set[asyncio.Task[Any]] = set()
        self._registrations: dict[str, dict[str, Any]] = {}
        self._query_slots = asyncio.Semaphore(QUERY_CONCURRENCY)
        self.player: Player | None = None  # live video (sip_gateway/play.py), set by the service
        self.subscriptions = CatalogSubscriptions(endpoint=endpoint, identity=requests.identity, timeout=query_timeout)
        self._handlers: dict[str, Callable[[RequestReceived], None]] = {
            "REGISTER": self._on_register,
            "MESSAGE": self._on_message,
            "NOTIFY": self._on_notify,
            "BYE": self._on_bye,
            "OPTIONS": self._on_options,
        }

    # --- incoming requests ---------------------------------------------------------------------
    def on_request(self, event: RequestReceived) -> None:
        request = event.request
        handler = self._handlers.get(request.method) or self._handlers.get(request.method.upper())
        if handler is None:
            if request.method != "ACK":
                self.endpoint.send_response(make_response(request, 405, headers=[("Allow", "REGISTER, MESSAGE, NOTIFY, BYE, INFO, OPTIONS, ACK")]))
            return
        handler(event)

    def _on_options(self, event: RequestReceived) -> None:
        self.endpoint.send_response(make_response(event.request, 200))

    def _on_bye(self, event: RequestReceived) -> None:
        if self.player is None or not self.player.on_bye(event.request):
            self.endpoint.send_response(make_response(event.request, 481))

    def _on_register(self, event: RequestReceived) -> None:
        now = self.endpoint.now()
        decision = self.registrar.handle(event.request, event.peer, now)
        self.endpoint.send_response(decision.response)
        if decision.outcome in (Outcome.REGISTERED, Outcome.REFRESHED) and decision.registration is not None:
            self._report_registration(decision.registration)
            if decision.outcome is Outcome.REGISTERED and self.query_on_register:
                logger.debug("device %s registered from %s:%s over %s", decision.registration.device_id, event.peer[1], event.peer[2], event.peer[0])
                self.spawn(self.after_registration(decision.registration.device_id))
        elif decision.outcome is Outcome.UNREGISTERED:
            device_id = event.request.from_addr.sip_uri.user or ""
            logger.info("device %s unregistered", device_id)
            self.tick_registrations()
            self.subscriptions.forget(device_id)
            self.send_task("device_unregistered", device_id=device_id, at=self.wall_clock().isoformat())

    def _report_registration(self, registration: Registration) -> None:
        """Queued, and sent with the others of the same second as one task (see `tick`)."""
        self._registrations[registration.device_id] = {
            "device_id": registration.device_id,
            "transport": registration.peer[0],
            "source_ip": registration.peer[1],
            "source_port": registration.peer[2],
            "expires": registration.expires,
            "at": self.timestamp(),
            "gb_version": registration.gb_version,
            "user_agent": registration.user_agent,
        }

    def _on_message(self, event: RequestReceived) -> None:
        request = event.request
        try:
            message = parse_manscdp(request.body)
        except ManscdpError as exc:
            logger.info("MESSAGE from %s:%s with an unreadable body: %s", event.peer[1], event.peer[2], exc)
            self.endpoint.send_response(make_response(request, 400, headers=[("Warning", f'399 - "{str(exc)[:100]}"')]))
            return
        device_id = self._sender(request) or message.device_id or ""
        now = self.endpoint.now()
        registration = self.registrar.touch(device_id, event.peer, now)
        if registration is None:
            # Not registered (or expired): refusing makes a device register again.
            self.endpoint.send_response(make_response(request, 403))
            return
        self.endpoint.send_response(make_response(request, 200))
        if isinstance(message, Keepalive):
            self.keepalives.note(device_id, at=self.wall_clock().isoformat(), host=event.peer[1], port=event.peer[2])
        elif isinstance(message, CatalogResponse):
            self._catalog_part(device_id, message, now)
        elif isinstance(message, DeviceInfoResponse):
            self.send_task(
                "device_info_apply",
                device_id=device_id,
                name=message.device_name,
                manufacturer=message.manufacturer,
                model=message.model,
                firmware=message.firmware,
            )
        elif isinstance(message, DeviceStatusResponse):
            self.spawn(self.publish("device.status", device_id=device_id, online=message.online, status=message.status))
        else:
            logger.info("MESSAGE %s/%s from %s answered 200 and not acted on", message.root, message.cmd_type, device_id)

    def _on_notify(self, event: RequestReceived) -> None:
        request = event.request
        try:
            message = parse_manscdp(request.body)
        except ManscdpError as exc:
            self.endpoint.send_response(make_response(request, 400, headers=[("Warning", f'399 - "{str(exc)[:100]}"')]))
            return
        ours = self.subscriptions.on_notify(request)
        if ours is not None:
            device_id, answer = ours
            self.endpoint.send_response(answer)
            if answer.status >= 300:
                return
        else:  # some devices notify outside any subscription dialog: accept what they say
            self.endpoint.send_response(make_response(request, 200))
            device_id = self._sender(request) or message.device_id or ""
        if isinstance(message, CatalogResponse) and message.items:
            self.send_task("catalog_notify_apply",
                device_id=device_id,
                items=[catalog_item_dict(item) for item in message.items],
            )

    @staticmethod
    def _sender(request: Request) -> str | None:
        try:
            return request.from_addr.sip_uri.user
        except ValueError:
            return None

    # --- catalog synchronisation -------------------------------------------------------------------
    def _catalog_part(self, device_id: str, message: CatalogResponse, now: float) -> None:
        """What arrived goes to the database while the rest is on its way (every PROGRESS_EVERY,
        with the progress event), so a large catalog is stored soon after its last message."""
        finished = self.catalogs.feed(message, now)
        if finished is not None:
            self._catalog_finished(finished)
            return
        if message.sn is None:
            return
        progress = self.catalogs.progress(device_id, message.sn)
        key = (device_id, message.sn)
        if progress is None:
            return
        due = now - self._progress_sent.get(key, 0.0) >= PROGRESS_EVERY
        if (due and progress.fresh) or progress.fresh >= HAND_OVER_ITEMS:
            fresh = self.catalogs.take_fresh(device_id, message.sn)
            self.send_task("catalog_items_apply", device_id=device_id, items=[catalog_item_dict(i) for i in fresh])
        if due:
            self._progress_sent[key] = now
            self.spawn(
                self.publish("catalog.progress", device_id=device_id, received=progress.received, total=progress.total or 0)
            )

    def _catalog_finished(self, assembled: Assembled[CatalogItem]) -> None:
        self._progress_sent.pop((assembled.device_id, assembled.sn), None)
        total = assembled.sum_num if assembled.sum_num is not None else assembled.received
        logger.info(
            "catalog of %s: %d of %d items%s",
            assembled.device_id,
            assembled.received,
            total,
            "" if assembled.complete else " (incomplete)",
        )
        items = [catalog_item_dict(item) for item in assembled.fresh]
        # Whatever went ahead in catalog_items_apply is only named, for what a complete one removes.
        listed = [item.device_id for item in assembled.items] if assembled.complete else None

        async def report() -> None:
            # The last progress event first, then the task whose catalog.updated follows it.
            await self.publish("catalog.progress", device_id=assembled.device_id, received=assembled.received, total=total)
            self.send_task(
                "catalog_apply", device_id=assembled.device_id, items=items, complete=assembled.complete, listed=listed
            )

        self.spawn(report())

    async def query(self, device_id: str, body_for_sn: Callable[[int], bytes]) -> int:
        """Send a MANSCDP query MESSAGE to a registered device; returns its SN.

        Raises LookupError when the device is not registered, SipTimeout or RuntimeError when
        the device does not accept it."""
        registration = self.registrar.get(device_id)
        if registration is None:
            raise LookupError(f"device {device_id} is not registered")
        sn = next(self._sn)
        request = self.requests.out_of_dialog("MESSAGE", device_id=device_id, peer=registration.peer, body=body_for_sn(sn))
        response = await self._send(request, registration)
        if response.status >= 300:
            raise RuntimeError(f"device {device_id} answered {response.status} {response.reason}")
        return sn

    async def _send(self, request: Request, registration: Registration) -> Response:
        """Send and wait for the final response, but no longer than a user is kept waiting:
        the transaction itself goes on retransmitting in the background."""
        try:
            return await asyncio.wait_for(self.endpoint.request(request, registration.peer), self.query_timeout)
        except TimeoutError as exc:
            raise SipTimeout(f"{registration.device_id} did not answer within {self.query_timeout:g} s") from exc

    async def catalog_refresh(self, device_id: str, *, announce: bool = True) -> int:
        """Ask for the catalog. `announce` (an operator asked) tells clients it started."""
        sn = next(self._sn)
        self.catalogs.expect(device_id, sn, self.endpoint.now())
        registration = self.registrar.get(device_id)
        if registration is None:
            raise LookupError(f"device {device_id} is not registered")
        body = manscdp_build.query_catalog(sn, device_id)
        request = self.requests.out_of_dialog("MESSAGE", device_id=device_id, peer=registration.peer, body=body)
        if announce:
            await self.publish("catalog.progress", device_id=device_id, received=0, total=0)
            self.send_task("catalog_state_set", device_id=device_id, state="running")
        response = await self._send(request, registration)
        if response.status >= 300:
            raise RuntimeError(f"device {device_id} refused the catalog query: {response.status} {response.reason}")
        return sn

    async def query_info_and_status(self, device_id: str) -> list[int]:
        return [
            await self.query(device_id, lambda sn: manscdp_build.query_device_info(sn, device_id)),
            await self.query(device_id, lambda sn: manscdp_build.query_device_status(sn, device_id)),
        ]

    async def after_registration(self, device_id: str) -> None:
        """What a platform asks a device that just appeared: who it is, what it has, how it is.

        A few devices at a time: in a registration storm, answering REGISTERs comes first."""
        async with self._query_slots:
            await self._query_new_device(device_id)

    async def _query_new_device(self, device_id: str) -> None:
        try:
            await self.query(device_id, lambda sn: manscdp_build.query_device_info(sn, device_id))
            await self.catalog_refresh(device_id, announce=False)
            await self.query(device_id, lambda sn: manscdp_build.query_device_status(sn, device_id))
            await self.catalog_subscribe(device_id)
        except (LookupError, SipTimeout, RuntimeError, TimeoutError) as exc:
            logger.warning("queries after registration of %s failed: %s", device_id, exc)

    async def catalog_subscribe(self, device_id: str) -> bool:
        """Subscribe to the device's catalog changes (NOTIFY ADD/DEL/UPDATE/ON/OFF/...)."""
        registration = self.registrar.get(device_id)
        if registration is None:
            self.subscriptions.forget(device_id)
            return False
        return await self.subscriptions.subscribe(registration, next(self._sn))

    async def _catalog_subscription_refresh(self, device_id: str) -> None:
        registration = self.registrar.get(device_id)
        if registration is None:
            self.subscriptions.forget(device_id)
        elif not await self.subscriptions.refresh(registration):
            await self.catalog_subscribe(device_id)  # refused or lost: start a new one

    # --- periodic work -------------------------------------------------------------------------------
    def send_task(self, task: str, /, **kwargs: Any) -> None:
        """Queued registrations go first, so the device exists when this task runs."""
        self.tick_registrations()
        self.tasks.send(TASKS + task, **kwargs)

    def tick_registrations(self) -> None:
        if self._registrations:
            reports, self._registrations = list(self._registrations.values()), {}
            self.tasks.send(TASKS + "devices_registered", reports=reports)

    def tick(self) -> dict[str, dict[str, Any]]:
        """Flush coalesced keepalives, expire silent devices and overdue catalogs.

        Returns the keepalive batch, which the service also records in Redis."""
        now = self.endpoint.now()
        self.tick_registrations()
        seen = self.keepalives.take()
        if seen:
            self.send_task("keepalives_apply", seen=seen)
        for device_id, verdict in self.subscriptions.due(now):
            if verdict == "refresh":
                self.spawn(self._catalog_subscription_refresh(device_id))
            else:
                self.subscriptions.forget(device_id)
                if self.registrar.get(device_id) is not None:
                    self.spawn(self.catalog_subscribe(device_id))
        for device_id, reason in self.registrar.expire(now, self.keepalive_timeout):
            self.subscriptions.forget(device_id)
            logger.info("device %s is offline: %s", device_id, reason)
            self.send_task("device_offline", device_id=device_id, reason=reason)
        for assembled in self.catalogs.expire(now):
            self._catalog_finished(assembled)
        return seen

    def spawn(self, coroutine: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def drain(self) -> None:
        """Stop what is still running in the background (queries waiting on devices)."""
        for task in list(self._background):
            task.cancel()
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
