"""Canonical MANSCDP output: one element per line, CRLF, escaped text, chosen charset.

Builders describe a message as a tree of `El`; `render` turns it into bytes. The output is
deterministic so tests can compare bytes and the device simulator is reproducible.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

Charset = Literal["GB2312", "GB18030", "UTF-8"]

# The declaration says GB2312 (what most deployed platforms expect) but the bytes are
# GB18030, a superset, so names outside GB2312 survive instead of becoming '?'.
_CODECS: dict[str, str] = {"GB2312": "gb18030", "GB18030": "gb18030", "UTF-8": "utf-8"}
XML_ILLEGAL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

EOL = "\r\n"


@dataclass(frozen=True, slots=True)
class El:
    tag: str
    text: str | None = None
    children: Sequence[El] = ()
    attrs: Sequence[tuple[str, str]] = field(default=())


_NEEDS_ESCAPING = re.compile("[&<>\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def escape_text(value: str) -> str:
    if _NEEDS_ESCAPING.search(value) is None:
        return value  # most text: one scan instead of four
    value = XML_ILLEGAL_CHARS.sub("", value)
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escape_attr(value: str) -> str:
    return escape_text(value).replace('"', "&quot;")


def leaf(tag: str, value: object) -> El | None:
    """A text element, or None (omitted) when the value is None."""
    if value is None:
        return None
    if isinstance(value, bool):
        value = int(value)
    return El(tag, str(value))


def leaves(pairs: Iterable[tuple[str, object]]) -> list[El]:
    out = []
    for tag, value in pairs:
        element = leaf(tag, value)
        if element is not None:
            out.append(element)
    return out


def _render_into(element: El, lines: list[str]) -> None:
    attrs = "".join(f' {name}="{_escape_attr(value)}"' for name, value in element.attrs) if element.attrs else ""
    if element.children:
        lines.append(f"<{element.tag}{attrs}>")
        for child in element.children:
            _render_into(child, lines)
        lines.append(f"</{element.tag}>")
    elif element.text is None:
        lines.append(f"<{element.tag}{attrs}/>" if attrs else f"<{element.tag}{attrs}></{element.tag}>")
    else:
        lines.append(f"<{element.tag}{attrs}>{escape_text(element.text)}</{element.tag}>")


def render(root: El, charset: Charset = "GB2312") -> bytes:
    """Serialise a message tree with its XML declaration, encoded for `charset`."""
    codec = _CODECS.get(charset)
    if codec is None:
        raise ValueError(f"unsupported MANSCDP charset {charset!r}")
    lines = [f'<?xml version="1.0" encoding="{charset}"?>']
    _render_into(root, lines)
    return (EOL.join(lines) + EOL).encode(codec)


def message(root: str, cmd_type: str, sn: int, device_id: str, body: Iterable[El | None]) -> El:
    """The root element with the CmdType/SN/DeviceID header every message starts with."""
    if sn < 0:
        raise ValueError("SN must not be negative")
    children = [El("CmdType", cmd_type), El("SN", str(sn)), El("DeviceID", device_id)]
    children.extend(child for child in body if child is not None)
    return El(root, children=children)
