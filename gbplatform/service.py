"""The shape of every long-running process of the platform (SIP gateway, media worker).

A service starts, announces itself with a heartbeat in Redis, runs until SIGTERM or SIGINT,
then drains and exits. Each step is a method tests can call once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
from typing import Any

from django.conf import settings

from .heartbeat import heartbeat_remove, heartbeat_write
from .redis_client import get_async_redis

logger = logging.getLogger(__name__)


class Service:
    kind = "service"

    def __init__(self, instance: str | None = None) -> None:
        self.instance = instance or f"{socket.gethostname()}-{os.getpid()}"
        self.stopping = asyncio.Event()
        self.redis = get_async_redis()

    async def start(self) -> None:
        """Open sockets and resources. Raise to refuse to start."""

    async def stop(self) -> None:
        """Close sockets and resources; called once, after the loop ends."""

    def heartbeat_info(self) -> dict[str, Any]:
        return {}

    async def beat_once(self) -> None:
        try:
            await heartbeat_write(
                self.redis,
                kind=self.kind,
                instance=self.instance,
                info=self.heartbeat_info(),
                ttl=settings.HEARTBEAT_TTL,
            )
        except Exception as exc:  # Redis may be restarting; the service keeps working
            logger.warning("%s %s: heartbeat failed: %s", self.kind, self.instance, exc)

    def request_stop(self) -> None:
        if not self.stopping.is_set():
            logger.info("%s %s: stopping", self.kind, self.instance)
        self.stopping.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.request_stop)
        await self.start()
        try:
            await self.beat_once()
            logger.info("%s %s: ready", self.kind, self.instance)
            while not self.stopping.is_set():
                try:
                    await asyncio.wait_for(self.stopping.wait(), timeout=settings.HEARTBEAT_INTERVAL)
                except TimeoutError:
                    await self.beat_once()
        finally:
            await self.stop()
            try:
                await heartbeat_remove(self.redis, kind=self.kind, instance=self.instance)
            except Exception as exc:
                logger.warning("%s %s: could not remove heartbeat: %s", self.kind, self.instance, exc)
            await self.redis.aclose()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(signum)
            logger.info("%s %s: stopped", self.kind, self.instance)


def run_service(service: Service) -> None:
    """Run a service on uvloop when it is installed (4x cheaper per packet than stock asyncio)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency, but the service still runs without it
        asyncio.run(service.run())
        return
    uvloop.run(service.run())
