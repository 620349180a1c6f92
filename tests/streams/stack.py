"""A live-video stack on loopback, in a thread of its own: a media worker, the SIP gateway and
gbsim devices (one streaming a test pattern, one that answers INVITEs but sends no media).

The tests drive it the way the web tier does, through the REST API and the Redis bus, from the
main thread; `run` executes a coroutine on the stack's loop for a look inside.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import uuid
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import uvloop
from django.conf import settings

from gbplatform.heartbeat import MEDIA_WORKER, heartbeat_remove
from gbsim.config import DeviceConfig, Timing, channel_ids, device_ids
from gbsim.profiles import PROFILES, Profile
from gbsim.runner import Simulator
from gbsim.stream.clip import Clip
from media.live import OutputConfig
from media.service import MediaWorkerService
from media.worker import WorkerConfig
from sip_gateway.service import GatewayService

T = TypeVar("T")
RTP_PORTS = (47400, 47439)


class NoTasks:
    """Stands in for Celery: the gateway's device tasks are not what these tests are about."""

    def send(self, task: str, /, **kwargs: Any) -> None:
        pass


def device_config(
    index: int, first_serial: int, profile: Profile = PROFILES["standard"], transport: str = "udp"
) -> DeviceConfig:
    return DeviceConfig(
        device_id=device_ids("34020000", 1, first_serial=first_serial)[0],
        channel_ids=channel_ids("34020000", index, 2, first_serial=first_serial),
        server_id=settings.SIP_ID,
        domain=settings.SIP_DOMAIN,
        password=settings.SIP_PASSWORD,
        profile=profile,
        transport=transport,
        timing=Timing(keepalive_interval=30, request_timeout=5),
    )


class LiveStack:
    def __init__(self, output_dir: Path, clip: Clip, *, media_host: str = "127.0.0.1", audio: bool = False) -> None:
        self.output_dir = output_dir
        self.audio = audio  # the media worker's default for streams opened without an `audio` choice
        self.clip = clip
        self.media_host = media_host  # the media worker's RTP and HTTP address (loopback only)
        self.loop = uvloop.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="live-stack", daemon=True)
        self.media: MediaWorkerService | None = None
        self.gateway: GatewayService | None = None
        self.camera: Simulator | None = None  # streams the test pattern
        self.mute: Simulator | None = None  # answers INVITEs, sends nothing
        # A Dahua-like camera (101 before the 200) that answers with its own y= SSRC.
        self.foreign: Simulator | None = None
        self.tcp_camera: Simulator | None = None  # signals over TCP
        self.events: list[tuple[str, dict[str, Any]]] = []

    # --- lifecycle -----------------------------------------------------------------------
    def start(self) -> LiveStack:
        self.thread.start()
        self.run(self._start(), timeout=60)
        return self

    def stop(self) -> None:
        try:
            self.run(self._stop(), timeout=60)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    async def _start(self) -> None:
        config = WorkerConfig(
            output_dir=self.output_dir,
            bind_host=self.media_host,
            advertised_host=self.media_host,
            outputs=OutputConfig(segment_seconds=0.5, list_size=6, audio=self.audio),
        )
        self.media = MediaWorkerService(
            f"live-{uuid.uuid4().hex[:8]}", ports=RTP_PORTS, config=config, http_bind=f"{self.media_host}:0"
        )
        self.media.bus_wait = 0.1
        await self.media.start()
        await self.media.beat_once()
        self.gateway = GatewayService(f"gw-{uuid.uuid4().hex[:6]}", bind="127.0.0.1", port=0, tasks=NoTasks())
        await self.gateway.start()
        assert self.gateway.player is not None
        forward = self.gateway.player.publish

        async def record(event_type: str, **payload: Any) -> None:
            self.events.append((event_type, payload))
            await forward(event_type, **payload)

        self.gateway.player.publish = record
        platform = ("udp", "127.0.0.1", self.gateway.port)
        self.camera = Simulator([device_config(0, 700)], platform=platform, clip=self.clip)
        self.mute = Simulator([device_config(1, 800)], platform=platform)
        foreign = dataclasses.replace(PROFILES["dahua"], own_ssrc=True)
        self.foreign = Simulator([device_config(2, 900, foreign)], platform=platform, clip=self.clip)
        self.tcp_camera = Simulator(
            [device_config(3, 600, transport="tcp")],
            platform=("tcp", "127.0.0.1", self.gateway.port),
            clip=self.clip,
        )
        for sim in self.simulators:
            await sim.start("127.0.0.1")
        for sim in self.simulators:
            assert await sim.wait_registered(timeout=10)

    @property
    def simulators(self) -> list[Simulator]:
        return [sim for sim in (self.camera, self.mute, self.foreign, self.tcp_camera) if sim is not None]

    async def _stop(self) -> None:
        for sim in self.simulators:
            await sim.stop(grace=0.5)
        if self.gateway is not None:
            await self.gateway.stop()
            await self.gateway.redis.aclose()
        if self.media is not None:
            await self.media.stop()
            await heartbeat_remove(self.media.redis, kind=MEDIA_WORKER, instance=self.media.instance)
            await self.media.redis.aclose()

    # --- looking inside ------------------------------------------------------------------
    @property
    def camera_device(self) -> DeviceConfig:
        assert self.camera is not None
        return self.camera.configs[0]

    @property
    def mute_device(self) -> DeviceConfig:
        assert self.mute is not None
        return self.mute.configs[0]

    @property
    def foreign_device(self) -> DeviceConfig:
        assert self.foreign is not None
        return self.foreign.configs[0]

    def byes_seen(self) -> int:
        return sum(sim.methods["BYE"] for sim in self.simulators)

    def ssrcs_sent(self, sim: Simulator) -> set[str]:
        """The y= SSRCs a simulator streams with, as 10 digits."""
        assert sim.media is not None
        return {f"{s.plan.ssrc:010d}" for s in sim.media.streams.values() if s.plan is not None}

    def ports_in_use(self) -> int:
        assert self.media is not None
        return self.media.worker.ports.in_use

    def worker_transport(self, stream_id: str) -> str:
        assert self.media is not None
        return self.media.worker.streams[stream_id].transport_kind

    def live_streams(self) -> list[str]:
        assert self.gateway is not None and self.gateway.player is not None
        return [s.stream_id for s in self.gateway.player.table]

    def stopped(self) -> dict[str, str]:
        return {p["stream_id"]: p["reason"] for kind, p in self.events if kind == "stream.stopped"}

    def beat(self) -> None:
        assert self.media is not None
        self.run(self.media.beat_once())

    def hide_media_worker(self) -> None:
        assert self.media is not None
        self.run(heartbeat_remove(self.media.redis, kind=MEDIA_WORKER, instance=self.media.instance))

    def stop_camera_media(self) -> None:
        """The camera goes silent: its RTP stops, its SIP dialog stays."""
        assert self.camera is not None and self.camera.media is not None
        media = self.camera.media
        self.loop.call_soon_threadsafe(media.close)

    def camera_hangs_up(self) -> int:
        """The camera ends its media sessions itself, with a BYE."""
        camera = self.camera
        assert camera is not None

        async def hang_up() -> int:
            return camera.hang_up_all()

        return self.run(hang_up())

    def stop_all_streams(self) -> None:
        assert self.gateway is not None and self.gateway.player is not None
        self.run(self.gateway.player.close_all())
