"""Thin Celery tasks: load what they need and call a service."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task
def devices_mark_stale_offline() -> list[str]:
    return services.devices_mark_stale_offline()
