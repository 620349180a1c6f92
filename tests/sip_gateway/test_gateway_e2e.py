"""The device lifecycle end to end over real sockets: a device registers with the gateway over
UDP and TCP, keeps alive and reports its catalog; a real Celery worker writes it to the
database, where the REST API reads it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from devices.models import Channel, Device
from sip_gateway.manscdp import CatalogItem
from sip_gateway.service import GatewayService
from sip_gateway.task_sink import CeleryTaskSink
from tests.processes import celery_worker

from .device_client import SimpleDevice

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "test-device-password"


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[None]:
    with celery_worker(tmp_path / "celery.log"):
        yield


@pytest.fixture
async def gateway(worker: None) -> AsyncIterator[GatewayService]:
    service = GatewayService(bind="127.0.0.1", port=0, tasks=CeleryTaskSink())
    await service.start()
    try:
        yield service
    finally:
        await service.stop()
        await service.redis.aclose()


async def eventually(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    """Poll the database until `check` returns something truthy (Celery is asynchronous)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await sync_to_async(check)()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.1)


def channels(count: int) -> list[CatalogItem]:
    return [
        CatalogItem(
            device_id=f"34020000001310{n:06d}",
            name=f"通道{n} 𠀀鎔",
            manufacturer="Hikvision",
            civil_code="340200",
            status="ON",
            parent_id="34020000001180000001",
        )
        for n in range(1, count + 1)
    ]


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_a_device_registers_keeps_alive_and_its_catalog_lands_in_the_database(gateway, transport):
    device = SimpleDevice("34020000001180000001", PASSWORD, (transport, "127.0.0.1", gateway.port), catalog=channels(20))
    await device.start()
    try:
        response = await device.register()
        assert response.status == 200
        assert response.headers.get("Date")
        registered = await eventually(lambda: Device.objects.filter(device_id=device.device_id, online=True).first())
        assert registered.transport == transport
        if transport == "udp":
            assert registered.source_port == device.endpoint.port
        else:  # over TCP the device is reached through the connection it opened
            assert registered.source_port != gateway.port
        assert registered.gb_version == "3.0"

        assert (await device.keepalive()).status == 200
        await eventually(lambda: Channel.objects.filter(device=registered).count() == 20)
        names = await sync_to_async(lambda: set(Channel.objects.values_list("name", flat=True)))()
        assert "通道7 𠀀鎔" in names
        await eventually(lambda: Device.objects.get(pk=registered.pk).manufacturer == "Hikvision")
    finally:
        await device.close()


async def test_a_wrong_password_is_refused_and_nothing_is_stored(gateway):
    device = SimpleDevice("34020000001180000002", "wrong-password", ("udp", "127.0.0.1", gateway.port))
    await device.start()
    try:
        assert (await device.register()).status == 403
        assert (await device.keepalive()).status == 403
    finally:
        await device.close()
    await asyncio.sleep(0.5)
    assert not await sync_to_async(Device.objects.filter(device_id=device.device_id).exists)()


async def test_unregister_marks_the_device_offline(gateway):
    device = SimpleDevice("34020000001180000003", PASSWORD, ("udp", "127.0.0.1", gateway.port))
    await device.start()
    try:
        assert (await device.register()).status == 200
        await eventually(lambda: Device.objects.filter(device_id=device.device_id, online=True).exists())
        assert (await device.register(expires=0)).status == 200
        await eventually(lambda: Device.objects.filter(device_id=device.device_id, online=False).exists())
    finally:
        await device.close()


async def test_a_silent_device_goes_offline(gateway):
    gateway.app.keepalive_timeout = 0.5  # three missed keepalives, compressed
    device = SimpleDevice("34020000001180000004", PASSWORD, ("udp", "127.0.0.1", gateway.port))
    await device.start()
    try:
        assert (await device.register()).status == 200
        await eventually(lambda: Device.objects.filter(device_id=device.device_id, online=True).exists())
        await eventually(lambda: Device.objects.filter(device_id=device.device_id, online=False).exists())
        assert (await device.keepalive()).status == 403  # the gateway forgot it: register again
    finally:
        await device.close()


async def test_catalog_refresh_through_the_api_reports_progress_and_updates_channels(gateway, token):
    from channels.testing import WebsocketCommunicator
    from rest_framework.test import APIClient

    from gbplatform.asgi import application

    device = SimpleDevice("34020000001180000005", PASSWORD, ("udp", "127.0.0.1", gateway.port), catalog=channels(3))
    await device.start()
    events = WebsocketCommunicator(application, f"/ws/events/?token={token.key}")
    assert (await events.connect())[0]
    try:
        assert (await device.register()).status == 200
        await eventually(lambda: Channel.objects.filter(device__device_id=device.device_id).count() == 3)
        device.catalog = channels(5)

        def refresh() -> Any:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
            return client.post(f"/api/devices/{device.device_id}/catalog/")

        answer = await sync_to_async(refresh)()
        assert answer.status_code == 202, answer.content
        assert answer.json()["device_id"] == device.device_id
        await eventually(lambda: Channel.objects.filter(device__device_id=device.device_id).count() == 5)

        seen: list[dict[str, Any]] = []
        while not any(e["type"] == "catalog.updated" and e.get("channel_count") == 5 for e in seen):
            seen.append(await events.receive_json_from(timeout=10))
        progress = [e for e in seen if e["type"] == "catalog.progress" and e["device_id"] == device.device_id]
        assert progress[-1]["received"] == progress[-1]["total"] == 5
    finally:
        await events.disconnect()
        await device.close()


async def test_catalog_refresh_of_an_unregistered_device_is_a_conflict(gateway, token):
    from rest_framework.test import APIClient

    from devices.models import Device as DeviceModel

    await sync_to_async(DeviceModel.objects.create)(device_id="34020000001180000099")

    def refresh() -> Any:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client.post("/api/devices/34020000001180000099/catalog/")

    answer = await sync_to_async(refresh)()
    assert answer.status_code == 409
    assert "not registered" in answer.json()["detail"]


def with_sn(body: bytes, sn: int) -> bytes:
    """A captured body answering our query: only its SN is changed, so it matches the query."""
    import re

    return re.sub(rb"<SN>\d+</SN>", b"<SN>%d</SN>" % sn, body, count=1)


async def test_the_captured_dahua_catalog_and_keepalive_are_understood(gateway):
    from tests.vectors import vector_path

    catalog = vector_path("sip/dahua_sd_hik_nvr/09_device_MESSAGE_Response-Catalog.xml").read_bytes()
    keepalive = vector_path("sip/dahua_sd_hik_nvr/05_device_MESSAGE_Notify-Keepalive.xml").read_bytes()
    device = SimpleDevice(
        "34020000001320000002", PASSWORD, ("udp", "127.0.0.1", gateway.port), catalog_bodies=lambda sn: [with_sn(catalog, sn)]
    )
    await device.start()
    try:
        assert (await device.register()).status == 200
        channel = await eventually(lambda: Channel.objects.filter(device__device_id=device.device_id).first())
        assert (channel.channel_id, channel.name, channel.manufacturer, channel.civil_code) == (
            "34020000001310000001", "DH71", "Dahua", "340200"
        )
        assert (channel.status, channel.ptz_type) == ("on", 3)
        assert channel.raw["Model"] == "DH-SD-6C3230UE-HN"
        before = await sync_to_async(lambda: Device.objects.get(device_id=device.device_id).last_keepalive_at)()
        assert (await device.send_message(keepalive)).status == 200
        await eventually(lambda: Device.objects.get(device_id=device.device_id).last_keepalive_at != before, timeout=10)
    finally:
        await device.close()


async def test_a_catalog_of_thousands_of_one_item_gb2312_messages_is_assembled_whole(gateway):
    items = channels(3000)
    device = SimpleDevice("34020000001180000006", PASSWORD, ("udp", "127.0.0.1", gateway.port), catalog=items, charset="GB2312")
    await device.start()
    try:
        assert (await device.register()).status == 200
        await eventually(lambda: Channel.objects.filter(device__device_id=device.device_id).count() == 3000, timeout=90)
        stored = await sync_to_async(lambda: Channel.objects.get(channel_id="34020000001310002999").name)()
        assert stored == "通道2999 𠀀鎔"  # 𠀀 and 鎔 are outside GB2312: the body is really GB18030
        state = await sync_to_async(lambda: Device.objects.get(device_id=device.device_id).catalog_state)()
        assert state == "complete"
    finally:
        await device.close()


async def test_a_catalog_that_never_reaches_its_sum_keeps_what_arrived_and_is_marked_incomplete(gateway):
    from sip_gateway.manscdp import CatalogAssembler
    from sip_gateway.manscdp.device_build import catalog_response

    gateway.app.catalogs = CatalogAssembler(timeout=1.0)
    items = channels(3)
    device = SimpleDevice(
        "34020000001180000007", PASSWORD, ("udp", "127.0.0.1", gateway.port),
        catalog_bodies=lambda sn: [catalog_response(sn, "34020000001180000007", 5, [item]) for item in items],
    )
    await device.start()
    try:
        assert (await device.register()).status == 200
        await eventually(
            lambda: Device.objects.filter(device_id=device.device_id, catalog_state="incomplete").exists()
        )
        stored = await sync_to_async(
            lambda: sorted(Channel.objects.filter(device__device_id=device.device_id).values_list("channel_id", flat=True))
        )()
        assert stored == [item.device_id for item in items]
    finally:
        await device.close()


async def test_the_gateway_subscribes_to_a_catalog_and_applies_channel_status_notifies(gateway):
    from django.conf import settings

    from gbsim.config import DeviceConfig, Timing, channel_ids, device_ids
    from gbsim.runner import Simulator

    device_id = device_ids("34020000", 1, first_serial=700)[0]
    channel_list = channel_ids("34020000", 70, 2)
    config = DeviceConfig(
        device_id=device_id,
        channel_ids=channel_list,
        server_id=settings.SIP_ID,
        domain=settings.SIP_DOMAIN,
        password=settings.SIP_PASSWORD,
        timing=Timing(expires=3600, keepalive_interval=5),
    )
    sim = Simulator([config], platform=("udp", "127.0.0.1", gateway.port), seed=7)
    await sim.start("127.0.0.1")
    try:
        assert await sim.wait_registered(timeout=10)
        await eventually(lambda: Channel.objects.filter(device__device_id=device_id, status="on").count() == 2)
        await eventually(lambda: getattr(gateway.app.subscriptions.by_device.get(device_id), "state", "") == "active")

        sim.set_channel_status(channel_list[0], online=False)  # the device NOTIFYs: Event OFF
        await eventually(lambda: Channel.objects.get(channel_id=channel_list[0]).status == "off")
        assert await sync_to_async(lambda: Channel.objects.get(channel_id=channel_list[1]).status)() == "on"
    finally:
        await sim.stop(grace=1.0)
    await eventually(lambda: device_id not in gateway.app.subscriptions.by_device, timeout=10)
