"""The web tier's media proxy as an ASGI app, against scripted workers on loopback: what is refused
before any worker hears of it, what passes through and what does not, streaming without
buffering, and each way a worker can fail. The real worker through uvicorn is played in
tests/streams/test_web_tier_media.py."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import pytest
import websockets
from websockets.asyncio.server import ServerConnection

from gbplatform.media_proxy import (
    MediaProxy,
    StreamRegistry,
    local_path,
    media_routed,
    request_headers,
    response_headers,
    worker_address,
)
from gbplatform.redis_client import get_async_redis, key
from media.tokens import token_sign
from tests.gbplatform.fake_upstream import fake_upstream

SECRET = "proxy-test-secret"
NOW = 1_800_000_000.0
STREAM = "cam-1"
TOKEN = token_sign(secret=SECRET, stream_id=STREAM, expires=int(NOW) + 60)
HLS = f"/media/{STREAM}/{TOKEN}/index.m3u8"
HEAD_200 = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/vnd.apple.mpegurl\r\ncontent-length: 6\r\n"
    b"cache-control: no-cache\r\naccess-control-allow-origin: *\r\ndate: Thu, 01 Jan 2026 00:00:00 GMT\r\n"
    b"server: uvicorn\r\nconnection: close, x-hop\r\nx-hop: 1\r\nkeep-alive: timeout=5\r\n\r\n"
)


class Locator:
    """Stands in for the stream registry, and counts how often it was asked."""

    def __init__(self, base: str | None = None, error: Exception | None = None) -> None:
        self.base, self.error, self.asked = base, error, 0

    async def __call__(self, stream_id: str) -> str | None:
        self.asked += 1
        if self.error is not None:
            raise self.error
        return self.base if stream_id == STREAM else None


def proxy(locate: Callable[[str], Awaitable[str | None]], read_timeout: float = 5.0) -> MediaProxy:
    return MediaProxy(locate=locate, secret=SECRET, clock=lambda: NOW, read_timeout=read_timeout)


class Browser:
    """The ASGI side of one request: what the server received and what the app sent back."""

    def __init__(self, first: dict[str, Any]) -> None:
        self.first: dict[str, Any] | None = first
        self.sent: list[dict[str, Any]] = []
        self.leaves = asyncio.Event()
        self.got_body = asyncio.Event()
        self.left = asyncio.Event()  # the app has been told
        self.gone_type = "http.disconnect" if first["type"] == "http.request" else "websocket.disconnect"

    async def receive(self) -> dict[str, Any]:
        if self.first is not None:
            first, self.first = self.first, None
            return first
        await self.leaves.wait()
        self.left.set()
        return {"type": self.gone_type}

    async def send(self, message: MutableMapping[str, Any]) -> None:
        self.sent.append(dict(message))
        if message["type"] == "http.response.body" and message.get("body"):
            self.got_body.set()

    @property
    def status(self) -> int:
        return int(next(m["status"] for m in self.sent if m["type"].endswith("response.start")))

    @property
    def headers(self) -> dict[bytes, bytes]:
        return dict(next(m["headers"] for m in self.sent if m["type"].endswith("response.start")))

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent if m["type"].endswith("response.body"))

    @property
    def complete(self) -> bool:
        return any(m["type"] == "http.response.body" and not m.get("more_body") for m in self.sent)


def http_scope(path: str, method: str = "GET", headers: list[tuple[bytes, bytes]] | None = None) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "root_path": "", "query_string": b"", "headers": headers or []}


def ws_scope(path: str, *, http_response: bool = True) -> dict[str, Any]:
    extensions: dict[str, Any] = {"websocket.http.response": {}} if http_response else {}
    return {"type": "websocket", "path": path, "root_path": "", "query_string": b"", "headers": [], "extensions": extensions}


async def http_get(app: MediaProxy, path: str = HLS, **scope: Any) -> Browser:
    browser = Browser({"type": "http.request", "body": b"", "more_body": False})
    await app(http_scope(path, **scope), browser.receive, browser.send)
    return browser


# --- refused at the web tier ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/media/cam-1/index.m3u8", 404),  # no token in the path
        (f"/media/cam-1/{int(NOW) + 60}.{'0' * 32}/index.m3u8", 403),  # forged
        (f"/media/cam-1/{token_sign(secret=SECRET, stream_id=STREAM, expires=int(NOW) - 1)}/index.m3u8", 403),
        (f"/media/cam-1/{token_sign(secret=SECRET, stream_id='cam-2', expires=int(NOW) + 60)}/index.m3u8", 403),
        (f"/media/cam-1/{token_sign(secret='other', stream_id=STREAM, expires=int(NOW) + 60)}/index.m3u8", 403),
    ],
    ids=["no-token", "forged", "expired", "another-streams-token", "another-secret"],
)
async def test_a_request_without_a_valid_token_never_reaches_the_registry_or_a_worker(path: str, status: int) -> None:
    locate = Locator("http://127.0.0.1:9")
    browser = await http_get(proxy(locate), path)
    assert browser.status == status and locate.asked == 0


async def test_an_unknown_stream_is_404() -> None:
    browser = await http_get(proxy(Locator(None)))
    assert (browser.status, browser.body) == (404, b"no such live stream\n")


async def test_without_the_registry_the_answer_is_503() -> None:
    assert (await http_get(proxy(Locator(error=ConnectionError("Redis down"))))).status == 503


@pytest.mark.parametrize("base", ["ftp://127.0.0.1:21", "http://", "127.0.0.1:8081", "http://127.0.0.1:99999"])
async def test_a_worker_announced_with_no_usable_address_is_502(base: str) -> None:
    assert (await http_get(proxy(Locator(base)))).status == 502


async def test_only_get_and_head_are_passed_on() -> None:
    locate = Locator("http://127.0.0.1:9")
    browser = await http_get(proxy(locate), method="PUT")
    assert (browser.status, browser.headers[b"allow"], locate.asked) == (405, b"GET, HEAD", 0)


# --- passed through ---------------------------------------------------------------------------
async def test_status_type_and_cache_headers_pass_through_and_hop_by_hop_ones_do_not() -> None:
    async with fake_upstream([HEAD_200, b"#EXTM3"]) as upstream:
        browser = await http_get(proxy(Locator(upstream.base)))
    assert (browser.status, browser.body, browser.complete) == (200, b"#EXTM3", True)
    assert browser.headers == {
        b"content-type": b"application/vnd.apple.mpegurl",
        b"content-length": b"6",
        b"cache-control": b"no-cache",
        b"access-control-allow-origin": b"*",
    }


async def test_the_worker_is_asked_for_the_same_path_without_the_browsers_credentials() -> None:
    headers = [(b"cookie", b"sessionid=abc"), (b"authorization", b"Token abc"), (b"range", b"bytes=0-99")]
    async with fake_upstream([HEAD_200, b"#EXTM3"]) as upstream:
        await http_get(proxy(Locator(upstream.base)), headers=headers)
    head = upstream.requests[0].lower()
    assert head.startswith(f"get {HLS} http/1.1\r\n".lower().encode())
    assert b"range: bytes=0-99\r\n" in head
    assert b"cookie" not in head and b"authorization" not in head


async def test_the_worker_status_passes_through() -> None:
    async with fake_upstream([b"HTTP/1.1 404 Not Found\r\ncontent-length: 4\r\n\r\ngone"]) as upstream:
        browser = await http_get(proxy(Locator(upstream.base)))
    assert (browser.status, browser.body) == (404, b"gone")


async def test_the_body_goes_out_as_it_arrives_not_once_the_worker_is_done() -> None:
    rest = asyncio.Event()
    async with fake_upstream([HEAD_200, b"#EX", rest, b"TM3"]) as upstream:
        browser = Browser({"type": "http.request", "body": b"", "more_body": False})
        request = asyncio.ensure_future(proxy(Locator(upstream.base))(http_scope(HLS), browser.receive, browser.send))
        await browser.got_body.wait()
        assert browser.body == b"#EX" and not upstream.served.is_set()  # the worker still holds the rest
        rest.set()
        await request
    assert browser.body == b"#EXTM3" and browser.complete


async def test_a_browser_that_leaves_stops_the_transfer() -> None:
    rest = asyncio.Event()
    async with fake_upstream([HEAD_200, b"#EX", rest, b"TM3"]) as upstream:
        browser = Browser({"type": "http.request", "body": b"", "more_body": False})
        request = asyncio.ensure_future(proxy(Locator(upstream.base))(http_scope(HLS), browser.receive, browser.send))
        await browser.got_body.wait()
        browser.leaves.set()
        await browser.left.wait()
        rest.set()
        await request
    assert browser.body == b"#EX" and not browser.complete


# --- the worker fails ---------------------------------------------------------------------------
async def test_a_worker_that_does_not_accept_connections_is_502() -> None:
    async with fake_upstream([]) as upstream:
        base = upstream.base
    assert (await http_get(proxy(Locator(base)))).status == 502


async def test_a_worker_that_connects_but_stays_silent_is_504() -> None:
    never = asyncio.Event()
    async with fake_upstream([never]) as upstream:
        assert (await http_get(proxy(Locator(upstream.base), read_timeout=0.1))).status == 504
        never.set()


async def test_a_worker_that_breaks_off_mid_body_leaves_the_response_incomplete() -> None:
    async with fake_upstream([HEAD_200, b"#EX"]) as upstream:
        browser = await http_get(proxy(Locator(upstream.base)))
    assert browser.status == 200 and not browser.complete


# --- WebSocket ------------------------------------------------------------------------------------
async def ws_call(app: MediaProxy, scope: dict[str, Any], leave_after: int | None = None) -> Browser:
    browser = Browser({"type": "websocket.connect"})
    original_send = browser.send

    async def send(message: MutableMapping[str, Any]) -> None:
        await original_send(message)
        if leave_after is not None and len(browser.sent) >= leave_after:
            browser.leaves.set()

    await app(scope, browser.receive, send)
    return browser


async def test_a_websocket_refused_here_gets_the_http_status_or_a_plain_refusal() -> None:
    bad = f"/media/cam-1/{int(NOW) + 60}.{'0' * 32}/live.mp4"
    assert (await ws_call(proxy(Locator(None)), ws_scope(bad))).status == 403
    assert (await ws_call(proxy(Locator(None)), ws_scope(f"/media/{STREAM}/{TOKEN}/live.mp4"))).status == 404
    refused = await ws_call(proxy(Locator(None)), ws_scope(bad, http_response=False))
    assert refused.sent == [{"type": "websocket.close", "code": 1008}]  # the server answers 403


async def test_the_workers_messages_and_close_code_reach_the_browser() -> None:
    async def worker(connection: ServerConnection) -> None:
        await connection.send(json.dumps({"error": "audio-only stream"}))
        await connection.close(4415, "audio only")

    async with websockets.serve(worker, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        browser = await ws_call(proxy(Locator(f"http://127.0.0.1:{port}")), ws_scope(f"/media/{STREAM}/{TOKEN}/live.mp4"))
    assert browser.sent == [
        {"type": "websocket.accept"},
        {"type": "websocket.send", "text": '{"error": "audio-only stream"}'},
        {"type": "websocket.close", "code": 4415, "reason": "audio only"},
    ]


async def test_a_browser_that_leaves_closes_the_workers_websocket() -> None:
    closed = asyncio.Event()

    async def worker(connection: ServerConnection) -> None:
        await connection.send(b"init")
        await connection.wait_closed()
        closed.set()

    async with websockets.serve(worker, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        scope = ws_scope(f"/media/{STREAM}/{TOKEN}/live.mp4")
        browser = await ws_call(proxy(Locator(f"http://127.0.0.1:{port}")), scope, leave_after=2)
        await closed.wait()
    assert browser.sent == [{"type": "websocket.accept"}, {"type": "websocket.send", "bytes": b"init"}]


async def test_a_websocket_to_a_stopped_worker_is_502() -> None:
    async with fake_upstream([]) as upstream:
        base = upstream.base
    browser = await ws_call(proxy(Locator(base)), ws_scope(f"/media/{STREAM}/{TOKEN}/live.mp4"))
    assert browser.status == 502


# --- the parts ----------------------------------------------------------------------------------
async def test_the_registry_reads_the_workers_address_from_the_gateways_live_streams() -> None:
    client = get_async_redis()
    stream_id = f"reg-{uuid.uuid4().hex[:6]}"
    try:
        await client.hset(key("stream", "live"), stream_id, json.dumps({"http": "http://10.0.0.5:8081"}))
        await client.hset(key("stream", "live"), stream_id + "-bad", "not json")
        registry = StreamRegistry()
        assert await registry.worker_http(stream_id) == "http://10.0.0.5:8081"
        assert await registry.worker_http(stream_id + "-bad") is None
        assert await registry.worker_http("no-such-stream") is None
    finally:
        await client.hdel(key("stream", "live"), stream_id, stream_id + "-bad")
        await client.aclose()


@pytest.mark.parametrize(
    ("base", "address"),
    [
        ("http://10.0.0.5:8081", ("10.0.0.5", 8081)),
        ("http://media:8081/", ("media", 8081)),
        ("http://[::1]:8081", ("::1", 8081)),
        ("http://10.0.0.5", ("10.0.0.5", 80)),
        ("https://10.0.0.5:8081", None),
        ("10.0.0.5:8081", None),
        ("http://10.0.0.5:port", None),
    ],
)
def test_worker_address(base: str, address: tuple[str, int] | None) -> None:
    assert worker_address(base) == address


def test_the_mount_point_is_not_part_of_the_local_path() -> None:
    assert local_path({"path": "/gb/media/x", "root_path": "/gb"}) == "/media/x"
    assert local_path({"path": "/media/x", "root_path": ""}) == "/media/x"
    assert local_path({"path": "/gbmedia/x", "root_path": "/gb"}) == "/gbmedia/x"


def test_header_filters() -> None:
    assert response_headers([(b"etag", b"1"), (b"connection", b"x-a"), (b"x-a", b"1"), (b"transfer-encoding", b"chunked")]) == [
        (b"etag", b"1")
    ]
    assert request_headers({"headers": [(b"accept", b"*/*"), (b"cookie", b"a=b")]}) == [(b"accept", b"*/*")]


async def test_only_media_paths_are_routed_to_the_proxy() -> None:
    seen: list[str] = []

    def app(name: str) -> Callable[..., Awaitable[None]]:
        async def handle(scope: dict[str, Any], receive: Any, send: Any) -> None:
            seen.append(name)

        return handle

    async def receive() -> dict[str, Any]:
        return {}

    async def send(message: MutableMapping[str, Any]) -> None:
        pass

    routed = media_routed(app("media"), app("django"))
    for path in ("/media/a/b/c", "/api/streams/", "/mediafoo", "/"):
        await routed({"type": "http", "path": path, "root_path": ""}, receive, send)
    assert seen == ["media", "django", "django", "django"]
