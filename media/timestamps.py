"""Turning camera timestamps into what muxers accept: rebased and strictly increasing.

PS timestamps are 33-bit 90 kHz values that wrap every 26.5 hours, and cameras repeat or step
back a DTS now and then (a restart, a bug). Muxers reject a non-increasing DTS, so each stream's
timestamps go through a `Timeline` first.
"""

from __future__ import annotations

WRAP = 1 << 33
_HALF = WRAP >> 1
DEFAULT_STEP = 3600  # one frame at 25 fps, in 90 kHz ticks


def _signed(delta: int) -> int:
    delta %= WRAP
    return delta - WRAP if delta >= _HALF else delta


class Timeline:
    """Maps camera (pts, dts) to output time starting at 0 with a strictly increasing DTS.

    Each frame advances by its DTS difference from the previous frame (across the 33-bit wrap).
    A difference that is not positive, or larger than `max_gap` ticks (a new time base), is
    replaced by the last good frame interval and counted in `fixed`.
    """

    def __init__(self, *, max_gap: int = 10 * 90000) -> None:
        self.max_gap = max_gap
        self.fixed = 0
        self._last_raw: int | None = None
        self._dts = 0
        self._step = DEFAULT_STEP

    def map(self, pts: int, dts: int) -> tuple[int, int]:
        if self._last_raw is not None:
            delta = _signed(dts - self._last_raw)
            if 0 < delta <= self.max_gap:
                self._step = delta
            else:
                delta = self._step
                self.fixed += 1
            self._dts += delta
        self._last_raw = dts
        cts = _signed(pts - dts)
        if not 0 <= cts <= self.max_gap:
            cts = 0
        return self._dts + cts, self._dts

    def follow(self, raw: int) -> int:
        """Where a timestamp of another stream on the same camera clock (audio beside video)
        falls on this timeline: relative to the latest frame mapped, 0 before any."""
        if self._last_raw is None:
            return 0
        return self._dts + _signed(raw - self._last_raw)
