"""The web tier's `/media/` routes: stream URLs passed on to the media worker holding the stream.

Browsers need to reach only the web tier; media workers may sit on other hosts or on a private
network. Each request is checked here before any worker hears of it: the path must be a stream
URL (404), its token valid for that stream now (403), the stream live in the gateway's registry
(404); then its worker must answer (502, or 504 when it connects but stays silent).

HTTP GET and HEAD (playlist, segments, init segment, snapshot) come back with the worker's status,
content type and cache headers, the body passed on chunk by chunk as it arrives. The WebSocket
fMP4 feed is relayed message by message, the worker's close code included. The token is the only
credential, as on the worker itself: no session, no origin check (a player on another site may
hold a URL the API gave out).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import redis.asyncio as aioredis
import websockets
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from gbplatform.redis_client import get_async_redis, key
from gbplatform.upstream import (
    UpstreamError,
    UpstreamTimeout,
    host_header,
    upstream_request,
)
from media.tokens import MEDIA_PREFIX, stream_path_parse, token_verify

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Locate = Callable[[str], Awaitable[str | None]]

# Request headers a worker may act on; cookies and credentials meant for the web tier stay here.
FORWARDED_REQUEST_HEADERS = frozenset({b"accept", b"range", b"if-range", b"if-none-match", b"if-modified-since"})
# Hop-by-hop headers (RFC 9110 7.6.1) and the ones the web server writes itself.
DROPPED_RESPONSE_HEADERS = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"date",
        b"server",
    }
)
# Close codes that only describe a closing and cannot be sent: relayed as a normal end or a bad gateway.
_UNSENDABLE_CLOSE = {1005: 1000, 1006: 1014, 1015: 1014}


class Refusal(Exception):
    """The request is answered here, with `status`, and never reaches a worker."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Upstream:
    host: str
    port: int
    target: str  # path and query, as the browser asked for them


def local_path(scope: Scope) -> str:
    """The request path without the mount point (uvicorn's --root-path) that is included in it."""
    path = str(scope.get("path", ""))
    root = str(scope.get("root_path", "")).rstrip("/")
    return path[len(root) :] if root and path.startswith(root + "/") else path


def worker_address(http_base: str) -> tuple[str, int] | None:
    """Host and port of a worker's announced `http://host:port`, or None when it is not one."""
    try:
        parts = urlsplit(http_base)
        port = parts.port or 80
    except ValueError:
        return None
    if parts.scheme != "http" or not parts.hostname:
        return None
    return parts.hostname, port


def response_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The worker's response headers a browser should see through the web tier."""
    listed = {
        token.strip().lower()
        for name, value in headers
        if name.lower() == b"connection"
        for token in value.split(b",")
    }
    return [(name, value) for name, value in headers if name.lower() not in DROPPED_RESPONSE_HEADERS | listed]


def request_headers(scope: Scope) -> list[tuple[bytes, bytes]]:
    return [(name, value) for name, value in scope.get("headers", []) if name.lower() in FORWARDED_REQUEST_HEADERS]


class StreamRegistry:
    """Which worker serves a stream, from the gateway's hash of live streams in Redis
    (sip_gateway/play.py writes it: stream_id -> JSON with the worker's `http` base URL)."""

    def __init__(self, client_factory: Callable[[], aioredis.Redis] = get_async_redis) -> None:
        self.client_factory = client_factory
        self._client: aioredis.Redis | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _redis(self) -> aioredis.Redis:
        loop = asyncio.get_running_loop()  # an asyncio client belongs to the loop that made it
        if self._client is None or self._loop is not loop:
            self._client, self._loop = self.client_factory(), loop
        return self._client

    async def worker_http(self, stream_id: str) -> str | None:
        # Shielded: a request cancelled mid-command must not leave the shared connection half-read.
        raw = await asyncio.shield(self._redis().hget(key("stream", "live"), stream_id))
        if raw is None:
            return None
        try:
            return str(json.loads(raw)["http"])
        except (ValueError, KeyError, TypeError):
            return None


class MediaProxy:
    """ASGI app for `/media/...` on the web tier, HTTP and WebSocket."""

    def __init__(
        self,
        *,
        locate: Locate,
        secret: str,
        clock: Callable[[], float] = time.time,
        connect_timeout: float = 5.0,
        read_timeout: float = 15.0,
    ) -> None:
        self.locate = locate
        self.secret = secret
        self.clock = clock
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)

    async def upstream(self, scope: Scope) -> Upstream:
        """Where to pass the request on; Refusal with the status to answer instead."""
        path = local_path(scope)
        stream = stream_path_parse(path)
        if stream is None:
            raise Refusal(404, "not found")
        if not token_verify(stream.token, secret=self.secret, stream_id=stream.stream_id, now=self.clock()):
            raise Refusal(403, "missing, invalid or expired token")
        try:
            http_base = await self.locate(stream.stream_id)
        except Exception as exc:  # Redis down: the registry cannot be read
            logger.warning("media proxy: stream registry unavailable: %s", exc)
            raise Refusal(503, "stream registry unavailable") from exc
        if http_base is None:
            raise Refusal(404, "no such live stream")
        address = worker_address(http_base)
        if address is None:
            raise Refusal(502, "the stream's media worker has no usable address")
        query = scope.get("query_string", b"")
        return Upstream(*address, path + (f"?{query.decode('latin-1')}" if query else ""))

    # --- HTTP ----------------------------------------------------------------------------------
    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = str(scope.get("method", "GET"))
        if method not in ("GET", "HEAD"):
            await _respond(send, 405, "GET only", [(b"allow", b"GET, HEAD")])
            return
        try:
            upstream = await self.upstream(scope)
        except Refusal as refusal:
            await _respond(send, refusal.status, refusal.detail)
            return
        gone = asyncio.ensure_future(_until_disconnect(receive))
        started = False
        try:
            async with upstream_request(
                host=upstream.host,
                port=upstream.port,
                method=method,
                target=upstream.target,
                headers=request_headers(scope),
                connect_timeout=self.connect_timeout,
                read_timeout=self.read_timeout,
            ) as response:
                headers = response_headers(response.headers)
                await send({"type": "http.response.start", "status": response.status, "headers": headers})
                started = True
                async for chunk in response.chunks():
                    if gone.done():
                        return  # the browser left: stop reading from the worker
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b""})
        except UpstreamError as exc:
            logger.info("media proxy: %s %s via %s: %s", method, upstream.target, upstream.host, exc)
            if not started:
                status = 504 if isinstance(exc, UpstreamTimeout) else 502
                await _respond(send, status, "media worker unreachable" if status == 502 else "media worker timed out")
            # Once the head is out, returning without the last body message makes the server drop
            # the connection, so the browser sees a broken response rather than a short one.
        finally:
            gone.cancel()

    # --- WebSocket -----------------------------------------------------------------------------
    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (await receive())["type"] != "websocket.connect":
            return
        try:
            upstream = await self.upstream(scope)
        except Refusal as refusal:
            await _ws_refuse(scope, send, refusal.status, refusal.detail)
            return
        url = f"ws://{host_header(upstream.host, upstream.port)}{upstream.target}"
        try:
            worker = await websockets.connect(
                url, max_size=None, compression=None, open_timeout=self.connect_timeout
            )
        except InvalidStatus as exc:  # the worker refused: its status is the answer
            await _ws_refuse(scope, send, exc.response.status_code, "refused by the media worker")
            return
        except (OSError, TimeoutError, InvalidHandshake) as exc:
            logger.info("media proxy: WebSocket %s via %s: %s", upstream.target, upstream.host, exc)
            await _ws_refuse(scope, send, 502, "media worker unreachable")
            return
        try:
            await send({"type": "websocket.accept"})
            await self._relay(worker, receive, send)
        finally:
            await worker.close()

    async def _relay(self, worker: Any, receive: Receive, send: Send) -> None:
        """Worker to browser until either side ends; the worker's close code goes to the browser."""

        async def to_browser() -> None:
            with contextlib.suppress(ConnectionClosed):
                async for message in worker:
                    if isinstance(message, str):
                        await send({"type": "websocket.send", "text": message})
                    else:
                        await send({"type": "websocket.send", "bytes": message})

        async def to_worker() -> None:
            while True:
                message = await receive()
                if message["type"] == "websocket.disconnect":
                    return
                if message.get("bytes") is not None:
                    await worker.send(message["bytes"])
                elif message.get("text") is not None:
                    await worker.send(message["text"])

        down = asyncio.ensure_future(to_browser())
        up = asyncio.ensure_future(to_worker())
        try:
            done, _ = await asyncio.wait({down, up}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (down, up):
                task.cancel()
            results = await asyncio.gather(down, up, return_exceptions=True)
        for result in results:
            if isinstance(result, Exception) and not isinstance(result, OSError | ConnectionClosed):
                logger.warning("media proxy: WebSocket relay failed: %r", result)
        browser_left = up in done and results[1] is None
        if not browser_left:  # the worker ended the feed: tell the browser how
            code = worker.close_code or 1006
            with contextlib.suppress(OSError):
                await send(
                    {
                        "type": "websocket.close",
                        "code": _UNSENDABLE_CLOSE.get(code, code),
                        "reason": worker.close_reason or "",
                    }
                )


def media_routed(media: ASGIApp, other: ASGIApp) -> ASGIApp:
    """An ASGI app that sends `/media/...` to `media` and everything else to `other`."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        target = media if local_path(scope).startswith(MEDIA_PREFIX) else other
        await target(scope, receive, send)

    return app


def media_proxy_from_settings() -> MediaProxy:
    from django.conf import settings

    return MediaProxy(locate=StreamRegistry().worker_http, secret=settings.SECRET_KEY)


async def _until_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _respond(send: Send, status: int, detail: str, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    body = f"{detail}\n".encode()
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        *(extra or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _ws_refuse(scope: Scope, send: Send, status: int, detail: str) -> None:
    """Refuse the handshake with an HTTP status when the server can send one, else plain 403.

    uvicorn's websockets-sansio protocol (its default) answers correctly but then logs "ASGI
    callable returned without completing handshake" at ERROR for each such refusal; that is its
    bug (it never marks a denial response as the end of the handshake), not a failure here."""
    if "websocket.http.response" not in scope.get("extensions", {}):
        await send({"type": "websocket.close", "code": 1008})
        return
    body = f"{detail}\n".encode()
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    await send({"type": "websocket.http.response.start", "status": status, "headers": headers})
    await send({"type": "websocket.http.response.body", "body": body})
