"""The worker's HTTP + WebSocket face for browsers, as a small ASGI app run by uvicorn.

    GET /media/<stream_id>/<token>/index.m3u8     HLS playlist (segments and init.mp4 beside it)
    GET /media/<stream_id>/<token>/snapshot.jpg   JPEG of the latest keyframe
    WS  /media/<stream_id>/<token>/live.mp4       fMP4 for MSE: one text message
        {"mime", "codec", "width", "height", "audio"}, then binary init segment, then binary fragments
        (an audio-only stream, with audio on: codec/width/height null, mime audio/mp4)

The token (media/tokens.py) sits in the path so relative segment URIs in the playlist keep it.
HLS is written only while it is requested: the first request starts the writer, primed with the
stream's current GOP, and a playlist request waits (up to HLS_READY_TIMEOUT) for the first segment
rather than answering 404. A WebSocket viewer likewise starts the fMP4 fragmenter (media/live.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from media.live import LiveStream
from media.snapshot import SnapshotError, keyframe_to_jpeg
from media.tokens import StreamPath, stream_path_parse, token_verify

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_FILES = re.compile(r"^(index\.m3u8|init\.mp4|seg\d+\.(ts|m4s))$")
_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".ts": "video/mp2t",
    ".m4s": "video/iso.segment",
    ".mp4": "video/mp4",
}
WS_READY_TIMEOUT = 10.0
# HLS starts on the first request; the playlist exists one group of pictures later. A request for
# it waits that long rather than answering 404 (players and ffprobe then fail or back off).
HLS_READY_TIMEOUT = 4.5


class MediaHttpApp:
    def __init__(
        self,
        *,
        lookup: Callable[[str], LiveStream | None],
        output_dir: Path,
        secret: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.lookup = lookup
        self.output_dir = output_dir
        self.secret = secret
        self.clock = clock
        self._jpeg: dict[str, tuple[int, bytes]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await _lifespan(receive, send)
            return
        match = stream_path_parse(scope.get("path", ""))
        authorised = match is not None and token_verify(
            match.token, secret=self.secret, stream_id=match.stream_id, now=self.clock()
        )
        if kind == "websocket":
            await self._websocket(match.stream_id if match and authorised else None, match, receive, send)
            return
        if kind != "http":
            return
        live = self.lookup(match.stream_id) if match is not None and authorised else None
        if live is not None:
            live.http_requests += 1  # viewing activity: the gateway stops streams nobody fetches
        if match is None:
            await _respond(send, 404, b"not found\n")
        elif not authorised:
            await _respond(send, 403, b"missing, invalid or expired token\n")
        elif scope.get("method") not in ("GET", "HEAD"):
            await _respond(send, 405, b"GET only\n")
        elif match.name == "snapshot.jpg":
            await self._snapshot(match.stream_id, send)
        elif _FILES.match(match.name):
            if live is not None:
                await _hls_requested(live, match.name)
            await self._file(match.stream_id, match.name, send, head=scope.get("method") == "HEAD")
        else:
            await _respond(send, 404, b"not found\n")

    async def _file(self, stream_id: str, name: str, send: Send, *, head: bool) -> None:
        path = self.output_dir / stream_id / name
        try:
            body = await asyncio.to_thread(path.read_bytes)
        except OSError:
            await _respond(send, 404, b"no such segment (yet)\n")
            return
        ctype = _TYPES.get(path.suffix, "application/octet-stream")
        cache = "no-cache" if name.endswith(".m3u8") else "max-age=60"
        await _respond(send, 200, b"" if head else body, ctype, cache=cache, length=len(body))

    async def _snapshot(self, stream_id: str, send: Send) -> None:
        live = self.lookup(stream_id)
        keyframe = live.keyframe if live is not None else None
        if live is None or keyframe is None:
            self._jpeg.pop(stream_id, None)
            await _respond(send, 404, b"no picture from this stream yet\n")
            return
        cached = self._jpeg.get(stream_id)
        if cached is not None and cached[0] == keyframe.pts:
            jpeg = cached[1]
        else:
            try:
                jpeg = await asyncio.to_thread(keyframe_to_jpeg, keyframe.codec, keyframe.data)
            except SnapshotError as exc:
                await _respond(send, 502, f"{exc}\n".encode())
                return
            self._jpeg[stream_id] = (keyframe.pts, jpeg)
        await _respond(send, 200, jpeg, "image/jpeg", cache="no-cache")

    async def _websocket(
        self, stream_id: str | None, match: StreamPath | None, receive: Receive, send: Send
    ) -> None:
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        live = self.lookup(stream_id) if stream_id else None
        if match is None or match.name != "live.mp4" or stream_id is None or live is None:
            await send({"type": "websocket.close", "code": 4403 if stream_id is None else 4404})
            return
        await send({"type": "websocket.accept"})
        viewer = live.add_viewer()
        watcher = asyncio.ensure_future(_until_disconnect(receive))
        watcher.add_done_callback(lambda _: viewer.offer(None))
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(live.ready.wait(), timeout=WS_READY_TIMEOUT)
            video = live.video
            if live.fmp4 is None or (video is None and live.audio is None):
                audio_only = live.session.audio_only
                reason = "audio-only stream" if audio_only else "no video"
                await send({"type": "websocket.send", "text": json.dumps({"error": reason})})
                await send({"type": "websocket.close", "code": 4415 if audio_only else 4408})
                return
            info = {
                "mime": live.mime,
                "codec": video.codec if video else None,
                "width": video.width if video else None,
                "height": video.height if video else None,
                "audio": live.has_audio,
            }
            await send({"type": "websocket.send", "text": json.dumps(info)})
            while True:
                fragment = await viewer.queue.get()
                if fragment is None:
                    break
                await send({"type": "websocket.send", "bytes": fragment})
            if not watcher.done():
                await send({"type": "websocket.close", "code": 1000})
        except OSError:
            pass  # the client went away mid-send
        finally:
            live.remove_viewer(viewer)
            watcher.cancel()


async def _hls_requested(live: LiveStream, name: str) -> None:
    """Keep the HLS writer running; a playlist request also waits for its first segment."""
    live.request_hls()
    if name != "index.m3u8" or live.hls_ready.is_set() or live.video is None:
        return  # no keyframe yet: nothing to wait for, the writer starts at the first one
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(live.hls_ready.wait(), timeout=HLS_READY_TIMEOUT)


async def _until_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "websocket.disconnect":
        pass


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _respond(
    send: Send,
    status: int,
    body: bytes,
    ctype: str = "text/plain; charset=utf-8",
    *,
    cache: str = "no-store",
    length: int | None = None,
) -> None:
    headers = [
        (b"content-type", ctype.encode()),
        (b"content-length", str(len(body) if length is None else length).encode()),
        (b"cache-control", cache.encode()),
        (b"access-control-allow-origin", b"*"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
