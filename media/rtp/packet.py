"""RTP fixed header (RFC 3550 section 5.1): parse and build, no I/O."""

from __future__ import annotations

import struct
from dataclasses import dataclass

RTP_VERSION = 2
HEADER_SIZE = 12

_HEADER = struct.Struct("!BBHII")


class RtpError(ValueError):
    """The bytes are not a well-formed RTP packet."""


@dataclass(frozen=True, slots=True)
class RtpPacket:
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes
    marker: bool = False
    csrcs: tuple[int, ...] = ()
    extension_profile: int | None = None
    extension: bytes = b""
    padding: int = 0

    def to_bytes(self) -> bytes:
        return build_rtp(
            payload_type=self.payload_type,
            sequence=self.sequence,
            timestamp=self.timestamp,
            ssrc=self.ssrc,
            payload=self.payload,
            marker=self.marker,
            csrcs=self.csrcs,
            extension_profile=self.extension_profile,
            extension=self.extension,
            padding=self.padding,
        )


def parse_rtp(data: bytes | bytearray | memoryview) -> RtpPacket:
    """Parse one RTP packet; raise RtpError for anything that is not one."""
    size = len(data)
    if size < HEADER_SIZE:
        raise RtpError(f"packet of {size} bytes is shorter than the 12-byte RTP header")
    b0, b1, sequence, timestamp, ssrc = _HEADER.unpack_from(data, 0)
    if b0 >> 6 != RTP_VERSION:
        raise RtpError(f"RTP version {b0 >> 6}, expected 2")
    offset = HEADER_SIZE
    csrc_count = b0 & 0x0F
    csrcs: tuple[int, ...] = ()
    if csrc_count:
        end = offset + 4 * csrc_count
        if end > size:
            raise RtpError(f"{csrc_count} CSRCs do not fit in a packet of {size} bytes")
        csrcs = struct.unpack_from(f"!{csrc_count}I", data, offset)
        offset = end
    extension_profile: int | None = None
    extension = b""
    if b0 & 0x10:
        if offset + 4 > size:
            raise RtpError("header extension flag set but no extension header")
        extension_profile, words = struct.unpack_from("!HH", data, offset)
        offset += 4
        end = offset + 4 * words
        if end > size:
            raise RtpError(f"header extension of {words} words overruns the packet")
        extension = bytes(data[offset:end])
        offset = end
    end = size
    padding = 0
    if b0 & 0x20:
        padding = data[size - 1]
        if padding == 0 or offset + padding > size:
            raise RtpError(f"padding count {padding} is invalid for a packet of {size} bytes")
        end = size - padding
    return RtpPacket(
        payload_type=b1 & 0x7F,
        sequence=sequence,
        timestamp=timestamp,
        ssrc=ssrc,
        payload=bytes(data[offset:end]),
        marker=bool(b1 & 0x80),
        csrcs=csrcs,
        extension_profile=extension_profile,
        extension=extension,
        padding=padding,
    )


def build_rtp(
    *,
    payload_type: int,
    sequence: int,
    timestamp: int,
    ssrc: int,
    payload: bytes,
    marker: bool = False,
    csrcs: tuple[int, ...] = (),
    extension_profile: int | None = None,
    extension: bytes = b"",
    padding: int = 0,
) -> bytes:
    """Serialise one RTP packet; the inverse of parse_rtp."""
    if len(csrcs) > 15:
        raise RtpError("at most 15 CSRCs")
    if len(extension) % 4:
        raise RtpError("header extension length must be a multiple of 4 bytes")
    if not 0 <= padding <= 255:
        raise RtpError("padding must be 0..255 bytes")
    b0 = (RTP_VERSION << 6) | len(csrcs)
    if padding:
        b0 |= 0x20
    if extension_profile is not None:
        b0 |= 0x10
    b1 = (payload_type & 0x7F) | (0x80 if marker else 0)
    parts = [_HEADER.pack(b0, b1, sequence & 0xFFFF, timestamp & 0xFFFFFFFF, ssrc & 0xFFFFFFFF)]
    if csrcs:
        parts.append(struct.pack(f"!{len(csrcs)}I", *csrcs))
    if extension_profile is not None:
        parts.append(struct.pack("!HH", extension_profile, len(extension) // 4))
        parts.append(extension)
    parts.append(payload)
    if padding:
        parts.append(bytes(padding - 1) + bytes((padding,)))
    return b"".join(parts)
