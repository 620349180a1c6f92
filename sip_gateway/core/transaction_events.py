"""What the transaction layer reports and sends: frozen events, outgoing bytes, peers."""

from __future__ import annotations

from dataclasses import dataclass

from sip_gateway.core.frozen import quick_init
from sip_gateway.core.message import Request, Response

# (transport "udp" | "tcp", host, port): where a message came from or goes to.
Peer = tuple[str, str, int]


@quick_init
@dataclass(frozen=True, slots=True)
class Outgoing:
    data: bytes
    peer: Peer


@quick_init
@dataclass(frozen=True, slots=True)
class RequestReceived:
    """A new server transaction, or an ACK to a 2xx (``key`` is then "": it has no transaction).

    ``request`` carries ``received``/``rport`` in its top Via when RFC 3581/3261 18.2.1 ask
    for them, so a response built from it with ``make_response`` already has them.
    """

    request: Request
    peer: Peer
    key: str


@quick_init
@dataclass(frozen=True, slots=True)
class ResponseReceived:
    """A response for a client transaction we started (2xx retransmissions to an INVITE too)."""

    response: Response
    key: str
    request: Request


@quick_init
@dataclass(frozen=True, slots=True)
class TransactionTimedOut:
    """A transaction failed: Timer B or F (or the INVITE proceeding limit) for a client
    transaction, a transport error on its peer, or, for a server transaction (``key`` starting
    with "s:"), Timer H (no ACK to a non-2xx final) or no ACK to a 2xx within 64*T1."""

    key: str
    request: Request


@quick_init
@dataclass(frozen=True, slots=True)
class MessageDropped:
    """Input ignored (unparseable, stray response...), for logging; ``reason`` says why."""

    reason: str
    peer: Peer


Event = RequestReceived | ResponseReceived | TransactionTimedOut | MessageDropped
