"""Sans-IO framing of a SIP byte stream (TCP, TLS) into whole messages.

Feed whatever the socket returned (one byte or many messages); get back events: complete
message bytes (ready for ``parse_message``) and RFC 5626 keepalives. The framer only reads
what it needs to find boundaries (the blank line and Content-Length); everything else is the
parser's job. Once it raises ``SipFramingError`` the stream cannot be resynchronised and the
transport should close the connection.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sip_gateway.core.errors import SipFramingError

DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024
DEFAULT_MAX_HEADERS = 128
_FOLD = re.compile(rb"\r?\n[ \t]+")


@dataclass(frozen=True, slots=True)
class MessageFramed:
    """One complete message, header block and body, exactly as received."""

    data: bytes


@dataclass(frozen=True, slots=True)
class KeepalivePing:
    """A double CRLF between messages (RFC 5626 3.5.1): the caller should answer one CRLF."""


@dataclass(frozen=True, slots=True)
class KeepalivePong:
    """A single CRLF between messages: the answer to a ping we sent."""


FramerEvent = MessageFramed | KeepalivePing | KeepalivePong


class StreamFramer:
    """Splits one connection's byte stream into SIP messages.

    ``max_message_size`` bounds header block plus body, ``max_headers`` the number of header
    lines, so a peer cannot make us buffer without limit.
    """

    def __init__(
        self,
        *,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        max_headers: int = DEFAULT_MAX_HEADERS,
    ) -> None:
        self.max_message_size = max_message_size
        self.max_headers = max_headers
        self._buffer = bytearray()
        self._scanned = 0  # bytes of the buffer already searched for the blank line
        self._pending_crlf = False  # one CRLF seen between messages; a second makes a ping
        self._failed: SipFramingError | None = None
        self._lines = 0  # header lines of the current message counted so far...
        self._lines_counted_to = 0  # ...up to this buffer offset

    @property
    def buffered(self) -> int:
        """Bytes held for an incomplete message."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[FramerEvent]:
        """Add received bytes; return the events they complete, in order."""
        if self._failed is not None:
            raise self._failed
        self._buffer += data
        events: list[FramerEvent] = []
        try:
            while self._next_event(events):
                pass
        except SipFramingError as exc:
            self._failed = exc
            self._buffer.clear()
            raise
        return events

    def close(self) -> None:
        """The peer closed the connection: raise if it left half a message behind."""
        if self._failed is None and self._buffer:
            self._failed = SipFramingError(f"connection closed inside a message ({len(self._buffer)} bytes)")
            self._buffer.clear()
            raise self._failed

    def _next_event(self, events: list[FramerEvent]) -> bool:
        buffer = self._buffer
        if self._scanned == 0:
            if not self._skip_keepalives(events):
                return False
            buffer = self._buffer
        end, separator = self._find_blank_line()
        if end < 0:
            self._count_lines(len(buffer))
            self._scanned = max(len(buffer) - 3, 1)
            return False
        self._count_lines(end)
        head = bytes(buffer[:end])
        length = _content_length(head)
        total = end + separator + length
        if total > self.max_message_size:
            raise SipFramingError(f"message of {total} bytes exceeds the {self.max_message_size} byte limit")
        if len(buffer) < total:
            self._scanned = max(end - 3, 1)
            return False
        events.append(MessageFramed(bytes(buffer[:total])))
        del buffer[:total]
        self._scanned = 0
        self._lines_counted_to = 0
        self._lines = 0
        return True

    def _skip_keepalives(self, events: list[FramerEvent]) -> bool:
        """Consume CRLFs before a message; True when a message starts in the buffer."""
        buffer = self._buffer
        index = 0
        while index < len(buffer):
            byte = buffer[index]
            if byte == 0x0D:
                if index + 1 >= len(buffer):
                    break  # wait for the LF
                if buffer[index + 1] != 0x0A:
                    raise SipFramingError("bare CR between messages")
                index += 2
            elif byte == 0x0A:
                index += 1
            else:
                break
            if self._pending_crlf:
                events.append(KeepalivePing())
                self._pending_crlf = False
            else:
                self._pending_crlf = True
        del buffer[:index]
        if not buffer or buffer[0] in (0x0D, 0x0A):
            return False
        if self._pending_crlf:
            events.append(KeepalivePong())
            self._pending_crlf = False
        return True

    def _find_blank_line(self) -> tuple[int, int]:
        """(end of header block, length of the blank-line separator), or (-1, 0)."""
        buffer = self._buffer
        start = max(self._scanned - 1, 0)
        crlf = buffer.find(b"\n\r\n", start)
        lf = buffer.find(b"\n\n", start)
        if crlf < 0 and lf < 0:
            return -1, 0
        if lf < 0 or 0 <= crlf < lf:
            return crlf, 3
        return lf, 2

    def _count_lines(self, upto: int) -> None:
        """Enforce the limits on the header block so far, counting each byte only once."""
        if upto > self.max_message_size:
            raise SipFramingError(f"header block exceeds the {self.max_message_size} byte limit")
        if upto > self._lines_counted_to:
            self._lines += self._buffer.count(b"\n", self._lines_counted_to, upto)
            self._lines_counted_to = upto
        if self._lines > self.max_headers:
            raise SipFramingError(f"more than {self.max_headers} header lines")


def _content_length(head: bytes) -> int:
    """The body length a header block declares (``Content-Length`` or ``l``); 0 when absent.

    RFC 3261 18.3 makes Content-Length mandatory on streams; a missing one is read as 0,
    which is what every message without a body means anyway.
    """
    if b"\n " in head or b"\n\t" in head:
        head = _FOLD.sub(b" ", head)
    found: set[bytes] = set()
    for line in head.split(b"\n"):
        name, colon, value = line.partition(b":")
        if not colon:
            continue
        key = name.strip().lower()
        if key == b"content-length" or key == b"l":
            found.add(value.strip())
    if not found:
        return 0
    if len(found) > 1:
        raise SipFramingError("conflicting Content-Length headers")
    text = found.pop()
    if text.startswith(b"-"):
        raise SipFramingError(f"negative Content-Length {text[:20]!r}")
    if not text.isdigit() or len(text) > 9:
        raise SipFramingError(f"bad Content-Length {text[:20]!r}")
    return int(text)
