"""Device passwords as the SIP gateway sees them: a Redis hash it reloads periodically.

The gateway never reads the database; these functions keep the hash in step with the Device
table (an empty value means "use SIP_PASSWORD").
"""

from __future__ import annotations

import logging
from typing import Any

from gbplatform.redis_client import get_redis, key

from .models import Device

logger = logging.getLogger(__name__)


def credentials_key() -> str:
    return key("device", "credentials")


def credential_set(*, device_id: str, password: str) -> None:
    try:
        get_redis().hset(credentials_key(), device_id, password)
    except Exception:
        logger.exception("could not publish the credentials of %s", device_id)


def credentials_set_many(passwords: dict[str, str]) -> None:
    if not passwords:
        return
    try:
        get_redis().hset(credentials_key(), mapping=dict(passwords))  # type: ignore[arg-type]
    except Exception:
        logger.exception("could not publish the credentials of %d devices", len(passwords))


def credential_remove(*, device_id: str) -> None:
    try:
        get_redis().hdel(credentials_key(), device_id)
    except Exception:
        logger.exception("could not remove the credentials of %s", device_id)


def credentials_publish_all() -> int:
    """Rewrite the whole hash from the database; returns the number of devices."""
    rows: dict[Any, Any] = dict(Device.objects.values_list("device_id", "password"))
    client = get_redis()
    staging = credentials_key() + ":new"
    pipe = client.pipeline()
    pipe.delete(staging)
    if rows:
        pipe.hset(staging, mapping=rows)
        pipe.rename(staging, credentials_key())
    else:
        pipe.delete(credentials_key())
    pipe.execute()
    return len(rows)
