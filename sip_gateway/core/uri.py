"""SIP and SIPS URIs (RFC 3261 19.1): parse leniently, print canonically.

GB/T 28181 uses numeric "domains" such as ``sip:34020000001320000001@3402000000``, which some
parsers reject as hosts; here any host made of letters, digits, ``-`` and ``.`` is accepted,
as are IPv6 references ``[::1]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sip_gateway.core.errors import SipParseError
from sip_gateway.core.frozen import quick_init

Params = tuple[tuple[str, str | None], ...]

_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._")
_IPV6_CHARS = frozenset("0123456789abcdefABCDEF:.")
_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.")


def parse_host_port(text: str, what: str) -> tuple[str, int | None]:
    """Split ``host[:port]`` (host may be an IPv6 reference); raise SipParseError if malformed."""
    port_text = ""
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise SipParseError(f"unterminated IPv6 reference in {what}")
        host = text[: end + 1]
        if not host[1:-1] or not _IPV6_CHARS.issuperset(host[1:-1]):
            raise SipParseError(f"bad IPv6 reference in {what}")
        rest = text[end + 1 :]
        if rest:
            if rest[0] != ":":
                raise SipParseError(f"junk after IPv6 reference in {what}")
            port_text = rest[1:]
    else:
        host, sep, port_text = text.partition(":")
        if not host or not _HOST_CHARS.issuperset(host):
            raise SipParseError(f"bad host {host!r} in {what}")
        if sep and not port_text:
            raise SipParseError(f"empty port in {what}")
    if not port_text:
        return host, None
    if not port_text.isdigit() or not port_text.isascii() or len(port_text) > 5:
        raise SipParseError(f"bad port {port_text!r} in {what}")
    port = int(port_text)
    if port > 65535:
        raise SipParseError(f"port {port} out of range in {what}")
    return host, port


def parse_params(text: str, what: str) -> Params:
    """Parse ``;a=b;c`` style parameters (text after the first ';'), trimming odd whitespace."""
    params: list[tuple[str, str | None]] = []
    for raw in text.split(";"):
        name, sep, value = raw.partition("=")
        name = name.strip()
        if not name:
            raise SipParseError(f"empty parameter in {what}")
        if sep:
            params.append((name, value.strip()))
        else:
            params.append((name, None))
    return tuple(params)


def format_params(params: Params) -> str:
    return "".join(f";{name}" if value is None else f";{name}={value}" for name, value in params)


def find_param(params: Params, name: str) -> str | None:
    """The value of a parameter (``""`` for a flag without value), or None when absent."""
    lowered = name.lower()
    for key, value in params:
        if key == lowered or key.lower() == lowered:
            return "" if value is None else value
    return None


@quick_init
@dataclass(frozen=True, slots=True)
class SipUri:
    """A sip: or sips: URI. ``user`` keeps %-escapes as written (RFC 4475 3.1.1.4)."""

    host: str
    user: str | None = None
    password: str | None = None
    port: int | None = None
    scheme: str = "sip"
    params: Params = field(default=())
    headers: Params = field(default=())

    @classmethod
    def parse(cls, text: str) -> SipUri:
        text = text.strip()
        scheme, colon, rest = text.partition(":")
        lowered = scheme.lower()
        if not colon or lowered not in ("sip", "sips"):
            raise SipParseError(f"not a sip/sips URI: {text[:80]!r}")
        if any(c in rest for c in ' \t<>"'):
            raise SipParseError(f"illegal character in URI {text[:80]!r}")
        # The user part may hold ';', '?' and '/' (RFC 4475 3.1.1.2, 3.1.1.9) but never a raw
        # '@', so the first '@' ends it.
        user: str | None = None
        password: str | None = None
        at = rest.find("@")
        if at >= 0:
            userinfo, rest = rest[:at], rest[at + 1 :]
            user, pcolon, pw = userinfo.partition(":")
            password = pw if pcolon else None
            if not user:
                raise SipParseError(f"empty user part in URI {text[:80]!r}")
        main, qmark, header_text = rest.partition("?")
        hostport, semi, param_text = main.partition(";")
        host, port = parse_host_port(hostport, "URI")
        params = parse_params(param_text, "URI") if semi else ()
        headers: list[tuple[str, str | None]] = []
        if qmark:
            for raw in header_text.split("&"):
                name, eq, value = raw.partition("=")
                if not name:
                    raise SipParseError("empty header in URI")
                headers.append((name, value if eq else None))
        return cls(
            host=host,
            user=user,
            password=password,
            port=port,
            scheme=lowered,
            params=params,
            headers=tuple(headers),
        )

    def param(self, name: str) -> str | None:
        return find_param(self.params, name)

    @property
    def host_port(self) -> str:
        return self.host if self.port is None else f"{self.host}:{self.port}"

    def __str__(self) -> str:
        userinfo = ""
        if self.user is not None:
            userinfo = self.user if self.password is None else f"{self.user}:{self.password}"
            userinfo += "@"
        text = f"{self.scheme}:{userinfo}{self.host_port}{format_params(self.params)}"
        if self.headers:
            text += "?" + "&".join(n if v is None else f"{n}={v}" for n, v in self.headers)
        return text


def uri_scheme(text: str) -> str | None:
    """The scheme of an absolute URI (lower-case), or None if ``text`` does not start with one."""
    scheme, colon, _ = text.partition(":")
    if not colon or not scheme or not scheme[0].isalpha() or not _SCHEME_CHARS.issuperset(scheme):
        return None
    return scheme.lower()
