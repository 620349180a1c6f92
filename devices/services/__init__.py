"""Functions that change device state; views, consumers and Celery tasks all call these."""

from .catalog import catalog_apply, catalog_items_apply, catalog_notify_apply, catalog_state_set
from .errors import DeviceNotFound
from .operator import device_delete, device_update, devices_mark_stale_offline, liveness_deadline
from .registration import (
    device_info_apply,
    device_offline,
    device_registered,
    device_unregistered,
    devices_registered_batch,
    keepalives_apply,
)

__all__ = [
    "DeviceNotFound",
    "catalog_apply",
    "catalog_items_apply",
    "catalog_notify_apply",
    "catalog_state_set",
    "device_delete",
    "device_info_apply",
    "device_offline",
    "device_registered",
    "devices_registered_batch",
    "device_unregistered",
    "device_update",
    "devices_mark_stale_offline",
    "keepalives_apply",
    "liveness_deadline",
]
