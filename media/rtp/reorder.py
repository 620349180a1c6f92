"""Putting RTP packets back in sequence order, and per-stream receive statistics.

Both are sans-IO: the caller passes arrival times in; nothing here reads a clock.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from media.rtp.packet import RtpPacket

_SEQ_MOD = 0x10000
_SEQ_HALF = 0x8000


def seq_delta(a: int, b: int) -> int:
    """Signed distance from sequence number b to a, taking 16-bit wraparound into account."""
    d = (a - b) & 0xFFFF
    return d - _SEQ_MOD if d >= _SEQ_HALF else d


@dataclass(frozen=True, slots=True)
class Released:
    """A packet handed back in order; `lost_before` packets were given up on just before it."""

    packet: RtpPacket
    lost_before: int = 0


class ReorderBuffer:
    """Holds up to `depth` out-of-order packets and releases them by sequence number.

    A missing packet is waited for until `depth` later packets are queued; then it is counted as
    lost and the queue moves on. Late packets (behind the release point) and duplicates are
    dropped and counted. A jump of more than `max_jump` resets the stream (a camera restart).
    """

    def __init__(self, *, depth: int = 16, max_jump: int = 3000) -> None:
        if depth < 0:
            raise ValueError("depth must be >= 0")
        self.depth = depth
        self.max_jump = max_jump
        self._expected: int | None = None
        self._pending: dict[int, RtpPacket] = {}
        self.lost = 0
        self.late = 0
        self.duplicates = 0
        self.resets = 0

    def next_in_order(self, seq: int) -> bool:
        """Take `seq` at once if it is exactly the one expected and nothing is held back.

        The common case on a clean network; the caller then uses the packet directly, without
        building an RtpPacket or a Released. Returns False when the caller must `push` it instead.
        """
        expected = self._expected
        if self._pending or (expected is not None and seq != expected):
            return False
        self._expected = (seq + 1) & 0xFFFF
        return True

    def push(self, packet: RtpPacket) -> list[Released]:
        seq = packet.sequence
        if self._expected is None:
            self._expected = seq
        delta = seq_delta(seq, self._expected)
        head: list[Released] = []
        if -self.max_jump <= delta < 0:
            self.late += 1
            return []
        if delta > self.max_jump or delta < -self.max_jump:
            head = self.flush()
            self.resets += 1
            self._expected = seq
        if seq in self._pending:
            self.duplicates += 1
            return []
        self._pending[seq] = packet
        return head + self._drain()

    def _drain(self) -> list[Released]:
        out: list[Released] = []
        pending = self._pending
        expected = self._expected if self._expected is not None else 0
        lost = 0
        while pending:
            packet = pending.pop(expected, None)
            if packet is not None:
                out.append(Released(packet, lost))
                lost = 0
                expected = (expected + 1) & 0xFFFF
            elif len(pending) > self.depth:
                base = expected
                nearest = min(pending, key=lambda s: (s - base) & 0xFFFF)
                gap = (nearest - expected) & 0xFFFF
                lost += gap
                self.lost += gap
                expected = nearest
            else:
                break
        self._expected = expected
        return out

    def flush(self) -> list[Released]:
        """Release everything held, counting the holes as lost (end of stream)."""
        out: list[Released] = []
        if self._expected is None:
            return out
        expected: int = self._expected
        base = expected
        for seq in sorted(self._pending, key=lambda s: (s - base) & 0xFFFF):
            gap = (seq - expected) & 0xFFFF
            self.lost += gap
            out.append(Released(self._pending[seq], gap))
            expected = (seq + 1) & 0xFFFF
        self._pending.clear()
        self._expected = expected
        return out


class StreamStats:
    """Counters for one received RTP stream.

    `record` takes the arrival time `now` in seconds; RFC 3550 interarrival jitter is kept in
    timestamp units of `clock_rate`. Bitrate and frame rate are measured over the last `window`
    seconds ending at the `now` the caller passes.
    """

    def __init__(self, *, clock_rate: int = 90000, window: float = 2.0) -> None:
        self.clock_rate = clock_rate
        self.window = window
        self.packets = 0
        self.bytes = 0
        self.lost = 0
        self._jitter = 0.0
        self._last_transit: float | None = None
        self._last_timestamp: int | None = None
        self._recent: deque[tuple[float, int]] = deque()
        self._recent_bytes = 0
        self._frame_at = 0.0
        self._frame_bytes = 0
        self._frames: deque[float] = deque()

    @property
    def jitter(self) -> float:
        """Interarrival jitter in RTP timestamp units (RFC 3550 appendix A.8)."""
        return self._jitter

    def record(self, packet: RtpPacket, now: float, size: int | None = None, lost_before: int = 0) -> None:
        nbytes = size if size is not None else len(packet.payload) + 12
        self.lost += lost_before
        self.count(packet.timestamp, nbytes, now)

    def count(self, timestamp: int, nbytes: int, now: float) -> None:
        """One packet of `nbytes` with RTP `timestamp` arrived at `now` (the per-packet hot path)."""
        self.packets += 1
        self.bytes += nbytes
        transit = now * self.clock_rate - timestamp
        last = self._last_transit
        if last is not None:
            d = transit - last if transit >= last else last - transit
            if d < 0x80000000:
                self._jitter += (d - self._jitter) / 16.0
        self._last_transit = transit
        if timestamp != self._last_timestamp:
            # Byte counts are kept per frame (one RTP timestamp), not per packet.
            if self._frame_bytes:
                self._recent.append((self._frame_at, self._frame_bytes))
                self._recent_bytes += self._frame_bytes
            self._frame_at = now
            self._frame_bytes = 0
            self._frames.append(now)
            self._last_timestamp = timestamp
            self._expire(now)
        self._frame_bytes += nbytes

    def _expire(self, now: float) -> None:
        horizon = now - self.window
        recent = self._recent
        while recent and recent[0][0] <= horizon:
            self._recent_bytes -= recent.popleft()[1]
        frames = self._frames
        while frames and frames[0] <= horizon:
            frames.popleft()

    def bitrate(self, now: float) -> float:
        """Bits per second received over the window ending at `now`."""
        self._expire(now)
        current = self._frame_bytes if self._frame_at > now - self.window else 0
        return (self._recent_bytes + current) * 8 / self.window

    def frame_rate(self, now: float) -> float:
        """Frames (distinct RTP timestamps) per second over the window ending at `now`."""
        self._expire(now)
        return len(self._frames) / self.window
