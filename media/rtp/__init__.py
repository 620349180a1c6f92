"""RTP for GB/T 28181 media: header codec, TCP framing, reordering, statistics, packetizing."""

from media.rtp.framing import TcpFramer, split_headerless
from media.rtp.packet import RtpError, RtpPacket, build_rtp, parse_rtp
from media.rtp.packetizer import Packetizer
from media.rtp.reorder import Released, ReorderBuffer, StreamStats

__all__ = [
    "Packetizer",
    "Released",
    "ReorderBuffer",
    "RtpError",
    "RtpPacket",
    "StreamStats",
    "TcpFramer",
    "build_rtp",
    "parse_rtp",
    "split_headerless",
]
