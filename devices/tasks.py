"""Thin Celery tasks: the SIP gateway sends device state here; each task calls one service."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from . import credentials, services


@shared_task
def devices_mark_stale_offline() -> list[str]:
    return services.devices_mark_stale_offline()


@shared_task
def device_registered(**report: Any) -> None:
    services.device_registered(**report)


@shared_task
def device_unregistered(*, device_id: str, at: str | None = None) -> None:
    services.device_unregistered(device_id=device_id, at=at)


@shared_task
def keepalives_apply(*, seen: dict[str, dict[str, Any]]) -> list[str]:
    return services.keepalives_apply(seen=seen)


@shared_task
def device_info_apply(**info: Any) -> None:
    services.device_info_apply(**info)


@shared_task
def catalog_apply(*, device_id: str, items: list[dict[str, Any]], complete: bool) -> dict[str, int]:
    return services.catalog_apply(device_id=device_id, items=items, complete=complete)


@shared_task
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
