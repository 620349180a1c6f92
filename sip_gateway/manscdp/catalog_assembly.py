"""Reassemble multi-message Catalog and RecordInfo answers.

A device answers one query with many MESSAGEs sharing the query's SN, each carrying the
total in SumNum. Devices send one item per message, leave out `Num`, repeat items, send
them out of order and sometimes change SumNum halfway; some never reach the sum. Items are
keyed (DeviceID for catalogs), so a repeat replaces the earlier copy instead of counting
twice, and every assembly has a deadline after which what arrived is handed over marked
incomplete. Time is passed in as `now` (seconds, any monotonic origin).

A large answer can also be handed over while it arrives: `take_fresh` gives the items that
arrived (or were replaced) since it was last called, and the finished assembly's `fresh` holds
the ones never taken.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Protocol, TypeVar

from .messages import CatalogItem, RecordItem

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_ITEMS = 200_000
DEFAULT_MAX_PENDING = 256


class _MultiPart(Protocol[T_co]):
    @property
    def device_id(self) -> str | None: ...
    @property
    def sn(self) -> int | None: ...
    @property
    def sum_num(self) -> int | None: ...
    @property
    def items(self) -> tuple[T_co, ...]: ...


@dataclass(frozen=True, slots=True)
class Assembled(Generic[T]):
    """A finished assembly: complete when SumNum was reached, else what arrived in time."""

    device_id: str
    sn: int
    items: tuple[T, ...]
    sum_num: int | None
    complete: bool
    overflowed: bool = False
    fresh: tuple[T, ...] = ()  # the items `take_fresh` never gave out

    @property
    def received(self) -> int:
        return len(self.items)


@dataclass(frozen=True, slots=True)
class Progress:
    received: int
    total: int | None
    deadline: float
    fresh: int = 0  # items not yet given out by `take_fresh`


class _Pending(Generic[T]):
    __slots__ = ("deadline", "fresh", "items", "overflowed", "sum_num")

    def __init__(self, deadline: float) -> None:
        self.items: dict[Hashable, T] = {}
        self.fresh: dict[Hashable, T] = {}
        self.sum_num: int | None = None
        self.deadline = deadline
        self.overflowed = False


class ResponseAssembler(Generic[T]):
    """Collects the parts of multi-message answers, keyed by (DeviceID, SN)."""

    def __init__(
        self,
        key_of: Callable[[T], Hashable],
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_items: int = DEFAULT_MAX_ITEMS,
        max_pending: int = DEFAULT_MAX_PENDING,
    ) -> None:
        if timeout <= 0 or max_items < 1 or max_pending < 1:
            raise ValueError("timeout, max_items and max_pending must be positive")
        self._key_of = key_of
        self._timeout = timeout
        self._max_items = max_items
        self._max_pending = max_pending
        self._pending: dict[tuple[str, int], _Pending[T]] = {}
        self._evicted: list[Assembled[T]] = []
        # Parts that straggle in after an assembly finished must not start a new one.
        self._finished: dict[tuple[str, int], float] = {}

    def expect(self, device_id: str, sn: int, now: float) -> None:
        """Register a query just sent, so a device that never answers still times out."""
        self._finished.pop((device_id, sn), None)
        self._get(device_id, sn, now)

    def feed(self, message: _MultiPart[T], now: float) -> Assembled[T] | None:
        """Add one part; returns the finished assembly once SumNum items have arrived."""
        if message.device_id is None or message.sn is None:
            return None
        key = (message.device_id, message.sn)
        if key in self._finished:
            if self._finished[key] > now:
                return None
            del self._finished[key]
        pending = self._get(message.device_id, message.sn, now)
        pending.deadline = now + self._timeout  # each part proves the device is still sending
        if message.sum_num is not None and message.sum_num >= 0:
            pending.sum_num = message.sum_num
        for item in message.items:
            item_key = self._key_of(item)
            if item_key in pending.items or len(pending.items) < self._max_items:
                pending.items[item_key] = item
                pending.fresh[item_key] = item
            else:
                pending.overflowed = True
        if pending.sum_num is not None and len(pending.items) >= pending.sum_num:
            del self._pending[key]
            self._remember_finished(key, now)
            return self._finish(key, pending, complete=True)
        return None

    def _remember_finished(self, key: tuple[str, int], now: float) -> None:
        if len(self._finished) >= self._max_pending * 4:
            for old in [k for k, until in self._finished.items() if until <= now] or [
                next(iter(self._finished))
            ]:
                del self._finished[old]
        self._finished[key] = now + self._timeout

    def progress(self, device_id: str, sn: int) -> Progress | None:
        pending = self._pending.get((device_id, sn))
        if pending is None:
            return None
        return Progress(
            received=len(pending.items), total=pending.sum_num, deadline=pending.deadline, fresh=len(pending.fresh)
        )

    def take_fresh(self, device_id: str, sn: int) -> tuple[T, ...]:
        """The items of an unfinished assembly that arrived, or were replaced by a repeat, since
        the last call; a repeat of an item given out already is given out again."""
        pending = self._pending.get((device_id, sn))
        if pending is None or not pending.fresh:
            return ()
        fresh, pending.fresh = tuple(pending.fresh.values()), {}
        return fresh

    def next_deadline(self) -> float | None:
        if self._evicted:
            return float("-inf")
        return min((p.deadline for p in self._pending.values()), default=None)

    def expire(self, now: float) -> list[Assembled[T]]:
        """Hand over every assembly whose deadline has passed, marked incomplete."""
        out, self._evicted = self._evicted, []
        for key in [k for k, p in self._pending.items() if p.deadline <= now]:
            self._remember_finished(key, now)
            out.append(self._finish(key, self._pending.pop(key), complete=False))
        return out

    def __len__(self) -> int:
        return len(self._pending)

    def _get(self, device_id: str, sn: int, now: float) -> _Pending[T]:
        key = (device_id, sn)
        pending = self._pending.get(key)
        if pending is None:
            if len(self._pending) >= self._max_pending:
                oldest = min(self._pending, key=lambda k: self._pending[k].deadline)
                self._evicted.append(self._finish(oldest, self._pending.pop(oldest), complete=False))
            pending = _Pending(now + self._timeout)
            self._pending[key] = pending
        return pending

    @staticmethod
    def _finish(key: tuple[str, int], pending: _Pending[T], *, complete: bool) -> Assembled[T]:
        return Assembled(
            device_id=key[0],
            sn=key[1],
            items=tuple(pending.items.values()),
            sum_num=pending.sum_num,
            complete=complete,
            overflowed=pending.overflowed,
            fresh=tuple(pending.fresh.values()),
        )


def _catalog_key(item: CatalogItem) -> Hashable:
    return item.device_id


def _record_key(item: RecordItem) -> Hashable:
    # Same recording reported twice = same channel and time span (file paths vary by vendor).
    start: datetime | None = item.start_time
    end: datetime | None = item.end_time
    if start is None and end is None:
        return (item.device_id, item.file_path)
    return (item.device_id, start, end)


class CatalogAssembler(ResponseAssembler[CatalogItem]):
    """Catalog answers; a repeated DeviceID replaces the earlier copy."""

    def __init__(
        self,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_items: int = DEFAULT_MAX_ITEMS,
        max_pending: int = DEFAULT_MAX_PENDING,
    ) -> None:
        super().__init__(_catalog_key, timeout=timeout, max_items=max_items, max_pending=max_pending)


class RecordInfoAssembler(ResponseAssembler[RecordItem]):
    """RecordInfo answers; a recording repeated with the same span is counted once."""

    def __init__(
        self,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_items: int = DEFAULT_MAX_ITEMS,
        max_pending: int = DEFAULT_MAX_PENDING,
    ) -> None:
        super().__init__(_record_key, timeout=timeout, max_items=max_items, max_pending=max_pending)
