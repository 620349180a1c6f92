"""Events pushed to WebSocket clients on /ws/events/ through the Channels layer.

Every event is a JSON object with a `type` (see docs/events.md) and an `at` timestamp.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone

from .constants import EVENTS_GROUP

logger = logging.getLogger(__name__)

DEVICE_REGISTERED = "device.registered"
DEVICE_UNREGISTERED = "device.unregistered"
DEVICE_ONLINE = "device.online"
DEVICE_OFFLINE = "device.offline"
DEVICE_UPDATED = "device.updated"
DEVICE_DELETED = "device.deleted"
DEVICES_CHANGED = "devices.changed"
CHANNEL_STATUS = "channel.status"
CATALOG_PROGRESS = "catalog.progress"
CATALOG_UPDATED = "catalog.updated"
STREAM_STOPPED = "stream.stopped"

EVENT_TYPES = (
    DEVICE_REGISTERED,
    DEVICE_UNREGISTERED,
    DEVICE_ONLINE,
    DEVICE_OFFLINE,
    DEVICE_UPDATED,
    DEVICE_DELETED,
    DEVICES_CHANGED,
    CHANNEL_STATUS,
    CATALOG_PROGRESS,
    CATALOG_UPDATED,
    STREAM_STOPPED,
)


def event_message(event_type: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"type": "event.message", "event": {"type": event_type, "at": timezone.now().isoformat(), **payload}}


def event_publish(event_type: str, **payload: Any) -> None:
    """Send an event to every connected client. A broken layer is logged, never raised:
    an event lost must not undo the state change that caused it."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(EVENTS_GROUP, event_message(event_type, payload))
    except Exception:
        logger.exception("could not publish event %s", event_type)


async def event_publish_async(event_type: str, **payload: Any) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        await layer.group_send(EVENTS_GROUP, event_message(event_type, payload))
    except Exception as exc:
        logger.warning("could not publish event %s: %s", event_type, exc)
