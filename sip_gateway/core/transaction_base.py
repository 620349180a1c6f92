"""Shared machinery of client and server transactions: keys, timer slots, and the core that
holds the tables, the timer queue and the output queues."""

from __future__ import annotations

from collections import deque

from sip_gateway.core.header_values import NameAddress, Via
from sip_gateway.core.ids import MAGIC_COOKIE
from sip_gateway.core.message import Request, Response
from sip_gateway.core.timers import TimerQueue, TimerSettings
from sip_gateway.core.transaction_events import Event, Outgoing, Peer

RETRANSMIT = 0  # timer slot: A, E, G, or the 2xx retransmission of an INVITE server
TIMEOUT = 1  # timer slot: B, D, F, H, I, J, K, L, M or a proceeding guard

# States (RFC 3261 17, with RFC 6026's Accepted for INVITE after a 2xx).
TRYING = "trying"
CALLING = "calling"
PROCEEDING = "proceeding"
COMPLETED = "completed"
CONFIRMED = "confirmed"
ACCEPTED = "accepted"


def _rfc2543_part(message: Request | Response, sent_by: str) -> str:
    # Without a magic-cookie branch the RFC 2543 fields identify the transaction; CSeq and the
    # From tag are only parsed on this slow path.
    from_tag = NameAddress.parse(message.headers.get("From") or "").tag or ""
    return f"~{message.call_id}|{message.cseq.number}|{from_tag}|{sent_by}"


def server_key(message: Request | Response, via: Via, method: str) -> str:
    """RFC 3261 17.2.3: branch + sent-by + method (ACK and CANCEL callers pass the method they match)."""
    sent_by = f"{via.host}:{via.port or ''}"
    branch = via.branch
    if branch is not None and branch.startswith(MAGIC_COOKIE):
        return f"s:{branch}|{sent_by}|{method}"
    return f"s:{_rfc2543_part(message, sent_by)}|{method}"


def client_key(message: Request | Response, via: Via, method: str) -> str:
    """RFC 3261 17.1.3: branch + CSeq method (sent-by is ours, so it adds nothing)."""
    branch = via.branch
    if branch is not None and branch.startswith(MAGIC_COOKIE):
        return f"c:{branch}|{method}"
    return f"c:{_rfc2543_part(message, '')}|{method}"


def via_peer(via: Via) -> Peer:
    """Where a response goes without a transaction: received/rport first (RFC 3581 4), then sent-by."""
    host = via.received or via.host
    if host.startswith("["):
        host = host[1:-1]
    return (via.transport.lower(), host, via.rport or via.port or 5060)


class TransactionBase:
    """State common to the four machines; subclasses implement ``on_timer``."""

    __slots__ = (
        "alive",
        "core",
        "interval",
        "key",
        "peer",
        "reliable",
        "request",
        "retransmit_at",
        "state",
        "timeout_at",
    )

    def __init__(self, core: TransactionCore, key: str, request: Request, peer: Peer, state: str) -> None:
        self.core = core
        self.key = key
        self.request = request
        self.peer = peer
        # Anything but UDP is a stream (TCP, TLS, WS): no retransmissions, no lingering states.
        self.reliable = peer[0] != "udp"
        self.state = state
        self.alive = True
        self.interval = core.settings.t1
        self.retransmit_at: float | None = None
        self.timeout_at: float | None = None

    def arm_retransmit(self, deadline: float | None) -> None:
        self.retransmit_at = deadline
        if deadline is not None:
            self.core.schedule(self, RETRANSMIT, deadline)

    def arm_timeout(self, deadline: float) -> None:
        self.timeout_at = deadline
        self.core.schedule(self, TIMEOUT, deadline)

    def next_retransmit(self, now: float) -> float:
        """The next retransmission instant, counted from the one that just fired so late timer
        handling does not shift the schedule, but never in the past."""
        base = self.retransmit_at if self.retransmit_at is not None else now
        deadline = base + self.interval
        return deadline if deadline > now else now + self.interval

    def on_timer(self, slot: int, now: float) -> None:
        raise NotImplementedError

    def expire_early(self) -> None:
        """Give up the lingering state now (only answered server transactions do)."""


def _is_live(deadline: float, txn: TransactionBase, slot: int) -> bool:
    if not txn.alive:
        return False
    return (txn.retransmit_at if slot == RETRANSMIT else txn.timeout_at) == deadline


class TransactionCore:
    """Tables, timers and output shared by every transaction of one layer."""

    __slots__ = (
        "awaiting_ack",
        "client",
        "completed",
        "events",
        "max_completed",
        "out",
        "server",
        "server_by_text",
        "settings",
        "timers",
    )

    def __init__(self, settings: TimerSettings, max_completed: int) -> None:
        self.settings = settings
        # Answered non-INVITE server transactions in the order they completed. Timer J keeps
        # each 64*T1 over UDP; past ``max_completed`` the oldest go early, which only means a
        # very late retransmission reaches the TU again instead of being absorbed.
        self.completed: deque[TransactionBase] = deque()
        self.max_completed = max_completed
        self.client: dict[str, TransactionBase] = {}
        self.server: dict[str, TransactionBase] = {}
        # INVITE server transactions whose 2xx awaits its ACK, by (Call-ID, CSeq number): the
        # ACK to a 2xx carries a new branch, so it cannot be matched by key.
        self.awaiting_ack: dict[tuple[str, int], TransactionBase] = {}
        # Server transactions by the text of their request's first Via field and CSeq, which
        # make_response copies verbatim: sending a response then needs no Via parsing.
        self.server_by_text: dict[tuple[str, str], TransactionBase] = {}
        self.timers: TimerQueue[TransactionBase] = TimerQueue()
        self.events: list[Event] = []
        self.out: list[Outgoing] = []

    def send(self, data: bytes, peer: Peer) -> None:
        self.out.append(Outgoing(data, peer))

    def emit(self, event: Event) -> None:
        self.events.append(event)

    def schedule(self, txn: TransactionBase, slot: int, deadline: float) -> None:
        timers = self.timers
        queued = timers.push(deadline, txn, slot)
        # Stale entries of finished transactions would otherwise pile up until their deadline.
        if queued > 4096 and queued > 4 * (len(self.client) + len(self.server)):
            timers.compact(_is_live)

    def note_completed(self, txn: TransactionBase) -> None:
        completed = self.completed
        completed.append(txn)
        while len(completed) > self.max_completed or (completed and not completed[0].alive):
            completed.popleft().expire_early()

    def forget(self, txn: TransactionBase) -> None:
        txn.alive = False
        table = self.server if txn.key.startswith("s:") else self.client
        if table.get(txn.key) is txn:
            del table[txn.key]

    def next_deadline(self) -> float | None:
        return self.timers.next_deadline(_is_live)

    def pop_due(self, now: float) -> tuple[TransactionBase, int] | None:
        return self.timers.pop_due(now, _is_live)
