"""Applying a device's catalog: channels, regions, business groups and virtual organisations.

Items arrive from the gateway as plain dicts (JSON through Celery) with snake_case keys:
`device_id` (the item's own ID), `name`, `manufacturer`, `model`, `owner`, `civil_code`, `block`,
`address`, `parental`, `parent_id`, `business_group_id`, `safety_way`, `register_way`, `secrecy`,
`ip_address`, `port`, `ptz_type`, `status`, `longitude`, `latitude`, `event` (NOTIFY only) and
`raw` (every field as the device sent it).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from .. import events
from ..constants import CatalogSyncState, ChannelStatus, PtzType
from ..models import BusinessGroup, Channel, Device, Region, VirtualOrganization
from .errors import DeviceNotFound

BUSINESS_GROUP_TYPE = "215"
VIRTUAL_ORGANIZATION_TYPE = "216"
STATUS_EVENT_LIMIT = 200  # beyond this many changes in one catalog, clients reload instead

_STATUS_WORDS = {
    "on": ChannelStatus.ON,
    "online": ChannelStatus.ON,
    "ok": ChannelStatus.ON,
    "off": ChannelStatus.OFF,
    "offline": ChannelStatus.OFF,
    "vlost": ChannelStatus.VLOST,
    "defect": ChannelStatus.DEFECT,
}


def item_kind(item_id: str) -> str:
    if item_id.isdigit() and len(item_id) in (2, 4, 6, 8):
        return "region"
    if len(item_id) == 20:
        type_code = item_id[10:13]
        if type_code == BUSINESS_GROUP_TYPE:
            return "business_group"
        if type_code == VIRTUAL_ORGANIZATION_TYPE:
            return "virtual_organization"
    return "channel"


def _text(value: Any, limit: int) -> str:
    if value is None:
        return ""
    return str(value).strip()[:limit]


def _small_int(value: Any) -> int | None:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if 0 <= number <= 32767 else None


def _float(value: Any) -> float | None:
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) <= 1e9 else None  # drop NaN and absurd values


def channel_status(value: Any) -> str:
    return _STATUS_WORDS.get(str(value or "").strip().lower(), ChannelStatus.OFF)


def channel_fields(item: dict[str, Any]) -> dict[str, Any]:
    ptz = _small_int(item.get("ptz_type"))
    port = _small_int(item.get("port"))
    return {
        "name": _text(item.get("name"), 128),
        "manufacturer": _text(item.get("manufacturer"), 64),
        "model": _text(item.get("model"), 64),
        "owner": _text(item.get("owner"), 64),
        "civil_code": _text(item.get("civil_code"), 20),
        "block": _text(item.get("block"), 64),
        "address": _text(item.get("address"), 256),
        "parental": str(item.get("parental") or "0").strip() in {"1", "True", "true"},
        "parent_id": _text(item.get("parent_id"), 256),
        "business_group_id": _text(item.get("business_group_id"), 20),
        "safety_way": _small_int(item.get("safety_way")),
        "register_way": _small_int(item.get("register_way")),
        "secrecy": _small_int(item.get("secrecy")),
        "ip_address": _text(item.get("ip_address"), 64),
        "port": port if port and port > 0 else None,
        "ptz_type": ptz if ptz in PtzType.values else PtzType.UNKNOWN,
        "status": channel_status(item.get("status")),
        "longitude": _float(item.get("longitude")),
        "latitude": _float(item.get("latitude")),
        "raw": item.get("raw") if isinstance(item.get("raw"), dict) else {},
    }


CHANNEL_UPDATE_FIELDS = [*channel_fields({}).keys(), "updated_at"]


def _regions_apply(items: Iterable[dict[str, Any]]) -> None:
    for item in items:
        code = str(item["device_id"])
        region, _ = Region.objects.get_or_create(civil_code=code)
        name = _text(item.get("name"), 128)
        parent = Region.objects.filter(civil_code=code[:-2]).first() if len(code) > 2 else None
        if (name and region.name != name) or region.parent_id != (parent.pk if parent else None):
            region.name = name or region.name
            region.parent = parent
            region.save()
        # Regions that arrived before their parent get linked now.
        Region.objects.filter(parent__isnull=True, civil_code__regex=rf"^{code}\d{{2}}$").update(parent=region)


def _groups_apply(device: Device, items: list[dict[str, Any]]) -> None:
    for item in items:
        BusinessGroup.objects.update_or_create(
            device=device,
            group_id=str(item["device_id"]),
            defaults={"name": _text(item.get("name"), 128), "raw": item.get("raw") or {}},
        )


def _orgs_apply(device: Device, items: list[dict[str, Any]]) -> None:
    for item in items:
        VirtualOrganization.objects.update_or_create(
            device=device,
            org_id=str(item["device_id"]),
            defaults={
                "name": _text(item.get("name"), 128),
                "parent_id": _text(item.get("parent_id"), 20),
                "business_group_id": _text(item.get("business_group_id"), 20),
                "raw": item.get("raw") or {},
            },
        )


def _channels_upsert(device: Device, items: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Insert or update channels in bulk; returns (channel_id, status) pairs whose status changed."""
    now = timezone.now()
    wanted = {str(item["device_id"])[:32]: channel_fields(item) for item in items}
    before = dict(Channel.objects.filter(device=device, channel_id__in=list(wanted)).values_list("channel_id", "status"))
    Channel.objects.bulk_create(
        [Channel(device=device, channel_id=cid, updated_at=now, **fields) for cid, fields in wanted.items()],
        batch_size=1000,
        update_conflicts=True,
        unique_fields=["device", "channel_id"],
        update_fields=CHANNEL_UPDATE_FIELDS,
    )
    return [(cid, f["status"]) for cid, f in wanted.items() if cid in before and before[cid] != f["status"]]


def _split(items: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    kinds: dict[str, list[dict[str, Any]]] = {"region": [], "business_group": [], "virtual_organization": [], "channel": []}
    for item in items:
        item_id = str(item.get("device_id") or "").strip()
        if not item_id:
            continue
        kinds[item_kind(item_id)].append({**item, "device_id": item_id})
    return kinds


def _publish_status_changes(device_id: str, changes: list[tuple[str, str]]) -> None:
    for channel_id, status in changes[:STATUS_EVENT_LIMIT]:
        events.event_publish(events.CHANNEL_STATUS, device_id=device_id, channel_id=channel_id, status=status)


def catalog_apply(*, device_id: str, items: list[dict[str, Any]], complete: bool) -> dict[str, int]:
    """Store a full catalog answer. After a complete one, channels, groups and organisations the
    device no longer lists are removed; an incomplete one only adds and updates."""
    device = Device.objects.filter(device_id=device_id).first()
    if device is None:
        raise DeviceNotFound(device_id)
    kinds = _split(items)
    removed = 0
    with transaction.atomic():
        _regions_apply(kinds["region"])
        _groups_apply(device, kinds["business_group"])
        _orgs_apply(device, kinds["virtual_organization"])
        changes = _channels_upsert(device, kinds["channel"])
        if complete:
            keep = {str(i["device_id"])[:32] for i in kinds["channel"]}
            removed, _ = Channel.objects.filter(device=device).exclude(channel_id__in=keep).delete()
            BusinessGroup.objects.filter(device=device).exclude(
                group_id__in=[i["device_id"] for i in kinds["business_group"]]
            ).delete()
            VirtualOrganization.objects.filter(device=device).exclude(
                org_id__in=[i["device_id"] for i in kinds["virtual_organization"]]
            ).delete()
        device.catalog_state = CatalogSyncState.COMPLETE if complete else CatalogSyncState.INCOMPLETE
        device.catalog_synced_at = timezone.now()
        device.save(update_fields=["catalog_state", "catalog_synced_at", "updated_at"])
    count = Channel.objects.filter(device=device).count()
    _publish_status_changes(device_id, changes)
    events.event_publish(events.CATALOG_UPDATED, device_id=device_id, complete=complete, channel_count=count)
    return {"channels": count, "removed": removed}


def catalog_notify_apply(*, device_id: str, items: list[dict[str, Any]]) -> dict[str, int]:
    """Apply a catalog subscription NOTIFY: each item carries `event` ADD, DEL, UPDATE, ON, OFF,
    VLOST or DEFECT."""
    device = Device.objects.filter(device_id=device_id).first()
    if device is None:
        raise DeviceNotFound(device_id)
    applied = 0
    upserts: list[dict[str, Any]] = []
    for item in items:
        item_id = str(item.get("device_id") or "").strip()[:32]
        event = str(item.get("event") or "").strip().upper()
        if not item_id:
            continue
        if event == "DEL":
            Channel.objects.filter(device=device, channel_id=item_id).delete()
            BusinessGroup.objects.filter(device=device, group_id=item_id).delete()
            VirtualOrganization.objects.filter(device=device, org_id=item_id).delete()
            events.event_publish(events.CHANNEL_STATUS, device_id=device_id, channel_id=item_id, status="deleted")
            applied += 1
        elif event in {"ON", "OFF", "VLOST", "DEFECT"}:
            status = channel_status(event)
            if Channel.objects.filter(device=device, channel_id=item_id).exclude(status=status).update(
                status=status, updated_at=timezone.now()
            ):
                events.event_publish(events.CHANNEL_STATUS, device_id=device_id, channel_id=item_id, status=status)
            applied += 1
        else:  # ADD, UPDATE, or an event word we do not know but with a full item
            upserts.append({**item, "device_id": item_id})
    if upserts:
        kinds = _split(upserts)
        with transaction.atomic():
            _regions_apply(kinds["region"])
            _groups_apply(device, kinds["business_group"])
            _orgs_apply(device, kinds["virtual_organization"])
            changes = _channels_upsert(device, kinds["channel"])
        _publish_status_changes(device_id, changes)
        applied += len(upserts)
    if applied:
        count = Channel.objects.filter(device=device).count()
        events.event_publish(events.CATALOG_UPDATED, device_id=device_id, complete=True, channel_count=count)
    return {"applied": applied}


def catalog_state_set(*, device_id: str, state: str, received: int = 0, total: int = 0) -> None:
    """Record that a synchronisation started. (Its progress events come from the gateway, which
    sees the messages arrive; going through here would deliver them out of order.)"""
    Device.objects.filter(device_id=device_id).update(catalog_state=state, updated_at=timezone.now())
