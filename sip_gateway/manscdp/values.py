"""Lenient conversions of MANSCDP element text: numbers, times and status words.

Devices pad numbers with spaces, write `null` for missing values, use `,` or a trailing
unit, and write times with or without `T`, fractions or a zone. None of that may raise.
"""

from __future__ import annotations

import math
import re
from datetime import datetime

_INT = re.compile(r"[+-]?\d{1,18}")
_FLOAT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_DATETIME = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:[.,](\d{1,6}))?)?)?"
)
_NULL_WORDS = frozenset({"", "null", "none", "nil"})

_STATUS_WORDS = {
    "ON": "ON",
    "ONLINE": "ON",
    "OK": "ON",
    "OFF": "OFF",
    "OFFLINE": "OFF",
}


def text_or_none(value: str | None) -> str | None:
    """Stripped text, or None for absent, empty or the literal `null` some devices send."""
    if value is None:
        return None
    stripped = value.strip()
    if len(stripped) <= 4 and stripped.lower() in _NULL_WORDS:
        return None
    return stripped


def to_int(value: str | None) -> int | None:
    text = text_or_none(value)
    if text is None:
        return None
    if len(text) <= 18 and text.isascii() and text.isdigit():
        return int(text)  # the usual case, without the search for a number in the text
    match = _INT.search(text.replace(",", ""))
    if match is None:
        return None
    return int(match.group(0))


def to_float(value: str | None) -> float | None:
    text = text_or_none(value)
    if text is None:
        return None
    match = _FLOAT.search(text.replace(",", "."))
    if match is None:
        return None
    number = float(match.group(0))
    return number if math.isfinite(number) else None


def to_datetime(value: str | None) -> datetime | None:
    """A naive local datetime from the several forms devices use; None when unusable."""
    text = text_or_none(value)
    if text is None:
        return None
    match = _DATETIME.search(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction = match.groups()
    micro = int((fraction or "0").ljust(6, "0")[:6])
    try:
        return datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), micro
        )
    except ValueError:
        return None


def to_status(value: str | None) -> str | None:
    """Catalog Status normalised to ON/OFF (ONLINE, OK and OFFLINE occur in the field)."""
    text = text_or_none(value)
    if text is None:
        return None
    upper = text.upper()
    return _STATUS_WORDS.get(upper, upper)


def to_online(value: str | None) -> bool | None:
    text = text_or_none(value)
    if text is None:
        return None
    upper = text.upper()
    if upper in ("ONLINE", "ON", "OK", "TRUE", "1"):
        return True
    if upper in ("OFFLINE", "OFF", "FALSE", "0"):
        return False
    return None


def format_datetime(value: datetime) -> str:
    """The GB wire form of a local time: `YYYY-MM-DDTHH:MM:SS`, no zone, no fraction."""
    return value.strftime("%Y-%m-%dT%H:%M:%S")
