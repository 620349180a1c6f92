"""One HTTP/1.1 request to an upstream server (a media worker), its body read as it arrives.

h11 keeps the protocol state; this module only moves bytes between it and an asyncio stream. One
connection per request (`Connection: close`): the upstream is a worker on the same network, and a
player's few requests a second do not need a pool.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field

import h11

READ_SIZE = 64 * 1024


class UpstreamError(Exception):
    """The upstream answered something that is not HTTP/1.1, or broke off mid-answer."""


class UpstreamUnreachable(UpstreamError):
    """No connection: refused, no route, name unknown, or no answer to the connect in time."""


class UpstreamTimeout(UpstreamError):
    """Connected, but the upstream stayed silent for longer than the read timeout."""


def host_header(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass(slots=True)
class UpstreamResponse:
    status: int
    headers: list[tuple[bytes, bytes]]  # names lower-cased, as h11 gives them
    _conn: h11.Connection = field(repr=False)
    _reader: asyncio.StreamReader = field(repr=False)
    _read_timeout: float = field(repr=False)

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body, piece by piece as the socket delivers it."""
        while True:
            event = await _next_event(self._conn, self._reader, self._read_timeout)
            if isinstance(event, h11.Data):
                yield bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                return
            else:
                raise UpstreamError(f"unexpected {type(event).__name__} in the response body")


async def _next_event(conn: h11.Connection, reader: asyncio.StreamReader, timeout: float) -> h11.Event:
    try:
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                try:
                    data = await asyncio.wait_for(reader.read(READ_SIZE), timeout)
                except TimeoutError as exc:
                    raise UpstreamTimeout(f"no data from upstream for {timeout:g} s") from exc
                conn.receive_data(data)  # b"" is the end of the stream
                continue
            if event is h11.PAUSED or isinstance(event, h11.ConnectionClosed):
                raise UpstreamError("upstream closed the connection before answering")
            assert isinstance(event, h11.Event)
            return event
    except h11.RemoteProtocolError as exc:
        raise UpstreamError(f"invalid HTTP from upstream: {exc}") from exc
    except OSError as exc:
        raise UpstreamError(f"upstream connection failed: {exc}") from exc


@contextlib.asynccontextmanager
async def upstream_request(
    *,
    host: str,
    port: int,
    method: str,
    target: str,
    headers: Iterable[tuple[bytes, bytes]] = (),
    connect_timeout: float = 5.0,
    read_timeout: float = 15.0,
) -> AsyncIterator[UpstreamResponse]:
    """Send a body-less request and yield the response once its head has arrived; the connection
    closes when the block ends, read to the end or not."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), connect_timeout)
    except (OSError, TimeoutError) as exc:
        raise UpstreamUnreachable(f"cannot connect to {host_header(host, port)}: {exc or 'timed out'}") from exc
    try:
        conn = h11.Connection(h11.CLIENT)
        request = h11.Request(
            method=method,
            target=target,
            headers=[(b"host", host_header(host, port).encode()), (b"connection", b"close"), *headers],
        )
        writer.write(conn.send(request) or b"")
        writer.write(conn.send(h11.EndOfMessage()) or b"")
        try:
            await writer.drain()
        except OSError as exc:
            raise UpstreamError(f"upstream connection failed: {exc}") from exc
        while True:
            event = await _next_event(conn, reader, read_timeout)
            if isinstance(event, h11.InformationalResponse):
                continue
            if not isinstance(event, h11.Response):
                raise UpstreamError(f"unexpected {type(event).__name__} instead of a response")
            break
        yield UpstreamResponse(event.status_code, list(event.headers), conn, reader, read_timeout)
    finally:
        writer.close()
