"""Changes an operator makes to devices, and liveness bookkeeping."""
from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .. import credentials, events
from ..models import Device


def device_update(
    *,
    device: Device,
    name: str | None = None,
    password: str | None = None,
    media_transport: str | None = None,
) -> Device:
    """Change what an operator may edit; publishes `device.updated`."""
    changed: list[str] = []
    for field, value in (("name", name), ("password", password), ("media_transport", media_transport)):
        if value is not None and getattr(device, field) != value:
            setattr(device, field, value)
            changed.append(field)
    if changed:
        device.save(update_fields=[*changed, "updated_at"])
        if "password" in changed:
            credentials.credential_set(device_id=device.device_id, password=device.password)
        events.event_publish(
            events.DEVICE_UPDATED, device_id=device.device_id, fields=[f for f in changed if f != "password"]
        )
    return device


def device_delete(*, device: Device) -> None:
    device_id = device.device_id
    with transaction.atomic():
        device.delete()
    credentials.credential_remove(device_id=device_id)
    events.event_publish(events.DEVICE_DELETED, device_id=device_id)


def liveness_deadline(now: datetime) -> datetime:
    """Keepalives older than this mean the device is gone (3 missed intervals by default)."""
    return now - timedelta(seconds=settings.KEEPALIVE_INTERVAL * settings.KEEPALIVE_MISSES)


def devices_mark_stale_offline(*, now: datetime | None = None) -> list[str]:
    """Mark offline every online device whose registration expired or whose keepalives stopped.

    Returns the IDs of the devices marked offline, each announced with `device.offline`.
    """
    now = now or timezone.now()
    deadline = liveness_deadline(now)
    stale = Device.objects.filter(online=True).filter(
        Q(expires_at__lt=now)
        | Q(last_keepalive_at__lt=deadline)
        | Q(last_keepalive_at__isnull=True, registered_at__lt=deadline)
    )
    reasons: dict[str, str] = {}
    for device_id, expires_at in stale.values_list("device_id", "expires_at"):
        reasons[device_id] = "registration expired" if expires_at and expires_at < now else "keepalive timeout"
    if not reasons:
        return []
    Device.objects.filter(device_id__in=list(reasons), online=True).update(online=False, updated_at=now)
    for device_id, reason in reasons.items():
        events.event_publish(events.DEVICE_OFFLINE, device_id=device_id, reason=reason)
    return sorted(reasons)
