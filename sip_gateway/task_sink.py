"""Hands device state to Celery without blocking the SIP event loop.

Publishing a Celery message is blocking network I/O; a single sender thread takes it off the
loop. Tasks are addressed by name, so the gateway never imports the ORM.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any, Protocol

logger = logging.getLogger(__name__)


class TaskSink(Protocol):
    def send(self, task: str, **kwargs: Any) -> None: ...


class CeleryTaskSink:
    def __init__(self, *, max_queue: int = 100_000) -> None:
        self._queue: queue.Queue[tuple[str, dict[str, Any]] | None] = queue.Queue(maxsize=max_queue)
        self._thread = threading.Thread(target=self._run, name="celery-sender", daemon=True)
        self._thread.start()
        self.dropped = 0

    def send(self, task: str, **kwargs: Any) -> None:
        try:
            self._queue.put_nowait((task, kwargs))
        except queue.Full:
            self.dropped += 1
            logger.error("Celery sender queue full: dropped %s", task)

    def _run(self) -> None:
        from gbplatform.celery import app

        while True:
            item = self._queue.get()
            if item is None:
                return
            task, kwargs = item
            try:
                app.send_task(task, kwargs=kwargs)
            except Exception:  # broker down: log, keep going; state is re-sent on the next change
                logger.exception("could not send Celery task %s", task)

    def close(self, timeout: float = 5.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout)
