"""Fixtures of the console's browser tests: one platform (web, gateway, gbsim devices, Celery
worker) and one Chromium per module, a fresh logged-in browser context per test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.waiting import eventually

from .browser import CHROMIUM, CHROMIUM_ARGS, missing_browser
from .support import (
    PASSWORD,
    SIM_CHANNELS,
    SIM_DEVICES,
    USERNAME,
    Platform,
    big_device_create,
    database_for_tests,
)


@pytest.fixture(scope="module")
def console_platform(django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    reason = missing_browser()
    if reason:
        pytest.skip(reason)
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from devices.models import Channel, Device
    from tests.processes import celery_worker

    from .live_platform import LoopThread, devices_start, devices_stop, web_server

    with django_db_blocker.unblock(), database_for_tests():
        get_user_model().objects.create_user(username=USERNAME, password=PASSWORD)
        big_device_create()
        loop = LoopThread()
        try:
            with celery_worker(tmp_path_factory.mktemp("console") / "celery.log"):
                devices = loop.run(devices_start(SIM_DEVICES, SIM_CHANNELS))
                try:
                    eventually(
                        lambda: Channel.objects.filter(device__device_id__in=devices.device_ids).count()
                        == SIM_DEVICES * SIM_CHANNELS
                        and Device.objects.filter(device_id__in=devices.device_ids, online=True).count() == SIM_DEVICES,
                        timeout=30.0,
                        what="gbsim devices and catalogs in the database",
                        interval=0.1,
                    )
                    with web_server() as url:
                        yield Platform(url, devices.device_ids, SIM_CHANNELS)
                finally:
                    loop.run(devices_stop(devices))
        finally:
            loop.close()
            call_command("flush", interactive=False, verbosity=0)


@pytest.fixture(scope="module")
def console_url(console_platform: Platform) -> str:
    """Where the console under test answers; a module with a platform of its own overrides it."""
    return console_platform.url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    reason = missing_browser()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(console_url: str, browser: Any) -> Iterator[Any]:  # the platform first, Playwright's loop after
    """A Chinese-speaking operator's browser, logged in, on the dashboard."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    tab.goto(console_url + "/")
    tab.fill("#id_username", USERNAME)
    tab.fill("#id_password", PASSWORD)
    tab.click("button[type=submit].primary")
    tab.wait_for_url(console_url + "/")
    try:
        yield tab
    finally:
        context.close()
