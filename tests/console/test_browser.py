"""The console in a real browser (Debian's Chromium through Playwright) against the whole
platform on loopback: gbsim devices registered with the gateway, a real Celery worker."""

from __future__ import annotations

import time
from typing import Any

import pytest

from .browser import missing_browser
from .support import BIG_CHANNELS, BIG_DEVICE, Platform, event_publish, off_loop, screenshot

pytestmark = pytest.mark.skipif(bool(missing_browser()), reason=missing_browser() or "")

if not missing_browser():
    from playwright.sync_api import expect


# First, and marked: pytest-django creates the test database only when some collected test asks
# for it, and the browser tests below reach it through the module's platform instead.
@pytest.mark.django_db
def test_console_pages_send_anonymous_visitors_to_the_login(client: Any) -> None:
    for path in ("/", "/tree/", f"/devices/{BIG_DEVICE}/"):
        answer = client.get(path)
        assert answer.status_code == 302
        assert answer["Location"].startswith("/login/?next=")


def test_login_shows_chinese_and_the_language_switch_turns_it_english(page: Any, console_platform: Platform) -> None:
    expect(page.locator("h1")).to_have_text("概览")
    expect(page.locator(".mainnav")).to_contain_text("设备树")
    page.click("[data-testid=language-en]")
    expect(page.locator("h1")).to_have_text("Dashboard")
    expect(page.locator(".mainnav")).to_contain_text("Device tree")
    page.click("[data-testid=language-zh-hans]")
    expect(page.locator("h1")).to_have_text("概览")


def test_logout_returns_to_the_login_page(page: Any, console_platform: Platform) -> None:
    page.click("[data-testid=logout]")
    page.wait_for_url("**/login/")
    page.goto(console_platform.url + "/tree/")
    expect(page).to_have_url(f"{console_platform.url}/login/?next=/tree/")


def test_dashboard_counts_devices_and_shows_events_live(page: Any, console_platform: Platform) -> None:
    from console.features import features_available

    devices = len(console_platform.device_ids) + 1
    expect(page.locator("[data-stat=devices-total]")).to_have_text(str(devices))
    expect(page.locator("[data-stat=devices-online]")).to_have_text(str(devices))
    channels = BIG_CHANNELS + len(console_platform.device_ids) * console_platform.channels_per_device
    expect(page.locator("[data-stat=channels-total]")).to_have_text(str(channels))
    expect(page.locator("[data-health=database]")).to_have_text("正常")
    expect(page.locator("#events-state")).to_have_text("实时事件已连接")
    event_publish("device.updated", device_id=BIG_DEVICE, fields=["name"])
    expect(page.locator("#events tr[data-type='device.updated']")).to_contain_text(BIG_DEVICE)
    # The streams card shows only where /api/streams/ exists.
    expect(page.locator("#streams-card")).to_have_count(1 if features_available().streams else 0)


def test_a_gbsim_device_is_found_by_search_and_its_channels_open(page: Any, console_platform: Platform) -> None:
    device_id = console_platform.device_ids[1]
    page.click("a[href='/tree/']")
    # The tree module listens for typing once it has run: its first level shows that it has.
    page.wait_for_function("() => document.querySelector('#tree-root li') !== null")
    page.fill("#tree-search", device_id[-6:])
    result = page.locator(f"#tree-results li[data-node-id='device:{device_id}']")
    expect(result).to_be_visible()
    expect(page.locator("#tree-results li.device")).to_have_count(1)
    result.locator(".toggle").click()
    expect(result.locator("li.channel")).to_have_count(console_platform.channels_per_device)
    # Channel names come from gbsim's catalog and are searchable too.
    page.fill("#tree-search", "")
    expect(page.locator("#tree-root")).to_be_visible()


def test_the_tree_follows_online_state_from_events(page: Any, console_platform: Platform) -> None:
    device_id = console_platform.device_ids[0]
    page.goto(console_platform.url + "/tree/")
    row = page.locator(f"#tree-root li[data-node-id='device:{device_id}']")
    expect(row).to_have_attribute("data-state", "on")
    page.wait_for_function("() => document.querySelector('#tree-root li.device') !== null")
    time.sleep(0.3)  # let the page's WebSocket join the events group
    event_publish("device.offline", device_id=device_id, reason="keepalive timeout")
    expect(row).to_have_attribute("data-state", "off")
    event_publish("device.online", device_id=device_id)
    expect(row).to_have_attribute("data-state", "on")


def test_ten_thousand_channels_load_a_page_at_a_time(page: Any, console_platform: Platform) -> None:
    page.goto(console_platform.url + "/tree/")
    big = page.locator(f"#tree-root li[data-node-id='device:{BIG_DEVICE}']")
    started = time.monotonic()
    big.locator(".toggle").click()
    channels = big.locator("li.channel")
    expect(channels).to_have_count(200)
    assert time.monotonic() - started < 3
    channels.nth(199).scroll_into_view_if_needed()  # the "load more" row comes into view
    expect(channels).to_have_count(400)
    expect(channels.first).to_have_attribute("data-state", "on")
    gbsim_device = page.locator(f"#tree-root li[data-node-id='device:{console_platform.device_ids[0]}']")
    big.locator(".toggle").first.click()  # fold the big one for the picture
    gbsim_device.locator(".toggle").first.click()
    expect(gbsim_device.locator("li.channel")).to_have_count(console_platform.channels_per_device)
    screenshot(page, "tree")


def test_refreshing_the_catalog_fills_the_progress_bar(page: Any, console_platform: Platform) -> None:
    device_id = console_platform.device_ids[0]
    page.goto(f"{console_platform.url}/devices/{device_id}/")
    expect(page.locator("#channels-table tbody tr")).to_have_count(console_platform.channels_per_device)
    time.sleep(0.3)  # the events WebSocket joins its group
    page.click("#catalog-refresh")
    bar = page.locator("#catalog-progress")
    expect(bar).to_have_attribute("data-state", "done", timeout=30_000)
    maximum = bar.evaluate("bar => [bar.value, bar.max]")
    assert maximum == [console_platform.channels_per_device] * 2
    expect(page.locator("#catalog-message")).to_have_text(f"目录已更新：{console_platform.channels_per_device} 个通道")
    screenshot(page, "device")


def test_renaming_a_device_saves_it_through_the_api(page: Any, console_platform: Platform, django_db_blocker: Any) -> None:
    from devices.models import Device

    device_id = console_platform.device_ids[1]
    page.goto(f"{console_platform.url}/devices/{device_id}/")
    page.fill("#edit-name", "东门 NVR")
    page.fill("#edit-password", "device-secret-9")
    page.click("#device-save")
    expect(page.locator("#edit-message")).to_have_text("已保存。")
    expect(page.locator("#device-name")).to_have_text("东门 NVR")
    with django_db_blocker.unblock():
        device = off_loop(Device.objects.get, device_id=device_id)
    assert (device.name, device.password) == ("东门 NVR", "device-secret-9")


def test_deleting_a_device_asks_first(page: Any, console_platform: Platform, django_db_blocker: Any) -> None:
    from devices.models import Device

    with django_db_blocker.unblock():
        off_loop(Device.objects.create, device_id="34020000001180009999", name="待删除")
    page.goto(f"{console_platform.url}/devices/34020000001180009999/")
    dialogs: list[str] = []

    def answer(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss() if len(dialogs) == 1 else dialog.accept()

    page.on("dialog", answer)
    page.click("#device-delete")  # dismissed: nothing happens
    page.click("#device-delete")
    page.wait_for_url("**/tree/")
    assert "34020000001180009999" in dialogs[0]
    with django_db_blocker.unblock():
        assert not off_loop(Device.objects.filter(device_id="34020000001180009999").exists)
