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

BATCH_TASK = "devices.tasks.run_batch"
BATCH_LIMIT = 500


class TaskSink(Protocol):
    def send(self, task: str, /, **kwargs: Any) -> None: ...


class CeleryTaskSink:
    def __init__(self, *, max_queue: int = 100_000) -> None:
        self._queue: queue.Queue[tuple[str, dict[str, Any]] | None] = queue.Queue(maxsize=max_queue)
        self._thread = threading.Thread(target=self._run, name="celery-sender", daemon=True)
        self._thread.start()
        self.dropped = 0

    def send(self, task: str, /, **kwargs: Any) -> None:
        try:
            self._queue.put_nowait((task, kwargs))
        except queue.Full:
            self.dropped += 1
            logger.error("Celery sender queue full: dropped %s", task)

    def _run(self) -> None:
        from gbplatform.celery import app

        while True:
            calls = [self._queue.get()]
            # Whatever queued up meanwhile goes in the same Celery message: under a registration
            # storm one publish carries hundreds of calls; at rest each call goes alone.
            while len(calls) < BATCH_LIMIT:
                try:
                    calls.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stop = None in calls
            batch = [call for call in calls if call is not None]
            try:
                if len(batch) == 1:
                    app.send_task(batch[0][0], kwargs=batch[0][1])
                elif batch:
                    app.send_task(BATCH_TASK, kwargs={"calls": [[task, kwargs] for task, kwargs in batch]})
            except Exception:  # broker down: log, keep going; state is re-sent on the next change
                logger.exception("could not send %d Celery task(s)", len(batch))
            if stop:
                return

    def close(self, timeout: float = 5.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout)
