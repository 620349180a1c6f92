"""An ordered, case-insensitive multi-map of SIP header fields, and header name spelling.

Values are kept as the text received (folding already undone), so a message re-serialises
faithfully; structured views (Via, From, CSeq...) are parsed on demand in ``header_values``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

# RFC 3261 7.3.3 and later RFCs: compact form -> full name.
COMPACT_FORMS: dict[str, str] = {
    "a": "Accept-Contact",
    "b": "Referred-By",
    "c": "Content-Type",
    "d": "Request-Disposition",
    "e": "Content-Encoding",
    "f": "From",
    "i": "Call-ID",
    "j": "Reject-Contact",
    "k": "Supported",
    "l": "Content-Length",
    "m": "Contact",
    "n": "Identity-Info",
    "o": "Event",
    "r": "Refer-To",
    "s": "Subject",
    "t": "To",
    "u": "Allow-Events",
    "v": "Via",
    "x": "Session-Expires",
    "y": "Identity",
}

_WELL_KNOWN = (
    "Accept",
    "Accept-Encoding",
    "Accept-Language",
    "Alert-Info",
    "Allow",
    "Allow-Events",
    "Authentication-Info",
    "Authorization",
    "Call-ID",
    "Call-Info",
    "Contact",
    "Content-Disposition",
    "Content-Encoding",
    "Content-Language",
    "Content-Length",
    "Content-Type",
    "CSeq",
    "Date",
    "Error-Info",
    "Event",
    "Expires",
    "From",
    "In-Reply-To",
    "Max-Forwards",
    "Min-Expires",
    "MIME-Version",
    "Organization",
    "Priority",
    "Proxy-Authenticate",
    "Proxy-Authorization",
    "Proxy-Require",
    "Record-Route",
    "Reason",
    "Refer-To",
    "Referred-By",
    "Reply-To",
    "Require",
    "Retry-After",
    "Route",
    "RAck",
    "RSeq",
    "Server",
    "Session-Expires",
    "Subject",
    "Subscription-State",
    "Supported",
    "Timestamp",
    "To",
    "Unsupported",
    "User-Agent",
    "Via",
    "Warning",
    "WWW-Authenticate",
    "Min-SE",
    "P-Asserted-Identity",
    "Path",
    "Privacy",
    "Identity",
    "Identity-Info",
    "Accept-Contact",
    "Reject-Contact",
    "Request-Disposition",
    "Subject",
    "Monitor-User-Agent",
)

_CANONICAL: dict[str, str] = {name.lower(): name for name in _WELL_KNOWN}
_CANONICAL.update(COMPACT_FORMS)


def canonical_name(name: str) -> str:
    """The spelling we write: full form, canonical case; unknown names stay as received."""
    found = _CANONICAL.get(name) or _CANONICAL.get(name.lower())
    return found if found is not None else name


# Names the code asks for or writes -> (lookup key, canonical spelling). The same few dozen
# names come up for every message; bounded in case a caller passes names from the wire.
_SPELLINGS: dict[str, tuple[str, str]] = {}
_SPELLINGS_LIMIT = 1024


def _spelling(name: str) -> tuple[str, str]:
    known = _SPELLINGS.get(name)
    if known is None:
        canonical = canonical_name(name)
        known = (canonical.lower(), canonical)
        if len(_SPELLINGS) < _SPELLINGS_LIMIT:
            _SPELLINGS[name] = known
    return known


class Headers:
    """Header fields in order; lookups ignore case and accept compact forms.

    Mutable on purpose (building a response means set/add/remove), while Request and
    Response themselves are frozen. ``copy()`` before changing a parsed message's headers.
    """

    __slots__ = ("_fields", "_first")

    def __init__(self, fields: Iterable[tuple[str, str]] = ()) -> None:
        # Each entry is (lower-case canonical name, canonical name, value).
        self._fields: list[tuple[str, str, str]] = []
        # Lookup key -> first value: built on the first ``get`` (or handed over by the parser,
        # which builds it anyway while validating), kept in step by every change.
        self._first: dict[str, str] | None = None
        for name, value in fields:
            self.add(name, value)

    @classmethod
    def _from_canonical(cls, fields: list[tuple[str, str, str]], first: dict[str, str] | None = None) -> Headers:
        """Headers over ``fields`` as they are (their values already checked); ``first``, when
        given, must map each key to its first value in ``fields``."""
        headers = cls.__new__(cls)
        headers._fields = fields
        headers._first = first
        return headers

    def _index(self) -> dict[str, str]:
        first: dict[str, str] = {}
        for key, _, value in self._fields:
            if key not in first:
                first[key] = value
        self._first = first
        return first

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of ``name``, or ``default``."""
        known = _SPELLINGS.get(name)
        key = known[0] if known is not None else _spelling(name)[0]
        first = self._first
        if first is None:
            first = self._index()
        return first.get(key, default)

    def get_all(self, name: str) -> list[str]:
        """Every field value of ``name`` in order (comma-joined values are not split)."""
        key = _spelling(name)[0]
        return [value for field_key, _, value in self._fields if field_key == key]

    def get_list(self, name: str) -> list[str]:
        """Every element of a list header (Via, Contact, Route...), commas split outside quotes and <>."""
        items: list[str] = []
        for value in self.get_all(name):
            items.extend(split_list(value))
        return items

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def count(self, name: str) -> int:
        key = _spelling(name)[0]
        return sum(1 for field_key, _, _ in self._fields if field_key == key)

    def add(self, name: str, value: str) -> None:
        """Append a field after all others."""
        _check_field(name, value)
        key, canonical = _spelling(name)
        self._fields.append((key, canonical, value))
        first = self._first
        if first is not None and key not in first:
            first[key] = value

    def extend(self, pairs: Iterable[tuple[str, str]]) -> None:
        """``add`` each (name, value) in turn."""
        fields = self._fields
        first = self._first
        for name, value in pairs:
            _check_field(name, value)
            known = _SPELLINGS.get(name)
            key, canonical = known if known is not None else _spelling(name)
            fields.append((key, canonical, value))
            if first is not None and key not in first:
                first[key] = value

    def set(self, name: str, value: str) -> None:
        """Replace every ``name`` field by one, at the position of the first (or at the end)."""
        _check_field(name, value)
        key, canonical = _spelling(name)
        fields: list[tuple[str, str, str]] = []
        placed = False
        for field in self._fields:
            if field[0] == key:
                if not placed:
                    fields.append((key, canonical, value))
                    placed = True
            else:
                fields.append(field)
        if not placed:
            fields.append((key, canonical, value))
        self._fields = fields
        if self._first is not None:
            self._first[key] = value

    def remove(self, name: str) -> None:
        """Drop every ``name`` field (no error if absent)."""
        key = _spelling(name)[0]
        self._fields = [field for field in self._fields if field[0] != key]
        if self._first is not None:
            self._first.pop(key, None)

    def with_first(self, name: str, value: str) -> Headers:
        """A copy whose first ``name`` field holds ``value``, every other field as it was
        (``value`` is appended when there is no such field)."""
        _check_field(name, value)
        key, canonical = _spelling(name)
        fields = list(self._fields)
        for index, field in enumerate(fields):
            if field[0] == key:
                fields[index] = (key, canonical, value)
                break
        else:
            fields.append((key, canonical, value))
        first = self._first
        if first is not None:
            first = first.copy()
            first[key] = value
        return Headers._from_canonical(fields, first)

    def replace_first(self, name: str, value: str) -> None:
        """Change the value of the first ``name`` field, in place (nothing when there is none)."""
        _check_field(name, value)
        key, canonical = _spelling(name)
        fields = self._fields
        for index, field in enumerate(fields):
            if field[0] == key:
                fields[index] = (key, canonical, value)
                if self._first is not None:
                    self._first[key] = value
                return

    def items(self) -> list[tuple[str, str]]:
        """(canonical name, value) pairs in order."""
        return [(name, value) for _, name, value in self._fields]

    def copy(self) -> Headers:
        first = self._first
        return Headers._from_canonical(list(self._fields), None if first is None else first.copy())

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.items())

    def __len__(self) -> int:
        return len(self._fields)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Headers):
            return NotImplemented
        return [f[0::2] for f in self._fields] == [f[0::2] for f in other._fields]

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Headers({self.items()!r})"


_BAD_NAME = re.compile(r"[:\r\n \t]")


_GOOD_NAMES: set[str] = set()  # names that passed the check below (the code's own few dozen)


def _check_field(name: str, value: str) -> None:
    # A CR or LF in a value we write would let it inject headers or end the message early.
    if "\r" in value or "\n" in value or (name not in _GOOD_NAMES and not _good_name(name)):
        raise ValueError(f"illegal header field {name!r}: {value[:40]!r}")


def _good_name(name: str) -> bool:
    if not name or _BAD_NAME.search(name):
        return False
    if len(_GOOD_NAMES) < _SPELLINGS_LIMIT:
        _GOOD_NAMES.add(name)
    return True


def split_list(value: str) -> list[str]:
    """Split a comma-joined header value, ignoring commas inside "quotes" and <angle brackets>.

    Empty elements (``a,,b``) are kept as empty strings so callers can reject them.
    """
    if "," not in value:
        return [value.strip()]
    if '"' not in value and "<" not in value:
        return [part.strip() for part in value.split(",")]
    parts: list[str] = []
    start = 0
    in_quotes = False
    in_angle = False
    i = 0
    length = len(value)
    while i < length:
        char = value[i]
        if in_quotes:
            if char == "\\":
                i += 1
            elif char == '"':
                in_quotes = False
        elif char == '"':
            in_quotes = True
        elif char == "<":
            in_angle = True
        elif char == ">":
            in_angle = False
        elif char == "," and not in_angle:
            parts.append(value[start:i].strip())
            start = i + 1
        i += 1
    parts.append(value[start:].strip())
    return parts
