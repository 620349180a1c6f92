"""Lenient GB SDP parsing: offers from upper platforms and answers from devices.

Devices send LF-only or mixed line endings, omit lines, add vendor attributes
(`a=streamprofile:0`, `a=filesize:`) and the non-standard `y=`/`f=` lines. Nothing here
raises for content: unknown or malformed lines are skipped.
"""

from __future__ import annotations

import re

from .model import GbSdp, parse_media_format

_LINE = re.compile(r"^\s*([a-zA-Z])\s*=(.*)$")
_DIRECTIONS = frozenset({"sendonly", "recvonly", "sendrecv", "inactive"})


def _int(text: str) -> int | None:
    stripped = text.strip()
    if stripped.isascii() and stripped.isdigit() and len(stripped) <= 18:
        return int(stripped)
    return None


def _decode(body: bytes | bytearray) -> str:
    # Session names and `i=` lines from Chinese devices are sometimes GBK.
    for codec in ("utf-8", "gb18030"):
        try:
            return body.decode(codec)
        except UnicodeDecodeError:
            continue
    return body.decode("utf-8", errors="replace")


def parse_sdp(body: str | bytes) -> GbSdp:
    """Parse a GB SDP body. Only the first `m=` section is described."""
    text = _decode(body) if isinstance(body, bytes | bytearray) else body
    values: dict[str, object] = {}
    rtpmap: dict[int, tuple[str, int | None]] = {}
    attributes: list[tuple[str, str]] = []
    seen_media = False
    for raw_line in re.split(r"\r\n|\r|\n", text):
        match = _LINE.match(raw_line)
        if match is None:
            continue
        kind, value = match.group(1).lower(), match.group(2).strip()
        if kind == "m":
            if seen_media:
                break  # later media sections are not used by GB devices
            seen_media = True
            _media(value, values)
        elif kind == "o":
            parts = value.split()
            if parts:
                values["origin_user"] = parts[0]
            if len(parts) >= 6:
                values["origin_address"] = parts[5]
        elif kind == "s":
            values["session_name"] = value
        elif kind == "u":
            values["uri"] = value
        elif kind == "c":
            parts = value.split()
            if parts:
                values.setdefault("connection_address", parts[-1].split("/")[0])
                if seen_media:  # a media-level c= overrides the session one
                    values["connection_address"] = parts[-1].split("/")[0]
        elif kind == "t":
            parts = value.split() + ["0", "0"]
            values["start_time"] = _int(parts[0]) or 0
            values["end_time"] = _int(parts[1]) or 0
        elif kind == "y":
            values["ssrc"] = value or None
        elif kind == "f":
            values["media_format"] = parse_media_format(value)
        elif kind == "a":
            _attribute(value, values, rtpmap, attributes)
    return GbSdp(rtpmap=rtpmap, attributes=tuple(attributes), **values)  # type: ignore[arg-type]


def _media(value: str, values: dict[str, object]) -> None:
    parts = value.split()
    if parts:
        values["media_type"] = parts[0].lower()
    if len(parts) > 1:
        values["port"] = _int(parts[1].split("/")[0])
    if len(parts) > 2:
        values["proto"] = parts[2]
    values["payload_types"] = tuple(pt for pt in (_int(p) for p in parts[3:]) if pt is not None)


def _attribute(
    value: str,
    values: dict[str, object],
    rtpmap: dict[int, tuple[str, int | None]],
    attributes: list[tuple[str, str]],
) -> None:
    name, _, rest = value.partition(":")
    name, rest = name.strip(), rest.strip()
    attributes.append((name, rest))
    lowered = name.lower()
    if lowered in _DIRECTIONS:
        values["direction"] = lowered
    elif lowered == "rtpmap":
        pt_text, _, encoding = rest.partition(" ")
        pt = _int(pt_text)
        if pt is not None and encoding.strip():
            enc_parts = encoding.strip().split("/")
            rtpmap[pt] = (enc_parts[0], _int(enc_parts[1]) if len(enc_parts) > 1 else None)
    elif lowered == "setup":
        values["setup"] = rest.lower() or None
    elif lowered == "connection":
        values["connection_new"] = rest.lower() == "new"
    elif lowered == "downloadspeed":
        values["download_speed"] = _int(rest)
    elif lowered == "filesize":
        values["file_size"] = _int(rest)
    elif lowered == "streamnumber":
        values["stream_number"] = _int(rest)


def parse_answer(body: str | bytes) -> GbSdp:
    """A device's 200 OK SDP (its `y=` wins over ours when it differs)."""
    return parse_sdp(body)


def parse_offer(body: str | bytes) -> GbSdp:
    """An INVITE SDP from an upper platform; `channel_id`, `transport`, `ssrc` say what to send."""
    return parse_sdp(body)
