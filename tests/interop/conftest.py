"""A gateway on loopback for independent SIP stacks to talk to."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from sip_gateway.service import GatewayService
from tests.recording_tasks import RecordingTasks


@pytest.fixture
async def gateway() -> AsyncIterator[GatewayService]:
    service = GatewayService(bind="127.0.0.1", port=0, tasks=RecordingTasks())
    await service.start()
    try:
        yield service
    finally:
        await service.stop()
        await service.redis.aclose()
