"""Requests the platform sends to devices outside any dialog (MESSAGE queries, SUBSCRIBE)."""

from __future__ import annotations

import itertools
import secrets
from dataclasses import dataclass

from sip_gateway.core.dialog import build_request
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


def new_branch() -> str:
    """A fresh Via branch: the RFC 3261 magic cookie and 64 random bits."""
    return f"z9hG4bK{secrets.token_hex(8)}"


def device_uri(device_id: str, peer: Peer) -> str:
    """The SIP URI of a device at the address it registered from (an IPv6 host in brackets)."""
    host = f"[{peer[1]}]" if ":" in peer[1] else peer[1]
    return f"sip:{device_id}@{host}:{peer[2]}"


class RequestFactory:
    def __init__(self, identity: LocalIdentity) -> None:
        self.identity = identity
        self._cseq = itertools.count(1)

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
        """A request to a device outside any dialog, built by the SIP core's `build_request`."""
        me = self.identity
        return build_request(
            method,
            device_uri(device_id, peer),
            from_addr=f"<sip:{me.sip_id}@{me.domain}>;tag={from_tag or secrets.token_hex(5)}",
            to_addr=f"<sip:{device_id}@{me.domain}>",
            call_id=call_id or f"{secrets.token_hex(10)}@{me.host}",
            cseq=cseq if cseq is not None else next(self._cseq),
            via_host=me.host,
            via_port=me.port,
            transport="TCP" if peer[0] == "tcp" else "UDP",
            branch=new_branch(),
            contact=f"<sip:{me.sip_id}@{me.host}:{me.port}>" if method in ("SUBSCRIBE", "INVITE") else None,
            body=body,
            content_type=content_type if body else None,
            extra_headers=(("User-Agent", USER_AGENT), *extra),
        )
