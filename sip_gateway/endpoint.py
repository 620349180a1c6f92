"""A SIP endpoint: the sans-IO transaction layer driven by the socket transport and one timer.

This is the thin asyncio glue the style guide asks for: bytes from the transport are fed to the
transaction layer with the loop's clock, its events are dispatched, its outgoing bytes written,
and a single timer is re-armed to the layer's next deadline. Both the platform's gateway and the
device simulator run on it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from sip_gateway.core.message import Request, Response
from sip_gateway.core.transaction import (
    MessageDropped,
    RequestReceived,
    ResponseReceived,
    TransactionLayer,
    TransactionTimedOut,
)
from sip_gateway.transport import Peer, SipTransport, TransportLimits

logger = logging.getLogger(__name__)

RequestHandler = Callable[[RequestReceived], None]
ProvisionalHandler = Callable[[Response], None]


class SipTimeout(TimeoutError):
    """No final response arrived before the transaction timed out (Timer B or F)."""


class SipEndpoint:
    def __init__(
        self,
        on_request: RequestHandler,
        *,
        limits: TransportLimits | None = None,
        t1: float = 0.5,
        t2: float = 4.0,
        t4: float = 5.0,
    ) -> None:
        self.on_request = on_request
        self.layer = TransactionLayer(t1=t1, t2=t2, t4=t4)
        self.transport = SipTransport(self._on_bytes, on_disconnect=self._on_disconnect, limits=limits)
        self._waiters: dict[str, asyncio.Future[Response]] = {}
        self._provisional: dict[str, ProvisionalHandler] = {}
        # INVITE transactions whose 2xx was delivered: later 2xx retransmissions (Accepted state,
        # RFC 6026) go to this handler, which resends the dialog's ACK.
        self._retransmitted_2xx: dict[str, ProvisionalHandler] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pumping = False
        self.dropped = 0

    @property
    def port(self) -> int:
        return self.transport.port

    def now(self) -> float:
        assert self._loop is not None, "the endpoint is not started"
        return self._loop.time()

    async def start(self, host: str, port: int) -> int:
        self._loop = asyncio.get_running_loop()
        return await self.transport.listen(host, port)

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        for waiter in self._waiters.values():
            if not waiter.done():
                waiter.cancel()
        self._waiters.clear()
        await self.transport.close()

    # --- sending -----------------------------------------------------------------------------
    def send_request(self, request: Request, peer: Peer, *, on_provisional: ProvisionalHandler | None = None) -> str:
        key = self.layer.send_request(request, peer, self.now())
        if on_provisional is not None:
            self._provisional[key] = on_provisional
        self._pump()
        return key

    async def request(
        self,
        request: Request,
        peer: Peer,
        *,
        on_provisional: ProvisionalHandler | None = None,
        on_2xx_retransmission: ProvisionalHandler | None = None,
    ) -> Response:
        """Send a request in a new client transaction and wait for its final response.

        For an INVITE, `on_2xx_retransmission` receives each 2xx that arrives after the first
        (the device did not get our ACK): the caller answers it with the dialog's stored ACK.
        It is kept for as long as the transaction may still deliver one (Timer M, 64*T1).
        """
        assert self._loop is not None, "the endpoint is not started"
        waiter: asyncio.Future[Response] = self._loop.create_future()
        key = self.layer.send_request(request, peer, self.now())
        self._waiters[key] = waiter
        if on_provisional is not None:
            self._provisional[key] = on_provisional
        if on_2xx_retransmission is not None:
            self._retransmitted_2xx[key] = on_2xx_retransmission
            self._loop.call_later(self.layer.settings.timeout + 1.0, self._retransmitted_2xx.pop, key, None)
        self._pump()
        try:
            return await waiter
        finally:
            self._waiters.pop(key, None)
            self._provisional.pop(key, None)

    def send_response(self, response: Response) -> None:
        self.layer.send_response(response, self.now())
        self._pump()

    def send_stateless(self, message: Request | Response, peer: Peer) -> None:
        self.layer.send_stateless(message, peer)
        self._pump()

    # --- receiving ---------------------------------------------------------------------------
    def _on_bytes(self, data: bytes, peer: Peer) -> None:
        self.layer.receive(data, peer, self.now())
        self._pump()

    def _on_disconnect(self, peer: Peer) -> None:
        self.layer.transport_error(peer, self.now())
        self._pump()

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = None
        self.layer.handle_timers(self.now())
        self._pump()

    def _pump(self) -> None:
        """Dispatch what the layer produced, write its bytes, and re-arm the timer.

        A handler answering from inside a dispatch (the usual case) calls back in here: the
        loop already running sends its bytes as soon as the handler returns."""
        if self._pumping:
            return
        self._pumping = True
        layer = self.layer
        try:
            while True:
                events = layer.events()
                outgoing = layer.outgoing()
                if not events and not outgoing:
                    break
                for item in outgoing:
                    self.transport.send(item.data, item.peer)
                for event in events:
                    self._dispatch(event)
        finally:
            self._pumping = False
        self._rearm()

    def _dispatch(self, event: Any) -> None:
        if isinstance(event, RequestReceived):
            try:
                self.on_request(event)
            except Exception:
                logger.exception("request handler failed on %s", event.request.method)
        elif isinstance(event, ResponseReceived):
            if event.response.status < 200:
                handler = self._provisional.get(event.key)
                if handler is not None:
                    handler(event.response)
                return
            waiter = self._waiters.get(event.key)
            if waiter is not None and not waiter.done():
                waiter.set_result(event.response)
                return
            again = self._retransmitted_2xx.get(event.key)
            if again is not None and event.response.status < 300:
                try:
                    again(event.response)
                except Exception:
                    logger.exception("2xx retransmission handler failed")
        elif isinstance(event, TransactionTimedOut):
            waiter = self._waiters.get(event.key)
            if waiter is not None and not waiter.done():
                waiter.set_exception(SipTimeout(f"{event.request.method} to {event.request.uri} timed out"))
        elif isinstance(event, MessageDropped):
            self.dropped += 1
            logger.debug("dropped a message from %s:%s: %s", event.peer[1], event.peer[2], event.reason)

    def _rearm(self) -> None:
        deadline = self.layer.next_timer()
        if deadline == self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = deadline
        if deadline is not None and self._loop is not None:
            self._timer = self._loop.call_at(deadline, self._on_timer)
