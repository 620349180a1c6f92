"""Liveness of the platform's processes, published to Redis with an expiry.

Each long-running process (SIP gateway, media worker) writes its heartbeat every few seconds; a
missing key means the process is gone. The health endpoint and the gateway's choice of media
worker read them.
"""

from __future__ import annotations

import json
import time
from typing import Any

import redis
import redis.asyncio as aioredis

from .redis_client import key

GATEWAY = "gateway"
MEDIA_WORKER = "media"


def heartbeat_payload(kind: str, instance: str, info: dict[str, Any], now: float) -> str:
    return json.dumps({"kind": kind, "instance": instance, "at": now, **info}, sort_keys=True)


async def heartbeat_write(
    client: aioredis.Redis, *, kind: str, instance: str, info: dict[str, Any], ttl: int
) -> None:
    await client.set(key("heartbeat", kind, instance), heartbeat_payload(kind, instance, info, time.time()), ex=ttl)


async def heartbeat_remove(client: aioredis.Redis, *, kind: str, instance: str) -> None:
    await client.delete(key("heartbeat", kind, instance))


def heartbeats_decode(raws: list[Any]) -> list[dict[str, Any]]:
    """Heartbeats as read with MGET: expired ones (None) and unreadable ones are skipped."""
    beats = []
    for raw in raws:
        if raw is None:
            continue  # expired between SCAN and MGET
        try:
            beats.append(json.loads(raw))
        except ValueError:
            continue
    return beats


def heartbeat_pattern(kind: str) -> str:
    return key("heartbeat", kind, "*")


def heartbeats_read(client: redis.Redis, *, kind: str) -> list[dict[str, Any]]:
    """All live heartbeats of one kind of process, oldest instance name first."""
    names = sorted(client.scan_iter(match=heartbeat_pattern(kind), count=100))
    return heartbeats_decode(client.mget(names)) if names else []
