"""A tiny platform on real loopback sockets: the in-memory `PlatformStub` behind a `SipEndpoint`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from sip_gateway.core.message import Request, Response
from sip_gateway.core.transaction import RequestReceived
from sip_gateway.endpoint import SipEndpoint
from sip_gateway.transport import Peer
from tests.gbsim.platform_stub import PlatformStub


class Responder:
    def __init__(self, stub: PlatformStub | None = None) -> None:
        self.stub = stub or PlatformStub()
        self.endpoint = SipEndpoint(self._on_request)
        self.peers: dict[str, Peer] = {}  # device ID -> where its REGISTER came from
        self.arrived = asyncio.Event()

    async def start(self, host: str = "127.0.0.1") -> int:
        port = await self.endpoint.start(host, 0)
        self.stub.port = port
        return port

    async def close(self) -> None:
        await self.endpoint.close()

    def _on_request(self, event: RequestReceived) -> None:
        request = event.request
        if request.method == "ACK":
            return
        response = self.stub.handle_request(request, self.endpoint.now())
        if response is None:
            return
        if request.method == "REGISTER" and response.status == 200:
            self.peers[request.from_addr.sip_uri.user or ""] = event.peer
        self.endpoint.send_response(response)
        self.arrived.set()

    async def request(self, request: Request, device_id: str) -> Response:
        return await self.endpoint.request(request, self.peers[device_id])

    def ack(self, request: Request, device_id: str) -> None:
        self.endpoint.send_stateless(request, self.peers[device_id])

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait until `predicate()` is true, re-checking whenever a request arrives."""

        async def loop() -> None:
            while not predicate():
                self.arrived.clear()
                await self.arrived.wait()

        await asyncio.wait_for(loop(), timeout)
