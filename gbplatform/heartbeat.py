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


def heartbeats_read(client: redis.Redis, *, kind: str) -> list[dict[str, Any]]:
    """All live heartbeats of one kind of process, oldest instance name first."""
    names = sorted(client.scan_iter(match=key("heartbeat", kind, "*"), count=100))
    if not names:
        return []
    beats = []
    for raw in client.mget(names):
        if raw is None:
            continue  # expired between SCAN and MGET
        try:
            beats.append(json.loads(raw))
        except ValueError:
            continue
    return beats
