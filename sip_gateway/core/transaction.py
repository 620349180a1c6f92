"""The SIP transaction layer (RFC 3261 17), sans-IO.

Feed it datagrams or framed stream messages with ``receive(data, peer, now)``; start client
transactions with ``send_request`` and answer server ones with ``send_response``; then drain
``events()`` and ``outgoing()``, and call ``handle_timers(now)`` when ``next_timer()`` is due.
Nothing here touches a socket or reads a clock, and nothing raises on bad input: it is
answered with a stateless 400 when enough of it was readable, and reported as
``MessageDropped`` either way.

Keys: a server transaction is keyed on its top Via branch, sent-by and method (RFC 3261
17.2.3), a client one on branch and CSeq method (17.1.3); requests from RFC 2543 peers (no
``z9hG4bK`` branch) fall back to Call-ID, CSeq number, From tag and sent-by. Server keys start
with "s:", client keys with "c:".

The state machines and the choices made where the RFC leaves one are described in
``transaction_client`` and ``transaction_server``.
"""

from __future__ import annotations

from sip_gateway.core.errors import SipParseError
from sip_gateway.core.header_values import Via
from sip_gateway.core.headers import split_list
from sip_gateway.core.message import Request, Response, parse_message
from sip_gateway.core.responses import make_stateless_error
from sip_gateway.core.timers import TimerSettings
from sip_gateway.core.transaction_base import PROCEEDING, TransactionCore, client_key, server_key, via_peer
from sip_gateway.core.transaction_client import ClientTransaction
from sip_gateway.core.transaction_events import (
    Event,
    MessageDropped,
    Outgoing,
    Peer,
    RequestReceived,
    ResponseReceived,
    TransactionTimedOut,
)
from sip_gateway.core.transaction_server import ServerTransaction, stamp_via, stamped_via

__all__ = [
    "Event",
    "MessageDropped",
    "Outgoing",
    "Peer",
    "RequestReceived",
    "ResponseReceived",
    "TransactionLayer",
    "TransactionTimedOut",
]


class TransactionLayer:
    def __init__(
        self,
        *,
        t1: float = 0.5,
        t2: float = 4.0,
        t4: float = 5.0,
        invite_proceeding: float = 180.0,
        max_completed: int = 100_000,
    ) -> None:
        """``invite_proceeding`` bounds INVITE transactions the RFC leaves open (see timers);
        ``max_completed`` bounds answered non-INVITE server transactions waiting for Timer J."""
        self.settings = TimerSettings(t1=t1, t2=t2, t4=t4, invite_proceeding=invite_proceeding)
        self._core = TransactionCore(self.settings, max_completed)

    def __len__(self) -> int:
        return len(self._core.client) + len(self._core.server)

    # ------------------------------------------------------------------ input
    def receive(self, data: bytes, peer: Peer, now: float) -> None:
        """One datagram or one framed stream message from ``peer``."""
        try:
            message = parse_message(data)
        except SipParseError as exc:
            self._reject(exc, peer)
            return
        try:
            if isinstance(message, Response):
                self._on_response(message, peer, now)
            else:
                self._on_request(message, peer, now)
        except (SipParseError, ValueError) as exc:
            # parse_message has checked Via and CSeq already; this is a last line of defence.
            self._core.emit(MessageDropped(f"unusable message: {exc}", peer))

    def _reject(self, exc: SipParseError, peer: Peer) -> None:
        response: Response | None
        try:
            response = make_stateless_error(exc)
        except (SipParseError, ValueError):
            response = None
        if response is None:
            self._core.emit(MessageDropped(exc.reason, peer))
            return
        self._core.send(response.to_bytes(), peer)
        self._core.emit(MessageDropped(f"answered {response.status}: {exc.reason}", peer))

    def _on_request(self, request: Request, peer: Peer, now: float) -> None:
        core = self._core
        headers = request.headers
        first_via = headers.get("Via") or ""
        # With one Via (a device's request) the parser checked this value last, so Via.parse
        # returns what it remembered; behind a proxy the last one checked is the bottom Via.
        via = Via.parse(split_list(first_via)[0])
        if request.method == "ACK":
            txn = core.server.get(server_key(request, via, "INVITE"))
            if isinstance(txn, ServerTransaction) and txn.on_ack(now):
                return
            waiting = core.awaiting_ack.pop((request.call_id, request.cseq.number), None)
            if isinstance(waiting, ServerTransaction):
                waiting.on_2xx_ack()
            core.emit(RequestReceived(stamp_via(request, via, peer), peer, ""))
            return
        key = server_key(request, via, request.method)
        existing = core.server.get(key)
        if isinstance(existing, ServerTransaction):
            existing.on_retransmission()
            return
        stamped = stamped_via(first_via, via, peer)
        if stamped is not None:
            # The request was parsed just now and nothing else holds it: its Via is stamped in
            # place rather than in a copy.
            headers.replace_first("Via", stamped)
            first_via = stamped
        core.server[key] = ServerTransaction(core, key, request, peer, now, (first_via, headers.get("CSeq") or ""))
        core.emit(RequestReceived(request, peer, key))

    def _on_response(self, response: Response, peer: Peer, now: float) -> None:
        key = client_key(response, response.top_via, response.cseq.method)
        txn = self._core.client.get(key)
        if not isinstance(txn, ClientTransaction):
            self._core.emit(MessageDropped(f"stray response {response.status} ({key})", peer))
            return
        txn.on_response(response, now)

    # ----------------------------------------------------------------- output
    def send_request(self, request: Request, peer: Peer, now: float) -> str:
        """Start a client transaction; the caller has put a Via with a unique branch on top.

        Raises ValueError for an ACK (it has no transaction: use ``send_stateless``) or when a
        transaction with the same key is already running.
        """
        if request.method == "ACK":
            raise ValueError("ACK has no client transaction: use send_stateless")
        key = client_key(request, request.top_via, request.method)
        if key in self._core.client:
            raise ValueError(f"client transaction {key} already exists")
        self._core.client[key] = ClientTransaction(self._core, key, request, peer, now)
        return key

    def send_response(self, response: Response, now: float) -> None:
        """Answer a server transaction, found by top Via branch (+ sent-by) and CSeq method.

        Without a matching transaction (a UAS core retransmitting a 2xx, a late answer) the
        response goes out statelessly to the top Via's received/rport, else its sent-by.
        """
        core = self._core
        headers = response.headers
        txn = core.server_by_text.get((headers.get("Via") or "", headers.get("CSeq") or ""))
        if txn is None:  # a response not built by make_response from the request: match by key
            txn = core.server.get(server_key(response, response.top_via, response.cseq.method))
        if isinstance(txn, ServerTransaction):
            txn.send_response(response, now)
        else:
            core.send(response.to_bytes(), via_peer(response.top_via))

    def invite_for_cancel(self, cancel: Request) -> Request | None:
        """The INVITE a received CANCEL targets (same branch and sent-by, RFC 3261 9.2) while it
        still awaits a final response, else None. The TU answers the CANCEL 200 and, when
        found, the INVITE 487 Request Terminated."""
        txn = self._core.server.get(server_key(cancel, cancel.top_via, "INVITE"))
        if isinstance(txn, ServerTransaction) and txn.state == PROCEEDING:
            return txn.request
        return None

    def send_stateless(self, message: Request | Response, peer: Peer) -> None:
        self._core.send(message.to_bytes(), peer)

    def events(self) -> list[Event]:
        events = self._core.events
        self._core.events = []
        return events

    def outgoing(self) -> list[Outgoing]:
        out = self._core.out
        self._core.out = []
        return out

    # ----------------------------------------------------------------- timers
    def next_timer(self) -> float | None:
        return self._core.next_deadline()

    def handle_timers(self, now: float) -> None:
        core = self._core
        while (due := core.pop_due(now)) is not None:
            txn, slot = due
            txn.on_timer(slot, now)

    def transport_error(self, peer: Peer, now: float) -> None:
        """The transport cannot reach ``peer`` (TCP connection lost, ICMP unreachable): its
        pending client transactions fail now instead of at Timer B/F."""
        for txn in [t for t in self._core.client.values() if t.peer == peer]:
            if isinstance(txn, ClientTransaction):
                txn.fail()
