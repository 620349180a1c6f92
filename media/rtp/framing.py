"""Finding RTP packet boundaries in byte streams.

Two shapes reach us: RTP over TCP (RFC 4571, a 2-byte length before each packet, sometimes
RTSP-style `$`, channel, length as ZLMediaKit accepts) and capture files written back to back with
no length at all, whose boundaries can only be found by looking for the next matching header.
"""

from __future__ import annotations

import struct

from media.rtp.packet import HEADER_SIZE, RTP_VERSION

_INTERLEAVED_MAGIC = 0x24  # "$"
DEFAULT_MAX_BUFFER = 256 * 1024


class TcpFramer:
    """Sans-IO splitter for RTP over a TCP stream: feed bytes split anywhere, get whole packets.

    A frame whose body does not start with an RTP version-2 header means we lost the framing (a
    peer bug or a corrupted stream); we then drop one byte at a time until a plausible frame
    appears. The buffer never exceeds `max_buffer` bytes.
    """

    def __init__(self, *, max_buffer: int = DEFAULT_MAX_BUFFER) -> None:
        self._buf = bytearray()
        self._max_buffer = max(max_buffer, 0x10000 + 4)
        self.dropped_bytes = 0
        self.packets = 0

    def feed(self, data: bytes | bytearray | memoryview) -> list[bytes]:
        buf = self._buf
        buf += data
        out: list[bytes] = []
        pos = 0
        size = len(buf)
        while size - pos >= 3:
            header = 2
            if buf[pos] == _INTERLEAVED_MAGIC:
                # `$` channel len16 wins when an RTP header follows it; a 2-byte length of 0x24xx
                # would put the channel byte where the RTP version is, which is rarely valid.
                if size - pos < 5:
                    break
                if buf[pos + 4] >> 6 == RTP_VERSION and buf[pos + 2] >> 6 != RTP_VERSION:
                    header = 4
            (length,) = struct.unpack_from("!H", buf, pos + header - 2)
            body = pos + header
            if length < HEADER_SIZE or buf[body] >> 6 != RTP_VERSION:
                pos += 1
                self.dropped_bytes += 1
                continue
            if size - body < length:
                break
            out.append(bytes(buf[body : body + length]))
            pos = body + length
        if pos:
            del buf[:pos]
        if len(buf) > self._max_buffer:
            self.dropped_bytes += len(buf)
            buf.clear()
        self.packets += len(out)
        return out


def split_headerless(data: bytes | bytearray | memoryview) -> list[bytes]:
    """Split RTP packets written back to back without lengths.

    The first packet fixes the version, payload type and SSRC; each following boundary is the next
    offset where a 12-byte header with that version, payload type and SSRC begins. Bytes before the
    first parsable header are ignored. Meant for test vectors and replay tools, not live traffic.
    """
    raw = bytes(data)
    size = len(raw)
    start = 0
    while start + HEADER_SIZE <= size and raw[start] >> 6 != RTP_VERSION:
        start += 1
    if start + HEADER_SIZE > size:
        return []
    payload_type = raw[start + 1] & 0x7F
    ssrc = raw[start + 8 : start + 12]
    packets: list[bytes] = []
    search = start + HEADER_SIZE
    while True:
        nxt = -1
        found = raw.find(ssrc, search + 8)
        while found != -1:
            cand = found - 8
            if raw[cand] >> 6 == RTP_VERSION and raw[cand + 1] & 0x7F == payload_type:
                nxt = cand
                break
            found = raw.find(ssrc, found + 1)
        if nxt == -1:
            packets.append(raw[start:])
            return packets
        packets.append(raw[start:nxt])
        start = nxt
        search = nxt + HEADER_SIZE
