"""Live video with sound end to end on loopback: REST play with `audio` -> gateway -> media worker
open -> a gbsim camera sending H.264 and G.711 in PS -> HLS and WebSocket fMP4 with an AAC track."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import av
import pytest

from gbsim.stream.pattern import encode_pattern
from tests.streams.stack import LiveStack
from tests.streams.test_live_video import ffprobe_streams, fmp4_from_websocket, http_get, play_url, provision
from tests.waiting import eventually

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    clip = encode_pattern("h264", width=320, height=180, seconds=2.0, gop=12, audio=True)
    running = LiveStack(tmp_path_factory.mktemp("media"), clip).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def live(stack: LiveStack) -> Iterator[LiveStack]:
    stack.beat()
    yield stack
    stack.stop_all_streams()


@pytest.fixture(autouse=True)
def direct_urls(settings: Any) -> None:
    """These tests fetch from the media worker itself (test_web_tier_media.py covers the proxy)."""
    settings.MEDIA_PUBLIC_URL = "direct"


def test_a_play_asking_for_audio_gets_the_cameras_g711_as_aac_in_fmp4_and_hls(live: LiveStack, auth_api: Any) -> None:
    device, channels = provision(live.camera_device)
    answer = auth_api.post(play_url(device, channels[0]), {"audio": True}, format="json")
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (body["codec"], body["audio"]) == ("h264", True)

    info, data = fmp4_from_websocket(body["ws_fmp4"], fragments=80)  # a fragment per video frame and per AAC frame
    assert info["audio"] is True
    assert info["mime"].startswith('video/mp4; codecs="avc1.') and info["mime"].endswith(',mp4a.40.2"')
    with av.open(io.BytesIO(data), format="mp4") as container:
        assert [s.type for s in container.streams] == ["video", "audio"]
        frames = list(container.decode())
    assert sum(isinstance(f, av.VideoFrame) for f in frames) >= 40
    assert sum(f.samples for f in frames if isinstance(f, av.AudioFrame)) / 16000 > 1.0

    eventually(
        lambda: (got := http_get(body["hls"]))[0] == 200 and got[1].count(b".ts") >= 2,
        what="an HLS playlist with two segments",
    )
    streams = ffprobe_streams(body["hls"])
    assert [(s["codec_name"], s.get("sample_rate")) for s in streams] == [("h264", None), ("aac", "16000")]


def test_without_audio_asked_the_workers_setting_decides_and_it_is_off_by_default(
    live: LiveStack, auth_api: Any
) -> None:
    device, channels = provision(live.camera_device)
    body = auth_api.post(play_url(device, channels[1])).json()
    assert body["audio"] is False
    info, _ = fmp4_from_websocket(body["ws_fmp4"], fragments=5)
    assert "mp4a" not in info["mime"] and info["audio"] is False
    joined = auth_api.post(play_url(device, channels[1]), {"audio": True}, format="json").json()
    assert (joined["stream_id"], joined["audio"]) == (body["stream_id"], False)  # joins it as it is
