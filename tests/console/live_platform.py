"""The whole platform on loopback for a browser: the ASGI app under uvicorn in a thread, the SIP
gateway and gbsim devices on an event loop in another thread, and a real Celery worker writing
to the test database."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import uvicorn
from django.conf import settings
from django.test import override_settings

from gbsim.config import DeviceConfig, Timing, channel_ids, device_ids
from gbsim.runner import Simulator
from sip_gateway.service import GatewayService
from sip_gateway.task_sink import CeleryTaskSink

T = TypeVar("T")


def asgi_application() -> Any:
    """gbplatform.asgi's application around a fresh Django app that serves static files from the
    apps' folders (no collectstatic in tests): WhiteNoise reads that setting when it is created."""
    from django.core.asgi import get_asgi_application

    from gbplatform.asgi import application_build

    with override_settings(WHITENOISE_USE_FINDERS=True):
        http = get_asgi_application()
    return application_build(http)


@contextmanager
def web_server(host: str = "127.0.0.1") -> Iterator[str]:
    """uvicorn on `host` (a loopback address) and a free port, in a thread; yields the base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(asgi_application(), log_level="warning", lifespan="off", ws="websockets-sansio")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="uvicorn")
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the web server did not start")
        time.sleep(0.05)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


class LoopThread:
    """An asyncio loop in a daemon thread, for the gateway and gbsim beside a sync browser."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="sip-loop")
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@dataclass
class SimulatedDevices:
    gateway: GatewayService
    simulator: Simulator
    device_ids: list[str]
    channels_per_device: int


async def devices_start(count: int, channels: int) -> SimulatedDevices:
    gateway = GatewayService(bind="127.0.0.1", port=0, tasks=CeleryTaskSink())
    await gateway.start()
    ids = device_ids("34020000", count, first_serial=700)
    configs = [
        DeviceConfig(
            device_id=device_id,
            channel_ids=channel_ids("34020000", index, channels, first_serial=7000),
            server_id=settings.SIP_ID,
            domain=settings.SIP_DOMAIN,
            password=settings.SIP_PASSWORD,
            timing=Timing(expires=3600, keepalive_interval=5, request_timeout=5),
        )
        for index, device_id in enumerate(ids)
    ]
    simulator = Simulator(configs, platform=("udp", "127.0.0.1", gateway.port), seed=7)
    await simulator.start("127.0.0.1")
    if not await simulator.wait_registered(timeout=15):
        raise RuntimeError("gbsim devices did not register")
    return SimulatedDevices(gateway, simulator, ids, channels)


async def devices_stop(devices: SimulatedDevices) -> None:
    await devices.simulator.stop(grace=1.0)
    await devices.gateway.stop()
    await devices.gateway.redis.aclose()
