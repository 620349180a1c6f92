"""Live video end to end on loopback: REST play -> gateway INVITE -> gbsim streams PS/RTP -> media
worker -> HLS that ffprobe reads and WebSocket fMP4 that PyAV decodes; reuse, stop, idle stop,
RTP-timeout teardown and the errors a client can act on."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import av
import pytest
import websockets
from django.conf import settings

from devices.models import Channel, Device
from gbsim.stream.clip import Clip
from gbsim.stream.pattern import encode_pattern
from sip_gateway.sdp import make_ssrc
from tests.devices.factories import make_channel, make_device
from tests.streams.stack import LiveStack
from tests.waiting import eventually

pytestmark = pytest.mark.django_db

WIDTH, HEIGHT = 320, 180


@pytest.fixture(scope="module")
def clip() -> Clip:
    return encode_pattern("h264", width=WIDTH, height=HEIGHT, seconds=2.0, gop=12)


@pytest.fixture(scope="module")
def stack(clip: Clip, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    running = LiveStack(tmp_path_factory.mktemp("media"), clip).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(autouse=True)
def direct_urls(settings: Any) -> None:
    """These tests fetch from the media worker itself; test_web_tier_media.py plays the same
    streams through the web tier, whose address the API answers with by default."""
    settings.MEDIA_PUBLIC_URL = "direct"


@pytest.fixture
def live(stack: LiveStack) -> Iterator[LiveStack]:
    """The stack, left with no stream and its media worker announced after each test."""
    stack.beat()
    yield stack
    stack.stop_all_streams()


def provision(config: Any) -> tuple[Device, list[Channel]]:
    device = make_device(device_id=config.device_id)
    return device, [make_channel(device, channel_id=channel) for channel in config.channel_ids]


def play_url(device: Device, channel: Channel) -> str:
    return f"/api/devices/{device.device_id}/channels/{channel.channel_id}/play/"


def http_get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def fmp4_from_websocket(url: str, fragments: int = 30) -> tuple[dict[str, Any], bytes]:
    async def collect() -> tuple[dict[str, Any], bytes]:
        async with websockets.connect(url, max_size=None) as ws:
            info = json.loads(await ws.recv())
            chunks = [await asyncio.wait_for(ws.recv(), 10) for _ in range(fragments)]
        return info, b"".join(c for c in chunks if isinstance(c, bytes))

    return asyncio.run(collect())


def decoded_frames(data: bytes) -> list[tuple[int, int]]:
    with av.open(io.BytesIO(data), format="mp4") as container:
        return [(frame.width, frame.height) for frame in container.decode(video=0)]


def ffprobe_streams(url: str, timeout: float = 20) -> list[dict[str, Any]]:
    """The streams ffprobe reads at `url`; the test is skipped where ffprobe is not installed."""
    if shutil.which("ffprobe") is None:
        pytest.skip("ffprobe is not installed")
    probe = json.loads(
        subprocess.run(
            ["ffprobe", "-v", "error", "-show_streams", "-of", "json", url],
            capture_output=True,
            check=True,
            timeout=timeout,
        ).stdout
    )
    return list(probe["streams"])


@pytest.mark.parametrize("transport", ["udp", "tcp-passive", "tcp-active"])
def test_play_answers_with_the_channels_video_and_urls_a_browser_can_play(
    live: LiveStack, auth_api: Any, transport: str
) -> None:
    device, channels = provision(live.camera_device)
    answer = auth_api.post(play_url(device, channels[0]), {"transport": transport}, format="json")
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (body["codec"], body["width"], body["height"], body["transport"]) == ("h264", WIDTH, HEIGHT, transport)
    assert live.worker_transport(body["stream_id"]) == transport
    assert body["hls"].startswith("http://127.0.0.1:") and body["hls"].endswith("/index.m3u8")
    assert body["ws_fmp4"].startswith("ws://127.0.0.1:")

    info, data = fmp4_from_websocket(body["ws_fmp4"])
    assert (info["codec"], info["width"], info["height"]) == ("h264", WIDTH, HEIGHT)
    frames = decoded_frames(data)
    assert len(frames) >= 20 and set(frames) == {(WIDTH, HEIGHT)}

    if transport == "udp":
        playlist = eventually(
            lambda: (got := http_get(body["hls"]))[0] == 200 and b".ts" in got[1] and got[1],
            what="an HLS playlist with a segment",
        )
        assert playlist.startswith(b"#EXTM3U")
        status, jpeg = http_get(body["snapshot"])
        assert status == 200 and jpeg[:2] == b"\xff\xd8"
        (stream,) = ffprobe_streams(body["hls"])
        assert (stream["codec_name"], stream["width"], stream["height"]) == ("h264", WIDTH, HEIGHT)


def test_a_device_signalling_over_tcp_is_invited_and_sent_bye_over_tcp(live: LiveStack, auth_api: Any) -> None:
    assert live.tcp_camera is not None
    device, channels = provision(live.tcp_camera.configs[0])
    answer = auth_api.post(play_url(device, channels[0]))
    assert answer.status_code == 200, answer.content
    assert answer.json()["codec"] == "h264"
    assert live.tcp_camera.methods["INVITE"] == 1
    assert auth_api.delete(f"/api/streams/{answer.json()['stream_id']}/").status_code == 204
    eventually(lambda: live.tcp_camera.methods["BYE"] == 1, what="the BYE over TCP")


def test_a_second_viewer_gets_the_same_stream_and_delete_ends_it_with_bye(live: LiveStack, auth_api: Any) -> None:
    device, channels = provision(live.camera_device)
    first = auth_api.post(play_url(device, channels[1])).json()
    second = auth_api.post(play_url(device, channels[1])).json()
    assert second["stream_id"] == first["stream_id"]
    assert second["viewers"] == 2

    listed = auth_api.get("/api/streams/").json()
    assert listed["count"] == 1
    (stream,) = listed["results"]
    assert (stream["stream_id"], stream["channel_id"], stream["viewers"]) == (
        first["stream_id"],
        channels[1].channel_id,
        2,
    )
    assert stream["stats"]["packets"] > 0 and stream["stats"]["codec"] == "h264"
    assert stream["hls"].endswith("/index.m3u8")

    byes = live.byes_seen()
    assert auth_api.delete(f"/api/streams/{first['stream_id']}/").status_code == 204
    eventually(lambda: live.byes_seen() == byes + 1, what="gbsim to receive the BYE")
    eventually(lambda: live.ports_in_use() == 0, what="the RTP port to be released")
    assert auth_api.get("/api/streams/").json()["count"] == 0
    assert live.stopped()[first["stream_id"]] == "stopped"
    assert auth_api.delete(f"/api/streams/{first['stream_id']}/").status_code == 404


def test_a_device_answering_with_its_own_ssrc_is_received_with_it(live: LiveStack, auth_api: Any) -> None:
    device, channels = provision(live.foreign_device)
    answer = auth_api.post(play_url(device, channels[0]))
    assert answer.status_code == 200, answer.content
    assert answer.json()["codec"] == "h264"
    assert live.foreign is not None
    (sent,) = live.ssrcs_sent(live.foreign)
    assert live.gateway is not None and live.gateway.player is not None
    (session,) = live.gateway.player.table
    assert session.ssrc == sent
    assert sent != make_ssrc(settings.SIP_DOMAIN, session.sequence, history=False)  # not what was offered
    assert live.media is not None
    assert live.media.worker.streams[session.stream_id].session.ssrc == int(sent)


def test_a_stream_nobody_watches_is_stopped_after_the_idle_time(live: LiveStack, auth_api: Any) -> None:
    device, channels = provision(live.camera_device)
    stream_id = auth_api.post(play_url(device, channels[0])).json()["stream_id"]
    assert live.gateway is not None and live.gateway.player is not None
    player = live.gateway.player
    byes = live.byes_seen()
    player.config = dataclasses.replace(player.config, idle_seconds=1.0)
    try:
        live.run(player.check_idle())  # just played: a play request is viewing activity
        assert stream_id in live.live_streams()
        time.sleep(1.1)
        live.run(player.check_idle())
    finally:
        player.config = dataclasses.replace(player.config, idle_seconds=30.0)
    assert stream_id not in live.live_streams()
    assert live.stopped()[stream_id] == "idle"
    eventually(lambda: live.byes_seen() == byes + 1, what="gbsim to receive the BYE")
    eventually(lambda: live.ports_in_use() == 0, what="the RTP port to be released")


def test_a_watched_stream_is_not_idle(live: LiveStack, auth_api: Any) -> None:
    device, channels = provision(live.camera_device)
    body = auth_api.post(play_url(device, channels[0])).json()
    assert live.gateway is not None and live.gateway.player is not None
    player = live.gateway.player
    time.sleep(0.4)
    assert http_get(body["hls"])[0] in (200, 404)  # an HLS request, answered or not yet
    player.config = dataclasses.replace(player.config, idle_seconds=0.3)  # the play is 0.4 s old
    try:
        live.run(player.check_idle())
    finally:
        player.config = dataclasses.replace(player.config, idle_seconds=30.0)
    assert body["stream_id"] in live.live_streams()


def test_a_stream_whose_rtp_stops_is_torn_down_with_bye_and_an_event(live: LiveStack, auth_api: Any) -> None:
    device, channels = provision(live.camera_device)
    assert live.gateway is not None and live.gateway.player is not None
    player = live.gateway.player
    player.config = dataclasses.replace(player.config, rtp_timeout=0.5)
    try:
        stream_id = auth_api.post(play_url(device, channels[0])).json()["stream_id"]
    finally:
        player.config = dataclasses.replace(player.config, rtp_timeout=None)
    byes = live.byes_seen()
    live.stop_camera_media()
    eventually(lambda: live.stopped().get(stream_id) == "rtp_timeout", what="the stream.stopped event")
    eventually(lambda: live.byes_seen() == byes + 1, what="gbsim to receive the BYE")
    assert stream_id not in live.live_streams()
    assert live.ports_in_use() == 0


def test_a_bye_from_the_device_ends_the_stream(live: LiveStack, auth_api: Any) -> None:
    device, channels = provision(live.camera_device)
    stream_id = auth_api.post(play_url(device, channels[0])).json()["stream_id"]
    assert live.camera_hangs_up() == 1
    eventually(lambda: live.stopped().get(stream_id) == "device_bye", what="the stream.stopped event")
    eventually(lambda: live.ports_in_use() == 0, what="the RTP port to be released")
    assert stream_id not in live.live_streams()
    assert auth_api.get("/api/streams/").json()["count"] == 0


def test_concurrent_plays_of_one_channel_start_one_stream(live: LiveStack) -> None:
    assert live.gateway is not None and live.gateway.player is not None
    player = live.gateway.player
    camera = live.camera_device

    async def two_viewers() -> list[dict[str, Any]]:
        plays = (player.play(camera.device_id, camera.channel_ids[1], "udp") for _ in range(2))
        return list(await asyncio.gather(*plays))

    first, second = live.run(two_viewers())
    assert first["stream_id"] == second["stream_id"]
    assert len(live.live_streams()) == 1
    assert live.run(player.list_streams())["streams"][0]["viewers"] == 2


def test_playing_a_device_that_is_not_registered_is_409(live: LiveStack, auth_api: Any) -> None:
    device = make_device()
    channel = make_channel(device)
    answer = auth_api.post(play_url(device, channel))
    assert answer.status_code == 409
    assert "not registered" in answer.json()["detail"]


def test_an_invite_the_device_refuses_is_502_with_the_sip_status(live: LiveStack, auth_api: Any) -> None:
    device, _ = provision(live.camera_device)
    unknown = make_channel(device, channel_id="34020000001310999999")  # not one gbsim has
    answer = auth_api.post(play_url(device, unknown))
    assert answer.status_code == 502
    assert "SIP 404" in answer.json()["detail"]
    eventually(lambda: live.ports_in_use() == 0, what="the RTP port to be released")


def test_a_channel_that_sends_no_video_is_504_and_the_session_is_ended(
    live: LiveStack, auth_api: Any, settings: Any
) -> None:
    device, channels = provision(live.mute_device)
    assert live.gateway is not None and live.gateway.player is not None
    player = live.gateway.player
    player.config = dataclasses.replace(player.config, keyframe_timeout=0.5)
    byes = live.byes_seen()
    try:
        answer = auth_api.post(play_url(device, channels[0]))
    finally:
        player.config = dataclasses.replace(player.config, keyframe_timeout=10.0)
    assert answer.status_code == 504
    assert "no keyframe" in answer.json()["detail"]
    eventually(lambda: live.byes_seen() == byes + 1, what="gbsim to receive the BYE")
    eventually(lambda: live.ports_in_use() == 0, what="the RTP port to be released")


def test_without_a_media_worker_play_is_503(live: LiveStack, auth_api: Any) -> None:
    device, channels = provision(live.camera_device)
    live.hide_media_worker()
    answer = auth_api.post(play_url(device, channels[0]))
    assert answer.status_code == 503
    assert "no media worker" in answer.json()["detail"]
