"""Signed, expiring tokens for stream URLs.

A browser's player cannot send headers, so the token travels in the URL path. It is
`<expiry>.<hmac>`: the HMAC-SHA256 of the stream id and the expiry (Unix seconds) under a key
derived from SECRET_KEY. Pure functions: the caller passes the secret and the current time.
"""

from __future__ import annotations

import hashlib
import hmac

_CONTEXT = b"gbplatform.media.token:"


def _mac(secret: str, stream_id: str, expires: int) -> str:
    key = hashlib.sha256(_CONTEXT + secret.encode()).digest()
    return hmac.new(key, f"{stream_id}\n{expires}".encode(), hashlib.sha256).hexdigest()[:32]


def token_sign(*, secret: str, stream_id: str, expires: int) -> str:
    """A token for `stream_id` valid until the Unix time `expires`."""
    return f"{int(expires)}.{_mac(secret, stream_id, int(expires))}"


def token_verify(token: str, *, secret: str, stream_id: str, now: float) -> bool:
    """True when `token` was signed for `stream_id` with `secret` and has not expired at `now`."""
    expiry, _, mac = token.partition(".")
    if not expiry.isdigit() or len(mac) != 32:
        return False
    expires = int(expiry)
    if expires < now:
        return False
    return hmac.compare_digest(mac, _mac(secret, stream_id, expires))


def stream_urls(*, http_base: str, stream_id: str, token: str) -> dict[str, str]:
    """The browser-facing URLs of a stream, the token in the path (relative HLS URIs keep it).

    `http_base` is the media worker's (or the web tier's proxy's) origin, e.g. http://10.0.0.5:8081.
    """
    base = http_base.rstrip("/")
    ws_base = "ws" + base[4:] if base.startswith("http") else base
    prefix = f"/media/{stream_id}/{token}"
    return {
        "hls": f"{base}{prefix}/index.m3u8",
        "ws_fmp4": f"{ws_base}{prefix}/live.mp4",
        "snapshot": f"{base}{prefix}/snapshot.jpg",
    }
