"""A task sink that keeps what the gateway would hand to Celery, for tests about SIP alone."""

from __future__ import annotations

from typing import Any


class RecordingTasks:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def send(self, task: str, /, **kwargs: Any) -> None:
        self.sent.append((task, kwargs))

    def names(self) -> list[str]:
        """Task names without their module, in the order sent."""
        return [name.rsplit(".", 1)[-1] for name, _ in self.sent]

    def named(self, name: str) -> list[dict[str, Any]]:
        """The arguments of every call of one task (given without its module)."""
        return [kwargs for task, kwargs in self.sent if task.rsplit(".", 1)[-1] == name]
