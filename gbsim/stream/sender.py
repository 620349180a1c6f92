"""`StreamSender`: one channel's RTP/PS stream, paced by PTS, sans-IO.

A media clock maps wall time to a position in the requested span (live: forever; playback
and download: the `t=` span), at `scale` times real time. `poll(now)` muxes every frame whose
time has come into one PS pack (PSM and system header before key frames) and splits it
into RTP packets sharing the frame's timestamp, marker on the last. The clip loops with
timestamps that keep increasing. PAUSE freezes the clock; PLAY with Range seeks to the key
frame at or before the position asked for.
"""

from __future__ import annotations

import math

from gbsim.stream.clip import CLOCK, Clip
from media.ps.frame import Frame
from media.ps.mux import PsMuxer
from media.rtp.packetizer import Packetizer

# Never emit more than this many frames in one poll, so a stalled loop catches up in steps.
MAX_FRAMES_PER_POLL = 64


class StreamSender:
    def __init__(
        self,
        clip: Clip,
        *,
        ssrc: int,
        now: float,
        duration: float | None = None,
        scale: float = 1.0,
        payload_type: int = 96,
        payload_size: int = 1400,
        timestamp_base: int = 0,
        first_sequence: int = 0,
    ) -> None:
        self.clip = clip
        self.duration = duration
        self.scale = abs(scale) or 1.0
        self.paused = False
        self.finished = False
        self._muxer = PsMuxer(video_codec=clip.video_codec, audio_codec=clip.audio_codec)
        self._packetizer = Packetizer(
            ssrc=ssrc, payload_type=payload_type, payload_size=payload_size, first_sequence=first_sequence
        )
        self._ts_base = timestamp_base
        self._anchor_now = now
        self._anchor_pos = 0.0  # seconds into the span
        self._loop = 0
        self._index = 0
        self.frames_sent = 0
        self.packets_sent = 0

    # -- clock --------------------------------------------------------------------
    def position(self, now: float) -> float:
        if self.paused:
            return self._anchor_pos
        return self._anchor_pos + (now - self._anchor_now) * self.scale

    def _frame_time(self) -> int:
        """Media time (90 kHz from the span start) of the next frame to send."""
        return self._loop * self.clip.duration + self.clip.frames[self._index].dts

    def next_due(self) -> float | None:
        """Wall time at which the next frame is due; None when paused or finished."""
        if self.finished or self.paused:
            return None
        media = self._frame_time() / CLOCK
        if self.duration is not None and media >= self.duration:
            return self._anchor_now  # due now: the span is over
        return self._anchor_now + (media - self._anchor_pos) / self.scale

    # -- control ------------------------------------------------------------------
    def pause(self, now: float) -> None:
        if not self.paused:
            self._anchor_pos = self.position(now)
            self._anchor_now = now
            self.paused = True

    def play(self, now: float, *, scale: float | None = None, seek: float | None = None) -> None:
        """Resume, change speed and/or jump to `seek` seconds into the span."""
        self._anchor_pos = self.position(now)
        self._anchor_now = now
        self.paused = False
        if scale is not None:
            self.scale = abs(scale) or 1.0  # reverse play is sent forward
        if seek is not None:
            self._seek(seek)

    def _seek(self, seconds: float) -> None:
        if self.duration is not None:
            seconds = min(seconds, self.duration)
        target = int(seconds * CLOCK)
        self._loop, offset = divmod(target, self.clip.duration)
        self._index = self.clip.keyframe_index_at(offset)
        self._anchor_pos = self._frame_time() / CLOCK

    # -- output -------------------------------------------------------------------
    def poll(self, now: float) -> list[bytes]:
        """RTP packets for every frame due at `now`."""
        if self.finished or self.paused:
            return []
        position = self.position(now)
        out: list[bytes] = []
        frames = self.clip.frames
        for _ in range(MAX_FRAMES_PER_POLL):
            media = self._frame_time()
            if self.duration is not None and media >= self.duration * CLOCK:
                self.finished = True
                break
            if media > position * CLOCK + 1e-6:
                break
            out += self._send(frames[self._index], media)
            self._index += 1
            if self._index >= len(frames):
                self._index = 0
                self._loop += 1
        return out

    def _send(self, frame: Frame, media: int) -> list[bytes]:
        offset = media - frame.dts + self._ts_base
        stamped = Frame(
            frame.stream, frame.codec, frame.pts + offset, frame.dts + offset, frame.data, frame.keyframe
        )
        pack = self._muxer.mux(stamped)
        packets = self._packetizer.packetize(pack, stamped.pts & 0xFFFFFFFF)
        self.frames_sent += 1
        self.packets_sent += len(packets)
        return packets


def remaining(sender: StreamSender, now: float) -> float:
    """Seconds until the next frame (0 when due, inf when idle)."""
    due = sender.next_due()
    return math.inf if due is None else max(due - now, 0.0)
