"""RTP port reservation over the worker's configured range.

Only even ports are handed out (RTP on even, RTCP on the odd one above, RFC 3550 section 11), and
a released port goes to the back of the queue so a late packet of a closed stream does not land in
the next stream opened.
"""

from __future__ import annotations

from collections import deque


class NoFreePort(RuntimeError):
    """Every RTP port of the range is in use."""


class PortAllocator:
    def __init__(self, low: int, high: int) -> None:
        if low > high:
            raise ValueError(f"empty port range {low}-{high}")
        first = low + (low & 1)
        self.low = low
        self.high = high
        self._free: deque[int] = deque(range(first, high + 1, 2))
        self._used: set[int] = set()

    @property
    def capacity(self) -> int:
        return len(self._free) + len(self._used)

    @property
    def in_use(self) -> int:
        return len(self._used)

    def reserve(self) -> int:
        if not self._free:
            raise NoFreePort(f"no free RTP port in {self.low}-{self.high} ({len(self._used)} in use)")
        port = self._free.popleft()
        self._used.add(port)
        return port

    def release(self, port: int) -> None:
        if port in self._used:
            self._used.remove(port)
            self._free.append(port)
