"""One live stream's receive state, sans-IO: RTP datagrams in, elementary-stream frames out.

`StreamSession.receive(datagram, now)` checks the SSRC, puts packets back in order, keeps the
statistics, feeds the PS demuxer and returns the frames it completed. Nothing here touches a
socket or reads a clock: the I/O layer passes `now`, and asks `timed_out(now)` / `deadline()`
to tear down a stream whose RTP stopped.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from media.ps.demux import PsDemuxer
from media.ps.frame import Frame
from media.rtp.packet import HEADER_SIZE, RtpError, parse_rtp
from media.rtp.reorder import ReorderBuffer, StreamStats

DEFAULT_RTP_TIMEOUT = 15.0
# An audio-only verdict needs this much audio (90 kHz media time) with no video frame at all.
AUDIO_ONLY_AFTER = 3 * 90000
_FIXED_HEADER = struct.Struct("!xBHII")  # marker+payload type, sequence, timestamp, SSRC


@dataclass(frozen=True, slots=True)
class VideoInfo:
    """What the first keyframe told us: enough to answer a play request."""

    codec: str
    width: int | None
    height: int | None


class StreamSession:
    """Receive state of one stream: SSRC check, reordering, statistics, PS demuxing.

    In strict mode a packet whose SSRC differs from `ssrc` is dropped and counted; in tolerant
    mode (devices that ignore the SDP's y= line) any SSRC is accepted and the last one seen is
    reported. Frames before the first video keyframe are dropped: no output can start with them.
    Audio passes once video has started, or once the stream is proven audio only.
    """

    def __init__(
        self,
        stream_id: str,
        *,
        ssrc: int | None,
        tolerant_ssrc: bool = False,
        rtp_timeout: float = DEFAULT_RTP_TIMEOUT,
        reorder_depth: int = 16,
        now: float,
    ) -> None:
        self.stream_id = stream_id
        self.ssrc = ssrc
        self.tolerant_ssrc = tolerant_ssrc or ssrc is None
        self.rtp_timeout = rtp_timeout
        self.opened_at = now
        self.last_packet_at: float | None = None
        self.ssrc_seen: int | None = None
        self.ssrc_mismatches = 0
        self.ssrc_foreign: int | None = None
        self.malformed = 0
        self.reorder = ReorderBuffer(depth=reorder_depth)
        self.stats = StreamStats()
        self.demuxer = PsDemuxer()
        self.video: VideoInfo | None = None
        self.audio_codec: str | None = None
        self.video_frames = 0
        self.audio_frames = 0
        self._audio_first_pts: int | None = None
        self._audio_span = 0

    # ---- input ---------------------------------------------------------------------------
    def receive(self, datagram: bytes | bytearray | memoryview, now: float) -> list[Frame]:
        """One RTP packet (a UDP datagram or one RFC 4571 frame); returns the completed frames."""
        # The common case, taken without building an RtpPacket: version 2 with no padding, no
        # extension, no CSRC (first byte 0x80), the very packet the reorder buffer expects next.
        if len(datagram) > HEADER_SIZE and datagram[0] == 0x80:
            b1, seq, timestamp, ssrc = _FIXED_HEADER.unpack_from(datagram, 0)
            if ssrc != self.ssrc and not self.tolerant_ssrc:
                self.ssrc_mismatches += 1
                self.ssrc_foreign = ssrc
                return []
            if self.reorder.next_in_order(seq):
                self.ssrc_seen = ssrc
                self.last_packet_at = now
                self.stats.count(timestamp, len(datagram), now)
                demuxer = self.demuxer
                frames = demuxer.feed(datagram[HEADER_SIZE:])
                if b1 & 0x80:
                    # GB senders mark a frame's last packet: emit it now rather than at the next pack.
                    frames += demuxer.flush()
                return self._accept(frames) if frames else frames
        return self._receive_any(datagram, now)

    def _receive_any(self, datagram: bytes | bytearray | memoryview, now: float) -> list[Frame]:
        """Any RTP packet: full header parsing and the reorder buffer."""
        try:
            packet = parse_rtp(datagram)
        except RtpError:
            self.malformed += 1
            return []
        if packet.ssrc != self.ssrc and not self.tolerant_ssrc:
            self.ssrc_mismatches += 1
            self.ssrc_foreign = packet.ssrc
            return []
        self.ssrc_seen = packet.ssrc
        self.last_packet_at = now
        frames: list[Frame] = []
        demuxer = self.demuxer
        for released in self.reorder.push(packet):
            rtp = released.packet
            self.stats.record(rtp, now, len(rtp.payload) + 12, released.lost_before)
            if released.lost_before:
                demuxer.mark_loss()
            frames += demuxer.feed(rtp.payload)
            if rtp.marker:
                frames += demuxer.flush()
        return self._accept(frames)

    def finish(self) -> list[Frame]:
        """The stream ended: release what the reorder buffer still holds.

        A frame still being assembled is dropped: without its marker packet it is most likely cut
        short, and half an access unit is worse for a decoder than no frame.
        """
        frames: list[Frame] = []
        demuxer = self.demuxer
        for released in self.reorder.flush():
            if released.lost_before:
                demuxer.mark_loss()
            frames += demuxer.feed(released.packet.payload)
            if released.packet.marker:
                frames += demuxer.flush()
        return self._accept(frames)

    def _accept(self, frames: list[Frame]) -> list[Frame]:
        if not frames:
            return frames
        out: list[Frame] = []
        for frame in frames:
            if frame.stream == "audio":
                self._note_audio(frame)
                if self.video is not None or self.audio_only:
                    out.append(frame)
                continue
            self.video_frames += 1
            if self.video is None:
                if not frame.keyframe:
                    continue
                self.video = VideoInfo(frame.codec, self.demuxer.width, self.demuxer.height)
            out.append(frame)
        return out

    def _note_audio(self, frame: Frame) -> None:
        self.audio_frames += 1
        self.audio_codec = frame.codec
        if self._audio_first_pts is None:
            self._audio_first_pts = frame.pts
        self._audio_span = max(self._audio_span, (frame.pts - self._audio_first_pts) % (1 << 33))

    # ---- state ---------------------------------------------------------------------------
    @property
    def audio_only(self) -> bool:
        """Seconds of audio arrived and not one video frame: the device sends no video."""
        return self.video_frames == 0 and self._audio_span >= AUDIO_ONLY_AFTER

    def deadline(self) -> float:
        """When the stream times out if no further RTP arrives."""
        return (self.last_packet_at if self.last_packet_at is not None else self.opened_at) + self.rtp_timeout

    def timed_out(self, now: float) -> bool:
        return now >= self.deadline()

    def snapshot(self, now: float) -> dict[str, Any]:
        """Statistics for `stream.list`, JSON-ready."""
        stats = self.stats
        video = self.video
        return {
            "stream_id": self.stream_id,
            "ssrc": self.ssrc,
            "ssrc_seen": self.ssrc_seen,
            "tolerant_ssrc": self.tolerant_ssrc,
            "packets": stats.packets,
            "bytes": stats.bytes,
            "lost": stats.lost,
            "late": self.reorder.late,
            "duplicates": self.reorder.duplicates,
            "ssrc_mismatches": self.ssrc_mismatches,
            "malformed": self.malformed,
            "jitter_ms": round(stats.jitter / 90.0, 3),
            "bitrate": round(stats.bitrate(now)),
            "fps": round(stats.frame_rate(now), 2),
            "video_frames": self.video_frames,
            "audio_frames": self.audio_frames,
            "codec": video.codec if video else None,
            "width": video.width if video else None,
            "height": video.height if video else None,
            "audio_codec": self.audio_codec,
            "audio_only": self.audio_only,
            "idle_seconds": round(now - (self.last_packet_at or self.opened_at), 3),
        }
