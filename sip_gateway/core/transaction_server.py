"""Server transactions (RFC 3261 17.2): INVITE (100 Trying, Timers G, H, I, and RFC 6026's
Accepted state with Timer L) and non-INVITE (Timer J), plus the RFC 3581 Via stamping.

Choices where the RFC leaves one:
- 100 Trying is sent as soon as an INVITE arrives (not after 200 ms): deterministic, and what
  the GB devices in our captures do.
- The 2xx to an INVITE is retransmitted here over UDP (T1 doubling to T2) until an ACK with the
  same Call-ID and CSeq number arrives; RFC 3261 13.3.1.4 gives this to the UAS core, but it
  needs exactly these timers, and the dialog layer stays timer-free. No ACK within 64*T1 is
  reported as ``TransactionTimedOut`` so the TU can send BYE.
- A TU that never answers does not pin memory: a non-INVITE server transaction is dropped after
  64*T1, an INVITE one after the proceeding guard (180 s by default).
"""

from __future__ import annotations

from sip_gateway.core.header_values import Via
from sip_gateway.core.headers import Headers, split_list
from sip_gateway.core.message import Request, Response
from sip_gateway.core.responses import make_response
from sip_gateway.core.transaction_base import (
    ACCEPTED,
    COMPLETED,
    CONFIRMED,
    MAGIC_COOKIE,
    PROCEEDING,
    RETRANSMIT,
    TRYING,
    TransactionBase,
    TransactionCore,
)
from sip_gateway.core.transaction_events import Peer, TransactionTimedOut

SERVER_MAGIC = "s:" + MAGIC_COOKIE
# Stands in for the request of an answered non-INVITE server transaction (see send_response).
RELEASED = Request("", "", Headers())


def stamp_via(request: Request, via: Via, peer: Peer) -> Request:
    """Add ``received`` (RFC 3261 18.2.1) and fill an empty ``rport`` (RFC 3581 4) in the top Via.

    Returns the request unchanged (no copy) when neither applies, the common case for a
    device that does not ask for rport and is not behind NAT.
    """
    first = request.headers.get("Via") or ""
    stamped = stamped_via(first, via, peer)
    if stamped is None:
        return request
    # Only the first Via field changes; any others stay where they are.
    return Request(request.method, request.uri, request.headers.with_first("Via", stamped), request.body)


def stamped_via(first: str, via: Via, peer: Peer) -> str | None:
    """The first Via field as ``stamp_via`` writes it (``first`` is its text, ``via`` its
    first value parsed), or None when it stays as it is. This runs for most requests from GB
    devices, so the usual shape is edited as text rather than rebuilt."""
    host, port = peer[1], peer[2]
    via_host = via.host[1:-1] if via.host.startswith("[") else via.host
    wants_rport = via.param("rport") == ""
    if not wants_rport and via_host == host:
        return None
    stamped = _stamp_text(first, host, port, wants_rport)
    if stamped is None:
        stamped = _stamp_parsed(via, host, port, wants_rport)
        if "," in first:
            stamped = ", ".join([stamped, *split_list(first)[1:]])
    return stamped


def _stamp_text(text: str, host: str, port: int, wants_rport: bool) -> str | None:
    """The stamped Via by editing its text, for the plain shape nearly every device sends
    (one value, one bare ``;rport``, no ``received``); None when in doubt."""
    lowered = text.lower()
    if "," in text or "received" in lowered:
        return None
    if not wants_rport:
        return f"{text};received={host}"
    at = lowered.find(";rport")
    end = at + 6
    if at < 0 or lowered.find(";rport", end) >= 0 or text[end : end + 1] not in ("", ";"):
        return None
    return f"{text[:end]}={port}{text[end:]};received={host}"


def _stamp_parsed(via: Via, host: str, port: int, wants_rport: bool) -> str:
    params: list[tuple[str, str | None]] = []
    for name, value in via.params:
        lowered = name.lower()
        if lowered == "received":
            continue
        params.append((name, str(port) if lowered == "rport" and wants_rport else value))
    params.append(("received", host))
    return str(Via(via.transport, via.host, via.port, tuple(params), via.protocol))


class ServerTransaction(TransactionBase):
    __slots__ = ("ack_id", "invite", "last_response", "text_id")

    def __init__(
        self,
        core: TransactionCore,
        key: str,
        request: Request,
        peer: Peer,
        now: float,
        text_id: tuple[str, str] | None = None,
    ) -> None:
        """``text_id``, when the caller has it at hand, is the request's first Via and CSeq text."""
        self.invite = request.method == "INVITE"
        super().__init__(core, key, request, peer, PROCEEDING if self.invite else TRYING)
        self.last_response: bytes | None = None
        self.ack_id: tuple[str, int] | None = None  # set while a 2xx awaits its ACK
        if text_id is None:
            headers = request.headers
            text_id = (headers.get("Via") or "", headers.get("CSeq") or "")
        self.text_id = text_id
        if key.startswith(SERVER_MAGIC):
            # Without a magic-cookie branch two transactions may share this text (their
            # Call-IDs differ): they are only found by key.
            core.server_by_text[self.text_id] = self
        settings = core.settings
        if self.invite:
            self.last_response = make_response(request, 100).to_bytes()
            core.send(self.last_response, peer)
            self.arm_timeout(now + settings.invite_proceeding)
        else:
            self.arm_timeout(now + settings.timeout)

    def on_retransmission(self) -> None:
        """The request arrived again: resend the last response, if the state keeps one."""
        if self.last_response is not None and self.state in (PROCEEDING, COMPLETED):
            self.core.send(self.last_response, self.peer)

    def on_ack(self, now: float) -> bool:
        """An ACK matching this INVITE by key; True when it is absorbed here (ACK to a non-2xx)."""
        if self.state == COMPLETED:
            self.state = CONFIRMED
            self.retransmit_at = None  # Timer G stops
            if self.reliable:
                self._finish()
            else:
                self.arm_timeout(now + self.core.settings.t4)  # Timer I
            return True
        return self.state == CONFIRMED

    def on_2xx_ack(self) -> None:
        self.ack_id = None
        self.retransmit_at = None

    def send_response(self, response: Response, now: float) -> None:
        status = response.status
        state = self.state
        core = self.core
        settings = core.settings
        if self.invite:
            if state == PROCEEDING:
                data = response.to_bytes()
                self.last_response = data
                core.send(data, self.peer)
                if status < 200:
                    return
                if status < 300:
                    self.state = ACCEPTED
                    self.ack_id = (self.request.call_id, self.request.cseq.number)
                    core.awaiting_ack[self.ack_id] = self
                    self.arm_timeout(now + settings.timeout)  # Timer L
                else:
                    self.state = COMPLETED
                    self.arm_timeout(now + settings.timeout)  # Timer H
                if not self.reliable:
                    self.interval = settings.t1
                    self.arm_retransmit(now + settings.t1)  # Timer G, or the 2xx retransmission
            elif state == ACCEPTED and 200 <= status < 300:
                core.send(response.to_bytes(), self.peer)  # a UAS core retransmitting its 2xx
            return
        if state in (TRYING, PROCEEDING):
            data = response.to_bytes()
            self.last_response = data
            core.send(data, self.peer)
            if status < 200:
                self.state = PROCEEDING
                return
            self.state = COMPLETED
            if self.reliable:
                self._finish()
            else:
                # Only the response bytes are needed to absorb retransmissions now; releasing
                # the request more than halves what a burst of REGISTERs holds for Timer J.
                self.request = RELEASED
                self.arm_timeout(now + settings.timeout)  # Timer J
                core.note_completed(self)
        # Any other response in Completed is discarded (RFC 3261 17.2.2).

    def on_timer(self, slot: int, now: float) -> None:
        if slot == RETRANSMIT:
            if self.last_response is not None:
                self.core.send(self.last_response, self.peer)
            self.interval = min(self.interval * 2, self.core.settings.t2)
            self.arm_retransmit(self.next_retransmit(now))
            return
        # Timer H (no ACK to a non-2xx) and a 2xx never ACKed are failures the TU must hear of.
        if self.state == COMPLETED and self.invite or self.ack_id is not None:
            self.core.emit(TransactionTimedOut(self.key, self.request))
        self._finish()

    def expire_early(self) -> None:
        """Dropped before Timer J because too many answered transactions are waiting."""
        if self.alive and self.state == COMPLETED and not self.invite:
            self._finish()

    def _finish(self) -> None:
        if self.core.server_by_text.get(self.text_id) is self:
            del self.core.server_by_text[self.text_id]
        if self.ack_id is not None:
            if self.core.awaiting_ack.get(self.ack_id) is self:
                del self.core.awaiting_ack[self.ack_id]
            self.ack_id = None
        self.core.forget(self)
