"""The stream endpoints without a running stack: authentication, unknown channels, no gateway, and
where the stream URLs they answer with point (MEDIA_PUBLIC_URL)."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlsplit

import pytest

from media.tokens import stream_path_parse, token_verify
from tests.devices.factories import make_channel, make_device
from tests.streams.test_live_video import play_url

pytestmark = pytest.mark.django_db


def test_stream_endpoints_need_authentication(api: Any) -> None:
    device = make_device()
    channel = make_channel(device)
    assert api.post(play_url(device, channel)).status_code == 401
    assert api.get("/api/streams/").status_code == 401
    assert api.delete("/api/streams/abc/").status_code == 401


def test_play_of_an_unknown_channel_is_404(auth_api: Any) -> None:
    device = make_device()
    assert auth_api.post(f"/api/devices/{device.device_id}/channels/34020000001310000042/play/").status_code == 404


def test_without_a_gateway_the_stream_list_is_the_last_known_one(auth_api: Any, settings: Any) -> None:
    settings.GATEWAY_COMMAND_TIMEOUT = 0.2
    answer = auth_api.get("/api/streams/")
    assert answer.status_code == 200 and answer.json()["count"] == 0


@pytest.fixture
def live_stream_entry() -> Any:
    """A stream the gateway has recorded in Redis; with no gateway answering, the API lists it."""
    from gbplatform.redis_client import get_redis, key

    stream_id = "34020000001310000001-ab12cd34"
    entry: dict[str, Any] = {
        "stream_id": stream_id,
        "device_id": "34020000001180000001",
        "channel_id": "34020000001310000001",
        "transport": "udp",
        "ssrc": "0200000001",
        "worker": "media:host-2",
        "http": "http://10.0.0.5:8081",
        "codec": "h264",
        "width": 320,
        "height": 180,
        "viewers": 1,
        "ws_viewers": 0,
        "started_at": 1.0,
    }
    get_redis().hset(key("stream", "live"), stream_id, json.dumps(entry))
    yield entry
    get_redis().hdel(key("stream", "live"), stream_id)


def listed_urls(auth_api: Any, settings: Any, **headers: Any) -> dict[str, str]:
    settings.GATEWAY_COMMAND_TIMEOUT = 0.2
    (stream,) = auth_api.get("/api/streams/", **headers).json()["results"]
    return {name: stream[name] for name in ("hls", "ws_fmp4", "snapshot")}


def test_stream_urls_point_at_the_web_tier_at_the_address_the_client_used(
    auth_api: Any, settings: Any, live_stream_entry: dict[str, Any]
) -> None:
    settings.ALLOWED_HOSTS = ["video.example"]
    urls = listed_urls(auth_api, settings, HTTP_HOST="video.example:8000")
    prefix = f"/media/{live_stream_entry['stream_id']}/"
    assert urls["hls"].startswith("http://video.example:8000" + prefix) and urls["hls"].endswith("/index.m3u8")
    assert urls["snapshot"].startswith("http://video.example:8000" + prefix)
    assert urls["ws_fmp4"].startswith("ws://video.example:8000" + prefix)


def test_behind_https_the_urls_are_https_and_wss(auth_api: Any, settings: Any, live_stream_entry: dict[str, Any]) -> None:
    settings.ALLOWED_HOSTS = ["video.example"]
    urls = listed_urls(auth_api, settings, HTTP_HOST="video.example", secure=True)
    assert urls["hls"].startswith("https://video.example/media/")
    assert urls["ws_fmp4"].startswith("wss://video.example/media/")


def test_a_public_base_url_replaces_the_request_address(
    auth_api: Any, settings: Any, live_stream_entry: dict[str, Any]
) -> None:
    settings.MEDIA_PUBLIC_URL = "https://cdn.example/gb"
    urls = listed_urls(auth_api, settings)
    assert urls["hls"].startswith("https://cdn.example/gb/media/")
    assert urls["ws_fmp4"].startswith("wss://cdn.example/gb/media/")


def test_direct_urls_send_the_client_to_the_media_worker(
    auth_api: Any, settings: Any, live_stream_entry: dict[str, Any]
) -> None:
    settings.MEDIA_PUBLIC_URL = "direct"
    urls = listed_urls(auth_api, settings)
    assert urls["hls"].startswith("http://10.0.0.5:8081/media/")
    assert urls["ws_fmp4"].startswith("ws://10.0.0.5:8081/media/")


def test_each_url_carries_a_token_the_web_tier_accepts(
    auth_api: Any, settings: Any, live_stream_entry: dict[str, Any]
) -> None:
    path = urlsplit(listed_urls(auth_api, settings)["hls"]).path
    parsed = stream_path_parse(path)
    assert parsed is not None and parsed.stream_id == live_stream_entry["stream_id"]
    assert token_verify(parsed.token, secret=settings.SECRET_KEY, stream_id=parsed.stream_id, now=time.time())
