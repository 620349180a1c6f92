"""Requests a device sends: out-of-dialog (REGISTER, MESSAGE) and in-dialog (MESSAGE, NOTIFY).

Built from the project's SIP core (`Headers`, `Request`); IDs come from the core's `IdSource`
fed with the device's own seeded generator, so a seeded run is reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass

from sip_gateway.core.headers import Headers
from sip_gateway.core.message import Request

MANSCDP_TYPE = "Application/MANSCDP+xml"


@dataclass(slots=True)
class DialogRef:
    """What a device needs to send requests inside a dialog it answered (INVITE, SUBSCRIBE)."""

    call_id: str
    local_uri: str
    local_tag: str
    remote_uri: str
    remote_tag: str
    remote_target: str
    local_cseq: int = 0

    def next_cseq(self) -> int:
        self.local_cseq += 1
        return self.local_cseq


def dialog_from_request(request: Request, local_tag: str) -> DialogRef:
    """The dialog a device creates by answering `request` (INVITE or SUBSCRIBE) with `local_tag`."""
    remote = request.from_addr
    contacts = request.contacts
    return DialogRef(
        call_id=request.call_id,
        local_uri=request.to_addr.uri,
        local_tag=local_tag,
        remote_uri=remote.uri,
        remote_tag=remote.tag or "",
        remote_target=contacts[0].uri if contacts else remote.uri,
    )


def request_user(request: Request) -> str:
    """The Request-URI's user part; "" when it has none or is not a sip/sips URI."""
    try:
        return request.sip_uri.user or ""
    except ValueError:
        return ""


def via_value(transport: str, host: str, port: int, branch: str) -> str:
    return f"SIP/2.0/{transport.upper()} {host}:{port};rport;branch={branch}"


def build_request(
    method: str,
    uri: str,
    *,
    via: str,
    from_value: str,
    to_value: str,
    call_id: str,
    cseq: int,
    contact: str | None = None,
    user_agent: str | None = None,
    extra: list[tuple[str, str]] | None = None,
    content_type: str | None = None,
    body: bytes = b"",
) -> Request:
    headers = Headers(
        [
            ("Via", via),
            ("From", from_value),
            ("To", to_value),
            ("Call-ID", call_id),
            ("CSeq", f"{cseq} {method}"),
            ("Max-Forwards", "70"),
        ]
    )
    if contact is not None:
        headers.add("Contact", contact)
    if user_agent:
        headers.add("User-Agent", user_agent)
    for name, value in extra or ():
        headers.add(name, value)
    if body:
        headers.add("Content-Type", content_type or MANSCDP_TYPE)
    return Request(method, uri, headers, body)


def in_dialog_request(
    dialog: DialogRef,
    method: str,
    *,
    via: str,
    user_agent: str | None = None,
    extra: list[tuple[str, str]] | None = None,
    content_type: str | None = None,
    body: bytes = b"",
) -> Request:
    return build_request(
        method,
        dialog.remote_target,
        via=via,
        from_value=f"<{dialog.local_uri}>;tag={dialog.local_tag}",
        to_value=f"<{dialog.remote_uri}>;tag={dialog.remote_tag}"
        if dialog.remote_tag
        else f"<{dialog.remote_uri}>",
        call_id=dialog.call_id,
        cseq=dialog.next_cseq(),
        user_agent=user_agent,
        extra=extra,
        content_type=content_type,
        body=body,
    )
