"""Movie fragments (ISO/IEC 14496-12 moof+mdat), written directly: sans-IO, bytes in, bytes out.

A fragment carries one track's samples: `moof` (mfhd sequence number; traf with tfhd naming the
track and default-base-is-moof, tfdt with the 64-bit decode time of the first sample, trun
version 1 with the data offset and each sample's duration, size, flags and signed composition
offset) then `mdat` with the samples. H.264/H.265 samples are the access unit's NAL units each
prefixed with its 4-byte length (ISO/IEC 14496-15), converted here from Annex B.

`read_tracks` reads back from an init segment (ftyp+moov, whoever wrote it) what fragments need:
each track's ID, handler and timescale.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

# Sample flags (14496-12 8.8.3.1): sample_depends_on in bits 24-25, sample_is_non_sync_sample bit 16.
SYNC_SAMPLE = 0x02000000  # depends on no other sample
NON_SYNC_SAMPLE = 0x01010000  # depends on others; not a sync sample

_TFHD_DEFAULT_BASE_IS_MOOF = 0x020000
_TRUN_DATA_OFFSET = 0x001
_TRUN_DURATION = 0x100
_TRUN_SIZE = 0x200
_TRUN_FLAGS = 0x400
_TRUN_CTS = 0x800
_TRUN_ALL = _TRUN_DATA_OFFSET | _TRUN_DURATION | _TRUN_SIZE | _TRUN_FLAGS | _TRUN_CTS
# moof(8) + mfhd(16) + traf(8) + tfhd(16) + tfdt v1(20) + trun header, count, data offset(20);
# then 16 bytes of trun entries per sample.
_MOOF_SIZE = 8 + 16 + 8 + 16 + 20 + 20
_SINGLE_MOOF = _MOOF_SIZE + 16  # a moof with one sample
_SINGLE = struct.Struct("!I4s I4sII I4s I4sII I4sIQ I4sIIiIIIi I4s")
_LENGTH = struct.Struct("!I")

# NAL unit types of access unit delimiters: redundant in MP4, where samples delimit access units.
_AUD = {"h264": 9, "h265": 35}


class FragmentError(ValueError):
    """Input that cannot become a fragment: a sample with no NAL unit, an init without a track."""


@dataclass(frozen=True, slots=True)
class Sample:
    data: bytes
    duration: int  # track timescale
    flags: int = SYNC_SAMPLE
    composition_offset: int = 0  # pts - dts, track timescale


@dataclass(frozen=True, slots=True)
class Track:
    track_id: int
    handler: bytes  # b"vide", b"soun"
    timescale: int


def box(kind: bytes, *payload: bytes) -> bytes:
    body = b"".join(payload)
    return struct.pack("!I4s", 8 + len(body), kind) + body


def full_box(kind: bytes, version: int, flags: int, *payload: bytes) -> bytes:
    return box(kind, struct.pack("!I", version << 24 | flags), *payload)


def fragment(sequence: int, track_id: int, base_decode_time: int, samples: list[Sample]) -> bytes:
    """One moof+mdat holding `samples` of one track, the first decoded at `base_decode_time`."""
    if not samples:
        raise FragmentError("a fragment needs at least one sample")
    entries = b"".join(
        struct.pack("!IIIi", s.duration, len(s.data), s.flags, s.composition_offset) for s in samples
    )

    # data_offset counts from the moof's first byte (default-base-is-moof) to the first sample:
    # the moof's size plus the mdat header.
    data_offset = _MOOF_SIZE + len(entries) + 8
    moof = box(
        b"moof",
        full_box(b"mfhd", 0, 0, struct.pack("!I", sequence & 0xFFFFFFFF)),
        box(
            b"traf",
            full_box(b"tfhd", 0, _TFHD_DEFAULT_BASE_IS_MOOF, struct.pack("!I", track_id)),
            full_box(b"tfdt", 1, 0, struct.pack("!Q", base_decode_time)),
            full_box(b"trun", 1, _TRUN_ALL, struct.pack("!Ii", len(samples), data_offset), entries),
        ),
    )
    assert len(moof) + 8 == data_offset
    payload = b"".join(s.data for s in samples)
    return moof + struct.pack("!I4s", 8 + len(payload), b"mdat") + payload


def nal_units(data: bytes) -> Iterator[bytes]:
    """The NAL units of an Annex B byte stream, without start codes (3 or 4 bytes) or the zero
    bytes that pad between units; bytes before the first start code are not a NAL unit."""
    find = data.find
    start = find(b"\x00\x00\x01")
    while start != -1:
        begin = start + 3
        start = find(b"\x00\x00\x01", begin)
        # A NAL unit ends with its RBSP stop bit, never with a zero byte: trailing zeros belong
        # to the next start code (the 4-byte form) or are trailing_zero_8bits.
        nal = data[begin : len(data) if start == -1 else start].rstrip(b"\x00")
        if nal:
            yield nal


def length_prefixed(data: bytes, codec: str) -> bytes:
    """An Annex B access unit as an MP4 sample: each NAL unit behind its 4-byte big-endian length,
    access unit delimiters dropped, everything else (parameter sets, SEI) kept as it is."""
    return b"".join(length_prefixed_parts(data, codec)[0])


def length_prefixed_parts(data: bytes, codec: str) -> tuple[list[bytes | memoryview], int]:
    """`length_prefixed` as pieces to join (views of `data`, not copies) and their total size.

    The scan for start codes is most of a live frame's cost; the pieces let the fragment be
    joined in one copy.
    """
    h265 = codec == "h265"
    aud = _AUD[codec]
    view = memoryview(data)
    parts: list[bytes | memoryview] = []
    size = 0
    find = data.find
    start = find(b"\x00\x00\x01")
    while start != -1:
        begin = start + 3
        start = find(b"\x00\x00\x01", begin)
        end = len(data) if start == -1 else start
        while end > begin and data[end - 1] == 0:  # as in nal_units: zeros belong to no NAL unit
            end -= 1
        if end == begin:
            continue
        kind = (data[begin] >> 1) & 0x3F if h265 else data[begin] & 0x1F
        if kind != aud:
            parts += (_LENGTH.pack(end - begin), view[begin:end])
            size += 4 + end - begin
    if not parts:
        raise FragmentError("no NAL unit in the access unit")
    return parts, size


def single_fragment(
    sequence: int,
    track_id: int,
    base_decode_time: int,
    sample: list[bytes | memoryview],
    size: int,
    *,
    duration: int,
    flags: int = SYNC_SAMPLE,
    composition_offset: int = 0,
) -> bytes:
    """`fragment` with one sample given as pieces of `size` bytes: the live path, one copy."""
    head = _SINGLE.pack(
        _SINGLE_MOOF, b"moof",
        16, b"mfhd", 0, sequence & 0xFFFFFFFF,
        _SINGLE_MOOF - 24, b"traf",
        16, b"tfhd", _TFHD_DEFAULT_BASE_IS_MOOF, track_id,
        20, b"tfdt", 1 << 24, base_decode_time,
        36, b"trun", 1 << 24 | _TRUN_ALL, 1, _SINGLE_MOOF + 8, duration, size, flags, composition_offset,
        8 + size, b"mdat",
    )  # fmt: skip
    return b"".join([head, *sample])


def boxes(data: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, box end) of the boxes laid end to end in data[start:end]."""
    end = len(data) if end is None else end
    pos = start
    while end - pos >= 8:
        size, kind = struct.unpack_from("!I4s", data, pos)
        header = 8
        if size == 1:
            size = struct.unpack_from("!Q", data, pos + 8)[0]
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise FragmentError(f"box {kind!r} of size {size} does not fit")
        yield kind, pos + header, pos + size
        pos += size


def _child(data: bytes, start: int, end: int, kind: bytes) -> tuple[int, int]:
    for found, payload, box_end in boxes(data, start, end):
        if found == kind:
            return payload, box_end
    raise FragmentError(f"no {kind.decode()} box")


def read_tracks(init: bytes) -> list[Track]:
    """The tracks an init segment declares for fragments: ID (tkhd, with a trex in mvex),
    handler (hdlr) and timescale (mdhd)."""
    moov, moov_end = _child(init, 0, len(init), b"moov")
    mvex, mvex_end = _child(init, moov, moov_end, b"mvex")
    extended = {
        struct.unpack_from("!I", init, payload + 4)[0]
        for kind, payload, _ in boxes(init, mvex, mvex_end)
        if kind == b"trex"
    }
    tracks: list[Track] = []
    for kind, trak, trak_end in boxes(init, moov, moov_end):
        if kind != b"trak":
            continue
        tkhd, _ = _child(init, trak, trak_end, b"tkhd")
        # tkhd: version/flags, then creation and modification times (64-bit in version 1).
        track_id = struct.unpack_from("!I", init, tkhd + (20 if init[tkhd] == 1 else 12))[0]
        mdia, mdia_end = _child(init, trak, trak_end, b"mdia")
        mdhd, _ = _child(init, mdia, mdia_end, b"mdhd")
        timescale = struct.unpack_from("!I", init, mdhd + (20 if init[mdhd] == 1 else 12))[0]
        hdlr, _ = _child(init, mdia, mdia_end, b"hdlr")
        handler = init[hdlr + 8 : hdlr + 12]  # after version/flags and pre_defined
        if track_id not in extended:
            raise FragmentError(f"track {track_id} has no trex: the init segment is not for fragments")
        if timescale <= 0:
            raise FragmentError(f"track {track_id} has timescale {timescale}")
        tracks.append(Track(track_id, handler, timescale))
    if not tracks:
        raise FragmentError("no track in the init segment")
    return tracks


def starts_with_sync_sample(data: bytes, track_id: int = 1) -> bool:
    """Whether a moof+mdat's first sample on `track_id` is a sync sample (where a decoder may
    start): the trun's first-sample or per-sample flags, else the tfhd's default flags."""
    try:
        moof, moof_end = _child(data, 0, len(data), b"moof")
        for kind, traf, traf_end in boxes(data, moof, moof_end):
            if kind != b"traf":
                continue
            tfhd, _ = _child(data, traf, traf_end, b"tfhd")
            if struct.unpack_from("!I", data, tfhd + 4)[0] != track_id:
                continue
            flags = _first_sample_flags(data, traf, traf_end, tfhd)
            return flags is not None and not flags & 0x10000
    except (FragmentError, struct.error):
        return False
    return False


def _first_sample_flags(data: bytes, traf: int, traf_end: int, tfhd: int) -> int | None:
    trun, _ = _child(data, traf, traf_end, b"trun")
    trun_flags = int.from_bytes(data[trun + 1 : trun + 4], "big")
    at = trun + 8 + 4 * bool(trun_flags & _TRUN_DATA_OFFSET)  # version/flags, sample_count
    if trun_flags & 0x4:  # first-sample-flags-present
        return int.from_bytes(data[at : at + 4], "big")
    if trun_flags & _TRUN_FLAGS:
        at += 4 * bool(trun_flags & _TRUN_DURATION) + 4 * bool(trun_flags & _TRUN_SIZE)
        return int.from_bytes(data[at : at + 4], "big")
    tf_flags = int.from_bytes(data[tfhd + 1 : tfhd + 4], "big")
    at = tfhd + 8  # version/flags, track_ID
    for bit, size in ((0x1, 8), (0x2, 4), (0x8, 4), (0x10, 4)):
        if tf_flags & bit:
            at += size
    return int.from_bytes(data[at : at + 4], "big") if tf_flags & 0x20 else None
