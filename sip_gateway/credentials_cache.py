"""Device passwords for the registrar, reloaded from the Redis hash the devices app keeps."""

from __future__ import annotations

import logging

import redis.asyncio as aioredis

logger = logging.getLogger(__name__)


class CredentialCache:
    def __init__(self, *, global_password: str, accept_unknown: bool) -> None:
        self.global_password = global_password
        self.accept_unknown = accept_unknown
        self.passwords: dict[str, str] = {}

    def password_for(self, device_id: str) -> str | None:
        """The device's own password, else the platform's; None when unknown devices are refused."""
        if device_id in self.passwords:
            return self.passwords[device_id] or self.global_password
        return self.global_password if self.accept_unknown else None

    async def reload(self, client: aioredis.Redis, redis_key: str) -> None:
        try:
            raw = await client.hgetall(redis_key)
        except Exception as exc:  # keep the last known passwords while Redis is away
            logger.warning("could not reload device credentials: %s", exc)
            return
        self.passwords = {str(k): str(v) for k, v in raw.items()}
