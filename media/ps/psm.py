"""Program stream map (ISO/IEC 13818-1 2.5.4): a tolerant reader and a writer.

Cameras get the PSM wrong in two ways seen in real captures: an elementary-stream entry whose
declared descriptor length is longer than the descriptors it carries (the next entry hides inside
it), and an es_map_length that disagrees with the entries. So the reader walks the entries up to
the CRC, trusting the descriptors' own lengths over the declared totals.
"""

from __future__ import annotations

import struct

_KNOWN_ES_IDS = range(0xBD, 0x100)


def _valid_entry(stream_type: int, es_id: int) -> bool:
    return stream_type != 0 and es_id in _KNOWN_ES_IDS


def _descriptor_span(data: bytes, start: int, declared: int, limit: int) -> int:
    """Bytes that really belong to an entry's descriptor loop starting at `start`."""
    end = min(start + declared, limit)
    pos = start
    while pos + 2 <= end:
        length = data[pos + 1]
        if pos + 2 + length > end:
            break
        pos += 2 + length
    if pos == end:
        return declared
    # The descriptors stop short of the declared length: trust them if an entry follows.
    if pos + 4 <= limit and _valid_entry(data[pos], data[pos + 1]):
        return pos - start
    return declared


def parse_psm(unit: bytes) -> dict[int, int]:
    """Map elementary stream id -> stream_type from a whole PSM unit (00 00 01 BC ...).

    Never raises: unreadable parts are ignored and whatever entries were read are returned.
    """
    streams: dict[int, int] = {}
    if len(unit) < 16 or unit[3] != 0xBC:
        return streams
    (psm_length,) = struct.unpack_from("!H", unit, 4)
    total = min(6 + psm_length, len(unit))
    (info_length,) = struct.unpack_from("!H", unit, 8)
    map_length_at = 10 + info_length
    if map_length_at + 2 > total:
        return streams
    (map_length,) = struct.unpack_from("!H", unit, map_length_at)
    pos = map_length_at + 2
    # The CRC closes the unit; a short es_map_length is a known camera bug, so read to the CRC.
    limit = max(total - 4, min(pos + map_length, total))
    while pos + 4 <= limit:
        stream_type = unit[pos]
        es_id = unit[pos + 1]
        (declared,) = struct.unpack_from("!H", unit, pos + 2)
        if not _valid_entry(stream_type, es_id):
            break
        streams[es_id] = stream_type
        pos += 4
        pos += _descriptor_span(unit, pos, declared, limit)
    return streams


def build_psm(entries: list[tuple[int, int]], version: int = 0) -> bytes:
    """A PSM with (stream_type, es_id) entries and no descriptors, CRC-32/MPEG-2 included."""
    es_map = b"".join(struct.pack("!BBH", st, es_id, 0) for st, es_id in entries)
    body = struct.pack("!BBH", 0x80 | (version & 0x1F), 0xFF, 0) + struct.pack("!H", len(es_map)) + es_map
    head = b"\x00\x00\x01\xbc" + struct.pack("!H", len(body) + 4)
    crc = crc32_mpeg2(head + body)
    return head + body + struct.pack("!I", crc)


def _crc_table() -> tuple[int, ...]:
    table = []
    for i in range(256):
        crc = i << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
        table.append(crc & 0xFFFFFFFF)
    return tuple(table)


_CRC_TABLE = _crc_table()


def crc32_mpeg2(data: bytes) -> int:
    """CRC-32/MPEG-2 (poly 0x04C11DB7, init all ones, no reflection, no final xor).

    Only PSMs (tens of bytes, once per keyframe) go through this, so a byte loop is fine.
    """
    crc = 0xFFFFFFFF
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _CRC_TABLE[(crc >> 24) ^ byte]
    return crc
