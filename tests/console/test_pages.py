"""The console's pages through Django's test client: login, language, what each page offers."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from console.features import Features

pytestmark = pytest.mark.django_db

DEVICE_ID = "34020000001320000077"


@pytest.fixture
def operator(client: Client, user: Any) -> Client:
    client.force_login(user)
    return client


def page_strings(html: str) -> dict[str, Any]:
    match = re.search(r'<script id="console-strings" type="application/json">(.*?)</script>', html, re.S)
    assert match, "the page carries its translated strings"
    return dict(json.loads(match.group(1)))


def test_the_login_page_is_chinese_by_default(client: Client) -> None:
    html = client.get("/login/").content.decode()
    assert '<html lang="zh-hans">' in html
    assert "运维控制台" in html and "用户名" in html


def test_the_login_page_follows_an_english_browser(client: Client) -> None:
    html = client.get("/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Operator console" in html and "Username" in html


def test_logging_in_lands_on_the_dashboard(client: Client, user: Any) -> None:
    answer = client.post("/login/", {"username": "operator", "password": "operator-password-1"})
    assert answer.status_code == 302 and answer["Location"] == "/"
    assert client.get("/").status_code == 200


def test_a_wrong_password_is_refused_in_the_operators_language(client: Client, user: Any) -> None:
    html = client.post("/login/", {"username": "operator", "password": "nope"}).content.decode()
    assert "用户名或密码错误" in html


def test_logout_ends_the_session(operator: Client) -> None:
    assert operator.post("/logout/").status_code == 302
    assert operator.get("/").status_code == 302


def test_the_language_switch_turns_the_console_english(operator: Client) -> None:
    answer = operator.post("/i18n/setlang/", {"language": "en", "next": "/tree/"})
    assert answer.status_code == 302 and answer["Location"] == "/tree/"
    html = operator.get("/tree/").content.decode()
    assert "Device tree" in html and "设备树" not in html
    assert page_strings(html)["online"] == "Online"


def test_javascript_strings_are_translated_on_the_server(operator: Client) -> None:
    strings = page_strings(operator.get("/").content.decode())
    assert strings["online"] == "在线"
    assert strings["events"]["catalog.progress"] == "目录接收中"  # type: ignore[index]
    assert strings["catalogProgress"] == "已收到 {received} / {total} 条目录"


def test_the_device_page_shows_the_device(operator: Client) -> None:
    from devices.models import Channel, Device

    device = Device.objects.create(device_id=DEVICE_ID, name="北门", manufacturer="Dahua", online=True)
    Channel.objects.create(device=device, channel_id="34020000001310000001", name="一号")
    html = operator.get(f"/devices/{DEVICE_ID}/").content.decode()
    assert "北门" in html and "Dahua" in html and 'data-device-id="34020000001320000077"' in html
    assert 'id="channel-count">1<' in html


def test_an_unknown_device_page_is_not_found(operator: Client) -> None:
    assert operator.get("/devices/34020000001320000099/").status_code == 404


def no_live_video() -> Features:
    return Features(live_view=False, streams=False, hls_js=False)


def test_without_the_play_api_there_is_no_live_view(operator: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("console.views.features_available", no_live_video)
    html = operator.get("/").content.decode()
    assert 'href="/live/"' not in html and 'id="streams-card"' not in html
    assert operator.get("/live/").status_code == 404
    assert operator.get("/streams/").status_code == 404


def test_with_the_play_api_the_live_view_is_offered(operator: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("console.views.features_available", lambda: Features(live_view=True, streams=True, hls_js=True))
    html = operator.get("/").content.decode()
    assert 'href="/live/"' in html and 'id="streams-card"' in html
    live = operator.get("/live/").content.decode()
    assert 'id="grid"' in live and 'src="/vendor/hls.min.js"' in live
    assert 'id="streams-table"' in operator.get("/streams/").content.decode()


def test_hls_js_is_served_by_the_platform_once_installed(client: Client, settings: Any, tmp_path: Path) -> None:
    settings.VAR_DIR = tmp_path
    assert client.get("/vendor/hls.min.js").status_code == 404
    script = tmp_path / "npm" / "node_modules" / "hls.js" / "dist" / "hls.min.js"
    script.parent.mkdir(parents=True)
    script.write_text("var Hls = {};")
    answer = client.get("/vendor/hls.min.js")
    assert answer.status_code == 200 and answer["Content-Type"] == "text/javascript"
    assert answer.content == b"var Hls = {};"
