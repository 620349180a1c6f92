"""A minimal GB device for gateway tests, built on our own SIP endpoint.

It registers with digest auth, sends keepalives, and answers Catalog and DeviceInfo queries
with the MANSCDP builders (one item per message, as Hikvision NVRs do). The full simulator is
gbsim; this one stays small so gateway tests read plainly.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from sip_gateway.core.digest import DigestClient
from sip_gateway.core.headers import Headers
from sip_gateway.core.message import Request, Response
from sip_gateway.core.responses import make_response
from sip_gateway.core.transaction import RequestReceived
from sip_gateway.endpoint import SipEndpoint
from sip_gateway.manscdp import CatalogItem, Query, device_build, parse_manscdp
from sip_gateway.manscdp.xml_encode import Charset
from sip_gateway.transport import Peer

DOMAIN = "3402000000"
PLATFORM_ID = "34020000002000000001"


@dataclass
class SimpleDevice:
    device_id: str
    password: str
    platform: Peer
    catalog: list[CatalogItem] = field(default_factory=list)
    charset: Charset = "GB2312"
    per_message: int = 1
    manufacturer: str = "Hikvision"
    received: list[Request] = field(default_factory=list)
    # When set, answers a Catalog query with these bodies (given the query's SN) instead.
    catalog_bodies: Callable[[int], list[bytes]] | None = None

    def __post_init__(self) -> None:
        self.endpoint = SipEndpoint(self._on_request)
        self._cseq = itertools.count(1)
        self._sn = itertools.count(1)
        self.call_id = f"{secrets.token_hex(8)}@127.0.0.1"
        self.from_tag = secrets.token_hex(4)

    async def start(self) -> None:
        transport = self.platform[0]
        await self.endpoint.start("127.0.0.1", 0)
        self.local: Peer = (transport, "127.0.0.1", self.endpoint.port)

    async def close(self) -> None:
        await self.endpoint.close()

    def _request(self, method: str, body: bytes = b"", *, expires: int | None = None, auth: str | None = None,
                 call_id: str | None = None) -> Request:
        transport = "TCP" if self.platform[0] == "tcp" else "UDP"
        headers = Headers(
            [
                ("Via", f"SIP/2.0/{transport} 127.0.0.1:{self.endpoint.port};rport;branch=z9hG4bK{secrets.token_hex(6)}"),
                ("From", f"<sip:{self.device_id}@{DOMAIN}>;tag={self.from_tag}"),
                ("To", f"<sip:{self.device_id}@{DOMAIN}>" if method == "REGISTER" else f"<sip:{PLATFORM_ID}@{DOMAIN}>"),
                ("Call-ID", call_id or (self.call_id if method == "REGISTER" else f"{secrets.token_hex(8)}@127.0.0.1")),
                ("CSeq", f"{next(self._cseq)} {method}"),
                ("Max-Forwards", "70"),
                ("User-Agent", "test-device"),
            ]
        )
        if method == "REGISTER":
            headers.add("Contact", f"<sip:{self.device_id}@127.0.0.1:{self.endpoint.port}>")
            headers.add("Expires", str(3600 if expires is None else expires))
            headers.add("X-GB-Ver", "3.0")
        if auth:
            headers.add("Authorization", auth)
        if body:
            headers.add("Content-Type", "Application/MANSCDP+xml")
        uri = f"sip:{PLATFORM_ID}@{DOMAIN}"
        return Request(method, uri, headers, body)

    async def register(self, *, expires: int = 3600, password: str | None = None) -> Response:
        uri = f"sip:{PLATFORM_ID}@{DOMAIN}"
        response = await self.endpoint.request(self._request("REGISTER", expires=expires), self.platform)
        if response.status == 401:
            client = DigestClient(self.device_id, password or self.password)
            auth = client.authorization(
                response.headers.get("WWW-Authenticate") or "", method="REGISTER", uri=uri, cnonce=secrets.token_hex(4)
            )
            response = await self.endpoint.request(self._request("REGISTER", expires=expires, auth=auth), self.platform)
        return response

    async def keepalive(self) -> Response:
        body = device_build.keepalive(next(self._sn), self.device_id)
        return await self.endpoint.request(self._request("MESSAGE", body), self.platform)

    async def send_message(self, body: bytes) -> Response:
        return await self.endpoint.request(self._request("MESSAGE", body), self.platform)

    def _on_request(self, event: RequestReceived) -> None:
        request = event.request
        self.received.append(request)
        self.endpoint.send_response(make_response(request, 200, to_tag=secrets.token_hex(4)))
        if request.method != "MESSAGE":
            return
        message = parse_manscdp(request.body)
        if isinstance(message, Query) and message.sn is not None:
            asyncio.ensure_future(self._answer(message.cmd_type, message.sn))

    async def _answer(self, cmd_type: str, sn: int) -> None:
        if cmd_type == "Catalog":
            bodies = (
                self.catalog_bodies(sn)
                if self.catalog_bodies is not None
                else device_build.catalog_responses(
                    sn, self.device_id, self.catalog, per_message=self.per_message, charset=self.charset
                )
            )
            for body in bodies:
                await self.send_message(body)
        elif cmd_type == "DeviceInfo":
            body = device_build.device_info_response(
                sn, self.device_id, device_name="Test NVR", manufacturer=self.manufacturer, model="DS-TEST",
                firmware="V1.0", channel=len(self.catalog),
            )
            await self.send_message(body)
