"""Request/reply commands between processes over Redis.

The web tier never imports the gateway: it pushes a command onto the gateway's Redis list and
waits on a reply list named after a correlation id. A missing reply within the timeout is reported
as "the gateway is not answering", which is what a user needs to know. The same mechanism reaches
a specific media worker through its own list.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import redis
import redis.asyncio as aioredis

from .redis_client import key

logger = logging.getLogger(__name__)

REPLY_TTL_SECONDS = 60


class BusError(RuntimeError):
    """A command could not be delivered or answered."""


class BusTimeout(BusError):
    pass


class CommandFailed(BusError):
    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def queue_key(target: str) -> str:
    return key("bus", target)


def reply_key(request_id: str) -> str:
    return key("bus", "reply", request_id)


def encode_request(command: str, args: dict[str, Any]) -> tuple[str, str]:
    request_id = uuid.uuid4().hex
    return request_id, json.dumps({"id": request_id, "command": command, "args": args})


def _text(raw: bytes | str) -> str:
    return raw if isinstance(raw, str) else raw.decode("utf-8", "replace")


def decode_reply(raw: bytes | str, target: str, command: str) -> dict[str, Any]:
    reply = json.loads(_text(raw))
    if not reply.get("ok"):
        raise CommandFailed(reply.get("error") or f"{target} refused {command}", status=reply.get("status"))
    result = reply.get("result")
    return result if isinstance(result, dict) else {"result": result}


def bus_request(
    client: redis.Redis, target: str, command: str, args: dict[str, Any] | None = None, *, timeout: float = 5.0
) -> dict[str, Any]:
    """Send a command and wait for its reply (blocking; for the web tier and Celery)."""
    request_id, payload = encode_request(command, args or {})
    try:
        client.rpush(queue_key(target), payload)
        client.expire(queue_key(target), REPLY_TTL_SECONDS)
        answer = client.blpop([reply_key(request_id)], timeout=max(timeout, 0.01))
    except redis.RedisError as exc:
        raise BusError(f"Redis is unavailable: {exc}") from exc
    if answer is None:
        client.lrem(queue_key(target), 1, payload)  # do not let a late consumer act on a stale request
        raise BusTimeout(f"{target} did not answer {command!r} within {timeout:g} s: is it running?")
    return decode_reply(answer[1], target, command)


async def bus_request_async(
    client: aioredis.Redis, target: str, command: str, args: dict[str, Any] | None = None, *, timeout: float = 5.0
) -> dict[str, Any]:
    request_id, payload = encode_request(command, args or {})
    try:
        await client.rpush(queue_key(target), payload)
        await client.expire(queue_key(target), REPLY_TTL_SECONDS)
        answer = await client.blpop([reply_key(request_id)], timeout=max(timeout, 0.01))
    except redis.RedisError as exc:
        raise BusError(f"Redis is unavailable: {exc}") from exc
    if answer is None:
        await client.lrem(queue_key(target), 1, payload)
        raise BusTimeout(f"{target} did not answer {command!r} within {timeout:g} s: is it running?")
    return decode_reply(answer[1], target, command)


Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


class BusServer:
    """Serves commands from one Redis list; each handler returns a dict or raises CommandFailed."""

    def __init__(self, client: aioredis.Redis, target: str, handlers: dict[str, Handler]) -> None:
        self.client = client
        self.target = target
        self.handlers = handlers

    async def serve_one(self, *, wait: float = 1.0) -> bool:
        """Take at most one command from the queue and answer it; False when none came."""
        item = await self.client.blpop([queue_key(self.target)], timeout=wait)
        if item is None:
            return False
        await self.answer(item[1])
        return True

    async def answer(self, raw: bytes | str) -> None:
        try:
            request = json.loads(_text(raw))
            request_id = str(request["id"])
            command = str(request["command"])
            args = request.get("args") or {}
        except (ValueError, KeyError, TypeError):
            logger.warning("bus %s: dropped a malformed request: %.200r", self.target, raw)
            return
        handler = self.handlers.get(command)
        reply: dict[str, Any]
        if handler is None:
            reply = {"ok": False, "error": f"unknown command {command!r}"}
        else:
            try:
                reply = {"ok": True, "result": await handler(args)}
            except CommandFailed as exc:
                reply = {"ok": False, "error": str(exc), "status": exc.status}
            except Exception as exc:  # a handler bug must not kill the serving loop
                logger.exception("bus %s: command %s failed", self.target, command)
                reply = {"ok": False, "error": f"{command} failed: {exc.__class__.__name__}"}
        await self.client.rpush(reply_key(request_id), json.dumps(reply))
        await self.client.expire(reply_key(request_id), REPLY_TTL_SECONDS)
