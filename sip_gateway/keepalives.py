"""Coalescing keepalives: one database write per device per flush, not one per packet."""

from __future__ import annotations

from typing import Any


class KeepaliveBatch:
    def __init__(self) -> None:
        self._seen: dict[str, dict[str, Any]] = {}

    def __len__(self) -> int:
        return len(self._seen)

    def note(self, device_id: str, *, at: str, host: str, port: int) -> None:
        self._seen[device_id] = {"at": at, "ip": host, "port": port}

    def take(self) -> dict[str, dict[str, Any]]:
        seen, self._seen = self._seen, {}
        return seen
