"""gbsim against the platform's own SIP gateway on loopback: register, keepalive, catalog.

The gateway runs in-process with a task sink that records what it would hand to Celery, so
this needs Redis (as the gateway does) but no worker and no database.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from django.conf import settings

from gbsim.config import DeviceConfig, Timing, channel_ids, device_configs, device_ids
from gbsim.profiles import PROFILES
from gbsim.runner import Simulator
from sip_gateway.service import GatewayService
from tests.recording_tasks import RecordingTasks


@pytest.fixture
async def gateway() -> AsyncIterator[tuple[GatewayService, RecordingTasks]]:
    sink = RecordingTasks()
    service = GatewayService(bind="127.0.0.1", port=0, tasks=sink)
    await service.start()
    try:
        yield service, sink
    finally:
        await service.stop()
        await service.redis.aclose()


async def eventually(check: Callable[[], Any], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


@pytest.mark.parametrize(("transport", "profile"), [("udp", "hikvision"), ("tcp", "standard")])
async def test_gbsim_devices_register_and_report_their_catalog_to_the_gateway(
    gateway: tuple[GatewayService, RecordingTasks], transport: str, profile: str
) -> None:
    service, sink = gateway
    timing = Timing(expires=3600, keepalive_interval=0.5, request_timeout=5)
    configs = device_configs(
        "34020000",
        3,
        4,
        first_serial=900,
        first_channel=500,
        server_id=settings.SIP_ID,
        domain=settings.SIP_DOMAIN,
        password=settings.SIP_PASSWORD,
        transport=transport,
        profile=PROFILES[profile],
        timing=timing,
    )
    sim = Simulator(configs, platform=(transport, "127.0.0.1", service.port), seed=5)
    await sim.start("127.0.0.1")
    try:
        assert await sim.wait_registered(timeout=10)
        def registered() -> list[dict[str, Any]]:
            return [report for batch in sink.named("devices_registered") for report in batch["reports"]]

        await eventually(lambda: len(registered()) >= 3)
        registered_reports = registered()
        assert {r["transport"] for r in registered_reports} == {transport}
        assert {r["user_agent"] for r in registered_reports} == {PROFILES[profile].user_agent}
        # The gateway asks each new device who it is and what it has; what arrives is handed
        # over as it comes, and the last part ends the synchronisation.
        await eventually(lambda: len({c["device_id"] for c in sink.named("catalog_apply")}) == 3)
        for applied in sink.named("catalog_apply"):
            parts = [c["items"] for c in sink.named("catalog_items_apply") if c["device_id"] == applied["device_id"]]
            items = [item for part in [*parts, applied["items"]] for item in part]
            assert applied["complete"] and len(items) == 4
            assert sorted(applied["listed"]) == sorted(item["device_id"] for item in items)
            assert any("堃" in (item["name"] or "") or "大门口" in (item["name"] or "") for item in items)
        await eventually(lambda: len(sink.named("device_info_apply")) >= 3)
        await eventually(lambda: any(k.get("seen") for k in sink.named("keepalives_apply")), timeout=5)
    finally:
        await sim.stop(grace=1.0)
    await eventually(lambda: len(sink.named("device_unregistered")) == 3)


async def test_a_large_catalog_is_handed_over_in_parts_while_it_arrives(
    gateway: tuple[GatewayService, RecordingTasks], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sip_gateway.app.HAND_OVER_ITEMS", 3)
    service, sink = gateway
    channels = channel_ids("34020000", 0, 10, first_serial=600)
    config = DeviceConfig(
        device_id=device_ids("34020000", 1, first_serial=950)[0],
        channel_ids=channels,
        server_id=settings.SIP_ID,
        domain=settings.SIP_DOMAIN,
        password=settings.SIP_PASSWORD,
        timing=Timing(expires=3600, keepalive_interval=30, request_timeout=5),
        catalog_per_message=1,
    )
    sim = Simulator([config], platform=("udp", "127.0.0.1", service.port), seed=6)
    await sim.start("127.0.0.1")
    try:
        await eventually(lambda: sink.named("catalog_apply"))
        parts = [c["items"] for c in sink.named("catalog_items_apply")]
        (last,) = sink.named("catalog_apply")
        handed = [item["device_id"] for part in [*parts, last["items"]] for item in part]
        assert len(parts) >= 3 and sorted(handed) == sorted(channels)
        assert last["complete"] and sorted(last["listed"]) == sorted(channels)
        # Every part went before the last, which ends the synchronisation.
        names = sink.names()
        assert max(i for i, name in enumerate(names) if name == "catalog_items_apply") < names.index("catalog_apply")
    finally:
        await sim.stop(grace=1.0)
