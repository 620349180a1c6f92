"""Helpers of the console's browser tests: the test data and running Django code
beside Playwright's sync API."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from .browser import SCREENSHOTS

USERNAME = "operator"
PASSWORD = "operator-password-1"
BIG_DEVICE = "34020000001110000001"
BIG_CHANNELS = 10_000
SIM_DEVICES = 2
SIM_CHANNELS = 40

T = TypeVar("T")


@dataclass
class Platform:
    url: str
    device_ids: list[str]
    channels_per_device: int


def big_device_create() -> None:
    """A device with 10,000 channels, written straight to the database (the tree's load test)."""
    from devices.models import Channel, Device

    device = Device.objects.create(device_id=BIG_DEVICE, name="大型 NVR", online=True)
    Channel.objects.bulk_create(
        [
            Channel(device=device, channel_id=f"3402000000132{n:07d}", name=f"摄像机 {n:05d}", status="on" if n % 3 else "off")
            for n in range(1, BIG_CHANNELS + 1)
        ],
        batch_size=2000,
    )


@contextmanager
def database_for_tests() -> Iterator[None]:
    """The test database, created here when no collected test was marked `django_db` (pytest-django
    then creates none, e.g. under `-k`); never the platform's own database."""
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    name = str(connection.settings_dict["NAME"])
    test_name = (connection.settings_dict.get("TEST") or {}).get("NAME")
    # pytest-django already switched to the test database: its NAME is the TEST NAME (SQLite here)
    # or the "test_" prefixed one (PostgreSQL). Creating another would leave two in use.
    if name == test_name or name.startswith("test_"):
        yield
        return
    created = setup_databases(verbosity=0, interactive=False, aliases=dict.fromkeys(["default"]))
    try:
        yield
    finally:
        teardown_databases(created, verbosity=0)


def off_loop(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run Django code from a thread of its own: Playwright's sync API keeps an event loop in the
    test's thread, where Django refuses database access and async_to_sync refuses to run."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(function, *args, **kwargs).result(timeout=30)


def event_publish(event_type: str, **payload: Any) -> None:
    """Publish a platform event as a service would."""
    from devices.events import event_publish as publish

    off_loop(publish, event_type, **payload)


def screenshot(tab: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    tab.screenshot(path=str(path))
    return path
