"""The GB `y=` SSRC: ten decimal digits that also become the RTP SSRC.

Digit 1 is 0 for live and 1 for history (playback/download), digits 2–6 are digits 4–8
of the domain (the server ID's civil-code part) and digits 7–10 a sequence number.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_SEQUENCE = 9999


@dataclass(frozen=True, slots=True)
class Ssrc:
    history: bool
    domain_part: str
    sequence: int

    @property
    def text(self) -> str:
        return f"{int(self.history)}{self.domain_part}{self.sequence:04d}"

    @property
    def rtp_ssrc(self) -> int:
        return int(self.text)


def make_ssrc(domain_or_server_id: str, sequence: int, history: bool) -> str:
    """The 10-digit `y=` value for a new session."""
    digits = domain_or_server_id.split(".", 1)[0]  # `3402000000.spvmn.cn` is a domain too
    if len(digits) < 8 or not (digits.isascii() and digits.isdigit()):
        raise ValueError(f"need a GB domain or server ID of at least 8 digits: {domain_or_server_id!r}")
    if not 0 <= sequence <= MAX_SEQUENCE:
        raise ValueError(f"SSRC sequence must be 0..{MAX_SEQUENCE}, got {sequence}")
    return f"{1 if history else 0}{digits[3:8]}{sequence:04d}"


def parse_ssrc(value: str) -> Ssrc | None:
    """Split a `y=` value; None when it is not ten digits (some devices send hex or less)."""
    text = value.strip()
    if len(text) != 10 or not text.isascii() or not text.isdigit():
        return None
    return Ssrc(history=text[0] == "1", domain_part=text[1:6], sequence=int(text[6:]))


def ssrc_to_rtp(value: str) -> int | None:
    """The RTP SSRC for a `y=` value: its decimal value, if it fits in 32 bits."""
    text = value.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 10:
        return None
    number = int(text)
    return number if number <= 0xFFFFFFFF else None
