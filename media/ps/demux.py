"""Sans-IO MPEG-PS demuxer for GB/T 28181 streams.

Feed bytes split anywhere (RTP payloads, TCP reads, file chunks) and get `Frame`s back. The
demuxer never raises on input: bytes it cannot use are dropped and counted in `stats`, and it
resynchronises on the next pack header. Buffers are bounded by `max_frame_size`.

Frame boundaries: a video frame ends when a video PES with a different PTS starts, when a new
pack header arrives (GB/T 28181 sends one pack per frame) or when the caller calls `flush()`.
"""

from __future__ import annotations

import contextlib
import struct
from dataclasses import dataclass

from media.ps.frame import STREAM_TYPE_CODECS, Frame
from media.ps.h26x import (
    H264,
    H265,
    BitstreamError,
    SpsInfo,
    guess_video_codec,
    inspect_access_unit,
    parse_h264_sps,
    parse_h265_sps,
)
from media.ps.psm import parse_psm

PACK_START = b"\x00\x00\x01\xba"
START_CODE = b"\x00\x00\x01"
_ANNEX_B = b"\x00\x00\x00\x01"
_U16 = struct.Struct("!H")

DEFAULT_MAX_FRAME_SIZE = 8 * 1024 * 1024
# A bounded unit is at most 6 + 65535 bytes; anything buffered beyond this is garbage.
_MAX_UNIT = 6 + 0xFFFF


@dataclass(slots=True)
class DemuxStats:
    bytes_in: int = 0
    dropped_bytes: int = 0
    resyncs: int = 0
    packs: int = 0
    psms: int = 0
    video_pes: int = 0
    audio_pes: int = 0
    private_pes: int = 0
    """Private stream 1/2 (0xBD/0xBF) units, skipped."""
    skipped_units: int = 0
    """System headers, padding and other non-A/V units, skipped."""
    video_frames: int = 0
    audio_frames: int = 0
    dropped_frames: int = 0
    """Partial frames given up on after lost sync, or frames over max_frame_size."""


def _pts(buf: bytearray, at: int) -> int:
    return (
        ((buf[at] >> 1) & 0x07) << 30
        | buf[at + 1] << 22
        | (buf[at + 2] >> 1) << 15
        | buf[at + 3] << 7
        | buf[at + 4] >> 1
    )


class PsDemuxer:
    def __init__(self, *, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE, frame_per_pack: bool = True) -> None:
        self.max_frame_size = max_frame_size
        self.frame_per_pack = frame_per_pack
        self.stats = DemuxStats()
        self.stream_types: dict[int, int] = {}
        self.sps: SpsInfo | None = None
        self._buf = bytearray()
        self._need = 0  # bytes the buffer must hold before parsing can make progress
        self._synced = False
        self._unbounded = False
        # The video frame being assembled.
        self._chunks: list[bytes] = []
        self._size = 0
        self._pts = 0
        self._dts = 0
        self._sid = 0
        self._seen_pts = False
        self._discard = False
        self._codec: str | None = None
        self._codecs: dict[int, str] = {}
        self._params: dict[int, bytes] = {}
        self._last_sps = b""
        self._audio_pts = 0

    @property
    def width(self) -> int | None:
        return self.sps.width if self.sps else None

    @property
    def height(self) -> int | None:
        return self.sps.height if self.sps else None

    @property
    def sps_nal(self) -> bytes | None:
        """The latest sequence parameter set NAL unit (header included), if one was seen."""
        return self._last_sps or None

    # ---- input ---------------------------------------------------------------------------
    def feed(self, data: bytes | bytearray | memoryview) -> list[Frame]:
        buf = self._buf
        buf += data
        stats = self.stats
        stats.bytes_in += len(data)
        n = len(buf)
        if n < self._need:
            return []  # the unit being read (usually a PES spanning several packets) is not whole yet
        self._need = 0
        out: list[Frame] = []
        pos = 0
        while True:
            if self._unbounded:
                pos = self._continue_unbounded(buf, pos, n)
                if self._unbounded:
                    break
            if not self._synced:
                hit = buf.find(PACK_START, pos)
                if hit == -1:
                    keep = max(pos, n - 3)
                    stats.dropped_bytes += keep - pos
                    pos = keep
                    break
                stats.dropped_bytes += hit - pos
                pos = hit
                self._synced = True
            if n - pos < 6:
                break
            if buf[pos] or buf[pos + 1] or buf[pos + 2] != 1:
                pos = self._lose_sync(pos)
                continue
            sid = buf[pos + 3]
            if sid == 0xBA:
                used = self._pack_header(buf, pos, n, out)
            elif 0xC0 <= sid <= 0xEF:
                used = self._pes(buf, pos, n, sid, out)
            elif sid >= 0xBB:
                length = _U16.unpack_from(buf, pos + 4)[0] + 6
                if length > n - pos:
                    self._need = pos + length
                    break
                if sid == 0xBC:
                    self._psm(bytes(buf[pos : pos + length]))
                elif sid == 0xBD or sid == 0xBF:
                    stats.private_pes += 1
                else:
                    stats.skipped_units += 1
                used = length
            elif sid == 0xB9:
                used = 4
            else:
                used = -1
            if used == 0:
                break
            if used < 0:
                pos = self._lose_sync(pos)
                continue
            pos += used
        if pos:
            del buf[:pos]
            if self._need:
                self._need -= pos
        if len(buf) > _MAX_UNIT:
            stats.dropped_bytes += len(buf)
            buf.clear()
            self._need = 0
            self._lose_sync(0)
        return out

    def flush(self) -> list[Frame]:
        """End of input (or of a frame, for callers that know): emit whatever is complete."""
        out: list[Frame] = []
        if self._unbounded:
            self._append(bytes(self._buf))
            self._buf.clear()
            self._unbounded = False
        self._emit_video(out)
        return out

    def mark_loss(self) -> None:
        """Input was lost before the next feed (an RTP sequence gap).

        Whatever is half-read is now unreliable: the partial unit in the buffer and the frame
        being assembled are dropped, and parsing resumes at the next pack header.
        """
        stats = self.stats
        stats.dropped_bytes += len(self._buf)
        self._buf.clear()
        self._need = 0
        if self._chunks:
            stats.dropped_frames += 1
            self._chunks = []
            self._size = 0
        if self._synced:
            stats.resyncs += 1
        self._synced = False
        self._unbounded = False

    # ---- units ---------------------------------------------------------------------------
    def _lose_sync(self, pos: int) -> int:
        stats = self.stats
        stats.resyncs += 1
        stats.dropped_bytes += 1
        if self._chunks:
            stats.dropped_frames += 1
            self._chunks = []
            self._size = 0
        self._synced = False
        self._unbounded = False
        return pos + 1

    def _pack_header(self, buf: bytearray, pos: int, n: int, out: list[Frame]) -> int:
        if n - pos < 14:
            return 0
        b4 = buf[pos + 4]
        if b4 & 0xC0 == 0x40:
            used = 14 + (buf[pos + 13] & 0x07)
            if n - pos < used:
                return 0
        elif b4 & 0xF0 == 0x20:
            used = 12
        else:
            return -1
        self.stats.packs += 1
        if self.frame_per_pack and self._chunks:
            self._emit_video(out)
        return used

    def _psm(self, unit: bytes) -> None:
        self.stats.psms += 1
        types = parse_psm(unit)
        if types:
            self.stream_types.update(types)
            for sid, stream_type in types.items():
                codec = STREAM_TYPE_CODECS.get(stream_type)
                if codec:
                    self._codecs[sid] = codec

    def _pes(self, buf: bytearray, pos: int, n: int, sid: int, out: list[Frame]) -> int:
        if n - pos < 9:
            return 0
        length = _U16.unpack_from(buf, pos + 4)[0]
        video = sid >= 0xE0
        end = pos + 6 + length
        if length:
            if end > n:
                self._need = end
                return 0
        elif not video:
            return 6
        pts = dts = -1
        b6 = buf[pos + 6]
        if b6 & 0xC0 == 0x80:
            flags = buf[pos + 7]
            payload = pos + 9 + buf[pos + 8]
            if flags & 0x80 and n - pos >= 14:
                pts = _pts(buf, pos + 9)
                dts = _pts(buf, pos + 14) if flags & 0x40 and n - pos >= 19 else pts
        else:
            payload, pts, dts = self._mpeg1_header(buf, pos + 6, min(n, end) if length else n)
        if length and payload > end:
            return -1
        if not length and payload + 1 > n:
            return 0
        if video:
            self.stats.video_pes += 1
            self._video_start(sid, pts, dts, out)
            if length:
                self._append(bytes(buf[payload:end]))
                return end - pos
            self._unbounded = True
            return payload - pos
        self.stats.audio_pes += 1
        if pts >= 0:
            self._audio_pts = pts
        if end > payload:
            data = bytes(buf[payload:end])
            codec = self._codecs.get(sid) or ("aac" if data[:2] >= b"\xff\xf0" else "g711a")
            self.stats.audio_frames += 1
            out.append(Frame("audio", codec, self._audio_pts, self._audio_pts, data, False))
        return end - pos

    @staticmethod
    def _mpeg1_header(buf: bytearray, at: int, limit: int) -> tuple[int, int, int]:
        """MPEG-1 PES header: stuffing, optional STD buffer, then PTS / PTS+DTS / nothing."""
        while at < limit and buf[at] == 0xFF and at < limit:
            at += 1
        if at + 2 <= limit and buf[at] & 0xC0 == 0x40:
            at += 2
        if at < limit:
            marker = buf[at] & 0xF0
            if marker == 0x20 and at + 5 <= limit:
                pts = _pts(buf, at)
                return at + 5, pts, pts
            if marker == 0x30 and at + 10 <= limit:
                return at + 10, _pts(buf, at), _pts(buf, at + 5)
        return at + 1, -1, -1

    def _continue_unbounded(self, buf: bytearray, pos: int, n: int) -> int:
        """Payload of a length-0 video PES runs to the next system/PES start code (>= 0xB9)."""
        scan = pos
        while True:
            hit = buf.find(START_CODE, scan)
            if hit == -1 or hit + 3 >= n:
                stop = max(pos, n - 3) if hit == -1 else hit
                if stop > pos:
                    self._append(bytes(buf[pos:stop]))
                return stop
            if buf[hit + 3] >= 0xB9:
                if hit > pos:
                    self._append(bytes(buf[pos:hit]))
                self._unbounded = False
                return hit
            scan = hit + 3

    # ---- frames --------------------------------------------------------------------------
    def _video_start(self, sid: int, pts: int, dts: int, out: list[Frame]) -> None:
        """Open, continue or switch the frame being assembled for a video PES header."""
        if pts < 0:
            # A continuation PES. Without a frame to continue (its start was lost) its payload is
            # useless, unless this stream never carries timestamps at all.
            self._discard = not self._chunks and self._seen_pts
            return
        self._discard = False
        self._seen_pts = True
        if self._chunks and (pts != self._pts or sid != self._sid):
            self._emit_video(out)
        if not self._chunks:
            self._pts = pts
            self._dts = dts
            self._sid = sid

    def _append(self, data: bytes) -> None:
        if self._discard:
            self.stats.dropped_bytes += len(data)
            return
        if not data:
            return
        self._size += len(data)
        if self._size > self.max_frame_size:
            self.stats.dropped_frames += 1
            self._chunks = []
            self._size = 0
            self._discard = True
            return
        self._chunks.append(data)

    def _emit_video(self, out: list[Frame]) -> None:
        chunks = self._chunks
        if not chunks:
            return
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        self._chunks = []
        self._size = 0
        sid = self._sid
        codec = self._codecs.get(sid)
        if codec is None:
            guessed = guess_video_codec(data)
            if guessed is not None:
                self._codecs[sid] = guessed
            codec = guessed or H264
        keyframe = False
        if codec in (H264, H265):
            data, keyframe = self._access_unit(data, codec)
        elif codec == "mpeg4":
            vop = data.find(b"\x00\x00\x01\xb6")
            keyframe = vop != -1 and vop + 4 < len(data) and data[vop + 4] >> 6 == 0
        self.stats.video_frames += 1
        out.append(Frame("video", codec, self._pts, self._dts, data, keyframe))

    def _access_unit(self, data: bytes, codec: str) -> tuple[bytes, bool]:
        info = inspect_access_unit(data, codec)
        h265 = codec == H265
        for nal in info.parameter_sets:
            nal_type = (nal[0] >> 1) & 0x3F if h265 else nal[0] & 0x1F
            self._params[nal_type] = nal
        if info.sps is not None and info.sps != self._last_sps:
            self._last_sps = info.sps
            with contextlib.suppress(BitstreamError):
                self.sps = parse_h265_sps(info.sps) if h265 else parse_h264_sps(info.sps)
        if info.keyframe and not info.parameter_sets and self._params:
            wanted = (32, 33, 34) if h265 else (7, 8)
            prefix = b"".join(_ANNEX_B + self._params[t] for t in wanted if t in self._params)
            data = prefix + data
        return data, info.keyframe
