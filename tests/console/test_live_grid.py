"""The live view grid in a real browser: a gbsim camera streaming a test pattern through the
SIP gateway and a media worker (tests/streams/stack.py), played over WebSocket fMP4 with Media
Source Extensions; closing a cell releases the stream."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.waiting import eventually

from .browser import missing_browser
from .support import PASSWORD, USERNAME, database_for_tests, off_loop, screenshot

pytestmark = pytest.mark.skipif(bool(missing_browser()), reason=missing_browser() or "")

if not missing_browser():
    from playwright.sync_api import expect

WIDTH, HEIGHT = 320, 180


@pytest.fixture(scope="module")
def live_stack(django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from devices.models import Channel, Device
    from gbsim.stream.pattern import encode_pattern
    from tests.streams.stack import LiveStack

    clip = encode_pattern("h264", width=WIDTH, height=HEIGHT, seconds=2.0, gop=12, audio=True)
    with django_db_blocker.unblock(), database_for_tests():
        get_user_model().objects.create_user(username=USERNAME, password=PASSWORD)
        stack = LiveStack(Path(tmp_path_factory.mktemp("media")), clip, audio=True).start()
        try:
            camera = stack.camera_device
            device = Device.objects.create(device_id=camera.device_id, name="测试摄像机", online=True)
            for number, channel_id in enumerate(camera.channel_ids, 1):
                Channel.objects.create(device=device, channel_id=channel_id, name=f"画面 {number}", status="on")
            yield stack
        finally:
            stack.stop()
            call_command("flush", interactive=False, verbosity=0)


@pytest.fixture(scope="module")
def console_url(live_stack: Any) -> Iterator[str]:
    from .live_platform import web_server

    with web_server() as url:
        yield url


def test_a_channel_plays_in_a_cell_closing_it_or_stopping_it_releases_the_stream(page: Any, console_url: str, live_stack: Any) -> None:
    camera = live_stack.camera_device
    page.click("a[href='/live/']")
    device = page.locator(f"#tree-root li[data-node-id='device:{camera.device_id}']")
    device.locator(".toggle").click()
    first, second = (device.locator(f"li[data-node-id='channel:{camera.device_id}:{c}']") for c in camera.channel_ids)
    first.locator(".label").click()  # plays in the selected (first) cell
    cell = page.locator(".cell").nth(0)
    expect(cell).to_have_class(re.compile(r"\bplaying\b"), timeout=30_000)
    expect(cell).to_have_attribute("data-mode", "fmp4")
    expect(cell.locator(".cell-stats")).to_contain_text(f"h264 · {WIDTH}×{HEIGHT}")
    page.wait_for_function("() => document.querySelector('.cell video').currentTime > 1.0", timeout=20_000)
    # The camera sends G.711, heard as AAC once the operator asks: cells start muted.
    sound = cell.locator(".cell-sound")
    expect(sound).to_be_visible()
    assert cell.locator("video").evaluate("video => video.muted") is True
    sound.click()
    expect(sound).to_have_attribute("aria-pressed", "true")
    assert cell.locator("video").evaluate("video => video.muted") is False
    played = cell.locator("video").evaluate("video => video.currentTime")
    page.wait_for_function(f"() => document.querySelector('.cell video').currentTime > {played + 0.5}", timeout=20_000)
    # The tree shows a snapshot beside the live channel.
    expect(first.locator("img.thumb")).to_be_visible(timeout=15_000)
    assert first.locator("img.thumb").evaluate("img => img.naturalWidth") == WIDTH

    second.drag_to(page.locator(".cell").nth(2))  # dragged from the tree onto another cell
    expect(page.locator(".cell").nth(2)).to_have_class(re.compile(r"\bplaying\b"), timeout=30_000)
    expect(cell.locator(".cell-stats")).to_contain_text("kbit/s", timeout=10_000)  # from /api/streams/
    page.wait_for_function("() => document.querySelectorAll('.cell video')[2].currentTime > 0.5", timeout=20_000)
    screenshot(page, "live")

    assert len(off_loop(live_stack.live_streams)) == 2
    cell.locator(".cell-close").click()
    expect(cell).not_to_have_class(re.compile(r"\bplaying\b"))
    eventually(lambda: len(off_loop(live_stack.live_streams)) == 1, 10, "the closed cell's stream stopped", interval=0.1)

    # The streams page, opened beside the live view (leaving the live view releases its streams),
    # lists the one left and stops it.
    streams_page = page.context.new_page()
    streams_page.goto(page.url.split("/live/")[0] + "/streams/")
    row = streams_page.locator("#streams-table tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(camera.channel_ids[1])
    expect(row).to_contain_text("kbit/s")
    row.locator("[data-stop]").click()
    expect(row).to_have_count(0)
    expect(streams_page.locator("#streams-empty")).to_be_visible()
    eventually(lambda: off_loop(live_stack.live_streams) == [], 10, "the stream stopped from the streams page", interval=0.1)


def test_the_layout_switches_between_1_4_9_and_16_cells(page: Any, console_url: str) -> None:
    page.goto(console_url + "/live/")
    for count in (1, 9, 16, 4):
        page.click(f"[data-layout='{count}']")
        expect(page.locator(".cell")).to_have_count(count)
