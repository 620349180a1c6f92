"""Applying a device's catalog: channels, regions, business groups and virtual organisations.

A synchronisation arrives in parts. While the device is still sending, the gateway hands over
what has arrived so far (`catalog_items_apply`: added or updated, nothing removed); when SumNum
is reached or the wait is over, the rest (`catalog_apply`), which records how the
synchronisation ended and, after a complete one, removes what the device no longer lists.
NOTIFYs of a catalog subscription go through `catalog_notify_apply`. Item dicts are described
in `catalog_fields`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from .. import events
from ..constants import CatalogSyncState
from ..models import BusinessGroup, Channel, Device, Region, VirtualOrganization
from .catalog_fields import (
    BUSINESS_GROUP,
    CHANNEL,
    CHANNEL_FIELDS,
    REGION,
    VIRTUAL_ORGANIZATION,
    business_group_fields,
    channel_fields,
    channel_key,
    channel_status,
    items_by_kind,
    text,
    virtual_organization_fields,
)
from .errors import DeviceNotFound

STATUS_EVENT_LIMIT = 200  # beyond this many changes in one batch, clients reload on catalog.updated
ROWS_PER_QUERY = 500  # IDs per `IN (...)` and rows per INSERT, well inside every backend's limits

CHANNEL_UPDATE_FIELDS = [*CHANNEL_FIELDS, "updated_at"]
_STATUS_AT = CHANNEL_FIELDS.index("status")

T = TypeVar("T")


def _slices(values: list[T]) -> Iterator[list[T]]:
    for start in range(0, len(values), ROWS_PER_QUERY):
        yield values[start : start + ROWS_PER_QUERY]


def _device(device_id: str) -> Device:
    device = Device.objects.filter(device_id=device_id).first()
    if device is None:
        raise DeviceNotFound(device_id)
    return device


def _regions_apply(items: Iterable[dict[str, Any]]) -> None:
    for item in items:
        code = str(item["device_id"])
        region, _ = Region.objects.get_or_create(civil_code=code)
        name = text(item.get("name"), 128)
        parent = Region.objects.filter(civil_code=code[:-2]).first() if len(code) > 2 else None
        if (name and region.name != name) or region.parent_id != (parent.pk if parent else None):
            region.name = name or region.name
            region.parent = parent
            region.save()
        # Regions that arrived before their parent get linked now.
        Region.objects.filter(parent__isnull=True, civil_code__regex=rf"^{code}\d{{2}}$").update(parent=region)


def _groups_upsert(device: Device, items: list[dict[str, Any]]) -> None:
    if items:
        BusinessGroup.objects.bulk_create(
            [BusinessGroup(device=device, group_id=item["device_id"], **business_group_fields(item)) for item in items],
            batch_size=ROWS_PER_QUERY,
            update_conflicts=True,
            unique_fields=["device", "group_id"],
            update_fields=["name", "raw"],
        )


def _orgs_upsert(device: Device, items: list[dict[str, Any]]) -> None:
    if items:
        VirtualOrganization.objects.bulk_create(
            [VirtualOrganization(device=device, org_id=item["device_id"], **virtual_organization_fields(item))
             for item in items],
            batch_size=ROWS_PER_QUERY,
            update_conflicts=True,
            unique_fields=["device", "org_id"],
            update_fields=["name", "parent_id", "business_group_id", "raw"],
        )


def _channels_upsert(device: Device, items: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Insert new channels and update changed ones in bulk (a channel that did not change is not
    written); returns (channel_id, status) pairs whose status changed."""
    wanted = {channel_key(item): channel_fields(item) for item in items}
    stored: dict[str, tuple[Any, ...]] = {}
    for ids in _slices(list(wanted)):
        rows = Channel.objects.filter(device=device, channel_id__in=ids).values_list("channel_id", *CHANNEL_FIELDS)
        stored.update((row[0], row[1:]) for row in rows)
    now = timezone.now()
    changed = [
        Channel(device=device, channel_id=cid, updated_at=now, **fields)
        for cid, fields in wanted.items()
        if stored.get(cid) != tuple(fields.values())
    ]
    if changed:
        # Still an upsert: a NOTIFY may add the same channel meanwhile.
        Channel.objects.bulk_create(
            changed,
            batch_size=ROWS_PER_QUERY,
            update_conflicts=True,
            unique_fields=["device", "channel_id"],
            update_fields=CHANNEL_UPDATE_FIELDS,
        )
    return [
        (cid, fields["status"])
        for cid, fields in wanted.items()
        if cid in stored and stored[cid][_STATUS_AT] != fields["status"]
    ]


def _items_upsert(device: Device, kinds: dict[str, list[dict[str, Any]]]) -> list[tuple[str, str]]:
    _regions_apply(kinds[REGION])
    _groups_upsert(device, kinds[BUSINESS_GROUP])
    _orgs_upsert(device, kinds[VIRTUAL_ORGANIZATION])
    return _channels_upsert(device, kinds[CHANNEL])


def _unlisted_remove(device: Device, listed: set[str]) -> int:
    """Remove the device's channels, groups and organisations not in `listed`; returns how many
    channels went. IDs are compared in Python, so a catalog of any size costs no huge query."""
    removed = 0
    tables: tuple[tuple[type[Model], str], ...] = (
        (Channel, "channel_id"),
        (BusinessGroup, "group_id"),
        (VirtualOrganization, "org_id"),
    )
    for model, id_field in tables:
        rows = model._default_manager.filter(device=device).values_list("pk", id_field)
        stale = [pk for pk, item_id in rows if item_id not in listed]
        for pks in _slices(stale):
            count, _ = model._default_manager.filter(pk__in=pks).delete()
            if model is Channel:
                removed += count
    return removed


def _publish_status_changes(device_id: str, changes: list[tuple[str, str]]) -> None:
    for channel_id, status in changes[:STATUS_EVENT_LIMIT]:
        events.event_publish(events.CHANNEL_STATUS, device_id=device_id, channel_id=channel_id, status=status)


def catalog_items_apply(*, device_id: str, items: list[dict[str, Any]]) -> dict[str, int]:
    """Store part of a catalog that is still arriving: what it lists is added or updated;
    nothing is removed and the synchronisation is not finished (that is `catalog_apply`)."""
    device = _device(device_id)
    kinds = items_by_kind(items)
    with transaction.atomic():
        changes = _items_upsert(device, kinds)
    _publish_status_changes(device_id, changes)
    return {"items": sum(len(found) for found in kinds.values())}


def catalog_apply(
    *, device_id: str, items: list[dict[str, Any]], complete: bool, listed: list[str] | None = None
) -> dict[str, int]:
    """Store the end of a catalog synchronisation and record how it went.

    `items` are what was not handed over by `catalog_items_apply` before (the whole catalog when
    `listed` is None); `listed` is the ID of every item of the synchronisation. After a complete
    one, channels, groups and organisations the device no longer lists are removed; an
    incomplete one only adds and updates."""
    device = _device(device_id)
    kinds = items_by_kind(items)
    removed = 0
    with transaction.atomic():
        changes = _items_upsert(device, kinds)
        if complete:
            keep = {channel_key(item) for found in kinds.values() for item in found}
            keep.update(str(item_id).strip()[:32] for item_id in listed or ())
            removed = _unlisted_remove(device, keep)
        device.catalog_state = CatalogSyncState.COMPLETE if complete else CatalogSyncState.INCOMPLETE
        device.catalog_synced_at = timezone.now()
        device.save(update_fields=["catalog_state", "catalog_synced_at", "updated_at"])
    count = Channel.objects.filter(device=device).count()
    _publish_status_changes(device_id, changes)
    events.event_publish(events.CATALOG_UPDATED, device_id=device_id, complete=complete, channel_count=count)
    return {"channels": count, "removed": removed}


def catalog_notify_apply(*, device_id: str, items: list[dict[str, Any]]) -> dict[str, int]:
    """Apply a catalog subscription NOTIFY: each item carries `event` ADD, DEL, UPDATE, ON, OFF,
    VLOST or DEFECT. A status word is published as channel.status only; catalog.updated (which
    makes clients reload the channels) is for items added, updated or deleted."""
    device = _device(device_id)
    applied = 0
    listed_changed = False
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
            listed_changed = True
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
        with transaction.atomic():
            changes = _items_upsert(device, items_by_kind(upserts))
        _publish_status_changes(device_id, changes)
        applied += len(upserts)
        listed_changed = True
    if listed_changed:
        count = Channel.objects.filter(device=device).count()
        events.event_publish(events.CATALOG_UPDATED, device_id=device_id, complete=True, channel_count=count)
    return {"applied": applied}


def catalog_state_set(*, device_id: str, state: str, received: int = 0, total: int = 0) -> None:
    """Record that a synchronisation started. (Its progress events come from the gateway, which
    sees the messages arrive; going through here would deliver them out of order.)"""
    Device.objects.filter(device_id=device_id).update(catalog_state=state, updated_at=timezone.now())
