"""Media for simulated channels: a clip prepared once at start, and paced RTP/PS senders."""

from gbsim.stream.clip import Clip, clip_from_ps_file
from gbsim.stream.sender import StreamSender

__all__ = ["Clip", "StreamSender", "clip_from_ps_file"]
