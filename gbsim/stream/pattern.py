"""A moving test pattern encoded once with PyAV (libx264 / libx265), optionally with G.711 audio.

Browser-playable settings: H.264 constrained baseline, no B frames, `tune=zerolatency`, a key
frame every `gop` frames with SPS/PPS (VPS for H.265) repeated before each, so any loop of
the clip starts cleanly.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import cast

from av.video.frame import VideoFrame

from gbsim.stream.clip import CLOCK, Clip, make_clip
from media.ps.frame import Frame

AUDIO_RATE = 8000
AUDIO_FRAME_SAMPLES = 320  # 40 ms, as GB cameras packetise G.711


def encode_pattern(
    codec: str = "h264",
    *,
    width: int = 640,
    height: int = 360,
    fps: int = 25,
    seconds: float = 2.0,
    gop: int = 25,
    kbps: int = 800,
    audio: bool = False,
) -> Clip:
    import av
    from av.video.codeccontext import VideoCodecContext

    encoder = {"h264": "libx264", "h265": "libx265"}.get(codec)
    if encoder is None:
        raise ValueError(f"test pattern codec must be h264 or h265, got {codec!r}")
    context = cast(VideoCodecContext, av.CodecContext.create(encoder, "w"))
    context.width, context.height = width, height
    context.pix_fmt = "yuv420p"
    context.time_base = Fraction(1, fps)
    context.framerate = Fraction(fps, 1)
    context.gop_size = gop
    context.bit_rate = kbps * 1000
    if codec == "h264":
        context.options = {
            "preset": "veryfast",
            "tune": "zerolatency",
            "profile": "baseline",
            "bf": "0",
            "keyint_min": str(gop),
            "sc_threshold": "0",
        }
    else:
        params = (
            f"keyint={gop}:min-keyint={gop}:bframes=0:repeat-headers=1:open-gop=0:scenecut=0:log-level=none"
        )
        context.options = {"preset": "ultrafast", "tune": "zerolatency", "x265-params": params}
    count = max(int(seconds * fps), 1)
    packets = []
    for index in range(count):
        packets += context.encode(_picture(width, height, index, count))
    packets += context.encode(None)
    step = CLOCK // fps
    frames = []
    for packet in packets:
        pts = packet.pts or 0
        dts = packet.dts if packet.dts is not None else pts
        frames.append(Frame("video", codec, pts * step, dts * step, bytes(packet), bool(packet.is_keyframe)))
    if audio:
        frames += alaw_tone(count * step)
    return make_clip(sorted(frames, key=lambda f: f.dts), width=width, height=height)


def _picture(width: int, height: int, index: int, count: int) -> VideoFrame:
    frame = VideoFrame(width, height, "yuv420p")
    luma = frame.planes[0]
    stride = luma.line_size
    # A diagonal gradient scrolling right plus a white box crossing the picture.
    ramp = bytes((x * 2) & 0xFF for x in range(stride * 2))
    shift = (index * 6) % stride
    buf = bytearray()
    for y in range(height):
        start = (shift + y) % stride
        buf += ramp[start : start + stride]
    box = max(height // 6, 8)
    bx = int((width - box) * index / max(count - 1, 1))
    by = (height - box) // 2
    white = b"\xeb" * box
    for y in range(by, by + box):
        buf[y * stride + bx : y * stride + bx + box] = white
    luma.update(bytes(buf))
    for n, plane in enumerate(frame.planes[1:]):
        value = 128 + int(60 * math.sin(index / 8 + n * 2))
        plane.update(bytes([value]) * plane.buffer_size)
    frame.pts = index
    return frame


def alaw_tone(length: int, *, hz: float = 440.0) -> list[Frame]:
    """G.711 A-law frames covering `length` (90 kHz): a tone that beeps twice a second."""
    samples = length * AUDIO_RATE // CLOCK
    frames = []
    for start in range(0, samples - AUDIO_FRAME_SAMPLES + 1, AUDIO_FRAME_SAMPLES):
        pcm = []
        for n in range(start, start + AUDIO_FRAME_SAMPLES):
            on = (n % (AUDIO_RATE // 2)) < AUDIO_RATE // 8
            pcm.append(int(8000 * math.sin(2 * math.pi * hz * n / AUDIO_RATE)) if on else 0)
        ts = start * CLOCK // AUDIO_RATE
        frames.append(Frame("audio", "g711a", ts, ts, bytes(_alaw(s) for s in pcm), True))
    return frames


def _alaw(sample: int) -> int:
    """ITU-T G.711 A-law encoding of one 16-bit linear sample."""
    sign = 0x80 if sample >= 0 else 0x00
    magnitude = min(abs(sample) >> 3, 0xFFF)
    if magnitude < 32:
        code = magnitude >> 1
    else:
        exponent = magnitude.bit_length() - 5
        code = (exponent << 4) | ((magnitude >> exponent) & 0x0F)
    return (code | sign) ^ 0x55
