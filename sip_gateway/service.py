"""The SIP gateway process: the SIP endpoint, the application on it, and its Redis commands."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone

from devices.events import event_publish_async
from gbplatform.bus import BusServer, CommandFailed
from gbplatform.heartbeat import GATEWAY
from gbplatform.redis_client import key
from gbplatform.service import Service
from sip_gateway.app import GatewayApp
from sip_gateway.core.digest import DigestServer
from sip_gateway.credentials_cache import CredentialCache
from sip_gateway.endpoint import SipEndpoint, SipTimeout
from sip_gateway.outbound import LocalIdentity, RequestFactory
from sip_gateway.registrar import Registrar
from sip_gateway.task_sink import CeleryTaskSink, TaskSink

logger = logging.getLogger(__name__)

GATEWAY_BUS = "gateway"
TICK_SECONDS = 1.0
CREDENTIALS_RELOAD_SECONDS = 10.0


def gb_date() -> str:
    """The Date a GB device sets its clock from: local time with milliseconds, no zone."""
    return timezone.localtime().strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]


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

    def _on_request(self, event: Any) -> None:
        assert self.app is not None
        self.app.on_request(event)

    async def start(self) -> None:
        self.port = await self.endpoint.start(self.bind, self.port)
        identity = LocalIdentity(settings.SIP_ID, settings.SIP_DOMAIN, settings.SIP_ADVERTISED_IP, self.port)
        self.app = GatewayApp(
            endpoint=self.endpoint,
            registrar=self.registrar,
            requests=RequestFactory(identity),
            tasks=self.tasks,
            publish=event_publish_async,
            wall_clock=lambda: datetime.now(tz=timezone.get_current_timezone()),
            keepalive_timeout=settings.KEEPALIVE_INTERVAL * settings.KEEPALIVE_MISSES,
        )
        await self.credentials.reload(self.redis, key("device", "credentials"))
        self.tasks.send("devices.tasks.credentials_publish_all")
        bus = BusServer(
            self.redis,
            GATEWAY_BUS,
            {
                "catalog.refresh": self._cmd_catalog_refresh,
                "device.query": self._cmd_device_query,
                "devices.registered": self._cmd_registered,
            },
        )
        self._loops = [
            asyncio.create_task(self._every(TICK_SECONDS, self._tick)),
            asyncio.create_task(self._every(CREDENTIALS_RELOAD_SECONDS, self._reload_credentials)),
            asyncio.create_task(self._serve(bus)),
        ]
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
        while True:
            await asyncio.sleep(seconds)
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
        from gbplatform.redis_client import get_async_redis

        bus.client = get_async_redis()  # BLPOP blocks its connection: keep it off the heartbeat's
        while True:
            try:
                await bus.serve_one(wait=1.0)
            except asyncio.CancelledError:
                await bus.client.aclose()
                raise
            except Exception as exc:
                logger.warning("gateway command bus: %s", exc)
                await asyncio.sleep(1.0)

    async def _cmd_catalog_refresh(self, args: dict[str, Any]) -> dict[str, Any]:
        assert self.app is not None
        device_id = str(args.get("device_id", ""))
        try:
            sn = await self.app.catalog_refresh(device_id)
        except LookupError as exc:
            raise CommandFailed(str(exc), status=409) from exc
        except (SipTimeout, RuntimeError, TimeoutError) as exc:
            raise CommandFailed(f"device {device_id} did not accept the catalog query: {exc}", status=502) from exc
        return {"device_id": device_id, "sn": sn}

    async def _cmd_device_query(self, args: dict[str, Any]) -> dict[str, Any]:
        assert self.app is not None
        device_id = str(args.get("device_id", ""))
        try:
            sns = await self.app.query_info_and_status(device_id)
        except LookupError as exc:
            raise CommandFailed(str(exc), status=409) from exc
        except (SipTimeout, RuntimeError, TimeoutError) as exc:
            raise CommandFailed(f"device {device_id} did not accept the query: {exc}", status=502) from exc
        return {"device_id": device_id, "sn": sns[-1]}

    async def _cmd_registered(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"registered": sorted(self.registrar.registrations)}

    async def stop(self) -> None:
        for loop in self._loops:
            loop.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)
        if self.app is not None:
            self.app.tick()  # last keepalive batch
            await self.app.drain()
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
