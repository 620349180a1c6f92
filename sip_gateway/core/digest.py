"""HTTP Digest authentication for SIP (RFC 2617 / RFC 3261 22), both sides, sans-IO.

Server: ``DigestServer`` issues challenges whose nonce is an HMAC of a timestamp (so no
state is needed to check it was ours and how old it is) and verifies Authorization
values, remembering which nonce counts were used so a captured response cannot be
replayed. Time is always passed in as ``now`` (seconds); nothing here reads a clock.

Client: ``DigestClient`` answers a 401/407 challenge, counting nc per nonce, for the
platform's own upward registrations and the device simulator.

GB/T 28181 devices vary: Hikvision answers with qop=auth, Dahua and many NVRs use no qop,
and some omit ``algorithm`` (which then means MD5).
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from sip_gateway.core.errors import SipParseError
from sip_gateway.core.frozen import quick_init

PasswordLookup = Callable[[str], str | None]


def md5_hex(text: str) -> str:
    # Copying a fresh hash object skips looking the algorithm up again, a third of the cost.
    md5 = _MD5.copy()
    md5.update(text.encode("utf-8", "surrogateescape"))
    return md5.hexdigest()


_MD5 = hashlib.md5()


def digest_response(
    *,
    username: str,
    realm: str,
    password: str,
    method: str,
    uri: str,
    nonce: str,
    qop: str | None = None,
    nc: str | None = None,
    cnonce: str | None = None,
) -> str:
    """The ``response`` value: MD5(HA1:nonce:HA2), or MD5(HA1:nonce:nc:cnonce:qop:HA2) with qop."""
    ha1 = md5_hex(f"{username}:{realm}:{password}")
    ha2 = md5_hex(f"{method}:{uri}")
    if qop:
        return md5_hex(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return md5_hex(f"{ha1}:{nonce}:{ha2}")


_PARAM = re.compile(r'[ \t,]*([^\s=,"]+)[ \t]*=[ \t]*(?:"([^"\\]*)"|([^,"]*?))[ \t]*(?=,|$)')


_TIDY_VALUE = r'(?:"[^"\\,]*"|[A-Za-z0-9_.\-/:@]+)'
_TIDY = re.compile(rf"[A-Za-z0-9_-]+={_TIDY_VALUE}(?:, ?[A-Za-z0-9_-]+={_TIDY_VALUE})*")


def _tidy_params(rest: str) -> dict[str, str] | None:
    """``a="b", c=d`` exactly as every device we know writes it: no spaces around ``=``, no
    commas or escapes inside quotes. Then each comma ends a parameter, and the result is what
    ``_fast_params`` gives, without a regex match per parameter; None for any other shape."""
    if _TIDY.fullmatch(rest) is None:
        return None
    params: dict[str, str] = {}
    for item in rest.split(","):
        name, _, value = item.partition("=")
        params[name.lstrip(" ").lower()] = value[1:-1] if value[:1] == '"' else value
    return params


def _fast_params(rest: str) -> dict[str, str] | None:
    """The usual shape (no escapes, nothing odd) by regex; None sends it to the careful loop."""
    params: dict[str, str] = {}
    position = 0
    for match in _PARAM.finditer(rest):
        if match.start() != position:
            return None
        quoted, bare = match.group(2), match.group(3)
        params[match.group(1).lower()] = quoted if quoted is not None else bare.strip()
        position = match.end()
    if rest[position:].strip(" \t,"):
        return None
    return params


def parse_auth_params(value: str) -> tuple[str, dict[str, str]]:
    """Split ``Digest a="b", c=d`` into the scheme and lower-cased parameter names.

    Lenient: quoted or bare values, any spacing around ``=`` and ``,``. Raises
    SipParseError on an unterminated quote or a parameter without ``=``.
    """
    text = value.strip()
    scheme, _, rest = text.partition(" ")
    if not scheme:
        raise SipParseError("empty authentication header")
    fast = _tidy_params(rest)
    if fast is None:
        fast = _fast_params(rest)
    if fast is not None:
        return scheme, fast
    params: dict[str, str] = {}
    i = 0
    length = len(rest)
    while i < length:
        while i < length and rest[i] in " \t,":
            i += 1
        if i >= length:
            break
        eq = rest.find("=", i)
        if eq < 0:
            raise SipParseError(f"parameter without '=' in {rest[i : i + 40]!r}")
        name = rest[i:eq].strip().lower()
        if not name or any(c in name for c in ' \t,"'):
            raise SipParseError(f"bad parameter name {rest[i:eq][:40]!r}")
        i = eq + 1
        while i < length and rest[i] in " \t":
            i += 1
        if i < length and rest[i] == '"':
            chars: list[str] = []
            i += 1
            while i < length and rest[i] != '"':
                if rest[i] == "\\" and i + 1 < length:
                    i += 1
                chars.append(rest[i])
                i += 1
            if i >= length:
                raise SipParseError(f"unterminated quoted value for {name!r}")
            i += 1
            params[name] = "".join(chars)
        else:
            comma = rest.find(",", i)
            end = length if comma < 0 else comma
            params[name] = rest[i:end].strip()
            i = end
    return scheme, params


@quick_init
@dataclass(frozen=True, slots=True)
class DigestChallenge:
    """A WWW-Authenticate / Proxy-Authenticate Digest challenge."""

    realm: str
    nonce: str
    opaque: str | None = None
    qop: str | None = None
    algorithm: str | None = "MD5"
    stale: bool = False

    @classmethod
    def parse(cls, value: str) -> DigestChallenge:
        scheme, params = parse_auth_params(value)
        if scheme.lower() != "digest":
            raise SipParseError(f"not a Digest challenge: {scheme[:20]!r}")
        if "realm" not in params or "nonce" not in params:
            raise SipParseError("Digest challenge without realm or nonce")
        return cls(
            realm=params["realm"],
            nonce=params["nonce"],
            opaque=params.get("opaque"),
            qop=params.get("qop"),
            algorithm=params.get("algorithm"),
            stale=params.get("stale", "").lower() == "true",
        )

    def to_header(self) -> str:
        text = f'Digest realm="{self.realm}",nonce="{self.nonce}"'
        if self.opaque is not None:
            text += f',opaque="{self.opaque}"'
        if self.qop:
            text += f',qop="{self.qop}"'
        if self.algorithm:
            text += f",algorithm={self.algorithm}"
        if self.stale:
            text += ",stale=true"
        return text


@quick_init
@dataclass(frozen=True, slots=True)
class DigestCredentials:
    """An Authorization / Proxy-Authorization Digest value."""

    username: str
    realm: str
    nonce: str
    uri: str
    response: str
    algorithm: str | None = None
    qop: str | None = None
    nc: str | None = None
    cnonce: str | None = None
    opaque: str | None = None

    @classmethod
    def parse(cls, value: str) -> DigestCredentials:
        scheme, params = parse_auth_params(value)
        if scheme.lower() != "digest":
            raise SipParseError(f"unsupported authentication scheme {scheme[:20]!r}")
        try:
            username, realm, nonce = params["username"], params["realm"], params["nonce"]
            uri, response = params["uri"], params["response"]
        except KeyError:
            missing = [k for k in ("username", "realm", "nonce", "uri", "response") if k not in params]
            raise SipParseError(f"Authorization lacks {', '.join(missing)}") from None
        get = params.get
        qop = get("qop") or None
        nc, cnonce = get("nc"), get("cnonce")
        if qop is not None and (not nc or not cnonce):
            raise SipParseError("qop given without nc and cnonce")
        return cls(username, realm, nonce, uri, response.lower(), get("algorithm"), qop, nc, cnonce, get("opaque"))

    def to_header(self) -> str:
        parts = [
            f'Digest username="{self.username}"',
            f'realm="{self.realm}"',
            f'nonce="{self.nonce}"',
            f'uri="{self.uri}"',
            f'response="{self.response}"',
        ]
        if self.algorithm:
            parts.append(f"algorithm={self.algorithm}")
        if self.cnonce is not None:
            parts.append(f'cnonce="{self.cnonce}"')
        if self.opaque is not None:
            parts.append(f'opaque="{self.opaque}"')
        if self.qop:
            parts.append(f"qop={self.qop}")
        if self.nc is not None:
            parts.append(f"nc={self.nc}")
        return ", ".join(parts)


class DigestOutcome(enum.Enum):
    OK = "ok"
    MISSING = "missing"  # no credentials: send a challenge
    MALFORMED = "malformed"  # unreadable header: 400 or a fresh challenge
    UNKNOWN_USER = "unknown_user"  # 403 per GB/T 28181
    BAD_RESPONSE = "bad_response"  # wrong password, foreign nonce or realm: 403
    STALE = "stale"  # right password, expired nonce: challenge again with stale=true
    REPLAY = "replay"  # nonce count already used: challenge again


@quick_init
@dataclass(frozen=True, slots=True)
class DigestResult:
    outcome: DigestOutcome
    reason: str
    username: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is DigestOutcome.OK


class HmacSha256:
    """HMAC-SHA256 (RFC 2104) under one fixed key. The two padded-key hash states are
    computed once and copied per message, which costs a quarter of ``hmac.new`` each time."""

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        if len(key) > 64:  # the SHA-256 block size
            key = hashlib.sha256(key).digest()
        key = key.ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))

    def digest(self, message: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()


class DigestServer:
    """Challenges and verification for one realm (the SIP domain, e.g. ``3402000000``).

    A nonce is ``<issue time hex>.<HMAC>``; it is good for ``nonce_ttl`` seconds. With
    qop each nonce count may be used once and must increase; without qop a nonce may
    be used once (unless ``allow_nonce_reuse`` for devices that resend cached
    credentials on refresh). At most ``max_tracked_nonces`` nonces are remembered (memory
    stays bounded), the least recently used forgotten first; after that, a nonce issued no
    later than any forgotten one is refused as a replay, so forgetting never reopens a nonce.
    """

    def __init__(
        self,
        realm: str,
        secret: bytes,
        *,
        nonce_ttl: float = 300.0,
        qop: bool = False,
        algorithm_in_challenge: bool = True,
        opaque: str | None = None,
        allow_nonce_reuse: bool = False,
        max_tracked_nonces: int = 10_000,
    ) -> None:
        self.realm = realm
        self._secret = secret
        self.nonce_ttl = nonce_ttl
        self.qop = qop
        self.algorithm_in_challenge = algorithm_in_challenge
        self.opaque = opaque
        self.allow_nonce_reuse = allow_nonce_reuse
        self.max_tracked_nonces = max_tracked_nonces
        self._used: OrderedDict[str, int] = OrderedDict()  # nonce -> highest nc seen
        self._oldest_forgotten_issue: int = -1
        self._serial = int.from_bytes(hashlib.sha256(secret).digest()[:3], "big")
        self._mac = HmacSha256(secret)

    def make_nonce(self, now: float) -> str:
        # The serial makes every nonce unique: without qop a nonce may be used once, so two
        # devices challenged in the same second must not share one.
        self._serial += 1
        stamp = f"{int(now):x}-{self._serial:x}"
        return f"{stamp}.{self._sign(stamp)}"

    def challenge(self, now: float, *, stale: bool = False) -> DigestChallenge:
        return DigestChallenge(
            realm=self.realm,
            nonce=self.make_nonce(now),
            opaque=self.opaque,
            qop="auth" if self.qop else None,
            algorithm="MD5" if self.algorithm_in_challenge else None,
            stale=stale,
        )

    def _sign(self, stamp: str) -> str:
        return self._mac.digest(stamp.encode())[:12].hex()

    def _nonce_issued_at(self, nonce: str) -> int | None:
        stamp, dot, signature = nonce.partition(".")
        if not dot or not hmac.compare_digest(signature, self._sign(stamp)):
            return None
        return _issue_time(stamp)

    def verify(
        self,
        authorization: str | None,
        *,
        method: str,
        now: float,
        password_lookup: PasswordLookup,
    ) -> DigestResult:
        """Check an Authorization value for a request with ``method``."""
        if authorization is None or not authorization.strip():
            return DigestResult(DigestOutcome.MISSING, "no credentials")
        try:
            creds = DigestCredentials.parse(authorization)
        except SipParseError as exc:
            return DigestResult(DigestOutcome.MALFORMED, exc.reason)
        user = creds.username
        if creds.algorithm is not None and creds.algorithm.upper() != "MD5":
            return DigestResult(DigestOutcome.MALFORMED, f"unsupported algorithm {creds.algorithm!r}", user)
        if creds.qop is not None and creds.qop.lower() != "auth":
            return DigestResult(DigestOutcome.MALFORMED, f"unsupported qop {creds.qop!r}", user)
        if creds.qop is not None and (creds.nc is None or not _is_hex(creds.nc)):
            return DigestResult(DigestOutcome.MALFORMED, f"bad nonce count {creds.nc!r}", user)
        if creds.realm != self.realm:
            return DigestResult(DigestOutcome.BAD_RESPONSE, f"realm {creds.realm!r} is not ours", user)
        issued = self._nonce_issued_at(creds.nonce)
        if issued is None:
            return DigestResult(DigestOutcome.BAD_RESPONSE, "nonce was not issued by this server", user)
        password = password_lookup(user)
        if password is None:
            return DigestResult(DigestOutcome.UNKNOWN_USER, f"unknown user {user!r}", user)
        expected = digest_response(
            username=user,
            realm=creds.realm,
            password=password,
            method=method,
            uri=creds.uri,
            nonce=creds.nonce,
            qop=creds.qop,
            nc=creds.nc,
            cnonce=creds.cnonce,
        )
        if not hmac.compare_digest(expected, creds.response):
            return DigestResult(DigestOutcome.BAD_RESPONSE, "response does not match (wrong password?)", user)
        if now - issued > self.nonce_ttl:
            return DigestResult(DigestOutcome.STALE, "nonce expired", user)
        return self._record_use(creds, issued, user)

    def _record_use(self, creds: DigestCredentials, issued: int, user: str) -> DigestResult:
        count = int(creds.nc, 16) if creds.qop is not None and creds.nc else 0
        last = self._used.get(creds.nonce)
        if last is None and issued <= self._oldest_forgotten_issue:
            return DigestResult(DigestOutcome.REPLAY, "nonce no longer tracked", user)
        if last is not None and (creds.qop is not None or not self.allow_nonce_reuse) and count <= last:
            return DigestResult(
                DigestOutcome.REPLAY, f"nonce count {creds.nc or '(none)'} already used", user
            )
        self._used[creds.nonce] = count
        self._used.move_to_end(creds.nonce)
        while len(self._used) > self.max_tracked_nonces:
            forgotten, _ = self._used.popitem(last=False)
            # Only verified nonces are tracked: the signature need not be checked again.
            forgotten_issue = _issue_time(forgotten.partition(".")[0]) or 0
            self._oldest_forgotten_issue = max(self._oldest_forgotten_issue, forgotten_issue)
        return DigestResult(DigestOutcome.OK, "authenticated", user)


def _issue_time(stamp: str) -> int | None:
    try:
        return int(stamp.partition("-")[0], 16)
    except ValueError:
        return None


def _is_hex(text: str) -> bool:
    return bool(text) and len(text) <= 8 and all(c in "0123456789abcdefABCDEF" for c in text)


class DigestClient:
    """Answers Digest challenges for one account, counting nc per nonce."""

    def __init__(self, username: str, password: str) -> None:
        self.username = username
        self.password = password
        self._nonce: str | None = None
        self._nc = 0

    def authorization(self, challenge: DigestChallenge | str, *, method: str, uri: str, cnonce: str) -> str:
        """The Authorization value for a request; ``cnonce`` is the caller's random string."""
        if isinstance(challenge, str):
            challenge = DigestChallenge.parse(challenge)
        if challenge.algorithm is not None and challenge.algorithm.upper() != "MD5":
            raise SipParseError(f"unsupported algorithm {challenge.algorithm!r}")
        qop: str | None = None
        if challenge.qop:
            offered = [q.strip().lower() for q in challenge.qop.split(",")]
            if "auth" not in offered:
                raise SipParseError(f"no supported qop in {challenge.qop!r}")
            qop = "auth"
        if challenge.nonce != self._nonce:
            self._nonce, self._nc = challenge.nonce, 0
        self._nc += 1
        nc = f"{self._nc:08x}" if qop else None
        response = digest_response(
            username=self.username,
            realm=challenge.realm,
            password=self.password,
            method=method,
            uri=uri,
            nonce=challenge.nonce,
            qop=qop,
            nc=nc,
            cnonce=cnonce if qop else None,
        )
        creds = DigestCredentials(
            username=self.username,
            realm=challenge.realm,
            nonce=challenge.nonce,
            uri=uri,
            response=response,
            algorithm=challenge.algorithm,
            qop=qop,
            nc=nc,
            cnonce=cnonce if qop else None,
            opaque=challenge.opaque,
        )
        return creds.to_header()
