"""The only part of the SIP stack that touches sockets: UDP and TCP on one port.

Incoming bytes are handed to `on_message(data, peer)` one datagram or one framed TCP message at a
time; `send(data, peer)` writes to the datagram socket or to the TCP connection of that peer
(reusing the connection a device registered over, opening one when there is none). Limits keep
one broken or hostile peer from stalling the loop: message size and header count (by the framer),
connections per source host, idle connections, and peers that stop reading.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from sip_gateway.core.errors import SipFramingError
from sip_gateway.core.framing import KeepalivePing, MessageFramed, StreamFramer

logger = logging.getLogger(__name__)

Peer = tuple[str, str, int]  # ("udp" | "tcp", host, port)
MessageHandler = Callable[[bytes, Peer], None]
DisconnectHandler = Callable[[Peer], None]


@dataclass(frozen=True)
class TransportLimits:
    max_message_size: int = 64 * 1024
    max_headers: int = 128
    max_connections_per_host: int = 64
    max_connections: int = 50_000
    tcp_idle_timeout: float = 900.0  # GB devices keep TCP up with a keepalive every 60 s
    max_write_buffer: int = 2 * 1024 * 1024
    connect_timeout: float = 5.0


@dataclass
class TransportStats:
    datagrams_in: int = 0
    datagrams_dropped: int = 0
    tcp_messages_in: int = 0
    tcp_connections_refused: int = 0
    tcp_framing_errors: int = 0
    send_failures: int = 0
    counters: Counter[str] = field(default_factory=Counter)


_BLANK = b"\r\n\x00 "  # what a keepalive datagram is made of (b"" is "in" it too: also dropped)


def _host_port(address: Any) -> tuple[str, int]:
    return str(address[0]), int(address[1])


def _enlarge_buffers(udp: asyncio.DatagramTransport, size: int = 4 * 1024 * 1024) -> None:
    """A registration storm arrives faster than one loop iteration drains it; a bigger kernel
    buffer (capped by net.core.rmem_max) turns bursts into queueing instead of loss."""
    sock = udp.get_extra_info("socket")
    if sock is None:
        return
    for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, option, size)


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, owner: SipTransport) -> None:
        self.owner = owner
        self.datagram_received = owner._on_datagram  # type: ignore[method-assign]  # one call less per datagram

    def error_received(self, exc: Exception) -> None:  # ICMP unreachable and the like
        logger.debug("UDP error: %s", exc)


class _TcpConnection(asyncio.Protocol):
    def __init__(self, owner: SipTransport, *, outbound_peer: Peer | None = None) -> None:
        self.owner = owner
        self.transport: asyncio.Transport | None = None
        self.peer: Peer | None = outbound_peer
        self.framer = StreamFramer(
            max_message_size=owner.limits.max_message_size, max_headers=owner.limits.max_headers
        )
        self.last_activity = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport, so no isinstance check here.
        self.transport = cast(asyncio.Transport, transport)
        host, port = _host_port(transport.get_extra_info("peername"))
        self.peer = ("tcp", host, port)
        self.last_activity = self.owner.loop_time()
        if not self.owner._adopt(self):
            self.transport.abort()

    def data_received(self, data: bytes) -> None:
        assert self.peer is not None and self.transport is not None
        self.last_activity = self.owner.loop_time()
        try:
            events = self.framer.feed(data)
        except SipFramingError as exc:
            self.owner.stats.tcp_framing_errors += 1
            logger.warning("closing TCP connection from %s:%d: %s", self.peer[1], self.peer[2], exc.reason)
            self.transport.abort()
            return
        for event in events:
            if isinstance(event, MessageFramed):
                self.owner.stats.tcp_messages_in += 1
                self.owner._deliver(event.data, self.peer)
            elif isinstance(event, KeepalivePing):
                self.transport.write(b"\r\n")

    def connection_lost(self, exc: Exception | None) -> None:
        if self.peer is not None:
            self.owner._forget(self)

    def write(self, data: bytes) -> None:
        assert self.transport is not None
        if self.transport.get_write_buffer_size() > self.owner.limits.max_write_buffer:
            logger.warning("closing TCP connection to %s:%d: the peer stopped reading", *(self.peer or ("", "?", 0))[1:])
            self.transport.abort()
            return
        self.transport.write(data)
        self.last_activity = self.owner.loop_time()


class SipTransport:
    """UDP and TCP listeners on one port, plus the table of open TCP connections."""

    def __init__(
        self,
        on_message: MessageHandler,
        *,
        on_disconnect: DisconnectHandler | None = None,
        limits: TransportLimits | None = None,
    ) -> None:
        self.on_message = on_message
        self.on_disconnect = on_disconnect
        self.limits = limits or TransportLimits()
        self.stats = TransportStats()
        self.port = 0
        self.host = ""
        self._udp: asyncio.DatagramTransport | None = None
        self._server: asyncio.Server | None = None
        self._connections: dict[tuple[str, int], _TcpConnection] = {}
        self._per_host: Counter[str] = Counter()
        self._pending: dict[tuple[str, int], list[bytes]] = defaultdict(list)
        self._sweeper: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def loop_time(self) -> float:
        return self._loop.time() if self._loop is not None else 0.0

    async def listen(self, host: str, port: int) -> int:
        """Listen on UDP and TCP; port 0 picks a free port usable by both."""
        self._loop = asyncio.get_running_loop()
        for _attempt in range(20):
            udp, _ = await self._loop.create_datagram_endpoint(lambda: _Datagrams(self), local_addr=(host, port))
            _enlarge_buffers(udp)
            chosen = _host_port(udp.get_extra_info("sockname"))[1]
            try:
                self._server = await self._loop.create_server(lambda: _TcpConnection(self), host, chosen)
            except OSError:
                udp.close()
                if port:
                    raise
                continue
            self._udp, self.host, self.port = udp, host, chosen
            self._sweeper = asyncio.create_task(self._sweep_idle())
            return chosen
        raise OSError("could not find a port free for both UDP and TCP")

    @property
    def connection_count(self) -> int:
        return len(self._connections)

    def _on_datagram(self, data: bytes, addr: Any) -> None:
        stats = self.stats
        stats.datagrams_in += 1
        if len(data) > self.limits.max_message_size or (data[:1] in _BLANK and not data.strip(_BLANK)):
            stats.datagrams_dropped += 1  # oversize, or a CRLF/NUL keepalive some devices send
            return
        host, port = addr[0], addr[1]
        if type(host) is not str or type(port) is not int:
            host, port = _host_port(addr)
        try:
            self.on_message(data, ("udp", host, port))
        except Exception:  # the application's bug must not take the socket down with it
            logger.exception("handler failed on a message from %s:%d", host, port)

    def _deliver(self, data: bytes, peer: Peer) -> None:
        try:
            self.on_message(data, peer)
        except Exception:  # the application's bug must not take the socket down with it
            logger.exception("handler failed on a message from %s:%d", peer[1], peer[2])

    def _adopt(self, connection: _TcpConnection) -> bool:
        assert connection.peer is not None
        _, host, port = connection.peer
        if (
            self._per_host[host] >= self.limits.max_connections_per_host
            or len(self._connections) >= self.limits.max_connections
        ):
            self.stats.tcp_connections_refused += 1
            logger.warning("refusing TCP connection from %s:%d: too many connections", host, port)
            connection.peer = None
            return False
        self._connections[(host, port)] = connection
        self._per_host[host] += 1
        return True

    def _forget(self, connection: _TcpConnection) -> None:
        assert connection.peer is not None
        _, host, port = connection.peer
        if self._connections.get((host, port)) is connection:
            del self._connections[(host, port)]
            self._per_host[host] -= 1
            if self._per_host[host] <= 0:
                del self._per_host[host]
            if self.on_disconnect is not None:
                self.on_disconnect(connection.peer)

    def send(self, data: bytes, peer: Peer) -> None:
        kind, host, port = peer
        if kind == "udp":
            if self._udp is None:
                self.stats.send_failures += 1
                return
            self._udp.sendto(data, (host, port))
            return
        connection = self._connections.get((host, port))
        if connection is not None:
            connection.write(data)
            return
        queued = self._pending[(host, port)]
        queued.append(data)
        if len(queued) == 1:
            asyncio.get_running_loop().create_task(self._connect(host, port))

    async def _connect(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        peer: Peer = ("tcp", host, port)
        try:
            _, protocol = await asyncio.wait_for(
                loop.create_connection(lambda: _TcpConnection(self, outbound_peer=peer), host, port),
                timeout=self.limits.connect_timeout,
            )
        except (OSError, TimeoutError) as exc:
            self.stats.send_failures += len(self._pending.pop((host, port), []))
            logger.info("could not connect over TCP to %s:%d: %s", host, port, exc)
            if self.on_disconnect is not None:
                self.on_disconnect(peer)
            return
        for data in self._pending.pop((host, port), []):
            protocol.write(data)

    async def _sweep_idle(self) -> None:
        interval = min(max(self.limits.tcp_idle_timeout / 4, 0.05), 30.0)
        while True:
            await asyncio.sleep(interval)
            deadline = self.loop_time() - self.limits.tcp_idle_timeout
            for connection in [c for c in self._connections.values() if c.last_activity < deadline]:
                if connection.transport is not None:
                    connection.transport.close()

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        if self._udp is not None:
            self._udp.close()
        for connection in list(self._connections.values()):
            if connection.transport is not None:
                connection.transport.abort()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
