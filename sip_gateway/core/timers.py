"""RFC 3261 timer values (17.1.1.1, Table 4) and a deadline queue for the transaction layer.

Nothing here reads a clock: deadlines are absolute times computed from a ``now`` passed in.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class TimerSettings:
    """T1 (RTT estimate), T2 (retransmit cap for non-INVITE and responses), T4 (network lifetime).

    ``invite_proceeding`` bounds an INVITE transaction the RFC would keep open forever (client
    after a provisional, server while the TU has not answered), so a peer that never finishes
    cannot pin memory; it plays the part of a proxy's Timer C.
    """

    t1: float = 0.5
    t2: float = 4.0
    t4: float = 5.0
    invite_proceeding: float = 180.0

    @property
    def timeout(self) -> float:
        """Timers B, F, H, J, L, M: 64*T1."""
        return 64 * self.t1

    @property
    def timer_d(self) -> float:
        """At least 32 s over UDP (RFC 3261 17.1.1.2), longer if T1 was raised."""
        return max(32.0, 64 * self.t1)


class TimerQueue(Generic[T]):
    """Deadlines in a heap, cancelled lazily.

    Cancelling is the caller's business: ``pop_due`` hands each entry to ``is_live`` and drops
    the stale ones. A heap of stale entries would grow with traffic (every answered request
    leaves its retransmit and timeout entries behind), so ``compact`` rebuilds it when it is
    mostly stale.
    """

    __slots__ = ("_heap", "_seq")

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, T, int]] = []
        self._seq = 0

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, deadline: float, item: T, slot: int) -> int:
        """Queue an entry; returns how many entries are queued now."""
        self._seq += 1
        heap = self._heap
        heapq.heappush(heap, (deadline, self._seq, item, slot))
        return len(heap)

    def next_deadline(self, is_live: Callable[[float, T, int], bool]) -> float | None:
        heap = self._heap
        while heap:
            deadline, _, item, slot = heap[0]
            if is_live(deadline, item, slot):
                return deadline
            heapq.heappop(heap)
        return None

    def pop_due(self, now: float, is_live: Callable[[float, T, int], bool]) -> tuple[T, int] | None:
        """The earliest live entry due at ``now`` (removed), or None."""
        heap = self._heap
        while heap and heap[0][0] <= now:
            deadline, _, item, slot = heapq.heappop(heap)
            if is_live(deadline, item, slot):
                return item, slot
        return None

    def compact(self, is_live: Callable[[float, T, int], bool]) -> None:
        self._heap = [entry for entry in self._heap if is_live(entry[0], entry[2], entry[3])]
        heapq.heapify(self._heap)
