"""The SIP gateway process: the SIP endpoint, the application on it, and its Redis commands."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
import zoneinfo
from collections.abc import Awaitable
from datetime import datetime, tzinfo
from typing import Any, TypeVar

from django.conf import settings

from devices.events import event_publish_async
from gbplatform.bus import BusServer, CommandFailed, queue_key
from gbplatform.heartbeat import GATEWAY
from gbplatform.redis_client import key
from gbplatform.service import Service
from sip_gateway.app import GatewayApp
from sip_gateway.core.digest import DigestServer
from sip_gateway.credentials_cache import CredentialCache
from sip_gateway.endpoint import SipEndpoint, SipTimeout
from sip_gateway.event_out import EventOutbox
from sip_gateway.media_workers import media_events_channel
from sip_gateway.outbound import LocalIdentity, RequestFactory
from sip_gateway.play import PlayConfig, Player, live_streams_key
from sip_gateway.registrar import Registrar
from sip_gateway.task_sink import CeleryTaskSink, TaskSink

logger = logging.getLogger(__name__)
T = TypeVar("T")

GATEWAY_BUS = "gateway"
TICK_SECONDS = 1.0
CREDENTIALS_RELOAD_SECONDS = 10.0


def gb_date() -> str:
    """The Date a GB device sets its clock from: local time with milliseconds, no zone.

    Every 200 to a REGISTER carries one, so the date and time are formatted once a second."""
    global _date_second, _date_text
    now = time.time()
    second = int(now)
    if second != _date_second:
        _date_text = datetime.fromtimestamp(second, _local_zone()).isoformat()[:19]
        _date_second = second
    return f"{_date_text}.{int((now - second) * 1000):03d}"


_date_second = -1
_date_text = ""


def iso_now() -> str:
    """``datetime.now(local zone).isoformat()`` (always with microseconds), for the report of
    each registration: the date, time and offset are formatted once a second."""
    global _iso_second, _iso_head, _iso_offset
    now = time.time()
    second = int(now)
    if second != _iso_second:
        text = datetime.fromtimestamp(second, _local_zone()).isoformat()
        _iso_head, _iso_offset = text[:19], text[19:]
        _iso_second = second
    return f"{_iso_head}.{int((now - second) * 1_000_000):06d}{_iso_offset}"


_iso_second = -1
_iso_head = ""
_iso_offset = ""


def _local_zone() -> tzinfo:
    global _zone
    if _zone is None:
        _zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    return _zone


_zone: tzinfo | None = None


def play_config() -> PlayConfig:
    """Live video settings; the optional ones fall back to defaults when not configured."""
    rtp_timeout = getattr(settings, "STREAM_RTP_TIMEOUT", None)
    return PlayConfig(
        sip_id=settings.SIP_ID,
        domain=settings.SIP_DOMAIN,
        idle_seconds=float(getattr(settings, "STREAM_IDLE_SECONDS", 30)),
        keyframe_timeout=float(getattr(settings, "STREAM_KEYFRAME_TIMEOUT", 10)),
        invite_timeout=float(getattr(settings, "STREAM_INVITE_TIMEOUT", 10)),
        rtp_timeout=float(rtp_timeout) if rtp_timeout else None,
    )


async def _device_answer(device_id: str, what: str, asking: Awaitable[T]) -> T:
    """What a device answered, or the bus error a client can act on: 409 when the device is not
    registered, 502 when it does not accept the request."""
    try:
        return await asking
    except LookupError as exc:
        raise CommandFailed(str(exc), status=409) from exc
    except (SipTimeout, RuntimeError, TimeoutError) as exc:
        raise CommandFailed(f"device {device_id} did not accept {what}: {exc}", status=502) from exc


class GatewayService(Service):
    kind = GATEWAY

    def __init__(
        self,
        instance: str | None = None,
        *,
        bind: str | None = None,
        port: int | None = None,
        tasks: TaskSink | None = None,
    ) -> None:
        super().__init__(instance)
        self.bind = bind or settings.SIP_BIND
        self.port = settings.SIP_PORT if port is None else port
        self.credentials = CredentialCache(
            global_password=settings.SIP_PASSWORD, accept_unknown=settings.SIP_ACCEPT_UNKNOWN_DEVICES
        )
        secret = hashlib.sha256(("digest-nonce:" + settings.SECRET_KEY).encode()).digest()
        self.registrar = Registrar(
            digest=DigestServer(settings.SIP_DOMAIN, secret, qop=getattr(settings, "SIP_DIGEST_QOP", False)),
            password_for=self.credentials.password_for,
            default_expires=settings.SIP_REGISTER_EXPIRES,
            gb_date=gb_date,
        )
        self.endpoint = SipEndpoint(self._on_request)
        self.tasks: TaskSink = tasks or CeleryTaskSink()
        self.app: GatewayApp | None = None
        self._loops: list[asyncio.Task[None]] = []
        self._bus_task: asyncio.Task[None] | None = None
        self._events_task: asyncio.Task[None] | None = None
        self.player: Player | None = None

    def _on_request(self, event: Any) -> None:
        assert self.app is not None
        self.app.on_request(event)

    async def start(self) -> None:
        self.port = await self.endpoint.start(self.bind, self.port)
        self.events = EventOutbox(event_publish_async)
        identity = LocalIdentity(settings.SIP_ID, settings.SIP_DOMAIN, settings.SIP_ADVERTISED_IP, self.port)
        self.app = GatewayApp(
            endpoint=self.endpoint,
            registrar=self.registrar,
            requests=RequestFactory(identity),
            tasks=self.tasks,
            publish=self.events.publish,
            wall_clock=lambda: datetime.now(_local_zone()),
            timestamp=iso_now,
            keepalive_timeout=settings.KEEPALIVE_INTERVAL * settings.KEEPALIVE_MISSES,
            query_on_register=settings.SIP_QUERY_ON_REGISTER,
        )
        self.player = Player(
            endpoint=self.endpoint,
            registrar=self.registrar,
            requests=self.app.requests,
            redis=self.redis,
            publish=self.events.publish,
            config=play_config(),
        )
        self.app.player = self.player
        self.endpoint.on_request = self.app.on_request  # one call less per request
        # Streams listed by a previous run went with its memory (and its dialogs).
        await self.redis.delete(live_streams_key())
        await self.credentials.reload(self.redis, key("device", "credentials"))
        self.tasks.send("devices.tasks.credentials_publish_all")
        bus = BusServer(
            self.redis,
            GATEWAY_BUS,
            {
                "catalog.refresh": self._cmd_catalog_refresh,
                "device.query": self._cmd_device_query,
                "devices.registered": self._cmd_registered,
                "stream.play": self._cmd_stream_play,
                "stream.stop": self._cmd_stream_stop,
                "streams.list": self._cmd_streams_list,
            },
        )
        idle_check = min(max(self.player.config.idle_seconds / 3, 0.2), 5.0)
        self._loops = [
            asyncio.create_task(self._every(TICK_SECONDS, self._tick)),
            asyncio.create_task(self._every(CREDENTIALS_RELOAD_SECONDS, self._reload_credentials)),
            asyncio.create_task(self._every(idle_check, self.player.check_idle)),
            asyncio.create_task(self._media_events()),
        ]
        self._events_task = asyncio.create_task(self.events.run())
        self._bus_task = asyncio.create_task(self._serve(bus))
        logger.info(
            "SIP gateway %s listening on %s:%d (UDP and TCP), domain %s, advertised as %s",
            settings.SIP_ID,
            self.bind,
            self.port,
            settings.SIP_DOMAIN,
            settings.SIP_ADVERTISED_IP,
        )
        logger.info("device password (SIP_PASSWORD) in use: %s", settings.SIP_PASSWORD)

    async def _every(self, seconds: float, step: Any) -> None:
        """Run `step` every `seconds` until stopping. Ends by itself rather than by cancellation,
        which redis-py does not survive in the middle of a command."""
        while not self.stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), timeout=seconds)
            if self.stopping.is_set():
                return
            try:
                result = step()
                if asyncio.iscoroutine(result):
                    await result
            except Exception:
                logger.exception("periodic step %s failed", getattr(step, "__name__", step))

    async def _tick(self) -> None:
        assert self.app is not None
        seen = self.app.tick()
        if seen:
            await self.redis.hset(
                key("keepalive", "last"), mapping={device_id: info["at"] for device_id, info in seen.items()}
            )

    async def _reload_credentials(self) -> None:
        await self.credentials.reload(self.redis, key("device", "credentials"))

    async def _serve(self, bus: BusServer) -> None:
        """Answer commands until stopping. Not cancelled from outside: cancelling redis-py in
        the middle of BLPOP leaves its connection hanging, so the loop ends after its 1 s wait."""
        from gbplatform.redis_client import get_async_redis

        bus.client = get_async_redis()  # BLPOP blocks its connection: keep it off the heartbeat's
        assert self.app is not None
        try:
            while not self.stopping.is_set():
                try:
                    item = await bus.client.blpop([queue_key(bus.target)], timeout=1.0)
                except Exception as exc:
                    logger.warning("gateway command bus: %s", exc)
                    await asyncio.sleep(1.0)
                    continue
                if item is not None:
                    # Answered concurrently: a play waiting for a keyframe must not hold up the rest.
                    self.app.spawn(bus.answer(item[1]))
        finally:
            await bus.client.aclose()

    async def _media_events(self) -> None:
        """RTP timeouts announced by media workers end their streams here (BYE, event)."""
        from gbplatform.redis_client import get_async_redis

        client = get_async_redis()
        pubsub = client.pubsub()
        try:
            await pubsub.subscribe(media_events_channel())
            while not self.stopping.is_set():
                try:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                except Exception as exc:
                    logger.warning("media events: %s", exc)
                    await asyncio.sleep(1.0)
                    continue
                if message is None or self.player is None:
                    continue
                try:
                    await self.player.on_media_event(json.loads(message["data"]))
                except Exception:
                    logger.exception("media event not handled: %.200r", message.get("data"))
        finally:
            await pubsub.aclose()
            await client.aclose()

    async def _cmd_catalog_refresh(self, args: dict[str, Any]) -> dict[str, Any]:
        assert self.app is not None
        device_id = str(args.get("device_id", ""))
        sn = await _device_answer(device_id, "the catalog query", self.app.catalog_refresh(device_id))
        return {"device_id": device_id, "sn": sn}

    async def _cmd_device_query(self, args: dict[str, Any]) -> dict[str, Any]:
        assert self.app is not None
        device_id = str(args.get("device_id", ""))
        sns = await _device_answer(device_id, "the query", self.app.query_info_and_status(device_id))
        return {"device_id": device_id, "sn": sns[-1]}

    async def _cmd_stream_play(self, args: dict[str, Any]) -> dict[str, Any]:
        assert self.player is not None
        audio = args.get("audio")
        return await self.player.play(
            str(args.get("device_id", "")),
            str(args.get("channel_id", "")),
            str(args.get("transport") or "udp"),
            None if audio is None else bool(audio),
        )

    async def _cmd_stream_stop(self, args: dict[str, Any]) -> dict[str, Any]:
        assert self.player is not None
        return await self.player.stop(str(args.get("stream_id", "")))

    async def _cmd_streams_list(self, args: dict[str, Any]) -> dict[str, Any]:
        assert self.player is not None
        return await self.player.list_streams()

    async def _cmd_registered(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"registered": sorted(self.registrar.registrations)}

    async def stop(self) -> None:
        self.stopping.set()
        await asyncio.wait([*self._loops, *([self._bus_task] if self._bus_task else [])], timeout=10)
        if self.player is not None:
            # Bounded without cancelling: redis-py does not survive cancellation mid-command.
            closing = asyncio.ensure_future(self.player.close_all())
            done, _ = await asyncio.wait([closing], timeout=3)
            if not done:
                logger.warning("live streams not all closed at shutdown")
            elif closing.exception() is not None:
                logger.warning("live streams not all closed: %s", closing.exception())
        if self.app is not None:
            self.app.tick()  # last keepalive batch
            await self.app.drain()
        self.events.close()
        if self._events_task is not None:
            await asyncio.wait([self._events_task], timeout=5)
        await self.endpoint.close()
        close = getattr(self.tasks, "close", None)
        if close is not None:
            close()

    def heartbeat_info(self) -> dict[str, Any]:
        return {
            "sip_id": settings.SIP_ID,
            "address": settings.SIP_ADVERTISED_IP,
            "port": self.port,
            "registered": len(self.registrar),
        }
