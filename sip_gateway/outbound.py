"""Requests the platform sends to devices outside any dialog (MESSAGE queries, SUBSCRIBE)."""

from __future__ import annotations

import itertools
import secrets
from dataclasses import dataclass

from sip_gateway.core.headers import Headers
from sip_gateway.core.message import Request
from sip_gateway.transport import Peer

MANSCDP = "Application/MANSCDP+xml"
USER_AGENT = "gbplatform"


@dataclass(frozen=True)
class LocalIdentity:
    sip_id: str
    domain: str
    host: str  # the advertised address: what devices can reach
    port: int


class RequestFactory:
    def __init__(self, identity: LocalIdentity) -> None:
        self.identity = identity
        self._cseq = itertools.count(1)

    def _via(self, peer: Peer) -> str:
        transport = "TCP" if peer[0] == "tcp" else "UDP"
        return f"SIP/2.0/{transport} {self.identity.host}:{self.identity.port};rport;branch=z9hG4bK{secrets.token_hex(8)}"

    def out_of_dialog(
        self,
        method: str,
        *,
        device_id: str,
        peer: Peer,
        body: bytes = b"",
        content_type: str | None = MANSCDP,
        extra: tuple[tuple[str, str], ...] = (),
        call_id: str | None = None,
        from_tag: str | None = None,
        cseq: int | None = None,
    ) -> Request:
        me = self.identity
        headers = Headers(
            [
                ("Via", self._via(peer)),
                ("From", f"<sip:{me.sip_id}@{me.domain}>;tag={from_tag or secrets.token_hex(5)}"),
                ("To", f"<sip:{device_id}@{me.domain}>"),
                ("Call-ID", call_id or f"{secrets.token_hex(10)}@{me.host}"),
                ("CSeq", f"{cseq if cseq is not None else next(self._cseq)} {method}"),
                ("Max-Forwards", "70"),
                ("User-Agent", USER_AGENT),
                *extra,
            ]
        )
        if method in ("SUBSCRIBE", "INVITE"):
            headers.add("Contact", f"<sip:{me.sip_id}@{me.host}:{me.port}>")
        if body and content_type:
            headers.add("Content-Type", content_type)
        host = f"[{peer[1]}]" if ":" in peer[1] else peer[1]
        return Request(method, f"sip:{device_id}@{host}:{peer[2]}", headers, body)
