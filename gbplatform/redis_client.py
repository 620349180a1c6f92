"""One Redis connection pool per process, and the key names every process agrees on."""

from __future__ import annotations

from functools import lru_cache

import redis
import redis.asyncio as aioredis
from django.conf import settings


def key(*parts: str) -> str:
    """A namespaced Redis key, e.g. key("heartbeat", "gateway", "host-1") -> "gb:heartbeat:gateway:host-1"."""
    return settings.REDIS_KEY_PREFIX + ":".join(parts)


@lru_cache(maxsize=1)
def get_redis() -> redis.Redis:
    return redis.Redis.from_url(
        settings.REDIS_URL, decode_responses=True, socket_connect_timeout=2, socket_timeout=5
    )


def get_async_redis() -> aioredis.Redis:
    """A new asyncio client: asyncio clients are bound to the loop that uses them."""
    return aioredis.Redis.from_url(settings.REDIS_URL, decode_responses=True, socket_connect_timeout=2)
