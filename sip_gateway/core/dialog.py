"""SIP dialogs (RFC 3261 12-15), sans-IO: INVITE dialogs from either side, and the helpers the
subscription module shares (building requests, in-dialog requests and answers).

A ``Dialog`` is plain state: it builds the requests and responses it needs and never sends
anything. The caller passes each through the transaction layer (the ACK to a 2xx goes with
``send_stateless``: it has no transaction) and hands responses back.

Choices:
- Loose routing only (RFC 3261 16.12.1.1: every GB device and platform we know uses it):
  the route set becomes Route headers and the Request-URI is the remote target.
- A re-INVITE inside an established dialog is refused with 488 Not Acceptable Here: GB/T
  28181 media sessions are fixed at setup, and 488 leaves the dialog and its session as they
  were (RFC 3261 14.2). 491 would ask the peer to retry after a random delay, which it would
  do for ever.
- A request with a CSeq lower than the last one is answered 500 (RFC 3261 12.2.2).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sip_gateway.core.header_values import NameAddress
from sip_gateway.core.headers import Headers
from sip_gateway.core.message import Request, Response
from sip_gateway.core.responses import make_response

EARLY = "early"
CONFIRMED = "confirmed"
TERMINATED = "terminated"
# Methods a dialog answers itself with 200; anything else but INVITE/ACK gets 405.
ANSWERED_IN_DIALOG = frozenset(("BYE", "INFO", "MESSAGE", "NOTIFY", "OPTIONS", "UPDATE"))
ALLOW = "INVITE, ACK, BYE, INFO, MESSAGE, NOTIFY, OPTIONS, SUBSCRIBE"

DialogId = tuple[str, str, str]  # (Call-ID, local tag, remote tag)


@dataclass(frozen=True, slots=True)
class LocalAddress:
    """Where this user agent can be reached: the sent-by of its Vias."""

    host: str
    port: int
    transport: str = "UDP"


def build_request(
    method: str,
    uri: str,
    *,
    from_addr: NameAddress | str,
    to_addr: NameAddress | str,
    call_id: str,
    cseq: int,
    via_host: str,
    via_port: int,
    transport: str,
    branch: str,
    contact: str | None = None,
    body: bytes = b"",
    content_type: str | None = None,
    extra_headers: Iterable[tuple[str, str]] = (),
    route: Sequence[str] = (),
) -> Request:
    """A request with one Via (``rport`` asked for: GB devices sit behind NAT) and every
    mandatory header. ``contact`` is a URI or a name-addr; a bare URI is put in <>."""
    headers = Headers()
    headers.add("Via", f"SIP/2.0/{transport.upper()} {via_host}:{via_port};rport;branch={branch}")
    for entry in route:
        headers.add("Route", entry)
    headers.add("From", str(from_addr))
    headers.add("To", str(to_addr))
    headers.add("Call-ID", call_id)
    headers.add("CSeq", f"{cseq} {method}")
    if contact is not None:
        headers.add("Contact", contact if contact.startswith(("<", '"')) else f"<{contact}>")
    headers.add("Max-Forwards", "70")
    for name, value in extra_headers:
        headers.add(name, value)
    if content_type is not None:
        headers.add("Content-Type", content_type)
    return Request(method, uri, headers, body)


def _tagged(address: NameAddress, tag: str) -> NameAddress:
    return address if address.tag == tag else address.with_param("tag", tag)


def _contact_uri(message: Request | Response) -> str | None:
    contacts = message.contacts
    return contacts[0].uri if contacts else None


class Dialog:
    """One dialog, seen from our side. Build it with ``Dialog.uac`` or ``Dialog.uas``."""

    __slots__ = (
        "ack",
        "call_id",
        "contact",
        "invite_cseq",
        "is_uac",
        "local",
        "local_seq",
        "local_tag",
        "local_uri",
        "remote_seq",
        "remote_tag",
        "remote_target",
        "remote_uri",
        "route_set",
        "state",
    )

    def __init__(
        self,
        *,
        call_id: str,
        local_tag: str,
        remote_tag: str,
        local_uri: NameAddress,
        remote_uri: NameAddress,
        local_seq: int,
        remote_seq: int | None,
        remote_target: str,
        route_set: tuple[str, ...],
        local: LocalAddress,
        contact: str | None,
        is_uac: bool,
        state: str,
        invite_cseq: int,
    ) -> None:
        self.call_id = call_id
        self.local_tag = local_tag
        self.remote_tag = remote_tag
        self.local_uri = _tagged(local_uri, local_tag)
        self.remote_uri = _tagged(remote_uri, remote_tag)
        self.local_seq = local_seq
        self.remote_seq = remote_seq
        self.remote_target = remote_target
        self.route_set = route_set
        self.local = local
        self.contact = contact
        self.is_uac = is_uac
        self.state = state
        self.invite_cseq = invite_cseq
        self.ack: Request | None = None  # the ACK sent for the 2xx, resent for its retransmissions

    @property
    def id(self) -> DialogId:
        return (self.call_id, self.local_tag, self.remote_tag)

    @classmethod
    def uac(cls, request: Request, response: Response, local: LocalAddress) -> Dialog:
        """From the request we sent and a 101-199 (early) or 2xx (confirmed) response with a To
        tag (RFC 3261 12.1.2). Raises ValueError when the response cannot create a dialog."""
        remote_tag = response.to_addr.tag
        local_tag = request.from_addr.tag
        if not remote_tag or not local_tag or not 101 <= response.status < 300:
            raise ValueError(f"a {response.status} without tags does not create a dialog")
        return cls(
            call_id=request.call_id,
            local_tag=local_tag,
            remote_tag=remote_tag,
            local_uri=request.from_addr,
            remote_uri=request.to_addr,
            local_seq=request.cseq.number,
            remote_seq=None,
            remote_target=_contact_uri(response) or request.uri,
            route_set=tuple(reversed(response.headers.get_list("Record-Route"))),
            local=local,
            contact=_contact_uri(request),
            is_uac=True,
            state=CONFIRMED if response.status >= 200 else EARLY,
            invite_cseq=request.cseq.number,
        )

    @classmethod
    def uas(cls, request: Request, response: Response, local: LocalAddress) -> Dialog:
        """From a request we received and the 101-299 response we answer it with (RFC 3261 12.1.1)."""
        local_tag = response.to_addr.tag
        remote_tag = request.from_addr.tag
        if not local_tag or not remote_tag or not 101 <= response.status < 300:
            raise ValueError(f"a {response.status} without tags does not create a dialog")
        contact = _contact_uri(request)
        if contact is None:
            raise ValueError(f"{request.method} without Contact cannot create a dialog")
        return cls(
            call_id=request.call_id,
            local_tag=local_tag,
            remote_tag=remote_tag,
            local_uri=request.to_addr,
            remote_uri=request.from_addr,
            local_seq=0,
            remote_seq=request.cseq.number,
            remote_target=contact,
            route_set=tuple(request.headers.get_list("Record-Route")),
            local=local,
            contact=_contact_uri(response),
            is_uac=False,
            state=CONFIRMED if response.status >= 200 else EARLY,
            invite_cseq=request.cseq.number,
        )

    # ------------------------------------------------------------ UAC side of INVITE
    def on_invite_response(self, response: Response, *, branch: str) -> Request | None:
        """A later response to our INVITE: 2xx confirms the dialog and returns the ACK to send
        (``branch`` is used for the first one; a retransmitted 2xx gets the same ACK again),
        a non-2xx final ends an early dialog, a provisional refreshes the remote target."""
        if response.cseq.number != self.invite_cseq or response.to_addr.tag != self.remote_tag:
            return None
        status = response.status
        if 200 <= status < 300:
            if self.ack is None:
                if self.state == EARLY:
                    # The 2xx fixes the route set and target of an early dialog (RFC 3261 12.1.2).
                    self.route_set = tuple(reversed(response.headers.get_list("Record-Route")))
                self.remote_target = _contact_uri(response) or self.remote_target
                self.state = CONFIRMED
                self.ack = self._ack(branch)
            return self.ack
        if status >= 300 and self.state == EARLY:
            self.state = TERMINATED
        elif status < 200:
            self.remote_target = _contact_uri(response) or self.remote_target
        return None

    def _ack(self, branch: str) -> Request:
        # RFC 3261 13.2.2.4: the CSeq number of the INVITE, a new branch, the dialog's route.
        return self._build("ACK", self.invite_cseq, branch=branch)

    # ---------------------------------------------------------------- requests we send
    def request(
        self,
        method: str,
        *,
        branch: str,
        body: bytes = b"",
        content_type: str | None = None,
        extra_headers: Iterable[tuple[str, str]] = (),
    ) -> Request:
        """A request inside the dialog (BYE, INFO, MESSAGE, SUBSCRIBE, NOTIFY...), next CSeq."""
        self.local_seq += 1
        if method == "BYE":
            self.state = TERMINATED
        return self._build(
            method, self.local_seq, branch=branch, body=body, content_type=content_type, extra_headers=extra_headers
        )

    def _build(
        self,
        method: str,
        cseq: int,
        *,
        branch: str,
        body: bytes = b"",
        content_type: str | None = None,
        extra_headers: Iterable[tuple[str, str]] = (),
    ) -> Request:
        """A request on the dialog's identifiers, target and route set, with the given CSeq number."""
        return build_request(
            method,
            self.remote_target,
            from_addr=self.local_uri,
            to_addr=self.remote_uri,
            call_id=self.call_id,
            cseq=cseq,
            via_host=self.local.host,
            via_port=self.local.port,
            transport=self.local.transport,
            branch=branch,
            contact=self.contact,
            body=body,
            content_type=content_type,
            extra_headers=extra_headers,
            route=self.route_set,
        )

    # ------------------------------------------------------------ requests we receive
    def matches(self, request: Request) -> bool:
        return (
            request.call_id == self.call_id
            and request.to_addr.tag == self.local_tag
            and request.from_addr.tag == self.remote_tag
        )

    def check_cseq(self, request: Request) -> Response | None:
        """Record the remote CSeq of a request in this dialog; a 500 if it went backwards."""
        number = request.cseq.number
        if self.remote_seq is not None and number < self.remote_seq:
            return make_response(request, 500, headers=[("Retry-After", "1")])
        self.remote_seq = number
        return None

    def receive_request(self, request: Request) -> Response | None:
        """The answer to a request inside this dialog; None for an ACK (no answer exists).

        BYE ends the dialog; INFO, MESSAGE and the like get 200 (the caller acts on the body);
        a re-INVITE gets 488 (see the module notes); an old CSeq gets 500.
        """
        method = request.method
        if method == "ACK":
            return None
        refused = self.check_cseq(request)
        if refused is not None:
            return refused
        if method == "INVITE":
            return make_response(
                request, 488, headers=[("Warning", '399 gbplatform "re-INVITE not supported"')]
            )
        if method == "BYE":
            self.state = TERMINATED
            return make_response(request, 200)
        if method in ANSWERED_IN_DIALOG:
            return make_response(request, 200)
        return make_response(request, 405, headers=[("Allow", ALLOW)])

    def is_2xx_retransmission(self, response: Response) -> bool:
        """A 2xx to our INVITE that we already ACKed: resend ``self.ack``."""
        return (
            self.ack is not None
            and 200 <= response.status < 300
            and response.cseq.number == self.invite_cseq
            and response.cseq.method == "INVITE"
            and response.call_id == self.call_id
            and response.to_addr.tag == self.remote_tag
        )


def answer_invite(
    invite: Request,
    status: int,
    *,
    local_tag: str,
    contact: str | None = None,
    body: bytes = b"",
    content_type: str | None = None,
    reason: str | None = None,
    extra_headers: Iterable[tuple[str, str]] = (),
) -> Response:
    """Our response to an INVITE (or another dialog-creating request): the To tag, the
    Record-Route copied (RFC 3261 12.1.1), our Contact, and the body (SDP)."""
    headers: list[tuple[str, str]] = [("Record-Route", rr) for rr in invite.headers.get_all("Record-Route")]
    if contact is not None and status > 100:
        headers.append(("Contact", contact if contact.startswith(("<", '"')) else f"<{contact}>"))
    headers.extend(extra_headers)
    if content_type is not None:
        headers.append(("Content-Type", content_type))
    return make_response(
        invite, status, reason, to_tag=local_tag if status > 100 else None, headers=headers, body=body
    )


class DialogTable:
    """Dialogs by (Call-ID, local tag, remote tag). The caller removes finished ones."""

    __slots__ = ("_dialogs",)

    def __init__(self) -> None:
        self._dialogs: dict[DialogId, Dialog] = {}

    def __len__(self) -> int:
        return len(self._dialogs)

    def add(self, dialog: Dialog) -> None:
        self._dialogs[dialog.id] = dialog

    def remove(self, dialog: Dialog) -> None:
        self._dialogs.pop(dialog.id, None)

    def for_request(self, request: Request) -> Dialog | None:
        """The dialog an incoming request belongs to: its To tag is ours, its From tag theirs."""
        local = request.to_addr.tag
        remote = request.from_addr.tag
        if not local or not remote:
            return None
        return self._dialogs.get((request.call_id, local, remote))

    def for_response(self, response: Response) -> Dialog | None:
        """The dialog a response to one of our requests belongs to."""
        local = response.from_addr.tag
        remote = response.to_addr.tag
        if not local or not remote:
            return None
        return self._dialogs.get((response.call_id, local, remote))
