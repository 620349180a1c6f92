"""Building responses: copies of a request's transaction headers (RFC 3261 8.2.6), stateless
error answers for input that did not parse, and default reason phrases."""

from __future__ import annotations

import hashlib

from sip_gateway.core.errors import SipParseError
from sip_gateway.core.headers import Headers
from sip_gateway.core.message import REQUIRED_HEADERS, Request, Response, parse_message

_PHRASES: dict[int, str] = {
    100: "Trying",
    180: "Ringing",
    181: "Call Is Being Forwarded",
    182: "Queued",
    183: "Session Progress",
    200: "OK",
    202: "Accepted",
    301: "Moved Permanently",
    302: "Moved Temporarily",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    410: "Gone",
    413: "Request Entity Too Large",
    415: "Unsupported Media Type",
    416: "Unsupported URI Scheme",
    420: "Bad Extension",
    423: "Interval Too Brief",
    480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist",
    482: "Loop Detected",
    483: "Too Many Hops",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    489: "Bad Event",
    491: "Request Pending",
    500: "Server Internal Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Server Time-out",
    505: "Version Not Supported",
    513: "Message Too Large",
    600: "Busy Everywhere",
    603: "Decline",
    604: "Does Not Exist Anywhere",
    606: "Not Acceptable",
}


def reason_phrase(status: int) -> str:
    return _PHRASES.get(status, "Unknown")


def make_response(
    request: Request,
    status: int,
    reason: str | None = None,
    *,
    to_tag: str | None = None,
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
) -> Response:
    """A response copying Via, From, To, Call-ID and CSeq from ``request`` (RFC 3261 8.2.6).

    ``to_tag`` is added to To unless the request's To already has a tag (in-dialog request).
    """
    out = _copy_transaction_headers(request.headers, to_tag)
    if headers:
        out.extend(headers)
    return Response(status, reason if reason is not None else reason_phrase(status), out, body)


_COPIED = (("from", "From"), ("to", "To"), ("call-id", "Call-ID"), ("cseq", "CSeq"))


def _copy_transaction_headers(source: Headers, to_tag: str | None) -> Headers:
    # Built field by field rather than through Headers.add: the values come from a Headers,
    # which only ever holds checked values; only the tag is new text.
    if to_tag is not None and ("\r" in to_tag or "\n" in to_tag):
        raise ValueError(f"illegal To tag {to_tag[:40]!r}")
    fields = [field for field in source._fields if field[0] == "via"]  # already ("via", "Via", value)
    first = {"via": fields[0][2]} if fields else {}
    values = source._first
    if values is None:
        values = source._index()
    for key, name in _COPIED:
        found = values.get(key)
        if found is None:
            continue
        if key == "to" and to_tag is not None and ";tag=" not in found.replace(" ", "").lower():
            found = f"{found};tag={to_tag}"
        fields.append((key, name, found))
        first[key] = found
    return Headers._from_canonical(fields, first)


def make_stateless_error(
    source: bytes | SipParseError,
    status: int | None = None,
    reason: str | None = None,
    *,
    to_tag: str | None = None,
) -> Response | None:
    """An error response for a request we could not accept, or None when none may be sent.

    None when the input is a response, an ACK, or lacks Via/From/To/Call-ID/CSeq. Without
    ``to_tag`` a tag is derived from the request's Call-ID and Via, so a retransmission gets
    the same answer without any state. The parse error is stated in a Warning header.
    """
    if isinstance(source, bytes | bytearray):
        try:
            message = parse_message(bytes(source))
        except SipParseError as exc:
            source = exc
        else:
            if not isinstance(message, Request) or message.method == "ACK":
                return None
            return make_response(
                message, status or 400, reason, to_tag=to_tag or _derived_tag(message.headers)
            )
    error = source
    if error.is_request is not True or error.headers is None or error.method == "ACK":
        return None
    if any(name not in error.headers for name in REQUIRED_HEADERS):
        return None
    code = status or error.status
    out = _copy_transaction_headers(error.headers, to_tag or _derived_tag(error.headers))
    warning = error.reason.replace("\\", "\\\\").replace('"', '\\"')
    out.add("Warning", f'399 gbplatform "{warning}"')
    return Response(code, reason if reason is not None else reason_phrase(code), out, b"")


def _derived_tag(headers: Headers) -> str:
    seed = f"{headers.get('Call-ID')}|{headers.get('Via')}".encode("utf-8", "surrogateescape")
    return hashlib.md5(seed).hexdigest()[:10]
