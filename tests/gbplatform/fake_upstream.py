"""A scripted HTTP server on loopback for the proxy's tests: it records each request's head and
answers with the pieces it is given, waiting where a piece is an asyncio.Event, closing after."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

Piece = bytes | asyncio.Event


@dataclass
class FakeUpstream:
    port: int
    requests: list[bytes] = field(default_factory=list)  # each request's head, as received
    served: asyncio.Event = field(default_factory=asyncio.Event)  # the last piece went out

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@asynccontextmanager
async def fake_upstream(script: Sequence[Piece]) -> AsyncIterator[FakeUpstream]:
    upstream = FakeUpstream(0)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream.requests.append(await reader.readuntil(b"\r\n\r\n"))
            for piece in script:
                if isinstance(piece, asyncio.Event):
                    await piece.wait()
                else:
                    writer.write(piece)
                    await writer.drain()
            upstream.served.set()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    upstream.port = server.sockets[0].getsockname()[1]
    try:
        yield upstream
    finally:
        server.close()
