"""Registration, keepalive and device information, as reported by the SIP gateway."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from .. import credentials, events
from ..models import Device
from .errors import DeviceNotFound


def _when(value: str | datetime | None) -> datetime:
    if isinstance(value, datetime):
        return value
    parsed = parse_datetime(value) if value else None
    return parsed or timezone.now()


def _registration_set(
    device: Device,
    *,
    transport: str,
    source_ip: str,
    source_port: int,
    expires: int,
    at: datetime,
    gb_version: str,
    user_agent: str,
) -> None:
    """Set on `device` (not saved) what a REGISTER says; an empty version or agent keeps the old."""
    device.transport = transport
    device.source_ip = source_ip
    device.source_port = source_port
    device.online = True
    device.registered_at = at
    device.expires_at = at + timedelta(seconds=expires)
    device.last_keepalive_at = device.last_keepalive_at or at
    if gb_version:
        device.gb_version = gb_version[:8]
    if user_agent:
        device.user_agent = user_agent[:128]


def _came_online_publish(*, device_id: str, transport: str, source_ip: str, source_port: int) -> None:
    events.event_publish(
        events.DEVICE_REGISTERED, device_id=device_id, transport=transport, source_ip=source_ip, source_port=source_port
    )
    events.event_publish(events.DEVICE_ONLINE, device_id=device_id)


def device_registered(
    *,
    device_id: str,
    transport: str,
    source_ip: str,
    source_port: int,
    expires: int,
    at: str | datetime | None = None,
    gb_version: str = "",
    user_agent: str = "",
) -> Device:
    """A device registered or refreshed its registration. Creates the device on first sight."""
    now = _when(at)
    with transaction.atomic():
        device, created = Device.objects.select_for_update().get_or_create(device_id=device_id)
        was_online = device.online
        _registration_set(
            device,
            transport=transport,
            source_ip=source_ip,
            source_port=source_port,
            expires=expires,
            at=now,
            gb_version=gb_version,
            user_agent=user_agent,
        )
        device.save()
    if created:
        credentials.credential_set(device_id=device_id, password="")
    if created or not was_online:
        _came_online_publish(device_id=device_id, transport=transport, source_ip=source_ip, source_port=source_port)
    return device


EVENT_BATCH_LIMIT = 100  # beyond this many devices in one batch, one summary event instead


def devices_registered_batch(*, reports: list[dict[str, Any]]) -> int:
    """Apply many registrations at once (a storm after a platform restart): one query to find
    the devices, bulk inserts and updates, and per-device events only for small batches."""
    if not reports:
        return 0
    latest = {report["device_id"]: report for report in reports}
    now = timezone.now()
    with transaction.atomic():
        existing = {d.device_id: d for d in Device.objects.select_for_update().filter(device_id__in=list(latest))}
        created = [Device(device_id=device_id) for device_id in latest if device_id not in existing]
        Device.objects.bulk_create(created, batch_size=1000, ignore_conflicts=True)
        if created:
            existing = {d.device_id: d for d in Device.objects.filter(device_id__in=list(latest))}
        came_online: list[dict[str, Any]] = []
        for device_id, report in latest.items():
            device = existing[device_id]
            if not device.online:
                came_online.append(report)
            _registration_set(
                device,
                transport=report["transport"],
                source_ip=report["source_ip"],
                source_port=report["source_port"],
                expires=int(report["expires"]),
                at=_when(report.get("at")),
                gb_version=report.get("gb_version") or "",
                user_agent=report.get("user_agent") or "",
            )
            device.updated_at = now
        Device.objects.bulk_update(
            list(existing.values()),
            ["transport", "source_ip", "source_port", "online", "registered_at", "expires_at",
             "last_keepalive_at", "gb_version", "user_agent", "updated_at"],
            batch_size=1000,
        )
    credentials.credentials_set_many({device.device_id: "" for device in created})
    if len(came_online) <= EVENT_BATCH_LIMIT:
        for report in came_online:
            _came_online_publish(
                device_id=report["device_id"],
                transport=report["transport"],
                source_ip=report["source_ip"],
                source_port=report["source_port"],
            )
    else:
        events.event_publish(events.DEVICES_CHANGED, online=len(came_online), reason="registrations")
    return len(latest)


def device_unregistered(*, device_id: str, at: str | datetime | None = None) -> None:
    """The device sent `Expires: 0`."""
    now = _when(at)
    updated = Device.objects.filter(device_id=device_id, online=True).update(
        online=False, expires_at=now, updated_at=now
    )
    if updated:
        events.event_publish(events.DEVICE_UNREGISTERED, device_id=device_id)
        events.event_publish(events.DEVICE_OFFLINE, device_id=device_id, reason="unregistered")


def device_offline(*, device_id: str, reason: str) -> bool:
    """The gateway found the device silent (keepalives stopped or registration expired)."""
    updated = Device.objects.filter(device_id=device_id, online=True).update(online=False, updated_at=timezone.now())
    if updated:
        events.event_publish(events.DEVICE_OFFLINE, device_id=device_id, reason=reason)
    return bool(updated)


def keepalives_apply(*, seen: dict[str, dict[str, Any]]) -> list[str]:
    """Apply a batch of coalesced keepalives: {device_id: {"at": iso, "ip": ..., "port": ...}}.

    One UPDATE per device in the batch, whatever the number of keepalives it sent meanwhile.
    Returns the devices that came back online.
    """
    if not seen:
        return []
    came_back: list[str] = []
    offline = set(
        Device.objects.filter(device_id__in=list(seen), online=False).values_list("device_id", flat=True)
    )
    with transaction.atomic():
        for device_id, info in seen.items():
            fields: dict[str, Any] = {"last_keepalive_at": _when(info.get("at")), "online": True}
            if info.get("ip"):
                fields["source_ip"] = info["ip"]
            if info.get("port"):
                fields["source_port"] = int(info["port"])
            Device.objects.filter(device_id=device_id).update(**fields)
    for device_id in sorted(offline):
        if Device.objects.filter(device_id=device_id).exists():
            came_back.append(device_id)
            events.event_publish(events.DEVICE_ONLINE, device_id=device_id)
    return came_back


def device_info_apply(
    *,
    device_id: str,
    name: str | None = None,
    manufacturer: str | None = None,
    model: str | None = None,
    firmware: str | None = None,
    charset: str | None = None,
) -> None:
    """DeviceInfo answered: fill in what the device says about itself (keeping an operator's name)."""
    device = Device.objects.filter(device_id=device_id).first()
    if device is None:
        raise DeviceNotFound(device_id)
    changed: list[str] = []
    for field, value in (("manufacturer", manufacturer), ("model", model), ("firmware", firmware), ("charset", charset)):
        if value and getattr(device, field) != value[:64]:
            setattr(device, field, value[:64])
            changed.append(field)
    if name and not device.name:
        device.name = name[:128]
        changed.append("name")
    if changed:
        device.save(update_fields=[*changed, "updated_at"])
        events.event_publish(events.DEVICE_UPDATED, device_id=device_id, fields=changed)
