"""Services that the gateway's Celery tasks call: registration, keepalives, catalog."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from devices import services
from devices.constants import CatalogSyncState, ChannelStatus
from devices.models import BusinessGroup, Channel, Device, Region, VirtualOrganization

from .factories import make_channel, make_device

pytestmark = pytest.mark.django_db

NVR = "34020000001180000001"


def register(**overrides):
    report = {
        "device_id": NVR,
        "transport": "udp",
        "source_ip": "127.0.0.1",
        "source_port": 5080,
        "expires": 3600,
        "gb_version": "3.0",
        "user_agent": "IP Camera",
    }
    return services.device_registered(**{**report, **overrides})


def item(item_id, name="", **fields):
    return {"device_id": item_id, "name": name, "raw": {"DeviceID": item_id, "Name": name}, **fields}


def test_first_registration_creates_an_online_device_with_its_address():
    device = register()
    assert device.online
    assert (device.transport, device.source_ip, device.source_port) == ("udp", "127.0.0.1", 5080)
    assert device.gb_version == "3.0"
    assert device.expires_at - device.registered_at == timedelta(seconds=3600)


def test_registration_follows_a_device_that_moved_behind_nat():
    register()
    device = register(transport="tcp", source_ip="127.0.0.9", source_port=40000)
    assert (device.transport, device.source_ip, device.source_port) == ("tcp", "127.0.0.9", 40000)
    assert Device.objects.count() == 1


def test_unregister_marks_offline():
    register()
    services.device_unregistered(device_id=NVR)
    assert Device.objects.get(device_id=NVR).online is False


def test_keepalive_batch_refreshes_liveness_and_brings_devices_back():
    register()
    Device.objects.filter(device_id=NVR).update(online=False)
    at = timezone.now()
    came_back = services.keepalives_apply(seen={NVR: {"at": at.isoformat(), "ip": "127.0.0.2", "port": 5099}})
    device = Device.objects.get(device_id=NVR)
    assert came_back == [NVR]
    assert device.online and device.last_keepalive_at == at and device.source_port == 5099


def test_silent_devices_go_offline_after_three_missed_keepalives(settings):
    settings.KEEPALIVE_INTERVAL = 60
    register()
    now = timezone.now()
    Device.objects.filter(device_id=NVR).update(last_keepalive_at=now - timedelta(seconds=179))
    assert services.devices_mark_stale_offline(now=now) == []
    Device.objects.filter(device_id=NVR).update(last_keepalive_at=now - timedelta(seconds=181))
    assert services.devices_mark_stale_offline(now=now) == [NVR]
    assert Device.objects.get(device_id=NVR).online is False


def test_expired_registration_goes_offline():
    register(expires=60)
    later = timezone.now() + timedelta(seconds=61)
    Device.objects.filter(device_id=NVR).update(last_keepalive_at=later)
    assert services.devices_mark_stale_offline(now=later) == [NVR]


def test_device_info_fills_in_but_keeps_an_operators_name():
    make_device(device_id=NVR, name="Front gate")
    services.device_info_apply(device_id=NVR, name="IPC", manufacturer="Dahua", model="SD-6", firmware="2.6")
    device = Device.objects.get(device_id=NVR)
    assert (device.name, device.manufacturer, device.model, device.firmware) == ("Front gate", "Dahua", "SD-6", "2.6")


def test_catalog_builds_channels_regions_groups_and_organisations():
    make_device(device_id=NVR)
    items = [
        item("34", "安徽省"),
        item("3402", "芜湖市"),
        item("34020000002150000001", "交通"),
        item("34020000002160000001", "路口", business_group_id="34020000002150000001"),
        item("34020000001310000001", "大门 𠀀", civil_code="3402", status="ON", ptz_type="1",
             longitude="118.3", latitude="31.3", parent_id="34020000002160000001"),
        item("34020000001310000002", "后院", status="OFF", port="abc", secrecy="x"),
    ]
    result = services.catalog_apply(device_id=NVR, items=items, complete=True)
    assert result == {"channels": 2, "removed": 0}
    gate = Channel.objects.get(channel_id="34020000001310000001")
    assert (gate.name, gate.status, gate.ptz_type, gate.longitude) == ("大门 𠀀", ChannelStatus.ON, 1, 118.3)
    assert gate.raw["Name"] == "大门 𠀀"
    yard = Channel.objects.get(channel_id="34020000001310000002")
    assert (yard.status, yard.port, yard.secrecy) == (ChannelStatus.OFF, None, None)
    assert Region.objects.get(civil_code="3402").parent.civil_code == "34"
    assert BusinessGroup.objects.get().name == "交通"
    assert VirtualOrganization.objects.get().business_group_id == "34020000002150000001"
    assert Device.objects.get(device_id=NVR).catalog_state == CatalogSyncState.COMPLETE


def test_a_complete_catalog_removes_channels_the_device_no_longer_lists():
    device = make_device(device_id=NVR)
    make_channel(device, channel_id="34020000001310000009")
    services.catalog_apply(device_id=NVR, items=[item("34020000001310000001", "kept")], complete=True)
    assert list(Channel.objects.values_list("channel_id", flat=True)) == ["34020000001310000001"]


def test_an_incomplete_catalog_keeps_what_it_did_not_see():
    device = make_device(device_id=NVR)
    make_channel(device, channel_id="34020000001310000009")
    services.catalog_apply(device_id=NVR, items=[item("34020000001310000001", "new")], complete=False)
    assert Channel.objects.count() == 2
    assert Device.objects.get(device_id=NVR).catalog_state == CatalogSyncState.INCOMPLETE


def test_catalog_updates_existing_channels_in_place():
    device = make_device(device_id=NVR)
    make_channel(device, channel_id="34020000001310000001", name="old", status=ChannelStatus.ON)
    services.catalog_apply(device_id=NVR, items=[item("34020000001310000001", "new", status="OFF")], complete=True)
    channel = Channel.objects.get()
    assert (channel.name, channel.status) == ("new", ChannelStatus.OFF)


def test_parts_of_a_catalog_still_arriving_are_stored_without_removing_or_finishing_anything():
    device = make_device(device_id=NVR)
    make_channel(device, channel_id="34020000001310000009")
    services.catalog_items_apply(device_id=NVR, items=[item("34020000001310000001", "first"), item("34020000002150000001", "交通")])
    assert set(Channel.objects.values_list("channel_id", flat=True)) == {"34020000001310000001", "34020000001310000009"}
    assert BusinessGroup.objects.get().name == "交通"
    assert Device.objects.get(device_id=NVR).catalog_state == CatalogSyncState.NEVER


def test_the_last_part_of_a_complete_catalog_removes_only_what_no_part_listed():
    device = make_device(device_id=NVR)
    make_channel(device, channel_id="34020000001310000009")
    BusinessGroup.objects.create(device=device, group_id="34020000002150000009", name="gone")
    services.catalog_items_apply(device_id=NVR, items=[item("34020000001310000001"), item("34020000002150000001")])
    listed = ["34020000001310000001", "34020000002150000001", "34020000001310000002"]
    result = services.catalog_apply(device_id=NVR, items=[item("34020000001310000002")], complete=True, listed=listed)
    assert result == {"channels": 2, "removed": 1}
    assert set(Channel.objects.values_list("channel_id", flat=True)) == {"34020000001310000001", "34020000001310000002"}
    assert list(BusinessGroup.objects.values_list("group_id", flat=True)) == ["34020000002150000001"]
    assert Device.objects.get(device_id=NVR).catalog_state == CatalogSyncState.COMPLETE


def test_a_channel_the_catalog_repeats_unchanged_is_not_rewritten():
    device = make_device(device_id=NVR)
    services.catalog_apply(device_id=NVR, items=[item("34020000001310000001", "same", status="ON")], complete=True)
    before = Channel.objects.get().updated_at
    services.catalog_apply(device_id=NVR, items=[item("34020000001310000001", "same", status="ON")], complete=True)
    assert Channel.objects.get(device=device).updated_at == before


def test_a_status_change_in_a_catalog_part_is_published(monkeypatch):
    published = []
    monkeypatch.setattr("devices.events.event_publish", lambda kind, **payload: published.append((kind, payload)))
    device = make_device(device_id=NVR)
    make_channel(device, channel_id="34020000001310000001", status=ChannelStatus.ON)
    services.catalog_items_apply(device_id=NVR, items=[item("34020000001310000001", status="OFF")])
    assert published == [("channel.status", {"device_id": NVR, "channel_id": "34020000001310000001", "status": "off"})]


def test_a_catalog_repeating_an_item_keeps_its_last_copy():
    make_device(device_id=NVR)
    items = [item("34020000001310000001", "first"), item(" 34020000001310000001 ", "second")]
    services.catalog_apply(device_id=NVR, items=items, complete=True)
    assert Channel.objects.get().name == "second"


def test_catalog_for_a_device_not_yet_stored_asks_for_a_retry_and_changes_nothing():
    with pytest.raises(services.DeviceNotFound):
        services.catalog_apply(device_id=NVR, items=[item("34020000001310000001")], complete=True)
    assert not Channel.objects.exists()


@pytest.mark.parametrize(
    ("event", "expected"),
    [("ON", ChannelStatus.ON), ("OFF", ChannelStatus.OFF), ("VLOST", ChannelStatus.VLOST), ("DEFECT", ChannelStatus.DEFECT)],
)
def test_notify_status_events_change_the_channel_status(event, expected):
    device = make_device(device_id=NVR)
    make_channel(device, channel_id="34020000001310000001", status=ChannelStatus.ON if event != "ON" else ChannelStatus.OFF)
    services.catalog_notify_apply(device_id=NVR, items=[{"device_id": "34020000001310000001", "event": event}])
    assert Channel.objects.get().status == expected


def test_a_status_notify_is_published_as_a_channel_status_without_reloading_the_catalog(monkeypatch):
    published = []
    monkeypatch.setattr("devices.events.event_publish", lambda kind, **payload: published.append(kind))
    device = make_device(device_id=NVR)
    make_channel(device, channel_id="34020000001310000001", status=ChannelStatus.ON)
    services.catalog_notify_apply(device_id=NVR, items=[{"device_id": "34020000001310000001", "event": "OFF"}])
    services.catalog_notify_apply(device_id=NVR, items=[{"device_id": "34020000001310000001", "event": "OFF"}])
    assert published == ["channel.status"]
    services.catalog_notify_apply(device_id=NVR, items=[item("34020000001310000002", "added", event="ADD")])
    assert published[-1] == "catalog.updated"


def test_notify_add_update_and_del():
    make_device(device_id=NVR)
    services.catalog_notify_apply(device_id=NVR, items=[item("34020000001310000001", "added", event="ADD", status="ON")])
    assert Channel.objects.get().name == "added"
    services.catalog_notify_apply(device_id=NVR, items=[item("34020000001310000001", "renamed", event="UPDATE")])
    assert Channel.objects.get().name == "renamed"
    services.catalog_notify_apply(device_id=NVR, items=[{"device_id": "34020000001310000001", "event": "DEL"}])
    assert not Channel.objects.exists()


def test_a_batch_of_registrations_creates_and_updates_devices_in_bulk():
    register()  # one device known already, online
    reports = [
        {"device_id": f"3402000000132{n:07d}", "transport": "udp", "source_ip": "127.0.0.1", "source_port": 6000 + n,
         "expires": 600, "at": timezone.now().isoformat(), "gb_version": "2.0", "user_agent": "IPC"}
        for n in range(1, 151)
    ]
    reports.append({**reports[0], "device_id": NVR, "transport": "tcp", "source_port": 7000})
    assert services.devices_registered_batch(reports=reports) == 151
    assert Device.objects.filter(online=True).count() == 151
    nvr = Device.objects.get(device_id=NVR)
    assert (nvr.transport, nvr.source_port, nvr.gb_version) == ("tcp", 7000, "2.0")
    assert Device.objects.get(device_id="34020000001320000150").expires_at is not None
