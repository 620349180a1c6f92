"""Demuxed frames as PyAV packets, for the muxers (HLS, fMP4)."""

from __future__ import annotations

from fractions import Fraction

import av

from media.ps.frame import Frame

TIME_BASE = Fraction(1, 90_000)  # PS timestamps are 90 kHz


def frame_packet(frame: Frame, stream: av.stream.Stream, pts: int, dts: int) -> av.Packet:
    """A packet for `stream` carrying the frame's bytes at the given (already fixed) times."""
    packet = av.Packet(frame.data)
    packet.pts = pts
    packet.dts = dts
    packet.time_base = TIME_BASE
    packet.stream = stream
    packet.is_keyframe = frame.keyframe
    return packet
