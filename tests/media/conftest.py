"""Shared inputs for the media tests: frames demuxed from real vectors, and encoded samples."""

from __future__ import annotations

from fractions import Fraction

import pytest

from media.audio import AudioPacket, AudioTranscoder
from media.ps.demux import PsDemuxer
from media.ps.frame import Frame
from tests.vectors import vector_path

D1_PS = "ps/hik_d1_h264_private_bd.ps"
MIDSTART_PS = "ps/hik_1080p_h264_midstart.ps"
AUDIO_PS = "ps/fri_g711a_audio_only_bad_psm.mpg"
D1_RTP = "rtp/hik_d1_h264.rtp"
D1_LEN16 = "rtp/hik_d1_h264.len16.rtpdump"
G711A = "audio/gb_channel_g711a_8k_mono.g711a"  # raw A-law, 8 kHz mono, 73.3 s


def demux_all(data: bytes, chunk: int = 1400, **options: object) -> tuple[list[Frame], PsDemuxer]:
    demuxer = PsDemuxer(**options)  # type: ignore[arg-type]
    frames: list[Frame] = []
    for start in range(0, len(data), chunk):
        frames += demuxer.feed(data[start : start + chunk])
    frames += demuxer.flush()
    return frames, demuxer


@pytest.fixture(scope="session")
def d1_bytes() -> bytes:
    return vector_path(D1_PS).read_bytes()


@pytest.fixture(scope="session")
def d1_frames(d1_bytes: bytes) -> list[Frame]:
    return demux_all(d1_bytes)[0]


def encode_frames(codec: str, count: int = 12, width: int = 320, height: int = 180) -> list[Frame]:
    """Annex B access units from a real encoder (PyAV), as `Frame`s with 25 fps timestamps."""
    av = pytest.importorskip("av")
    if codec not in av.codecs_available:
        pytest.skip(f"encoder {codec} not available in this PyAV build")
    context = av.CodecContext.create(codec, "w")
    context.width = width
    context.height = height
    context.pix_fmt = "yuv420p"
    context.time_base = Fraction(1, 25)
    context.gop_size = 5
    context.options = {"bf": "0"} if codec == "libx264" else {"x265-params": "log-level=none:bframes=0"}
    frames: list[Frame] = []
    name = "h264" if codec == "libx264" else "h265"
    packets = []
    for index in range(count):
        picture = av.VideoFrame(width, height, "yuv420p")
        for plane in picture.planes:
            plane.update(bytes([(index * 17 + plane.line_size) % 256]) * plane.buffer_size)
        picture.pts = index
        packets += context.encode(picture)
    packets += context.encode(None)
    for packet in packets:
        pts = int(packet.pts) * 3600
        frames.append(Frame("video", name, pts, pts, bytes(packet), packet.is_keyframe))
    return frames


def g711_frames(data: bytes, *, codec: str = "g711a", start: int = 0, size: int = 320) -> list[Frame]:
    """Raw G.711 cut into PES-sized audio frames (40 ms of 8 kHz at 320 bytes) with 90 kHz PTS."""
    return [
        Frame("audio", codec, start + at * 90_000 // 8000, start + at * 90_000 // 8000, data[at : at + size])
        for at in range(0, len(data) - size + 1, size)
    ]


def av_sync(video: list[Frame], audio: list[Frame]) -> list[Frame]:
    """Video and audio interleaved as a camera sends them, audio placed on the video's clock."""
    base = video[0].dts
    shifted = [Frame(f.stream, f.codec, f.pts + base, f.dts + base, f.data) for f in audio]
    last = video[-1].dts
    return sorted(video + [f for f in shifted if f.dts <= last], key=lambda f: f.dts)


def aac_packets(alaw: bytes, seconds: float) -> list[AudioPacket]:
    """The first `seconds` of raw A-law as the AAC packets the outputs get, starting at 0."""
    transcoder = AudioTranscoder()
    packets: list[AudioPacket] = []
    for frame in g711_frames(alaw[: int(seconds * 8000)]):
        packets += transcoder.push(frame.codec, frame.data, frame.pts)
    return packets + transcoder.flush()


@pytest.fixture(scope="session")
def g711a() -> bytes:
    return vector_path(G711A).read_bytes()


def ps_rtp(frames: list[Frame], *, ssrc: int, audio_codec: str | None = "g711a") -> list[bytes]:
    """Frames through our PS muxer (one pack per frame, as cameras send) into RTP packets."""
    from media.ps.mux import PsMuxer
    from media.rtp.packetizer import Packetizer

    video_codec = next((f.codec for f in frames if f.stream == "video"), None)
    muxer = PsMuxer(video_codec=video_codec, audio_codec=audio_codec)
    packetizer = Packetizer(ssrc=ssrc)
    return [p for f in frames for p in packetizer.packetize(muxer.mux(f), f.dts & 0xFFFFFFFF)]
