"""The asyncio side: many `DeviceCore`s on a few shared SIP endpoints, one timer heap.

Devices never sleep in tasks. Each has a deadline; the simulator keeps one heap of
(deadline, device) entries (stale ones skipped lazily) and one `loop.call_at` for the
earliest. Requests go through the project's `SipEndpoint` (transaction layer: retransmits,
Timer F, duplicate requests absorbed); incoming requests are routed to the device that owns
the Request-URI's user part (device or channel ID).
"""

from __future__ import annotations

import asyncio
import functools
import heapq
import logging
import math
import time
from collections import Counter
from dataclasses import dataclass, replace

from gbsim.actions import (
    Action,
    ControlMedia,
    RegistrationChanged,
    SendRequest,
    SendResponse,
    StartMedia,
    StopMedia,
)
from gbsim.config import DeviceConfig
from gbsim.device import DeviceCore
from gbsim.rtp_out import MediaOutputs
from gbsim.sipmsg import request_user
from gbsim.stream.clip import Clip
from sip_gateway.core.message import Request, Response
from sip_gateway.core.responses import make_response
from sip_gateway.core.transaction import RequestReceived
from sip_gateway.endpoint import SipEndpoint, SipTimeout
from sip_gateway.transport import Peer

logger = logging.getLogger("gbsim")


@dataclass
class Stats:
    registered: int = 0
    registrations: int = 0
    lost: int = 0
    requests_sent: int = 0
    timeouts: int = 0
    first_all_registered: float | None = None


class Simulator:
    def __init__(
        self,
        configs: list[DeviceConfig],
        *,
        platform: Peer,
        clip: Clip | None = None,
        sockets: int = 1,
        ramp: float = 0.0,
        seed: int | None = None,
    ) -> None:
        self.configs = configs
        self.platform = platform
        self.clip = clip
        self.sockets = max(1, min(sockets, len(configs) or 1))
        self.ramp = ramp
        self.seed = seed
        self.devices: list[DeviceCore] = []
        self.endpoints: list[SipEndpoint] = []
        self.owner: dict[str, int] = {}  # device or channel ID -> device index
        self.media: MediaOutputs | None = None
        self.media_owner: dict[str, int] = {}  # call ID -> device index
        self.stats = Stats()
        self.methods: Counter[str] = Counter()
        self._heap: list[tuple[float, int]] = []
        self._scheduled: list[float] = []
        self._started: list[bool] = []
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = math.inf
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._t0 = 0.0

    # -- lifecycle ----------------------------------------------------------------
    async def start(self, host: str, port: int = 0, *, advertise: str | None = None) -> list[int]:
        """Open the shared endpoints (port 0 = any; port N = N, N+1, ...) and start the devices.

        `advertise` is the address written in Via, Contact and SDP (default: `host`; needed
        when binding to 0.0.0.0).
        """
        self._loop = asyncio.get_running_loop()
        self._t0 = self._loop.time()
        ports = []
        for n in range(self.sockets):
            endpoint = SipEndpoint(functools.partial(self._on_request, n))
            ports.append(await endpoint.start(host, port + n if port else 0))
            self.endpoints.append(endpoint)
        if self.clip is not None:
            self.media = MediaOutputs(self.clip, host, self._on_media_finished)
        wall_offset = time.time() - self._loop.time()
        for index, cfg in enumerate(self.configs):
            n = index % self.sockets
            cfg = _with_address(cfg, advertise or host, ports[n])
            device = DeviceCore(
                cfg,
                seed=None if self.seed is None else f"{self.seed}:{index}",
                allocate_port=self.media.allocate if self.media else None,
                wall_offset=wall_offset,
                video_codec=(self.clip.video_codec if self.clip else None) or "h264",
            )
            self.devices.append(device)
            self.owner[cfg.device_id] = index
            for channel in cfg.channel_ids:
                self.owner[channel] = index
            start_at = self._t0 + (self.ramp * index / len(self.configs) if self.ramp else 0.0)
            self._started.append(False)
            self._scheduled.append(start_at)
            self._heap.append((start_at, index))
        heapq.heapify(self._heap)
        self._rearm()
        return ports

    async def stop(self, *, unregister: bool = True, grace: float = 2.0) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if unregister and self._loop is not None:
            now = self._loop.time()
            for index, device in enumerate(self.devices):
                if self._started[index]:
                    device.stop(now)
                    self._drain(index)
            deadline = self._loop.time() + grace
            while self._tasks and self._loop.time() < deadline:
                await asyncio.sleep(0.05)
        for task in list(self._tasks):
            task.cancel()
        if self.media is not None:
            self.media.close()
        for endpoint in self.endpoints:
            await endpoint.close()

    @property
    def registered_count(self) -> int:
        return sum(1 for device in self.devices if device.registered)

    async def wait_registered(self, count: int | None = None, timeout: float = 30.0) -> bool:
        want = len(self.devices) if count is None else count
        assert self._loop is not None
        end = self._loop.time() + timeout
        while self.stats.registered < want:
            if self._loop.time() >= end:
                return False
            await asyncio.sleep(0.02)
        return True

    # -- actions on demand --------------------------------------------------------
    def raise_alarms(self) -> None:
        assert self._loop is not None
        for index, device in enumerate(self.devices):
            if device.registered:
                device.raise_alarm(
                    self._loop.time(),
                    channel_id=device.cfg.channel_ids[0] if device.cfg.channel_ids else None,
                )
                self._drain(index)

    def send_positions(self, longitude: float = 116.397, latitude: float = 39.909) -> None:
        assert self._loop is not None
        for index, device in enumerate(self.devices):
            if device.registered:
                device.send_position(self._loop.time(), longitude + index * 1e-4, latitude)
                self._drain(index)

    def set_channel_status(self, channel_id: str, online: bool) -> None:
        """A channel goes on or off line on its device: catalog subscribers get a NOTIFY."""
        assert self._loop is not None
        for index, device in enumerate(self.devices):
            if channel_id in device.cfg.channel_ids:
                device.set_channel_status(channel_id, online, self._loop.time())
                self._drain(index)

    def hang_up_all(self) -> int:
        """Every device ends its media sessions with a BYE; returns how many it ended."""
        assert self._loop is not None
        ended = 0
        for index, device in enumerate(self.devices):
            for call_id in device.session_ids():
                device.hang_up(call_id, self._loop.time())
                ended += 1
            self._drain(index)
        return ended

    # -- incoming -----------------------------------------------------------------
    def _on_request(self, endpoint_index: int, event: RequestReceived) -> None:
        request = event.request
        self.methods[request.method] += 1
        index = self.owner.get(request_user(request))
        if index is None:
            index = self.owner.get(request.to_addr.sip_uri.user or "")
        # Answers go out through the endpoint that holds the server transaction.
        endpoint = self.endpoints[endpoint_index]
        if index is None or not self._started[index]:
            if request.method != "ACK":
                endpoint.send_response(make_response(request, 404, to_tag="gbsim404"))
            return
        assert self._loop is not None
        self.devices[index].on_request(request, self._loop.time())
        self._drain(index, endpoint)

    def _on_media_finished(self, call_id: str) -> None:
        index = self.media_owner.get(call_id)
        if index is not None and self._loop is not None:
            self.devices[index].media_finished(call_id, self._loop.time())
            self._drain(index)

    # -- device output ------------------------------------------------------------
    def _drain(self, index: int, receiving: SipEndpoint | None = None) -> None:
        device = self.devices[index]
        while device.outbox:
            actions, device.outbox = device.outbox, []
            for action in actions:
                self._perform(index, action, receiving)
        self._schedule(index, device.deadline)
        if device.next_unprepared and self._loop is not None:
            # After the sends just started (call_soon runs in order), not before them.
            self._loop.call_soon(device.prepare_next)

    def _perform(self, index: int, action: Action, receiving: SipEndpoint | None = None) -> None:
        if isinstance(action, SendRequest):
            self.stats.requests_sent += 1
            task = asyncio.ensure_future(self._request(index, action.request))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        elif isinstance(action, SendResponse):
            (receiving or self._endpoint_of(index)).send_response(action.response)
        elif isinstance(action, StartMedia) and self.media is not None:
            self.media_owner[action.plan.call_id] = index
            self.media.start(action.plan)
        elif isinstance(action, StopMedia) and self.media is not None:
            self.media_owner.pop(action.call_id, None)
            self.media.stop(action.call_id)
        elif isinstance(action, ControlMedia) and self.media is not None:
            self.media.control(action.call_id, action.command)
        elif isinstance(action, RegistrationChanged):
            self._registration_changed(action)

    async def _request(self, index: int, request: Request) -> None:
        endpoint = self._endpoint_of(index)
        device = self.devices[index]
        try:
            response: Response = await endpoint.request(request, self.platform)
        except SipTimeout:
            self.stats.timeouts += 1
            device.on_timeout(request, endpoint.now())
        else:
            device.on_response(response, endpoint.now())
        self._drain(index)

    def _registration_changed(self, change: RegistrationChanged) -> None:
        if change.registered:
            self.stats.registered += 1
            self.stats.registrations += 1
            if self.stats.registered == len(self.devices) and self.stats.first_all_registered is None:
                assert self._loop is not None
                self.stats.first_all_registered = self._loop.time() - self._t0
        else:
            self.stats.registered -= 1
            self.stats.lost += 1
            logger.info("%s lost its registration: %s", change.device_id, change.reason)

    def _endpoint_of(self, index: int) -> SipEndpoint:
        return self.endpoints[index % len(self.endpoints)]

    # -- the timer heap -----------------------------------------------------------
    def _schedule(self, index: int, deadline: float) -> None:
        if deadline == self._scheduled[index]:
            return
        self._scheduled[index] = deadline
        if deadline < math.inf:
            heapq.heappush(self._heap, (deadline, index))
            if deadline < self._timer_at:
                self._rearm()

    def _rearm(self) -> None:
        heap = self._heap
        while heap and heap[0][0] != self._scheduled[heap[0][1]]:
            heapq.heappop(heap)  # stale: the device rescheduled since
        at = heap[0][0] if heap else math.inf
        if at == self._timer_at and self._timer is not None:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = at
        if at < math.inf and self._loop is not None:
            self._timer = self._loop.call_at(at, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = math.inf
        assert self._loop is not None
        now = self._loop.time()
        heap = self._heap
        while heap and heap[0][0] <= now:
            deadline, index = heapq.heappop(heap)
            if deadline != self._scheduled[index]:
                continue
            self._scheduled[index] = math.inf
            device = self.devices[index]
            if not self._started[index]:
                self._started[index] = True
                device.start(now)
            else:
                device.on_timer(now)
            self._drain(index)
        self._rearm()


def _with_address(cfg: DeviceConfig, host: str, port: int) -> DeviceConfig:
    return replace(cfg, local_host=host, local_port=port)
