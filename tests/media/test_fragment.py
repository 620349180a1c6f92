"""Movie fragments written directly: box layout and fields, Annex B to length-prefixed samples."""

from __future__ import annotations

import struct

import pytest

from media.fragment import (
    NON_SYNC_SAMPLE,
    SYNC_SAMPLE,
    FragmentError,
    Sample,
    Track,
    box,
    fragment,
    full_box,
    length_prefixed,
    nal_units,
    read_tracks,
    starts_with_sync_sample,
)

CONTAINERS = {b"moof", b"traf", b"moov", b"trak", b"mdia", b"mvex"}


def parse(data: bytes) -> list[tuple[str, object]]:
    """A tiny, independent ISO BMFF reader: (type, children or payload) for each box."""
    out: list[tuple[str, object]] = []
    pos = 0
    while pos < len(data):
        size, kind = struct.unpack_from("!I4s", data, pos)
        assert size >= 8 and pos + size <= len(data), f"box {kind!r} overruns its parent"
        payload = data[pos + 8 : pos + size]
        out.append((kind.decode(), parse(payload) if kind in CONTAINERS else payload))
        pos += size
    return out


def test_a_fragment_is_moof_then_mdat_with_every_field_where_14496_12_puts_it() -> None:
    samples = [Sample(b"\x00\x00\x00\x02\x65\x88", duration=3600, flags=SYNC_SAMPLE, composition_offset=7200)]
    data = fragment(7, 1, 1 << 40, samples)
    (moof_kind, moof), (mdat_kind, mdat) = parse(data)
    assert (moof_kind, mdat_kind) == ("moof", "mdat") and mdat == samples[0].data
    assert isinstance(moof, list)
    (mfhd_kind, mfhd), (traf_kind, traf) = moof
    assert (mfhd_kind, traf_kind) == ("mfhd", "traf") and isinstance(traf, list)
    assert struct.unpack("!II", mfhd) == (0, 7)  # version/flags, sequence_number
    assert [kind for kind, _ in traf] == ["tfhd", "tfdt", "trun"]
    tfhd, tfdt, trun = (payload for _, payload in traf)
    assert struct.unpack("!II", tfhd) == (0x00020000, 1)  # default-base-is-moof, track_ID
    assert struct.unpack("!IQ", tfdt) == (0x01000000, 1 << 40)  # version 1: 64-bit decode time
    version_flags, count, data_offset, duration, size, flags, cts = struct.unpack("!IIiIIIi", trun)
    assert version_flags == 0x01000F01  # version 1; data offset, duration, size, flags, cts present
    assert (count, duration, size, flags, cts) == (1, 3600, 6, SYNC_SAMPLE, 7200)
    assert data_offset == len(data) - len(mdat)  # from the moof's first byte to the sample


@pytest.mark.parametrize(
    ("flags", "sync"),
    [(SYNC_SAMPLE, True), (NON_SYNC_SAMPLE, False)],
    ids=["keyframe", "depends-on-others"],
)
def test_sample_flags_say_whether_a_decoder_can_start_there(flags: int, sync: bool) -> None:
    data = fragment(1, 1, 0, [Sample(b"\x01", duration=1, flags=flags)])
    assert starts_with_sync_sample(data) is sync
    assert starts_with_sync_sample(data, track_id=2) is False  # only the named track counts


def test_a_negative_composition_offset_is_written_signed() -> None:
    data = fragment(1, 2, 0, [Sample(b"\x01", duration=1, composition_offset=-3600)])
    trun = data.index(b"trun") + 4
    assert struct.unpack_from("!i", data, trun + 24)[0] == -3600


def test_several_samples_share_one_trun_and_one_mdat() -> None:
    data = fragment(1, 1, 0, [Sample(b"ab", 10), Sample(b"cde", 20, NON_SYNC_SAMPLE)])
    assert parse(data)[1] == ("mdat", b"abcde")
    assert struct.unpack_from("!I", data, data.index(b"trun") + 8)[0] == 2


def test_a_fragment_without_samples_is_refused() -> None:
    with pytest.raises(FragmentError):
        fragment(1, 1, 0, [])


SPS, PPS, IDR = b"\x67\x4d\x00\x1e\xab", b"\x68\xee\x3c\x80", b"\x65\x88\x84\x00\x00\x03\x00\x10"
AUD = b"\x09\xf0"


@pytest.mark.parametrize(
    ("annexb", "nals"),
    [
        (b"\x00\x00\x00\x01" + SPS + b"\x00\x00\x00\x01" + PPS + b"\x00\x00\x01" + IDR, [SPS, PPS, IDR]),
        (b"\x00\x00\x01" + SPS + b"\x00\x00\x01" + IDR, [SPS, IDR]),
        (b"\x00\x00\x01" + IDR + b"\x00\x00\x00\x00\x01" + PPS, [IDR, PPS]),  # trailing_zero_8bits
        (b"\xff\x00\x00\x01" + IDR, [IDR]),  # junk before the first start code is not a NAL unit
        (b"\x00\x00\x01" + IDR + b"\x00\x00", [IDR]),  # zeros at the end belong to no NAL unit
        (b"\x00\x00\x01\x00\x00\x01" + IDR, [IDR]),  # an empty unit between two start codes
    ],
    ids=["4-byte", "3-byte", "zero-padding", "leading-junk", "trailing-zeros", "empty-unit"],
)
def test_annex_b_splits_into_nal_units_at_3_and_4_byte_start_codes(annexb: bytes, nals: list[bytes]) -> None:
    assert list(nal_units(annexb)) == nals


def test_a_sample_is_each_nal_unit_behind_its_length_with_emulation_bytes_untouched() -> None:
    annexb = b"\x00\x00\x00\x01" + AUD + b"\x00\x00\x00\x01" + SPS + b"\x00\x00\x01" + IDR
    sample = length_prefixed(annexb, "h264")
    assert sample == struct.pack("!I", len(SPS)) + SPS + struct.pack("!I", len(IDR)) + IDR
    assert b"\x00\x00\x03\x00" in sample  # the emulation prevention byte stays: MP4 keeps NAL units


def test_h265_access_unit_delimiters_are_dropped_by_their_two_byte_header() -> None:
    aud, vps, idr = b"\x46\x01\x50", b"\x40\x01\x0c", b"\x26\x01\xaf"  # types 35, 32, 19
    annexb = b"".join(b"\x00\x00\x00\x01" + nal for nal in (aud, vps, idr))
    assert length_prefixed(annexb, "h265") == b"".join(struct.pack("!I", 3) + nal for nal in (vps, idr))


@pytest.mark.parametrize(
    "annexb", [b"", b"\x65\x88", b"\x00\x00\x01\x09\xf0"], ids=["empty", "no-start-code", "only-aud"]
)
def test_an_access_unit_without_a_nal_unit_to_keep_is_refused(annexb: bytes) -> None:
    with pytest.raises(FragmentError):
        length_prefixed(annexb, "h264")


def _trak(track_id: int, handler: bytes, timescale: int, *, version: int = 0) -> bytes:
    times = b"\x00" * (16 if version else 8)
    tkhd = full_box(b"tkhd", version, 3, times, struct.pack("!I", track_id), b"\x00" * 60)
    mdhd = full_box(b"mdhd", version, 0, times, struct.pack("!II", timescale, 0), b"\x00" * 4)
    hdlr = full_box(b"hdlr", 0, 0, b"\x00" * 4, handler, b"\x00" * 13)
    return box(b"trak", tkhd, box(b"mdia", mdhd, hdlr))


def _trex(track_id: int) -> bytes:
    return full_box(b"trex", 0, 0, struct.pack("!IIIII", track_id, 1, 0, 0, 0))


def test_track_ids_handlers_and_timescales_are_read_from_the_init_segment() -> None:
    moov = box(
        b"moov",
        _trak(3, b"vide", 90000),
        _trak(7, b"soun", 16000, version=1),
        box(b"mvex", _trex(3), _trex(7)),
    )
    init = box(b"ftyp", b"iso5") + moov
    assert read_tracks(init) == [Track(3, b"vide", 90000), Track(7, b"soun", 16000)]


@pytest.mark.parametrize(
    "init",
    [
        box(b"ftyp", b"iso5"),
        box(b"moov", _trak(1, b"vide", 90000)),
        box(b"moov", _trak(1, b"vide", 90000), box(b"mvex", _trex(2))),
        box(b"moov", box(b"mvex")),
        box(b"moov", _trak(1, b"vide", 0), box(b"mvex", _trex(1))),
        b"\x00\x00\x00\x40moov",
    ],
    ids=["no-moov", "no-mvex", "no-trex-for-the-track", "no-track", "zero-timescale", "truncated"],
)
def test_an_init_segment_that_cannot_carry_fragments_is_refused(init: bytes) -> None:
    with pytest.raises(FragmentError):
        read_tracks(init)
