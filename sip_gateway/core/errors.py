"""The named errors of the SIP core.

Every malformed input surfaces as one exception type, so the transport can catch exactly
``SipParseError`` and decide what to do (answer 400 statelessly, drop the datagram, or close a
TCP connection). Nothing else may escape the parser, whatever the bytes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sip_gateway.core.headers import Headers


class SipParseError(ValueError):
    """Input is not a SIP message we can accept.

    ``reason`` says what is wrong in words fit for a log line or a Warning header.
    ``status`` is the response code a server should answer with (400, or 505 for an unknown
    SIP version). When the start line and header block were readable, ``is_request``,
    ``method`` and ``headers`` keep what was parsed, so a stateless error response can still
    be built (see ``message.make_stateless_error``).
    """

    def __init__(
        self,
        reason: str,
        *,
        status: int = 400,
        is_request: bool | None = None,
        method: str | None = None,
        headers: Headers | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.is_request = is_request
        self.method = method
        self.headers = headers


class SipFramingError(SipParseError):
    """A TCP stream cannot be split into messages any more; the peer should be dropped.

    A subclass of ``SipParseError`` so a single ``except SipParseError`` still covers it.
    """
