"""Events from the gateway to WebSocket clients, sent one at a time off the SIP path.

Publishing through the Channels layer costs Redis round trips; a burst (a thousand catalogs
finishing at once) must neither open a connection per event nor slow down SIP. Events queue
here and one task sends them in order; progress events for the same device replace each other
while they wait, so a client sees the latest count, not a backlog.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

logger = logging.getLogger(__name__)

COALESCED = frozenset({"catalog.progress", "device.status"})

Sender = Callable[..., Awaitable[None]]


class EventOutbox:
    def __init__(self, send: Sender, *, limit: int = 10_000) -> None:
        self._send = send
        self._limit = limit
        self._pending: OrderedDict[tuple[Any, ...], tuple[str, dict[str, Any]]] = OrderedDict()
        self._wakeup = asyncio.Event()
        self._serial = 0
        self._closed = False
        self.dropped = 0

    def close(self) -> None:
        """`run` sends what is queued, then returns."""
        self._closed = True
        self._wakeup.set()

    def __len__(self) -> int:
        return len(self._pending)

    async def publish(self, event_type: str, **payload: Any) -> None:
        """Queue an event (never waits on Redis)."""
        if event_type in COALESCED:
            key: tuple[Any, ...] = (event_type, payload.get("device_id"))
            self._pending.pop(key, None)  # the newer one takes the older one's place at the end
        else:
            self._serial += 1
            key = (event_type, self._serial)
        if len(self._pending) >= self._limit:
            self.dropped += 1
            return
        self._pending[key] = (event_type, payload)
        self._wakeup.set()

    async def run(self) -> None:
        while not self._closed:
            await self._wakeup.wait()
            self._wakeup.clear()
            await self.flush()
        await self.flush()

    async def flush(self) -> None:
        while self._pending:
            _, (event_type, payload) = self._pending.popitem(last=False)
            try:
                await self._send(event_type, **payload)
            except Exception as exc:  # the layer logs details; one failure must not stop the rest
                logger.warning("event %s not delivered: %s", event_type, exc)
