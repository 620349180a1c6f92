"""Signed, expiring tokens for stream URLs, and the layout of those URLs.

A browser's player cannot send headers, so the token travels in the URL path. It is
`<expiry>.<hmac>`: the HMAC-SHA256 of the stream id and the expiry (Unix seconds) under a key
derived from SECRET_KEY. Pure functions: the caller passes the secret and the current time.

Every stream URL is `/media/<stream_id>/<token>/<name>`, whether a media worker serves it or the
web tier passes it on to one (gbplatform/media_proxy.py).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

_CONTEXT = b"gbplatform.media.token:"

MEDIA_PREFIX = "/media/"
_PATH = re.compile(
    r"^/media/(?P<stream>[A-Za-z0-9_.-]{1,128})/(?P<token>[0-9]+\.[0-9a-f]{32})/(?P<name>[A-Za-z0-9_.]+)$"
)


@dataclass(frozen=True, slots=True)
class StreamPath:
    stream_id: str
    token: str
    name: str  # index.m3u8, a segment, init.mp4, snapshot.jpg or live.mp4


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

    `http_base` is where the browser reaches `/media/`: the web tier (e.g. https://video.example,
    possibly with a path prefix) or a media worker's own address (e.g. http://10.0.0.5:8081).
    """
    base = http_base.rstrip("/")
    ws_base = "ws" + base[4:] if base.startswith("http") else base
    prefix = f"{MEDIA_PREFIX}{stream_id}/{token}"
    return {
        "hls": f"{base}{prefix}/index.m3u8",
        "ws_fmp4": f"{ws_base}{prefix}/live.mp4",
        "snapshot": f"{base}{prefix}/snapshot.jpg",
    }


def stream_path_parse(path: str) -> StreamPath | None:
    """The parts of a stream URL's path, or None when it is not one (wrong shape or token syntax)."""
    match = _PATH.match(path)
    if match is None:
        return None
    return StreamPath(match["stream"], match["token"], match["name"])
