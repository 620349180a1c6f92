"""MPEG-PS as GB/T 28181 devices send it: a resynchronising sans-IO demuxer and a GB-style muxer."""

from media.ps.demux import DemuxStats, PsDemuxer
from media.ps.frame import Frame
from media.ps.mux import MuxError, PsMuxer

__all__ = ["DemuxStats", "Frame", "MuxError", "PsDemuxer", "PsMuxer"]
