"""A JPEG picture of one keyframe: decode that single access unit with PyAV, encode JPEG.

Only keyframes are decoded (they need no other frame), and only when someone asks, so the cost
is one decode per request for a new keyframe, not per frame of the stream.
"""

from __future__ import annotations

from fractions import Fraction
from typing import cast

import av

_DECODERS = {"h264": "h264", "h265": "hevc", "mpeg4": "mpeg4"}


class SnapshotError(RuntimeError):
    """The keyframe could not be turned into a picture."""


def keyframe_to_jpeg(codec: str, data: bytes, *, quality: int = 5) -> bytes:
    """Decode one keyframe (Annex B with parameter sets) and return a baseline JPEG of it.

    `quality` is the MJPEG encoder's qscale: 2 (best) .. 31 (smallest).
    """
    name = _DECODERS.get(codec)
    if name is None:
        raise SnapshotError(f"no decoder for {codec}")
    try:
        decoder = cast(av.VideoCodecContext, av.CodecContext.create(name, "r"))
        pictures = list(decoder.decode(av.Packet(data)))
        pictures += decoder.decode(None)
    except (av.FFmpegError, ValueError) as exc:
        raise SnapshotError(f"keyframe did not decode: {exc}") from exc
    if not pictures:
        raise SnapshotError("keyframe decoded to no picture")
    picture = pictures[0]
    encoder = av.CodecContext.create("mjpeg", "w")
    encoder.width = picture.width
    encoder.height = picture.height
    encoder.pix_fmt = "yuvj420p"
    encoder.time_base = Fraction(1, 25)
    encoder.options = {"qscale": str(quality)}
    encoder.flags |= av.codec.context.Flags.qscale
    encoder.global_quality = quality * 118  # FF_QP2LAMBDA
    frame = picture.reformat(format="yuvj420p")
    frame.pts = 0
    try:
        packets = list(encoder.encode(frame)) + list(encoder.encode(None))
    except (av.FFmpegError, ValueError) as exc:
        raise SnapshotError(f"JPEG encoding failed: {exc}") from exc
    if not packets:
        raise SnapshotError("JPEG encoder produced nothing")
    return bytes(packets[0])
