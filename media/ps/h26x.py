"""H.264/H.265 Annex B helpers: NAL scanning, keyframe detection and SPS picture size.

Only the first NAL units of an access unit are inspected (up to the first slice), so the cost per
frame does not grow with the frame size.
"""

from __future__ import annotations

from dataclasses import dataclass

H264 = "h264"
H265 = "h265"

_START = b"\x00\x00\x01"
_H264_HIGH_PROFILES = frozenset({100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135})


class BitstreamError(ValueError):
    """A parameter set ends early or holds values outside the syntax's range."""


def unescape_rbsp(data: bytes) -> bytes:
    """Remove emulation-prevention bytes (00 00 03 -> 00 00)."""
    if b"\x00\x00\x03" not in data:
        return data
    out = bytearray()
    pos = 0
    while True:
        hit = data.find(b"\x00\x00\x03", pos)
        if hit == -1:
            out += data[pos:]
            return bytes(out)
        out += data[pos : hit + 2]
        pos = hit + 3


class BitReader:
    """MSB-first reader over an RBSP, with Exp-Golomb codes."""

    __slots__ = ("_bits", "_pos", "_value")

    def __init__(self, data: bytes) -> None:
        self._value = int.from_bytes(data, "big")
        self._bits = len(data) * 8
        self._pos = 0

    def u(self, count: int) -> int:
        if count == 0:
            return 0
        end = self._pos + count
        if end > self._bits:
            raise BitstreamError("read past the end of the parameter set")
        self._pos = end
        return (self._value >> (self._bits - end)) & ((1 << count) - 1)

    def skip(self, count: int) -> None:
        if self._pos + count > self._bits:
            raise BitstreamError("skip past the end of the parameter set")
        self._pos += count

    def ue(self) -> int:
        left = self._bits - self._pos
        rest = self._value & ((1 << left) - 1)
        if rest == 0:
            raise BitstreamError("Exp-Golomb code runs past the end")
        zeros = left - rest.bit_length()
        if zeros > 31:
            raise BitstreamError("Exp-Golomb code longer than 32 bits")
        self._pos += zeros
        return self.u(zeros + 1) - 1

    def se(self) -> int:
        k = self.ue()
        return (k + 1) // 2 if k & 1 else -(k // 2)


@dataclass(frozen=True, slots=True)
class SpsInfo:
    codec: str
    width: int
    height: int
    profile_idc: int
    level_idc: int


def parse_h264_sps(nal: bytes) -> SpsInfo:
    """Picture size and profile from an H.264 SPS NAL unit (header byte included)."""
    if not nal or nal[0] & 0x1F != 7:
        raise BitstreamError("not an H.264 SPS NAL unit")
    r = BitReader(unescape_rbsp(nal[1:]))
    profile_idc = r.u(8)
    r.skip(8)
    level_idc = r.u(8)
    r.ue()
    chroma_format_idc = 1
    if profile_idc in _H264_HIGH_PROFILES:
        chroma_format_idc = r.ue()
        if chroma_format_idc > 3:
            raise BitstreamError("chroma_format_idc out of range")
        separate_planes = r.u(1) if chroma_format_idc == 3 else 0
        if separate_planes:
            chroma_format_idc = 0
        r.ue()
        r.ue()
        r.skip(1)
        if r.u(1):
            for i in range(12 if chroma_format_idc == 3 else 8):
                if r.u(1):
                    _skip_scaling_list(r, 16 if i < 6 else 64)
    r.ue()
    poc_type = r.ue()
    if poc_type == 0:
        r.ue()
    elif poc_type == 1:
        r.skip(1)
        r.se()
        r.se()
        for _ in range(min(r.ue(), 255)):
            r.se()
    r.ue()
    r.skip(1)
    width_mbs = r.ue() + 1
    height_units = r.ue() + 1
    frame_mbs_only = r.u(1)
    if not frame_mbs_only:
        r.skip(1)
    r.skip(1)
    width = width_mbs * 16
    height = (2 - frame_mbs_only) * height_units * 16
    if r.u(1):
        left, right, top, bottom = r.ue(), r.ue(), r.ue(), r.ue()
        sub_w, sub_h = {0: (1, 1), 1: (2, 2), 2: (2, 1), 3: (1, 1)}[chroma_format_idc]
        width -= sub_w * (left + right)
        height -= sub_h * (2 - frame_mbs_only) * (top + bottom)
    if width <= 0 or height <= 0:
        raise BitstreamError("cropping leaves no picture")
    return SpsInfo(H264, width, height, profile_idc, level_idc)


def _skip_scaling_list(r: BitReader, size: int) -> None:
    last = nxt = 8
    for _ in range(size):
        if nxt:
            nxt = (last + r.se()) % 256
        last = nxt or last


def parse_h265_sps(nal: bytes) -> SpsInfo:
    """Picture size and profile from an H.265 SPS NAL unit (2-byte header included)."""
    if len(nal) < 3 or (nal[0] >> 1) & 0x3F != 33:
        raise BitstreamError("not an H.265 SPS NAL unit")
    r = BitReader(unescape_rbsp(nal[2:]))
    r.skip(4)
    max_sub_layers_minus1 = r.u(3)
    r.skip(1)
    r.skip(3)
    profile_idc = r.u(5)
    r.skip(32 + 48)
    level_idc = r.u(8)
    present = [(r.u(1), r.u(1)) for _ in range(max_sub_layers_minus1)]
    if max_sub_layers_minus1:
        r.skip(2 * (8 - max_sub_layers_minus1))
    for profile_present, level_present in present:
        r.skip(88 * profile_present + 8 * level_present)
    r.ue()
    chroma_format_idc = r.ue()
    if chroma_format_idc > 3:
        raise BitstreamError("chroma_format_idc out of range")
    if chroma_format_idc == 3 and r.u(1):
        chroma_format_idc = 0
    width = r.ue()
    height = r.ue()
    if r.u(1):
        left, right, top, bottom = r.ue(), r.ue(), r.ue(), r.ue()
        sub_w, sub_h = {0: (1, 1), 1: (2, 2), 2: (2, 1), 3: (1, 1)}[chroma_format_idc]
        width -= sub_w * (left + right)
        height -= sub_h * (top + bottom)
    if width <= 0 or height <= 0:
        raise BitstreamError("cropping leaves no picture")
    return SpsInfo(H265, width, height, profile_idc, level_idc)


@dataclass(frozen=True, slots=True)
class AccessUnitInfo:
    keyframe: bool
    parameter_sets: tuple[bytes, ...]
    """VPS/SPS/PPS NAL units (without start codes) found before the first slice."""
    sps: bytes | None


def inspect_access_unit(data: bytes, codec: str) -> AccessUnitInfo:
    """Keyframe flag and parameter sets of an Annex B access unit; never raises."""
    params: list[bytes] = []
    sps: bytes | None = None
    keyframe = False
    h265 = codec == H265
    pos = data.find(_START)
    count = 0
    while pos != -1 and count < 32:
        count += 1
        start = pos + 3
        if start >= len(data):
            break
        header = data[start]
        nal_type = (header >> 1) & 0x3F if h265 else header & 0x1F
        vcl = nal_type < 32 if h265 else 1 <= nal_type <= 5
        if vcl:
            keyframe = 16 <= nal_type <= 23 if h265 else nal_type == 5
            break
        nxt = data.find(_START, start)
        if (h265 and 32 <= nal_type <= 34) or (not h265 and nal_type in (7, 8)):
            end = len(data) if nxt == -1 else nxt
            while nxt != -1 and end > start and data[end - 1] == 0:
                end -= 1
            nal = data[start:end]
            params.append(nal)
            if nal_type == (33 if h265 else 7):
                sps = nal
        pos = nxt
    return AccessUnitInfo(keyframe, tuple(params), sps)


def guess_video_codec(payload: bytes | bytearray) -> str | None:
    """H.264 or H.265 from the first NAL header of a PES payload; None when unsure."""
    pos = payload.find(_START)
    if pos == -1 or pos + 5 > len(payload):
        return None
    b0 = payload[pos + 3]
    b1 = payload[pos + 4]
    if b0 & 0x80:
        return None
    h265_type = (b0 >> 1) & 0x3F
    if b1 == 0x01 and h265_type in (1, 19, 20, 21, 32, 33, 34, 35, 39):
        return H265
    if b0 & 0x1F in (1, 5, 6, 7, 8, 9):
        return H264
    return None
