"""The socket side of RTP reception: UDP, TCP passive (we listen) and TCP active (we connect).

Each receiver only moves bytes: a UDP datagram is one RTP packet; a TCP stream goes through the
RFC 4571 framer. Packets go to a `sink(packet, now)`, normally `LiveStream.receive`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Callable
from typing import Any, cast

from media.rtp.framing import TcpFramer

logger = logging.getLogger(__name__)

Sink = Callable[[bytes, float], None]
Clock = Callable[[], float]


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, sink: Sink, clock: Clock) -> None:
        self.sink = sink
        self.clock = clock

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.sink(data, self.clock())


class _TcpProtocol(asyncio.Protocol):
    def __init__(self, sink: Sink, clock: Clock, on_lost: Callable[[], None] | None = None) -> None:
        self.sink = sink
        self.clock = clock
        self.framer = TcpFramer()
        self.on_lost = on_lost
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses

    def data_received(self, data: bytes) -> None:
        now = self.clock()
        for packet in self.framer.feed(data):
            self.sink(packet, now)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.on_lost is not None:
            self.on_lost()


class Receiver:
    """A running receiver; `close()` releases its socket."""

    def close(self) -> None:
        raise NotImplementedError


class UdpReceiver(Receiver):
    def __init__(self, transport: asyncio.DatagramTransport) -> None:
        self.transport = transport

    def close(self) -> None:
        self.transport.close()


async def udp_receive(host: str, port: int, sink: Sink, *, clock: Clock = time.monotonic) -> UdpReceiver:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: _UdpProtocol(sink, clock), local_addr=(host, port)
    )
    sock = transport.get_extra_info("socket")
    if sock is not None:
        # A burst of 4 Mbit/s video must not overflow the default buffer between two loop turns.
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
    return UdpReceiver(transport)


class TcpPassiveReceiver(Receiver):
    """Listens on the reserved port; the device connects (a=setup:passive on our side).

    A new connection replaces the previous one: a device that reconnects keeps streaming.
    """

    def __init__(self, sink: Sink, clock: Clock) -> None:
        self.sink = sink
        self.clock = clock
        self.server: asyncio.base_events.Server | None = None
        self.current: _TcpProtocol | None = None
        self.connections = 0

    def _protocol(self) -> _TcpProtocol:
        if self.current is not None and self.current.transport is not None:
            self.current.transport.close()
        self.connections += 1
        self.current = _TcpProtocol(self.sink, self.clock)
        return self.current

    def close(self) -> None:
        if self.current is not None and self.current.transport is not None:
            self.current.transport.close()
        if self.server is not None:
            self.server.close()


async def tcp_passive_receive(
    host: str, port: int, sink: Sink, *, clock: Clock = time.monotonic
) -> TcpPassiveReceiver:
    receiver = TcpPassiveReceiver(sink, clock)
    loop = asyncio.get_running_loop()
    receiver.server = await loop.create_server(receiver._protocol, host, port, reuse_address=True)
    return receiver


class TcpActiveReceiver(Receiver):
    """Connects to the device's port (a=setup:active on our side), retrying until `deadline`.

    The device may answer the INVITE before it listens, so refused connections are retried.
    """

    def __init__(self, sink: Sink, clock: Clock) -> None:
        self.sink = sink
        self.clock = clock
        self.protocol: _TcpProtocol | None = None
        self.task: asyncio.Task[None] | None = None
        self.error: str | None = None

    async def _connect(self, host: str, port: int, timeout: float, retry: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            try:
                _, protocol = await asyncio.wait_for(
                    loop.create_connection(lambda: _TcpProtocol(self.sink, self.clock), host, port),
                    timeout=max(deadline - loop.time(), 0.01),
                )
                self.protocol = protocol
                return
            except (OSError, TimeoutError) as exc:
                if loop.time() + retry >= deadline:
                    self.error = f"cannot connect to {host}:{port}: {exc}"
                    logger.warning("tcp-active: %s", self.error)
                    return
                await asyncio.sleep(retry)

    def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
        if self.protocol is not None and self.protocol.transport is not None:
            self.protocol.transport.close()


def tcp_active_receive(
    host: str,
    port: int,
    sink: Sink,
    *,
    clock: Clock = time.monotonic,
    timeout: float = 10.0,
    retry: float = 0.2,
) -> TcpActiveReceiver:
    """Start connecting in the background and return at once."""
    receiver = TcpActiveReceiver(sink, clock)
    receiver.task = asyncio.get_running_loop().create_task(receiver._connect(host, port, timeout, retry))
    return receiver
