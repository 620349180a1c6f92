"""The media worker process: receives RTP from devices and serves HLS and WebSocket fMP4.

Several workers may run on several hosts; each announces its address, RTP port range and load
in Redis so the gateway can pick the least-loaded one. Commands arrive on the Redis bus target
`media:<instance>` (see media/worker.py); RTP timeouts are published on `<prefix>media:events`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import uvicorn
from django.conf import settings

from gbplatform.bus import BusServer, queue_key
from gbplatform.heartbeat import MEDIA_WORKER
from gbplatform.redis_client import key
from gbplatform.service import Service
from media.http import MediaHttpApp
from media.live import OutputConfig
from media.ports import PortAllocator
from media.session import DEFAULT_RTP_TIMEOUT
from media.worker import MediaWorker, WorkerConfig

logger = logging.getLogger(__name__)

SWEEP_MAX_INTERVAL = 1.0


def events_channel() -> str:
    return key("media", "events")


def bus_target(instance: str) -> str:
    return f"media:{instance}"


def worker_config() -> WorkerConfig:
    """The worker's settings; the optional ones fall back to defaults when not configured."""
    return WorkerConfig(
        output_dir=settings.MEDIA_OUTPUT_DIR,
        bind_host=settings.MEDIA_BIND,
        advertised_host=settings.MEDIA_ADVERTISED_IP,
        rtp_timeout=float(getattr(settings, "MEDIA_RTP_TIMEOUT", DEFAULT_RTP_TIMEOUT)),
        connect_timeout=float(getattr(settings, "MEDIA_TCP_CONNECT_TIMEOUT", 10.0)),
        outputs=OutputConfig(
            segment_seconds=float(getattr(settings, "MEDIA_HLS_SEGMENT_SECONDS", 2.0)),
            list_size=int(getattr(settings, "MEDIA_HLS_LIST_SIZE", 6)),
            keep_files=bool(getattr(settings, "MEDIA_KEEP_FILES", False)),
            audio=bool(getattr(settings, "MEDIA_AUDIO", False)),
        ),
    )


class _EmbeddedServer(uvicorn.Server):
    """uvicorn inside our loop: the service, not uvicorn, owns SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def http_server(*, worker: MediaWorker, output_dir: Path, secret: str) -> uvicorn.Server:
    """The worker's browser-facing HTTP/WebSocket server, to run in the caller's loop on its socket."""
    app = MediaHttpApp(lookup=worker.streams.get, output_dir=output_dir, secret=secret)
    return _EmbeddedServer(
        uvicorn.Config(
            app,
            loop="none",
            lifespan="off",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=2,
            # H.264/H.265 fragments do not compress: permessage-deflate only burnt CPU (about half
            # of a watched stream's, bench/media_ingest.py).
            ws_per_message_deflate=False,
        )
    )


class MediaWorkerService(Service):
    kind = MEDIA_WORKER
    bus_wait = 1.0  # seconds a BLPOP blocks; also how long shutdown may wait for it

    def __init__(
        self,
        instance: str | None = None,
        *,
        ports: tuple[int, int] | None = None,
        config: WorkerConfig | None = None,
        http_bind: str | None = None,
    ) -> None:
        super().__init__(instance)
        self.ports = ports or settings.MEDIA_RTP_PORTS
        self.config = config or worker_config()
        self.http_bind = http_bind or settings.MEDIA_HTTP_BIND
        self.http_address = self.http_bind
        self.worker = MediaWorker(
            ports=PortAllocator(*self.ports),
            config=self.config,
            publish=self._publish,
            instance=self.instance,
        )
        self.bus = BusServer(self.redis, bus_target(self.instance), self.worker.handlers())
        self._tasks: list[asyncio.Task[Any]] = []
        self._requests: set[asyncio.Task[None]] = set()
        self._http: uvicorn.Server | None = None

    @property
    def streams(self) -> dict[str, Any]:
        return dict(self.worker.streams)

    async def start(self) -> None:
        self.config.output_dir.mkdir(parents=True, exist_ok=True)
        host, _, port = self.http_bind.rpartition(":")
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), int(port)))
        bound = sock.getsockname()
        self.http_address = f"{host}:{bound[1]}"
        self._http = http_server(
            worker=self.worker, output_dir=self.config.output_dir, secret=settings.SECRET_KEY
        )
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._http.serve(sockets=[sock])),
            loop.create_task(self._serve_bus()),
            loop.create_task(self._sweep_loop()),
        ]

    async def stop(self) -> None:
        self.stopping.set()
        self.worker.close_all()  # ends every viewer's WebSocket
        if self._http is not None:
            self._http.should_exit = True
        # Cancelling redis-py in the middle of BLPOP can hang its connection: let the read time out.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._tasks[1]), timeout=self.bus_wait + 1.0)
        for task in self._tasks[1:]:
            task.cancel()
        for task in list(self._requests):
            task.cancel()
        await asyncio.gather(*self._tasks, *self._requests, return_exceptions=True)

    async def _serve_bus(self) -> None:
        """Answer commands concurrently: a keyframe wait must not hold up the next stream.open."""
        while not self.stopping.is_set():
            try:
                item = await self.redis.blpop([queue_key(self.bus.target)], timeout=self.bus_wait)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning("media %s: bus read failed: %s", self.instance, exc)
                await asyncio.sleep(1.0)
                continue
            if item is None:
                continue
            task = asyncio.get_running_loop().create_task(self.bus.answer(item[1]))
            self._requests.add(task)
            task.add_done_callback(self._requests.discard)

    async def _sweep_loop(self) -> None:
        """One timer: sleep until the earliest RTP deadline (at most a second), then sweep."""
        while not self.stopping.is_set():
            deadline = self.worker.next_deadline()
            now = self.worker.clock()
            delay = (
                SWEEP_MAX_INTERVAL if deadline is None else min(max(deadline - now, 0.01), SWEEP_MAX_INTERVAL)
            )
            await asyncio.sleep(delay)
            try:
                await self.worker.sweep()
            except Exception:
                logger.exception("media %s: sweep failed", self.instance)

    async def _publish(self, event: dict[str, Any]) -> None:
        await self.redis.publish(events_channel(), json.dumps(event))

    def heartbeat_info(self) -> dict[str, Any]:
        low, high = self.ports
        streams = self.worker.streams
        return {
            "address": settings.MEDIA_ADVERTISED_IP,
            "rtp_ports": [low, high],
            "http": self.http_address,
            "target": bus_target(self.instance),
            "streams": len(streams),
            "viewers": sum(len(live.viewers) for live in streams.values()),
            "ports_free": self.worker.ports.capacity - self.worker.ports.in_use,
            "load": len(streams),
        }
