"""GB/T 28181 SDP: INVITE offers and answers with the `y=` SSRC and `f=` format lines."""

from .build import build_answer, build_offer
from .model import STANDARD_RTPMAP, GbSdp, MediaFormat, Transport, parse_media_format
from .parse import parse_answer, parse_offer, parse_sdp
from .ssrc import Ssrc, make_ssrc, parse_ssrc, ssrc_to_rtp

__all__ = [
    "STANDARD_RTPMAP",
    "GbSdp",
    "MediaFormat",
    "Ssrc",
    "Transport",
    "build_answer",
    "build_offer",
    "make_ssrc",
    "parse_answer",
    "parse_media_format",
    "parse_offer",
    "parse_sdp",
    "parse_ssrc",
    "ssrc_to_rtp",
]
