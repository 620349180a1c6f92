"""GET /api/health/ reports each part of the platform as "ok" or the reason it is not."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync

from gbplatform.heartbeat import GATEWAY, MEDIA_WORKER, heartbeat_remove, heartbeat_write
from gbplatform.redis_client import get_async_redis

pytestmark = pytest.mark.django_db


def _beat(kind: str, instance: str) -> None:
    async def write() -> None:
        client = get_async_redis()
        await heartbeat_write(client, kind=kind, instance=instance, info={"address": "127.0.0.1"}, ttl=30)
        await client.aclose()

    async_to_sync(write)()


def _forget(kind: str, instance: str) -> None:
    async def remove() -> None:
        client = get_async_redis()
        await heartbeat_remove(client, kind=kind, instance=instance)
        await client.aclose()

    async_to_sync(remove)()


def test_health_needs_no_login_and_names_missing_processes(api):
    answer = api.get("/api/health/")
    assert answer.status_code == 200
    body = answer.json()
    assert body["database"] == "ok"
    assert body["redis"] == "ok"
    assert body["sip_gateway"].startswith("not running")
    assert body["media_workers"].startswith("not running")
    assert body["healthy"] is False


def test_health_is_ok_when_gateway_and_media_worker_beat(api):
    _beat(GATEWAY, "test-gw")
    _beat(MEDIA_WORKER, "test-media")
    try:
        body = api.get("/api/health/").json()
    finally:
        _forget(GATEWAY, "test-gw")
        _forget(MEDIA_WORKER, "test-media")
    assert (body["sip_gateway"], body["media_workers"], body["healthy"]) == ("ok", "ok", True)
    assert [w["instance"] for w in body["media_worker_list"]] == ["test-media"]


def test_health_reports_an_unreachable_redis(api, settings, monkeypatch):
    import redis

    import gbplatform.health as health

    unreachable = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    monkeypatch.setattr(health, "get_redis", lambda: unreachable)
    body = api.get("/api/health/").json()
    assert body["redis"].startswith("unavailable: ConnectionError")
    assert body["sip_gateway"].startswith("unknown")
    assert body["database"] == "ok"
