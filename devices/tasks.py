"""Thin Celery tasks: the SIP gateway sends device state here; each task calls one service."""

from __future__ import annotations

import logging
from typing import Any

from celery import current_app, shared_task

from . import credentials, services

logger = logging.getLogger(__name__)

# A device's reports can arrive before its registration is stored: retried until it is.
UNTIL_REGISTERED: dict[str, Any] = {
    "autoretry_for": (services.DeviceNotFound,),
    "max_retries": 10,
    "default_retry_delay": 1,
}


@shared_task
def devices_mark_stale_offline() -> list[str]:
    return services.devices_mark_stale_offline()


@shared_task
def device_registered(**report: Any) -> None:
    services.device_registered(**report)


@shared_task
def devices_registered(*, reports: list[dict[str, Any]]) -> int:
    """A batch of registrations from one gateway tick (a registration storm is one task a second)."""
    return services.devices_registered_batch(reports=reports)


@shared_task
def device_unregistered(*, device_id: str, at: str | None = None) -> None:
    services.device_unregistered(device_id=device_id, at=at)


@shared_task
def keepalives_apply(*, seen: dict[str, dict[str, Any]]) -> list[str]:
    return services.keepalives_apply(seen=seen)


@shared_task(**UNTIL_REGISTERED)
def device_info_apply(**info: Any) -> None:
    services.device_info_apply(**info)


@shared_task(**UNTIL_REGISTERED)
def catalog_items_apply(*, device_id: str, items: list[dict[str, Any]]) -> dict[str, int]:
    """Part of a catalog still arriving (the gateway hands it over as it comes)."""
    return services.catalog_items_apply(device_id=device_id, items=items)


@shared_task(**UNTIL_REGISTERED)
def catalog_apply(
    *, device_id: str, items: list[dict[str, Any]], complete: bool, listed: list[str] | None = None
) -> dict[str, int]:
    return services.catalog_apply(device_id=device_id, items=items, complete=complete, listed=listed)


@shared_task(**UNTIL_REGISTERED)
def catalog_notify_apply(*, device_id: str, items: list[dict[str, Any]]) -> dict[str, int]:
    return services.catalog_notify_apply(device_id=device_id, items=items)


@shared_task
def catalog_state_set(*, device_id: str, state: str, received: int = 0, total: int = 0) -> None:
    services.catalog_state_set(device_id=device_id, state=state, received=received, total=total)


@shared_task
def device_offline(*, device_id: str, reason: str) -> bool:
    return services.device_offline(device_id=device_id, reason=reason)


@shared_task
def credentials_publish_all() -> int:
    return credentials.credentials_publish_all()


@shared_task
def run_batch(*, calls: list[list[Any]]) -> int:
    """Several gateway calls sent as one Celery message; each runs here in order, and one
    failing does not stop the others."""
    done = 0
    for name, kwargs in calls:
        task = current_app.tasks.get(name)
        if task is None or not str(name).startswith("devices.tasks."):
            logger.error("batch names an unknown task %r", name)
            continue
        try:
            task.run(**kwargs)
            done += 1
        except services.DeviceNotFound:
            task.apply_async(kwargs=kwargs, countdown=1)  # its registration is still on the way
        except Exception:
            logger.exception("task %s in a batch failed", name)
    return done
