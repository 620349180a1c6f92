"""The platform's health: each part answers "ok" or the reason it is not."""

from __future__ import annotations

from typing import Any

from django.db import connection

from .heartbeat import GATEWAY, MEDIA_WORKER, heartbeats_read
from .redis_client import get_redis


def database_state() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error is a reason to report, not to crash on
        return f"unavailable: {exc.__class__.__name__}: {exc}"
    return "ok"


def platform_health() -> dict[str, Any]:
    state: dict[str, Any] = {"database": database_state()}
    try:
        client = get_redis()
        client.ping()
    except Exception as exc:  # connection refused, timeout, auth...
        reason = f"unavailable: {exc.__class__.__name__}: {exc}"
        state.update(redis=reason, sip_gateway="unknown: Redis is unavailable", media_workers="unknown: Redis is unavailable")
        state["media_worker_list"] = []
        return state
    state["redis"] = "ok"
    gateways = heartbeats_read(client, kind=GATEWAY)
    state["sip_gateway"] = "ok" if gateways else "not running: no gateway heartbeat in Redis"
    workers = heartbeats_read(client, kind=MEDIA_WORKER)
    state["media_workers"] = "ok" if workers else "not running: no media worker heartbeat in Redis"
    state["media_worker_list"] = workers
    return state


def is_healthy(state: dict[str, Any]) -> bool:
    return all(state[part] == "ok" for part in ("database", "redis", "sip_gateway", "media_workers"))
