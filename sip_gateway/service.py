"""The SIP gateway process: listens on UDP and TCP, answers devices, and hands state to Celery."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from django.conf import settings

from gbplatform.heartbeat import GATEWAY
from gbplatform.service import Service

logger = logging.getLogger(__name__)


class _DatagramSink(asyncio.DatagramProtocol):
    def __init__(self, gateway: GatewayService) -> None:
        self.gateway = gateway

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self.gateway.datagrams_received += 1


class GatewayService(Service):
    kind = GATEWAY

    def __init__(self, instance: str | None = None, *, bind: str | None = None, port: int | None = None) -> None:
        super().__init__(instance)
        self.bind = bind or settings.SIP_BIND
        self.port = settings.SIP_PORT if port is None else port
        self.udp: asyncio.DatagramTransport | None = None
        self.tcp: asyncio.Server | None = None
        self.datagrams_received = 0

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.udp, _ = await loop.create_datagram_endpoint(
            lambda: _DatagramSink(self), local_addr=(self.bind, self.port)
        )
        self.port = self.udp.get_extra_info("sockname")[1]
        self.tcp = await asyncio.start_server(self._on_tcp, self.bind, self.port)
        logger.info(
            "SIP gateway %s listening on %s:%d (UDP and TCP), domain %s, advertised as %s",
            settings.SIP_ID,
            self.bind,
            self.port,
            settings.SIP_DOMAIN,
            settings.SIP_ADVERTISED_IP,
        )
        logger.info("device password (SIP_PASSWORD) in use: %s", settings.SIP_PASSWORD)

    async def _on_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    async def stop(self) -> None:
        if self.udp is not None:
            self.udp.close()
        if self.tcp is not None:
            self.tcp.close()
            await self.tcp.wait_closed()

    def heartbeat_info(self) -> dict[str, Any]:
        return {
            "sip_id": settings.SIP_ID,
            "address": settings.SIP_ADVERTISED_IP,
            "port": self.port,
        }
