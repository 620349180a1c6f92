"""A gateway on loopback for independent SIP stacks to talk to."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from sip_gateway.service import GatewayService


class RecordingTasks:
    """Keeps the Celery tasks the gateway would send: these tests are about SIP, not storage."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def send(self, task: str, /, **kwargs: Any) -> None:
        self.sent.append((task, kwargs))

    def names(self) -> list[str]:
        return [name.rsplit(".", 1)[-1] for name, _ in self.sent]


@pytest.fixture
async def gateway() -> AsyncIterator[GatewayService]:
    service = GatewayService(bind="127.0.0.1", port=0, tasks=RecordingTasks())
    await service.start()
    try:
        yield service
    finally:
        await service.stop()
        await service.redis.aclose()
