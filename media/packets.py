"""Demuxed frames and transcoded audio as PyAV packets, for the muxers (HLS, fMP4)."""

from __future__ import annotations

from fractions import Fraction

import av

from media.audio import LAYOUT, SAMPLE_RATE, AudioPacket
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


def audio_packet(audio: AudioPacket, stream: av.stream.Stream) -> av.Packet:
    """A packet for `stream` carrying one AAC frame; each muxer needs its own (muxing rescales it)."""
    packet = av.Packet(audio.data)
    packet.pts = audio.pts
    packet.dts = audio.pts
    packet.duration = audio.duration
    packet.time_base = TIME_BASE
    packet.stream = stream
    packet.is_keyframe = True
    return packet


def add_audio_stream(container: av.container.OutputContainer) -> av.stream.Stream:
    """The AAC-LC track media/audio.py produces; the muxer takes its configuration from a
    (never fed) encoder context with the same parameters, opened when the header is written."""
    return container.add_stream("aac", rate=SAMPLE_RATE, layout=LAYOUT)
