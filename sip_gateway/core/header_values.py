"""Parsed views of the structured header fields: Via, name-addr (From/To/Contact...), CSeq.

Parsing is lenient about whitespace (RFC 4475 3.1.1.1 folds and pads everything) and strict
about structure: an empty parameter, an unterminated quote or a missing CSeq number raise
``SipParseError`` with a reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from sip_gateway.core.errors import SipParseError
from sip_gateway.core.frozen import quick_init
from sip_gateway.core.uri import Params, SipUri, find_param, format_params, parse_host_port, parse_params

TOKEN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~")
KNOWN_METHODS = frozenset(
    (
        "REGISTER",
        "INVITE",
        "ACK",
        "BYE",
        "CANCEL",
        "OPTIONS",
        "MESSAGE",
        "INFO",
        "SUBSCRIBE",
        "NOTIFY",
        "PRACK",
        "UPDATE",
        "REFER",
        "PUBLISH",
    )
)
MAX_CSEQ = 2**31 - 1


def is_token(text: str) -> bool:
    return bool(text) and TOKEN_CHARS.issuperset(text)


@quick_init
@dataclass(frozen=True, slots=True)
class Via:
    """One Via value: ``SIP/2.0/<transport> host[:port];params``."""

    transport: str
    host: str
    port: int | None = None
    params: Params = field(default=())
    protocol: str = "SIP/2.0"

    @classmethod
    def parse(cls, text: str) -> Via:
        recent_text, recent = _recent_via
        if recent_text == text and recent is not None:
            return recent
        via = _plain_via(text)
        return via if via is not None else cls.parse_general(text)

    @classmethod
    def parse_general(cls, text: str) -> Via:
        """Any Via value; ``parse`` takes a shortcut for the plain shape and agrees with this."""
        head, semi, param_text = text.partition(";")
        pieces = head.split("/")
        if len(pieces) != 3:
            raise SipParseError(f"bad Via sent-protocol in {text[:80]!r}")
        name, version, rest = (p.strip() for p in pieces)
        rest = rest.replace("\t", " ")
        transport, _, sent_by = rest.partition(" ")
        sent_by = sent_by.strip()
        if not is_token(name) or not is_token(version) or not is_token(transport):
            raise SipParseError(f"bad Via sent-protocol in {text[:80]!r}")
        if not sent_by or " " in sent_by or "\t" in sent_by:
            raise SipParseError(f"bad Via sent-by in {text[:80]!r}")
        host, port = parse_host_port(sent_by, "Via")
        params = parse_params(param_text, "Via") if semi else ()
        return cls(
            transport=transport.upper(),
            host=host,
            port=port,
            params=params,
            protocol=f"{name.upper()}/{version}",
        )

    def param(self, name: str) -> str | None:
        return find_param(self.params, name)

    @property
    def branch(self) -> str | None:
        return self.param("branch")

    @property
    def received(self) -> str | None:
        return self.param("received")

    @property
    def has_rport(self) -> bool:
        return self.param("rport") is not None

    @property
    def rport(self) -> int | None:
        """The rport value if one was filled in; see ``has_rport`` for the bare flag."""
        value = self.param("rport")
        return int(value) if value and value.isdigit() and value.isascii() else None

    def with_param(self, name: str, value: str | None) -> Via:
        """A copy with ``name`` set (replaced in place, or appended)."""
        lowered = name.lower()
        params = list(self.params)
        for index, (key, _) in enumerate(params):
            if key.lower() == lowered:
                params[index] = (key, value)
                break
        else:
            params.append((name, value))
        return replace(self, params=tuple(params))

    def __str__(self) -> str:
        sent_by = self.host if self.port is None else f"{self.host}:{self.port}"
        return f"{self.protocol}/{self.transport} {sent_by}{format_params(self.params)}"


def parse_vias(values: list[str]) -> list[Via]:
    """Every Via value from the Via fields (each may be comma-joined)."""
    from sip_gateway.core.headers import split_list

    vias: list[Via] = []
    for value in values:
        for item in split_list(value):
            if not item:
                raise SipParseError("empty Via value")
            vias.append(Via.parse(item))
    return vias


def _unquote(text: str) -> str:
    out: list[str] = []
    escaped = False
    for char in text:
        if escaped:
            out.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        else:
            out.append(char)
    return "".join(out)


def _quoted_end(text: str) -> int:
    """Index of the closing quote of a quoted-string starting at text[0]; -1 if unterminated."""
    i = 1
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char == '"':
            return i
        i += 1
    return -1


@quick_init
@dataclass(frozen=True, slots=True)
class NameAddress:
    """``["display"] <uri>;params`` as in From, To, Contact, Route. ``uri`` is kept as text
    because any absolute URI may appear (RFC 4475 3.3.4); ``sip_uri`` parses it."""

    uri: str
    display_name: str | None = None
    params: Params = field(default=())

    @classmethod
    def parse(cls, text: str) -> NameAddress:
        text = text.strip()
        display: str | None = None
        rest = text
        if text.startswith('"'):
            end = _quoted_end(text)
            if end < 0:
                raise SipParseError(f"unterminated quoted display name in {text[:80]!r}")
            display = _unquote(text[1:end])
            rest = text[end + 1 :].lstrip()
            if not rest.startswith("<"):
                raise SipParseError(f"quoted display name without <URI> in {text[:80]!r}")
        lt = rest.find("<")
        if lt >= 0:
            if display is None:
                # Unquoted display names with non-token characters (RFC 4475 3.1.2.15) are
                # accepted as written: a tolerant element may infer the quotes.
                display = rest[:lt].strip() or None
            gt = rest.find(">", lt)
            if gt < 0:
                raise SipParseError(f"unterminated <URI> in {text[:80]!r}")
            uri = rest[lt + 1 : gt].strip()
            tail = rest[gt + 1 :].strip()
            if tail and not tail.startswith(";"):
                raise SipParseError(f"junk after <URI> in {text[:80]!r}")
            params = parse_params(tail[1:], "name-addr") if tail else ()
        else:
            uri, semi, param_text = rest.partition(";")
            uri = uri.strip()
            params = parse_params(param_text, "name-addr") if semi else ()
            if any(c in uri for c in ' \t"'):
                raise SipParseError(f"whitespace or quote in addr-spec {text[:80]!r}")
        if not uri or ":" not in uri:
            raise SipParseError(f"missing URI in {text[:80]!r}")
        return cls(uri=uri, display_name=display, params=params)

    @property
    def sip_uri(self) -> SipUri:
        return SipUri.parse(self.uri)

    def param(self, name: str) -> str | None:
        return find_param(self.params, name)

    @property
    def tag(self) -> str | None:
        return self.param("tag")

    def with_param(self, name: str, value: str | None) -> NameAddress:
        lowered = name.lower()
        params = [(k, v) for k, v in self.params if k.lower() != lowered]
        params.append((name, value))
        return replace(self, params=tuple(params))

    def __str__(self) -> str:
        display = ""
        if self.display_name:
            escaped = self.display_name.replace("\\", "\\\\").replace('"', '\\"')
            display = f'"{escaped}" '
        return f"{display}<{self.uri}>{format_params(self.params)}"


@quick_init
@dataclass(frozen=True, slots=True)
class CSeq:
    number: int
    method: str

    @classmethod
    def parse(cls, text: str) -> CSeq:
        parts = text.split()
        if len(parts) != 2:
            if len(parts) == 1 and is_token(parts[0]) and not parts[0].isdigit():
                raise SipParseError(f"CSeq number missing in {text.strip()!r}")
            raise SipParseError(f"CSeq must be '<number> <method>', got {text.strip()[:80]!r}")
        number_text, method = parts
        if not number_text.isdigit() or not number_text.isascii():
            raise SipParseError(f"CSeq number is not a number: {number_text[:40]!r}")
        if len(number_text) > 10 or int(number_text) > MAX_CSEQ:
            raise SipParseError(f"CSeq number too large: {number_text[:40]}")
        if not is_token(method):
            raise SipParseError(f"bad CSeq method {method[:40]!r}")
        # Some devices write the method in lower case; methods we know are normalised.
        upper = method.upper()
        return cls(int(number_text), upper if upper in KNOWN_METHODS else method)

    def __str__(self) -> str:
        return f"{self.number} {self.method}"


# Fast validation for the shapes real devices send. A value that fails these patterns is not
# necessarily wrong: it goes through the full parser, which decides. Every value these accept
# is also accepted by the full parser, so the outcome never depends on which path ran.
_TOKEN = r"[A-Za-z0-9\-.!%*_+`'~]+"
_PORT = r"(?:\d{1,4}|[1-5]\d{4}|6[0-4]\d{3}|65[0-4]\d\d|655[0-2]\d|6553[0-5])"
_PARAMS = rf"(?:;{_TOKEN}(?:={_TOKEN})?)*"
_FAST_NAME_ADDR = re.compile(rf"(?:\"[^\"\\]*\" ?|{_TOKEN} )?<[^<>\"\s:]+:[^<>\"\s]*>{_PARAMS}")
_FAST_CSEQ = re.compile(r"(\d{1,9}) ([A-Z]+)")


# Plain shapes with groups, for the fast paths of Via.parse and sip_user.
_PLAIN_VIA = re.compile(rf"SIP/2\.0/([A-Za-z]+) ([A-Za-z0-9\-.]+)(?::({_PORT}))?({_PARAMS})")
_PLAIN_SIP_USER = re.compile(
    rf"(?:\"[^\"\\]*\" ?|{_TOKEN} )?<[sS][iI][pP][sS]?:([A-Za-z0-9]+)@[A-Za-z0-9\-.]+(?::{_PORT})?{_PARAMS}>{_PARAMS}"
)


def _plain_via(text: str) -> Via | None:
    """``Via.parse`` for what nearly every device sends (the general parser gives the same for
    these), else None. The result is remembered: the parser checks a message's Via this way,
    and the transaction layer then asks for the same top Via at once."""
    global _recent_via
    plain = _PLAIN_VIA.fullmatch(text)
    if plain is None:
        return None
    transport, host, port, param_text = plain.groups()
    via = Via(transport.upper(), host, int(port) if port is not None else None, _plain_params(param_text) if param_text else ())
    _recent_via = (text, via)
    return via


_recent_via: tuple[str | None, Via | None] = (None, None)


def _plain_params(text: str) -> Params:
    """``;a=b;c`` made only of tokens (as _PARAMS matches): no whitespace to trim, no empty names."""
    params: list[tuple[str, str | None]] = []
    for item in text[1:].split(";"):
        name, eq, value = item.partition("=")
        params.append((name, value if eq else None))
    return tuple(params)


def sip_user(name_addr: str) -> str | None:
    """The user part of the sip/sips URI in a From/To value: ``NameAddress.parse(value).sip_uri.user``,
    raising SipParseError alike, without building either for the usual shape."""
    plain = _PLAIN_SIP_USER.fullmatch(name_addr)
    if plain is not None:
        return plain.group(1)
    return NameAddress.parse(name_addr).sip_uri.user


def check_vias(values: list[str]) -> None:
    """Raise SipParseError unless every Via value is well formed."""
    for value in values:
        if "," in value or _plain_via(value) is None:
            parse_vias([value])


def check_name_addr(value: str) -> None:
    if _FAST_NAME_ADDR.fullmatch(value) is None:
        NameAddress.parse(value)


def cseq_method(value: str) -> str:
    """The CSeq method after checking the whole value (see CSeq.parse)."""
    match = _FAST_CSEQ.fullmatch(value)
    return match.group(2) if match is not None else CSeq.parse(value).method
