"""The WebSocket viewers of one live stream, and the fMP4 fanned out to them.

Each viewer has a bounded queue: one that falls too far behind is ended rather than buffered
without bound. A fragmenter's init segment goes out once, before its first fragment; while a
starting fragmenter is primed with the kept group of pictures its fragments are gathered, for
the caller to send as one message (MSE takes any run of whole fragments in one append).
"""

from __future__ import annotations

import asyncio

VIEWER_QUEUE = 512  # fragments; a viewer further behind than this is disconnected


class Viewer:
    """A WebSocket client's queue of fMP4 fragments; None means the stream ended."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue(VIEWER_QUEUE)
        self.dropped = False

    def offer(self, fragment: bytes | None) -> None:
        if self.dropped:
            return
        try:
            self.queue.put_nowait(fragment)
        except asyncio.QueueFull:
            # Too slow to keep up: end it rather than buffer without bound or skip frames silently.
            self.dropped = True
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(None)


class Fanout:
    """A stream's viewers and what has been sent to all of them."""

    def __init__(self) -> None:
        self.viewers: set[Viewer] = set()
        self.init_sent = False
        """Whether the running fragmenter's init segment has gone out."""
        self._priming: list[bytes] | None = None  # fragments of the kept group while it is written

    def publish(self, init: bytes | None, fragments: list[bytes]) -> None:
        """A fragmenter's output, preceded by its init segment the first time there is one."""
        if not self.init_sent and init is not None:
            self.init_sent = True
            self.offer(init)
        if self._priming is not None:
            self._priming += fragments
            return
        for fragment in fragments:
            self.offer(fragment)

    def priming_start(self) -> None:
        """A fragmenter starts: send its init segment again, and gather its fragments."""
        self.init_sent = False
        self._priming = []

    def priming_end(self) -> list[bytes]:
        """The fragments gathered since priming_start; later ones go out as they come."""
        primed, self._priming = self._priming or [], None
        return primed

    def offer(self, chunk: bytes | None) -> None:
        for viewer in self.viewers:
            viewer.offer(chunk)

    def end(self) -> None:
        """The stream ended: every viewer is told, and forgotten."""
        self.offer(None)
        self.viewers.clear()
