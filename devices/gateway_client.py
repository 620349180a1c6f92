"""The web tier's way to ask the SIP gateway for something: a command over Redis."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from gbplatform.bus import BusError, BusTimeout, CommandFailed, bus_request
from gbplatform.redis_client import get_redis

GATEWAY = "gateway"

__all__ = ["BusError", "BusTimeout", "CommandFailed", "gateway_command"]


def gateway_command(command: str, timeout: float | None = None, **args: Any) -> dict[str, Any]:
    wait = settings.GATEWAY_COMMAND_TIMEOUT if timeout is None else timeout
    return bus_request(get_redis(), GATEWAY, command, args, timeout=wait)
