"""The platform's catalog subscriptions: SUBSCRIBE `Catalog` to each registered device, refresh
before expiry, answer its NOTIFYs, and forget subscriptions of devices that left.

The SUBSCRIBE/NOTIFY state machine is the SIP core's `Subscriber`; this module keeps one per
device and drives it with the endpoint and `now`.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets

from sip_gateway.core.dialog import LocalAddress
from sip_gateway.core.header_values import NameAddress
from sip_gateway.core.message import Request, Response
from sip_gateway.core.subscription import Subscriber
from sip_gateway.endpoint import SipEndpoint
from sip_gateway.manscdp import build as manscdp_build
from sip_gateway.outbound import MANSCDP, LocalIdentity, device_uri, new_branch
from sip_gateway.registrar import Registration

logger = logging.getLogger(__name__)

DEFAULT_EXPIRES = 3600


class CatalogSubscriptions:
    def __init__(
        self, *, endpoint: SipEndpoint, identity: LocalIdentity, expires: int = DEFAULT_EXPIRES, timeout: float = 4.0
    ) -> None:
        self.endpoint = endpoint
        self.identity = identity
        self.expires = expires
        self.timeout = timeout
        self.by_device: dict[str, Subscriber] = {}
        self._by_call_id: dict[str, str] = {}  # Call-ID -> device ID
        self._ids = itertools.count(1)

    def __len__(self) -> int:
        return len(self.by_device)

    def _local(self, registration: Registration) -> LocalAddress:
        transport = "TCP" if registration.peer[0] == "tcp" else "UDP"
        return LocalAddress(self.identity.host, self.identity.port, transport)

    async def subscribe(self, registration: Registration, sn: int) -> bool:
        """Subscribe to a device's catalog changes; False when the device refuses or is silent."""
        me, device_id, peer = self.identity, registration.device_id, registration.peer
        self.forget(device_id)
        subscriber = Subscriber(
            event=f"Catalog;id={next(self._ids)}",
            target_uri=device_uri(device_id, peer),
            from_addr=NameAddress(f"sip:{me.sip_id}@{me.domain}"),
            to_addr=NameAddress(f"sip:{device_id}@{me.domain}"),
            call_id=f"{secrets.token_hex(10)}@{me.host}",
            local_tag=secrets.token_hex(5),
            local=self._local(registration),
            contact=f"<sip:{me.sip_id}@{me.host}:{me.port}>",
            expires=self.expires,
        )
        request = subscriber.subscribe(
            branch=new_branch(),
            body=manscdp_build.query_catalog(sn, device_id),
            content_type=MANSCDP,
        )
        self.by_device[device_id] = subscriber
        self._by_call_id[subscriber.call_id] = device_id
        return await self._send(subscriber, request, registration)

    async def refresh(self, registration: Registration) -> bool:
        subscriber = self.by_device.get(registration.device_id)
        if subscriber is None or subscriber.dialog is None:
            return False
        request = subscriber.refresh(branch=new_branch(), now=self.endpoint.now())
        return await self._send(subscriber, request, registration)

    async def _send(self, subscriber: Subscriber, request: Request, registration: Registration) -> bool:
        try:
            response = await asyncio.wait_for(self.endpoint.request(request, registration.peer), self.timeout)
        except TimeoutError:
            subscriber.on_transaction_failed()
            logger.info("catalog subscription to %s: no answer", registration.device_id)
            return False
        subscriber.on_response(response, self.endpoint.now())
        if response.status >= 300:
            logger.info("catalog subscription refused by %s: %s %s", registration.device_id, response.status, response.reason)
            return False
        return True

    def on_notify(self, notify: Request) -> tuple[str, Response] | None:
        """(device ID, answer) for a NOTIFY in one of our subscriptions; None when it is not."""
        device_id = self._by_call_id.get(notify.call_id)
        subscriber = self.by_device.get(device_id) if device_id else None
        if device_id is None or subscriber is None:
            return None
        return device_id, subscriber.on_notify(notify, self.endpoint.now())

    def due(self, now: float) -> list[tuple[str, str]]:
        """(device ID, "refresh" | "expired") for the subscriptions that need attention."""
        found = []
        for device_id, subscriber in list(self.by_device.items()):
            verdict = subscriber.check(now)
            if verdict is not None:
                found.append((device_id, verdict))
        return found

    def forget(self, device_id: str) -> None:
        subscriber = self.by_device.pop(device_id, None)
        if subscriber is not None:
            self._by_call_id.pop(subscriber.call_id, None)
