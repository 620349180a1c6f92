"""SIP requests and responses: parse from bytes, serialize to bytes, build responses.

Responses are built in ``responses`` (make_response, make_stateless_error).

Lenient in what it reads (compact names, folding, odd whitespace, bare LF line ends, a
missing Content-Length on UDP), canonical in what it writes (full header names, CRLF,
a Content-Length that matches the body). Bodies stay bytes: GB2312 MANSCDP XML reaches the
application untouched. Header text is decoded as UTF-8 with ``surrogateescape`` so any
byte survives a parse/serialize round trip.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sip_gateway.core.errors import SipParseError
from sip_gateway.core.frozen import quick_init
from sip_gateway.core.header_values import (
    CSeq,
    NameAddress,
    Via,
    check_name_addr,
    check_vias,
    cseq_method,
    is_token,
    parse_vias,
    sip_user,
)
from sip_gateway.core.headers import Headers, canonical_name, split_list
from sip_gateway.core.uri import SipUri, uri_scheme

SIP_VERSION = "SIP/2.0"
# Plain sip:user@host[:port][;params] URIs, checked without building a SipUri.
_FAST_SIP_URI = re.compile(
    r"sips?:(?:[A-Za-z0-9\-.!~*'()&=+$,;/%_]+@)?[A-Za-z0-9\-.]+(?::(?:\d{1,4}|[1-5]\d{4}))?"
    r"(?:;[A-Za-z0-9\-.!%*_+`'~]+(?:=[A-Za-z0-9\-.!%*_+`'~]+)?)*"
)
REQUIRED_HEADERS = ("Via", "From", "To", "Call-ID", "CSeq")
_REQUIRED_KEYS = tuple((name, name.lower()) for name in REQUIRED_HEADERS)
_SINGLE_VALUED = frozenset(("call-id", "cseq", "from", "to", "max-forwards", "content-type"))


class _MessageViews:
    """Parsed views shared by Request and Response; each call parses the header text again."""

    __slots__ = ()
    headers: Headers
    body: bytes

    @property
    def call_id(self) -> str:
        return self.headers.get("Call-ID") or ""

    @property
    def cseq(self) -> CSeq:
        return CSeq.parse(self.headers.get("CSeq") or "")

    @property
    def vias(self) -> list[Via]:
        return parse_vias(self.headers.get_all("Via"))

    @property
    def top_via(self) -> Via:
        first = self.headers.get("Via")
        if first is None:
            raise SipParseError("missing Via")
        return Via.parse(split_list(first)[0])

    @property
    def from_addr(self) -> NameAddress:
        return NameAddress.parse(self.headers.get("From") or "")

    @property
    def from_user(self) -> str | None:
        """The user part of From's sip/sips URI (a GB device ID); SipParseError when unreadable."""
        return sip_user(self.headers.get("From") or "")

    @property
    def to_addr(self) -> NameAddress:
        return NameAddress.parse(self.headers.get("To") or "")

    @property
    def contacts(self) -> list[NameAddress]:
        """Contact values; ``Contact: *`` (unregister all) gives an empty list, see ``contact_is_star``."""
        items = self.headers.get_list("Contact")
        return [NameAddress.parse(item) for item in items if item != "*"]

    @property
    def contact_is_star(self) -> bool:
        return self.headers.get_list("Contact") == ["*"]

    @property
    def expires(self) -> int | None:
        value = (self.headers.get("Expires") or "").strip()
        return int(value) if value.isdigit() and value.isascii() and len(value) <= 10 else None

    @property
    def content_type(self) -> str | None:
        return self.headers.get("Content-Type")


@quick_init
@dataclass(frozen=True, slots=True)
class Request(_MessageViews):
    method: str
    uri: str
    headers: Headers
    body: bytes = b""

    @property
    def sip_uri(self) -> SipUri:
        return SipUri.parse(self.uri)

    @property
    def start_line(self) -> str:
        return f"{self.method} {self.uri} {SIP_VERSION}"

    def to_bytes(self) -> bytes:
        return serialize(self)


@quick_init
@dataclass(frozen=True, slots=True)
class Response(_MessageViews):
    status: int
    reason: str
    headers: Headers
    body: bytes = b""

    @property
    def start_line(self) -> str:
        return f"{SIP_VERSION} {self.status} {self.reason}"

    def to_bytes(self) -> bytes:
        return serialize(self)


Message = Request | Response


def serialize(message: Message) -> bytes:
    """Canonical wire bytes: CRLF line ends, full header names, a correct Content-Length."""
    body = message.body
    lines = [message.start_line]
    length_written = False
    for key, name, value in message.headers._fields:
        if key == "content-length":
            if not length_written:
                lines.append(f"Content-Length: {len(body)}")
                length_written = True
            continue
        lines.append(f"{name}: {value}")
    if not length_written:
        lines.append(f"Content-Length: {len(body)}")
    lines.append("\r\n")
    return "\r\n".join(lines).encode("utf-8", "surrogateescape") + body


def parse_message(data: bytes) -> Message:
    """Parse one datagram (or one framed stream message). Raises only ``SipParseError``."""
    try:
        return _parse(data if type(data) is bytes else bytes(data))
    except SipParseError:
        raise
    except Exception as exc:  # a safety net: the transport must only ever see SipParseError
        raise SipParseError(f"unparseable message ({type(exc).__name__})") from exc


def _split_head(data: bytes) -> tuple[bytes, bytes]:
    """Header block and the rest; the blank line may be CRLF CRLF, LF LF or missing (end of datagram)."""
    crlf = data.find(b"\n\r\n")
    lf = data.find(b"\n\n")
    if crlf < 0 and lf < 0:
        return data, b""
    if lf < 0 or 0 <= crlf < lf:
        end = crlf - 1 if crlf > 0 and data[crlf - 1] == 0x0D else crlf
        return data[:end], data[crlf + 3 :]
    end = lf - 1 if lf > 0 and data[lf - 1] == 0x0D else lf
    return data[:end], data[lf + 2 :]


# Header names seen on the wire -> (lookup key, canonical spelling). Bounded: a peer
# sending random names must not grow it without limit.
_NAME_CACHE: dict[str, tuple[str, str]] = {}
_NAME_CACHE_LIMIT = 2048


class _HeaderBlock:
    """The fields of a header block, with what validation needs gathered in the same pass."""

    __slots__ = ("duplicate", "fields", "first")

    def __init__(self, fields: list[tuple[str, str, str]], first: dict[str, str], duplicate: str | None) -> None:
        self.fields = fields
        self.first = first  # lookup key -> first value
        self.duplicate = duplicate  # the first single-valued header seen twice


def _header_fields(lines: list[str], folded: bool) -> _HeaderBlock:
    if folded:
        lines = _unfold(lines)
    fields: list[tuple[str, str, str]] = []
    first: dict[str, str] = {}
    duplicate: str | None = None
    cache = _NAME_CACHE
    for line in lines:
        name, colon, value = line.partition(":")
        if not colon:
            if not line:
                continue
            raise SipParseError(f"header line without ':': {line[:60]!r}")
        known = cache.get(name)
        if known is None:
            stripped = name.rstrip()
            if not is_token(stripped):
                raise SipParseError(f"bad header name {stripped[:60]!r}")
            canonical = canonical_name(stripped)
            known = (canonical.lower(), canonical)
            if len(cache) < _NAME_CACHE_LIMIT:
                cache[name] = known
        key = known[0]
        value = value.strip(" \t")
        fields.append((key, known[1], value))
        if key not in first:
            first[key] = value
        elif duplicate is None and key in _SINGLE_VALUED:
            duplicate = key
    return _HeaderBlock(fields, first, duplicate)


def _unfold(lines: list[str]) -> list[str]:
    """Join continuation lines (leading SP/HT) to the header they continue, with one space."""
    unfolded: list[str] = []
    for line in lines:
        if not line:
            continue
        if line[0] in " \t":
            if not unfolded:
                raise SipParseError("continuation line before the first header")
            unfolded[-1] = unfolded[-1].rstrip(" \t") + " " + line.strip(" \t")
        else:
            unfolded.append(line)
    return unfolded


def _parse(data: bytes) -> Message:
    if data[:1] in (b"\r", b"\n"):
        data = data.lstrip(b"\r\n")  # RFC 3261 7.5: ignore CRLFs before the start line
    if not data:
        raise SipParseError("empty message")
    lines = _crlf_lines(data)
    if lines is not None:
        head_lines, rest = lines
        block = _header_fields(head_lines[1:], False)
    else:
        head_bytes, rest = _split_head(data)
        head = head_bytes.decode("utf-8", "surrogateescape")
        if "\r" in head:
            head = head.replace("\r\n", "\n")
            if "\r" in head:
                # A lone CR could end a line for some peers and not for others: refuse it.
                raise SipParseError("bare CR in the header block")
        head_lines = head.split("\n")
        folded = "\n " in head or "\n\t" in head
        block = _header_fields(head_lines[1:], folded)
    start = head_lines[0]
    headers = Headers._from_canonical(block.fields, block.first)
    if start.startswith("SIP/"):
        status, reason = _parse_status_line(start)
        try:
            body = _body(_check_headers(block, None), rest)
        except SipParseError as exc:
            raise SipParseError(exc.reason, is_request=False, headers=headers) from None
        return Response(status, reason, headers, body)
    method, uri = _parse_request_line(start, headers)
    try:
        body = _body(_check_headers(block, method), rest)
    except SipParseError as exc:
        raise SipParseError(exc.reason, is_request=True, method=method, headers=headers) from None
    return Request(method, uri, headers, body)


def _crlf_lines(data: bytes) -> tuple[list[str], bytes] | None:
    """The lines of the header block and the rest, for the shape nearly every message has: CRLF
    line ends only, ended by CRLF CRLF, no folding. None for anything else, which
    ``_split_head`` and the general path then take (they give the same result for this shape)."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = data[:end].decode("utf-8", "surrogateescape")
    lines = head.split("\r\n")
    breaks = len(lines) - 1
    # As many CRs and LFs as CRLFs: no bare CR or LF, so no LF LF ends the block earlier.
    if head.count("\n") != breaks or head.count("\r") != breaks or "\r\n " in head or "\r\n\t" in head:
        return None
    return lines, data[end + 4 :]


def _parse_status_line(line: str) -> tuple[int, str]:
    version, _, rest = line.partition(" ")
    code_text, _, reason = rest.lstrip(" ").partition(" ")
    if version.upper() != SIP_VERSION:
        raise SipParseError(f"unsupported SIP version {version[:20]!r}", status=505)
    if len(code_text) != 3 or not code_text.isdigit() or not code_text.isascii():
        raise SipParseError(f"bad status code {code_text[:20]!r}")
    status = int(code_text)
    if not 100 <= status <= 699:
        raise SipParseError(f"status code {status} out of range")
    return status, reason.strip()


# Request lines that parsed, -> (method, URI). Devices send their requests to the platform's
# few URIs, so nearly every request line was seen before; bounded like _NAME_CACHE.
_REQUEST_LINES: dict[str, tuple[str, str]] = {}
_REQUEST_LINES_LIMIT = 1024


def _parse_request_line(line: str, headers: Headers) -> tuple[str, str]:
    known = _REQUEST_LINES.get(line)
    if known is not None:
        return known
    method, uri = _read_request_line(line, headers)
    if len(_REQUEST_LINES) < _REQUEST_LINES_LIMIT:
        _REQUEST_LINES[line] = (method, uri)
    return method, uri


def _read_request_line(line: str, headers: Headers) -> tuple[str, str]:
    # Extra spaces between the elements (RFC 4475 3.1.2.9/3.1.2.10) are ignored: split()
    # leaves nothing ambiguous, and we always write single spaces back.
    parts = line.split()
    method = parts[0] if parts else ""
    if not is_token(method):
        raise SipParseError(f"bad request line {line[:80]!r}")

    def fail(reason: str, status: int = 400) -> SipParseError:
        return SipParseError(reason, status=status, is_request=True, method=method, headers=headers)

    if len(parts) != 3:
        raise fail(
            "whitespace inside the Request-URI" if len(parts) > 3 else f"bad request line {line[:80]!r}"
        )
    uri, version = parts[1], parts[2]
    if version.upper() != SIP_VERSION:
        raise fail(f"unsupported SIP version {version[:20]!r}", 505)
    scheme = uri_scheme(uri)
    if scheme is None:
        raise fail(f"Request-URI is not an absolute URI: {uri[:80]!r}")
    if scheme in ("sip", "sips") and _FAST_SIP_URI.fullmatch(uri) is None:
        try:
            sip_uri = SipUri.parse(uri)
        except SipParseError as exc:
            raise fail(exc.reason) from None
        if sip_uri.headers:
            raise fail("headers are not allowed in the Request-URI")
    return method, uri


def _check_headers(block: _HeaderBlock, method: str | None) -> list[str]:
    """Validate what every layer relies on; return the Content-Length values for ``_body``."""
    if block.duplicate is not None:
        raise SipParseError(f"more than one {canonical_name(block.duplicate)} header")
    first = block.first
    for name, key in _REQUIRED_KEYS:
        if key not in first:
            raise SipParseError(f"missing {name} header")
    cseq = cseq_method(first["cseq"])
    if method is not None and cseq != method and cseq.upper() != method.upper():
        raise SipParseError(f"CSeq method {cseq!r} does not match request method {method!r}")
    if not first["call-id"]:
        raise SipParseError("empty Call-ID")
    fields = block.fields
    check_vias([value for key, _, value in fields if key == "via"])
    check_name_addr(first["from"])
    check_name_addr(first["to"])
    if "content-length" not in first:
        return []
    return [value for key, _, value in fields if key == "content-length"]


def content_length_of(headers: Headers) -> int | None:
    """The declared Content-Length, None if absent; conflicting or bad values raise."""
    return _content_length(headers.get_all("Content-Length"))


def _content_length(values: list[str]) -> int | None:
    if not values:
        return None
    if len(set(values)) > 1:
        raise SipParseError("conflicting Content-Length headers")
    text = values[0]
    if text.startswith("-"):
        raise SipParseError(f"negative Content-Length {text[:20]}")
    if not text.isdigit() or not text.isascii() or len(text) > 9:
        raise SipParseError(f"bad Content-Length {text[:20]!r}")
    return int(text)


def _body(lengths: list[str], rest: bytes) -> bytes:
    length = _content_length(lengths)
    if length is None:
        return rest  # RFC 3261 18.3: over UDP the body runs to the end of the datagram
    if length > len(rest):
        raise SipParseError(f"Content-Length {length} larger than the {len(rest)} body bytes received")
    return rest[:length] if length < len(rest) else rest
