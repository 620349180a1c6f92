"""Stream URLs through the web tier, end to end over loopback sockets: the media worker on its own
address (127.0.0.2, standing for another host the browser cannot reach), the platform's ASGI app
under uvicorn on 127.0.0.1, a gbsim camera streaming a test pattern through the SIP gateway.

The client asks the web tier to play a channel over HTTP, as a browser or another system would;
every URL in the answer points at the web tier, which checks the token and passes the request on
to the worker: HLS that ffprobe reads, WebSocket fMP4 that PyAV decodes, a JPEG snapshot."""

from __future__ import annotations

import asyncio
import io
import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import pytest
import websockets
from django.conf import settings
from websockets.exceptions import InvalidStatus

from gbplatform.redis_client import get_redis, key
from gbsim.stream.clip import Clip
from gbsim.stream.pattern import encode_pattern
from media.live import OutputConfig
from media.service import MediaWorkerService
from media.tokens import stream_urls, token_sign
from media.worker import WorkerConfig
from tests.console.live_platform import web_server
from tests.console.support import database_for_tests
from tests.streams.stack import LiveStack
from tests.streams.test_live_video import decoded_frames, ffprobe_streams, fmp4_from_websocket
from tests.waiting import eventually

WIDTH, HEIGHT = 320, 180
WORKER_HOST = "127.0.0.2"


@dataclass
class WebTier:
    url: str  # http://127.0.0.1:<port>
    stack: LiveStack
    api_token: str
    play_path: str

    def play(self) -> dict[str, Any]:
        status, _, body = fetch(self.url + self.play_path, method="POST", api_token=self.api_token)
        assert status == 200, body
        return dict(json.loads(body))


@pytest.fixture(scope="module")
def clip() -> Clip:
    return encode_pattern("h264", width=WIDTH, height=HEIGHT, seconds=2.0, gop=12)


@pytest.fixture(scope="module")
def web_tier(
    clip: Clip, django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WebTier]:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    from tests.devices.factories import make_channel, make_device

    with django_db_blocker.unblock(), database_for_tests():
        user = get_user_model().objects.create_user(username="viewer", password="viewer-password-1")
        api_token = Token.objects.create(user=user).key
        stack = LiveStack(tmp_path_factory.mktemp("media"), clip, media_host=WORKER_HOST).start()
        try:
            camera = stack.camera_device
            device = make_device(device_id=camera.device_id)
            channel = make_channel(device, channel_id=camera.channel_ids[0])
            play_path = f"/api/devices/{device.device_id}/channels/{channel.channel_id}/play/"
            with web_server() as url:
                yield WebTier(url, stack, api_token, play_path)
        finally:
            stack.stop()
            call_command("flush", interactive=False, verbosity=0)


@pytest.fixture(scope="module")
def stream(web_tier: WebTier) -> dict[str, Any]:
    """One live stream, played through the web tier's REST API."""
    web_tier.stack.beat()
    return web_tier.play()


def fetch(
    url: str, *, method: str = "GET", api_token: str | None = None
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, method=method)
    if api_token:
        request.add_header("Authorization", f"Token {api_token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def websocket_refusal(url: str) -> int:
    """The HTTP status a WebSocket handshake to `url` is refused with."""

    async def attempt() -> int:
        try:
            async with websockets.connect(url, open_timeout=10):
                return 101
        except InvalidStatus as exc:
            return exc.response.status_code

    return asyncio.run(attempt())


def signed_urls(base: str, stream_id: str, *, expires_in: int = 60) -> dict[str, str]:
    token = token_sign(secret=settings.SECRET_KEY, stream_id=stream_id, expires=int(time.time()) + expires_in)
    return stream_urls(http_base=base, stream_id=stream_id, token=token)


def registry_entry(stream_id: str) -> dict[str, Any]:
    raw = get_redis().hget(key("stream", "live"), stream_id)
    assert raw is not None
    return dict(json.loads(str(raw)))


def test_play_through_the_web_tier_answers_with_urls_at_the_address_the_client_used(
    web_tier: WebTier, stream: dict[str, Any]
) -> None:
    prefix = f"{web_tier.url}/media/{stream['stream_id']}/"
    assert stream["hls"].startswith(prefix) and stream["hls"].endswith("/index.m3u8")
    assert stream["snapshot"].startswith(prefix) and stream["snapshot"].endswith("/snapshot.jpg")
    assert stream["ws_fmp4"] == stream["hls"].replace("http://", "ws://").replace("/index.m3u8", "/live.mp4")
    assert registry_entry(stream["stream_id"])["http"].startswith(f"http://{WORKER_HOST}:")  # not handed out

    status, _, body = fetch(web_tier.url + "/api/streams/", api_token=web_tier.api_token)
    assert status == 200
    (listed,) = json.loads(body)["results"]
    assert listed["hls"].startswith(f"{web_tier.url}/media/{stream['stream_id']}/")


def test_ffprobe_reads_the_hls_stream_through_the_web_tier(stream: dict[str, Any]) -> None:
    status, headers, playlist = eventually(
        lambda: (got := fetch(stream["hls"]))[0] == 200 and b".ts" in got[2] and got,
        what="an HLS playlist with a segment, through the web tier",
    )
    assert playlist.startswith(b"#EXTM3U")
    assert (headers["content-type"], headers["cache-control"]) == ("application/vnd.apple.mpegurl", "no-cache")
    segment = next(line for line in playlist.decode().splitlines() if line.endswith(".ts"))
    status, headers, data = fetch(stream["hls"].rsplit("/", 1)[0] + "/" + segment)
    assert status == 200 and data[0] == 0x47  # an MPEG-TS sync byte
    assert (headers["content-type"], headers["cache-control"]) == ("video/mp2t", "max-age=60")
    assert int(headers["content-length"]) == len(data)

    (video,) = ffprobe_streams(stream["hls"], timeout=30)
    assert (video["codec_name"], video["width"], video["height"]) == ("h264", WIDTH, HEIGHT)


def test_pyav_decodes_the_websocket_fmp4_feed_relayed_by_the_web_tier(stream: dict[str, Any]) -> None:
    info, data = fmp4_from_websocket(stream["ws_fmp4"])
    assert (info["codec"], info["width"], info["height"]) == ("h264", WIDTH, HEIGHT)
    assert info["mime"].startswith("video/mp4")
    frames = decoded_frames(data)
    assert len(frames) >= 20 and set(frames) == {(WIDTH, HEIGHT)}


def test_the_snapshot_loads_through_the_web_tier(stream: dict[str, Any]) -> None:
    status, headers, jpeg = fetch(stream["snapshot"])
    assert status == 200 and headers["content-type"] == "image/jpeg"
    with av.open(io.BytesIO(jpeg), format="image2pipe") as picture:
        frame = next(picture.decode(video=0))
    assert (frame.width, frame.height) == (WIDTH, HEIGHT)


def test_head_answers_the_length_without_a_body(stream: dict[str, Any]) -> None:
    eventually(lambda: fetch(stream["hls"])[0] == 200, what="the HLS playlist")
    status, headers, body = fetch(stream["hls"], method="HEAD")
    assert status == 200 and body == b"" and int(headers["content-length"]) > 0


def test_only_get_and_head_are_passed_on(stream: dict[str, Any]) -> None:
    status, headers, _ = fetch(stream["hls"], method="POST")
    assert status == 405 and headers["allow"] == "GET, HEAD"


@pytest.mark.parametrize("tampering", ["forged", "expired", "another-streams", "missing"])
def test_a_bad_or_expired_token_is_refused_at_the_web_tier(
    web_tier: WebTier, stream: dict[str, Any], tampering: str
) -> None:
    stream_id = stream["stream_id"]
    if tampering == "forged":
        expiry = int(time.time()) + 60
        urls = stream_urls(http_base=web_tier.url, stream_id=stream_id, token=f"{expiry}.{'0' * 32}")
    elif tampering == "expired":
        urls = signed_urls(web_tier.url, stream_id, expires_in=-1)
    elif tampering == "another-streams":
        other = signed_urls(web_tier.url, "another-stream")
        urls = {name: url.replace("/another-stream/", f"/{stream_id}/") for name, url in other.items()}
    else:
        ws_base = web_tier.url.replace("http://", "ws://")
        urls = {
            "hls": f"{web_tier.url}/media/{stream_id}/index.m3u8",
            "snapshot": f"{web_tier.url}/media/{stream_id}/snapshot.jpg",
            "ws_fmp4": f"{ws_base}/media/{stream_id}/live.mp4",
        }
    expected = 404 if tampering == "missing" else 403  # without a token the path is no stream URL
    assert fetch(urls["hls"])[0] == expected
    assert fetch(urls["snapshot"])[0] == expected
    assert websocket_refusal(urls["ws_fmp4"]) == expected


def test_an_unknown_stream_is_404_even_with_a_valid_token(web_tier: WebTier) -> None:
    urls = signed_urls(web_tier.url, "no-such-stream")
    assert fetch(urls["hls"])[0] == 404
    assert websocket_refusal(urls["ws_fmp4"]) == 404
    assert fetch(web_tier.url + "/media/index.m3u8")[0] == 404


@pytest.fixture
def stopped_worker_stream(web_tier: WebTier, tmp_path: Path) -> Iterator[str]:
    """A stream the registry still places on a media worker that has since stopped."""
    config = WorkerConfig(output_dir=tmp_path, bind_host=WORKER_HOST, advertised_host=WORKER_HOST, outputs=OutputConfig())
    worker = MediaWorkerService(
        f"gone-{uuid.uuid4().hex[:6]}", ports=(47440, 47441), config=config, http_bind=f"{WORKER_HOST}:0"
    )
    worker.bus_wait = 0.1

    async def start_and_stop() -> str:
        await worker.start()
        address = worker.http_address
        await worker.stop()
        await worker.redis.aclose()
        return address

    address = web_tier.stack.run(start_and_stop())
    stream_id = f"gone-{uuid.uuid4().hex[:6]}"
    entry = {"stream_id": stream_id, "worker": f"media:{worker.instance}", "http": f"http://{address}"}
    get_redis().hset(key("stream", "live"), stream_id, json.dumps(entry))
    try:
        yield stream_id
    finally:
        get_redis().hdel(key("stream", "live"), stream_id)


def test_a_stream_whose_media_worker_stopped_is_502_and_a_bad_token_still_403(
    web_tier: WebTier, stopped_worker_stream: str
) -> None:
    urls = signed_urls(web_tier.url, stopped_worker_stream)
    assert fetch(urls["hls"])[0] == 502
    assert fetch(urls["snapshot"])[0] == 502
    assert websocket_refusal(urls["ws_fmp4"]) == 502
    expired = signed_urls(web_tier.url, stopped_worker_stream, expires_in=-1)
    assert fetch(expired["hls"])[0] == 403  # refused before any worker is tried
