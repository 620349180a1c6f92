"""The gateway's view of the media workers: who is running (heartbeats), which one to use, and
their bus commands (media/worker.py) with failures turned into the statuses a client acts on."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import redis.asyncio as aioredis

from gbplatform.bus import BusError, BusTimeout, CommandFailed, bus_request_async
from gbplatform.heartbeat import MEDIA_WORKER, heartbeat_pattern, heartbeats_decode
from gbplatform.redis_client import key

logger = logging.getLogger(__name__)

_ANY_HOST = ("", "0.0.0.0", "::", "[::]")


def media_events_channel() -> str:
    """The pub/sub channel media workers announce RTP timeouts on (media/service.py)."""
    return key("media", "events")


def pick_worker(beats: list[dict[str, Any]], ours: Mapping[str, int] | None = None) -> dict[str, Any] | None:
    """The least-loaded media worker that has a free port and a command target.

    `ours` counts the streams this gateway has placed on each worker (by bus target): heartbeats
    are seconds old, so a burst of plays would otherwise all land on the same worker.
    """
    placed = ours or {}
    usable = [b for b in beats if b.get("target") and int(b.get("ports_free") or 0) > 0]
    if not usable:
        return None

    def load(beat: dict[str, Any]) -> tuple[float, str]:
        return (max(float(beat.get("load") or 0), placed.get(str(beat["target"]), 0)), str(beat.get("instance")))

    return min(usable, key=load)


def worker_http_base(beat: dict[str, Any]) -> str:
    """Where browsers reach a worker: its HTTP bind, or its advertised address when bound to any."""
    host, _, port = str(beat.get("http") or "").rpartition(":")
    if host in _ANY_HOST:
        host = str(beat.get("address") or "127.0.0.1")
    return f"http://{host}:{port}"


class MediaWorkers:
    def __init__(self, redis: aioredis.Redis, *, bus_timeout: float = 5.0) -> None:
        self.redis = redis
        self.bus_timeout = bus_timeout

    async def heartbeats(self) -> list[dict[str, Any]]:
        try:
            names = [name async for name in self.redis.scan_iter(match=heartbeat_pattern(MEDIA_WORKER))]
            raws = await self.redis.mget(names) if names else []
        except Exception as exc:
            raise CommandFailed(f"media workers unknown: Redis unavailable ({exc})", status=503) from exc
        return heartbeats_decode(raws)

    async def command(
        self, target: str, command: str, args: dict[str, Any], *, timeout: float | None = None
    ) -> dict[str, Any]:
        """A worker's answer; CommandFailed with the worker's status, or 503 when it is unreachable."""
        wait = self.bus_timeout if timeout is None else timeout
        try:
            return await bus_request_async(self.redis, target, command, args, timeout=wait)
        except CommandFailed:
            raise
        except BusTimeout as exc:
            raise CommandFailed(f"media worker {target} did not answer {command}", status=503) from exc
        except BusError as exc:
            raise CommandFailed(str(exc), status=503) from exc

    async def command_quietly(self, target: str, command: str, args: dict[str, Any]) -> None:
        """Best effort (a close after the device left): failures are only logged."""
        try:
            await self.command(target, command, args)
        except CommandFailed as exc:
            logger.debug("%s on %s: %s", command, target, exc)
