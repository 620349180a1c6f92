"""Client transactions (RFC 3261 17.1): INVITE (Timers A, B, D; ACK for non-2xx) and
non-INVITE (Timers E, F, K), with RFC 6026's Accepted state so 2xx retransmissions reach the
dialog layer, which answers each with its ACK."""

from __future__ import annotations

from sip_gateway.core.headers import Headers, split_list
from sip_gateway.core.message import Request, Response
from sip_gateway.core.transaction_base import (
    ACCEPTED,
    CALLING,
    COMPLETED,
    PROCEEDING,
    RETRANSMIT,
    TRYING,
    TransactionBase,
    TransactionCore,
)
from sip_gateway.core.transaction_events import MessageDropped, Peer, ResponseReceived, TransactionTimedOut


class ClientTransaction(TransactionBase):
    __slots__ = ("ack_data", "data", "invite")

    def __init__(self, core: TransactionCore, key: str, request: Request, peer: Peer, now: float) -> None:
        self.invite = request.method == "INVITE"
        super().__init__(core, key, request, peer, CALLING if self.invite else TRYING)
        self.data = request.to_bytes()  # serialised once, resent as is
        self.ack_data: bytes | None = None
        core.send(self.data, peer)
        if not self.reliable:
            self.arm_retransmit(now + self.interval)  # Timer A or E
        self.arm_timeout(now + core.settings.timeout)  # Timer B or F

    def on_response(self, response: Response, now: float) -> None:
        if self.invite:
            self._invite_response(response, now)
        else:
            self._non_invite_response(response, now)

    def _deliver(self, response: Response) -> None:
        self.core.emit(ResponseReceived(response, self.key, self.request))

    def _non_invite_response(self, response: Response, now: float) -> None:
        if self.state == COMPLETED:
            return  # a retransmitted final response: absorbed
        self._deliver(response)
        if response.status < 200:
            self.state = PROCEEDING
            return
        self.state = COMPLETED
        self.retransmit_at = None
        if self.reliable:
            self.core.forget(self)
        else:
            self.arm_timeout(now + self.core.settings.t4)  # Timer K

    def _invite_response(self, response: Response, now: float) -> None:
        status = response.status
        state = self.state
        settings = self.core.settings
        if state in (CALLING, PROCEEDING):
            self._deliver(response)
            self.retransmit_at = None  # any response stops Timer A
            if status < 200:
                if state == CALLING:
                    # Timer B stops at the first provisional (RFC 3261 17.1.1.2); the
                    # proceeding guard bounds a device that never sends a final answer.
                    self.state = PROCEEDING
                    self.arm_timeout(now + settings.invite_proceeding)
            elif status < 300:
                self.state = ACCEPTED
                self.arm_timeout(now + settings.timeout)  # Timer M (RFC 6026)
            else:
                self.state = COMPLETED
                self._send_ack(response)
                if self.reliable:
                    self.core.forget(self)
                else:
                    self.arm_timeout(now + settings.timer_d)
        elif state == ACCEPTED:
            if 200 <= status < 300:
                self._deliver(response)  # a 2xx retransmission: the dialog layer re-ACKs
            else:
                self.core.emit(MessageDropped(f"{status} after a 2xx to INVITE {self.key}", self.peer))
        elif state == COMPLETED and status >= 300 and self.ack_data is not None:
            self.core.send(self.ack_data, self.peer)  # the final response was retransmitted

    def _send_ack(self, response: Response) -> None:
        """The ACK for a non-2xx final (RFC 3261 17.1.1.3): same branch, the To of the response."""
        original = self.request.headers
        headers = Headers()
        headers.add("Via", split_list(original.get("Via") or "")[0])
        for route in original.get_all("Route"):
            headers.add("Route", route)
        headers.add("Max-Forwards", "70")
        headers.add("From", original.get("From") or "")
        headers.add("To", response.headers.get("To") or original.get("To") or "")
        headers.add("Call-ID", self.request.call_id)
        headers.add("CSeq", f"{self.request.cseq.number} ACK")
        self.ack_data = Request("ACK", self.request.uri, headers).to_bytes()
        self.core.send(self.ack_data, self.peer)

    def on_timer(self, slot: int, now: float) -> None:
        settings = self.core.settings
        if slot == RETRANSMIT:
            self.core.send(self.data, self.peer)
            if self.invite:
                self.interval *= 2  # Timer A doubles without a cap
            elif self.state == PROCEEDING:
                self.interval = settings.t2
            else:
                self.interval = min(self.interval * 2, settings.t2)
            self.arm_retransmit(self.next_retransmit(now))
            return
        if self.state in (CALLING, TRYING, PROCEEDING):
            self.core.emit(TransactionTimedOut(self.key, self.request))
        self.core.forget(self)  # Timer B/F (failure) or D/K/M (done)

    def fail(self) -> None:
        """The transport reported the peer unreachable (RFC 3261 17.1.4)."""
        if self.state in (CALLING, TRYING, PROCEEDING):
            self.core.emit(TransactionTimedOut(self.key, self.request))
            self.core.forget(self)
