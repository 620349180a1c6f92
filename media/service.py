"""The media worker process: receives RTP from devices and serves HLS and WebSocket fMP4.

Several workers may run on several hosts; each announces its address, RTP port range and load
in Redis so the gateway can pick the least-loaded one.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from gbplatform.heartbeat import MEDIA_WORKER
from gbplatform.service import Service


class MediaWorkerService(Service):
    kind = MEDIA_WORKER

    def __init__(self, instance: str | None = None, *, ports: tuple[int, int] | None = None) -> None:
        super().__init__(instance)
        self.ports = ports or settings.MEDIA_RTP_PORTS
        self.streams: dict[str, Any] = {}

    async def start(self) -> None:
        settings.MEDIA_OUTPUT_DIR.mkdir(parents=True, exist_ok=True)

    def heartbeat_info(self) -> dict[str, Any]:
        low, high = self.ports
        return {
            "address": settings.MEDIA_ADVERTISED_IP,
            "rtp_ports": [low, high],
            "http": settings.MEDIA_HTTP_BIND,
            "streams": len(self.streams),
        }
