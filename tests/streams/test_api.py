"""The stream endpoints without a running stack: authentication, unknown channels, no gateway."""

from __future__ import annotations

from typing import Any

import pytest

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
