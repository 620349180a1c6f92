"""Camera audio for browsers: G.711 A-law / µ-law (or AAC) in, one continuous AAC-LC track out.

Browsers decode AAC-LC ("mp4a.40.2") in MSE and through hls.js; they do not decode G.711. The
output is 16 kHz mono, G.711's 8 kHz upsampled: a rate every AAC decoder takes, where 8 kHz AAC
is rare enough that hls.js carries special cases for low-rate mono. Camera AAC (PS stream type
0x0F) is decoded and encoded again into the same format rather than copied, because the track
must be declared in the init segment before the first audio frame arrives (cameras start with a
keyframe), silence must be made in its format to bridge gaps, and a camera's ADTS configuration
may change mid-stream.

Timing: the output is one unbroken run of AAC frames (1024 samples, 5760 ticks of 90 kHz), so
its timestamps only ever increase. Input frames are placed on it by their PTS (already mapped to
the output timeline): jitter up to `JITTER` is ignored, a gap up to `MAX_FILL` is filled with
silence, a frame further behind than `JITTER` is dropped until the input catches up, and a jump
beyond `MAX_FILL` either way re-anchors the input without touching the output. `keep_up(pts)`,
called as video advances, adds silence while the camera sends no audio, so a browser's buffer
(which plays only where both tracks have data) keeps growing. Nothing here raises to the caller:
undecodable input is dropped, counted and logged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from fractions import Fraction
from typing import cast

import av

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
FRAME_SAMPLES = 1024  # one AAC-LC frame
FRAME_TICKS = FRAME_SAMPLES * 90_000 // SAMPLE_RATE  # 5760: exact in 90 kHz
BIT_RATE = 32_000  # plenty for 16 kHz mono speech
MIME_CODEC = "mp4a.40.2"  # RFC 6381: MPEG-4 audio, object type 2 (AAC-LC)
LAYOUT = "mono"
SAMPLE_FORMAT = "fltp"  # what FFmpeg's aac encoder takes

# PS codec names (media/ps/frame.py) -> FFmpeg decoders.
SOURCE_DECODERS = {"g711a": "pcm_alaw", "g711u": "pcm_mulaw", "aac": "aac"}
G711_RATE = 8000

JITTER = 9_000  # 100 ms: PES timestamps wobble; closer than this counts as continuous
MAX_FILL = 10 * 90_000  # gaps up to 10 s are bridged with silence; beyond, the input is re-anchored
QUIET = 90_000  # 1 s of video without audio: silence keeps the track going
_TIME_BASE = Fraction(1, SAMPLE_RATE)


@dataclass(frozen=True, slots=True)
class AudioPacket:
    """One AAC-LC frame (raw, no ADTS header) at `pts` in 90 kHz output time."""

    data: bytes
    pts: int
    duration: int = FRAME_TICKS


@dataclass(slots=True)
class AudioStats:
    frames: int = 0
    """Input frames placed on the output."""
    packets: int = 0
    """AAC frames produced."""
    silence_ticks: int = 0
    """Silence added (gaps, quiet camera), in 90 kHz ticks."""
    late: int = 0
    """Input frames dropped for arriving behind the output clock."""
    resyncs: int = 0
    """Jumps beyond MAX_FILL: the input was re-anchored."""
    errors: int = 0
    """Input the decoder (or, in theory, the encoder) refused."""


class AudioTranscoder:
    """Audio frames (codec, bytes, 90 kHz PTS on the output timeline) in, `AudioPacket`s out."""

    def __init__(self, name: str = "") -> None:
        self.name = name  # for the logs: the stream's id
        self.stats = AudioStats()
        self._encoder = _open_encoder()
        self.extradata = bytes(self._encoder.extradata or b"")
        """The AudioSpecificConfig the muxers declare (2 bytes for AAC-LC)."""
        self._fifo = av.AudioFifo()
        self._decoder: av.AudioCodecContext | None = None
        self._decoder_codec: str | None = None
        self._resampler: av.AudioResampler | None = None
        self._resampler_input: tuple[str, str, int] | None = None
        self._base: int | None = None  # output time of sample 0
        self._written = 0  # samples queued for the encoder so far
        self._encoded = 0  # samples handed to the encoder so far
        self._offset = 0  # re-anchoring: input time minus output time
        self._last_pts: int | None = None
        self._now: int | None = None  # the video's latest time, from keep_up()
        self._heard: int | None = None  # the video's time when audio last arrived

    # ---- input ---------------------------------------------------------------------------
    def push(self, codec: str, data: bytes, pts: int) -> list[AudioPacket]:
        """Transcode one PES worth of audio whose first sample belongs at `pts`."""
        try:
            return self._push(codec, data, pts)
        except Exception:  # a decoder or encoder surprise must not reach the stream
            self.stats.errors += 1
            logger.exception("audio %s: frame at %d dropped", self.name, pts)
            return []

    def keep_up(self, pts: int) -> list[AudioPacket]:
        """The video reached `pts`: after QUIET with no audio, fill silence up to QUIET behind it."""
        self._now = pts
        if self._base is None:
            self._base = max(pts, 0)  # the track starts with the picture
        if self._heard is None:
            self._heard = pts
        if pts - self._heard <= QUIET:
            return []
        gap = pts - QUIET - self._clock()
        if gap < FRAME_TICKS:
            return []
        try:
            self._silence(gap)
            return self._encode()
        except Exception:
            self.stats.errors += 1
            logger.exception("audio %s: silence not encoded", self.name)
            return []

    def flush(self) -> list[AudioPacket]:
        """The stream ended: encode what is queued (padded to a whole frame) and drain the encoder."""
        try:
            rest = self._fifo.samples
            if rest:
                self._silence_samples(FRAME_SAMPLES - rest, counted=False)
            packets = self._encode()
            return packets + self._packets(self._encoder.encode(None))
        except Exception:
            logger.exception("audio %s: flush failed", self.name)
            return []

    # ---- placing frames ------------------------------------------------------------------
    def _push(self, codec: str, data: bytes, pts: int) -> list[AudioPacket]:
        pcm = self._decode(codec, data)
        if not pcm:
            return []
        if self._base is None:
            self._base = max(pts, 0)
        self._heard = self._now
        repeated = pts == self._last_pts  # a PES without a PTS of its own carries the last one
        self._last_pts = pts
        if not repeated:
            delta = pts - self._offset - self._clock()
            if delta > MAX_FILL or delta < -MAX_FILL:
                self._offset += delta
                self.stats.resyncs += 1
                log = logger.warning if self.stats.resyncs <= 3 else logger.debug  # a broken clock: no flood
                log("audio %s: timestamps jumped by %.3f s; continuing from here", self.name, delta / 90_000)
            elif delta > JITTER:
                self._silence(delta)
            elif delta < -JITTER:
                self.stats.late += 1
                return []
        self.stats.frames += 1
        for frame in pcm:
            self._queue(frame)
        return self._encode()

    def _clock(self) -> int:
        """Output time of the next sample to be queued."""
        return (self._base or 0) + self._written * 90_000 // SAMPLE_RATE

    def _decode(self, codec: str, data: bytes) -> list[av.AudioFrame]:
        name = SOURCE_DECODERS.get(codec)
        if name is None or not data:
            return []
        decoder = self._decoder
        if decoder is None or self._decoder_codec != codec:
            decoder = cast(av.AudioCodecContext, av.CodecContext.create(name, "r"))
            if name.startswith("pcm_"):
                decoder.sample_rate = G711_RATE
                decoder.layout = LAYOUT
            self._decoder = decoder
            self._decoder_codec = codec
        try:
            packets = decoder.parse(data) if name == "aac" else [av.Packet(data)]
            frames: list[av.AudioFrame] = []
            for packet in packets:
                frames += decoder.decode(packet)
        except (av.FFmpegError, ValueError) as exc:
            self.stats.errors += 1
            log = logger.warning if self.stats.errors == 1 else logger.debug
            log("audio %s: %d bytes of %s not decodable: %s", self.name, len(data), codec, exc)
            return []
        return frames

    def _queue(self, frame: av.AudioFrame) -> None:
        """Resample to the output format and queue for the encoder."""
        source = (frame.format.name, frame.layout.name, frame.sample_rate)
        if self._resampler is None or self._resampler_input != source:
            self._resampler = av.AudioResampler(format=SAMPLE_FORMAT, layout=LAYOUT, rate=SAMPLE_RATE)
            self._resampler_input = source
        frame.pts = None  # our clock, not the decoder's, places the samples
        for out in self._resampler.resample(frame):
            out.pts = None
            self._fifo.write(out)
            self._written += out.samples

    def _silence(self, ticks: int) -> None:
        self._silence_samples(ticks * SAMPLE_RATE // 90_000)

    def _silence_samples(self, samples: int, *, counted: bool = True) -> None:
        if samples <= 0:
            return
        frame = av.AudioFrame(format=SAMPLE_FORMAT, layout=LAYOUT, samples=samples)
        frame.sample_rate = SAMPLE_RATE
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        self._fifo.write(frame)
        self._written += samples
        if counted:
            self.stats.silence_ticks += samples * 90_000 // SAMPLE_RATE

    def _encode(self) -> list[AudioPacket]:
        packets: list[AudioPacket] = []
        while self._fifo.samples >= FRAME_SAMPLES:
            frame = self._fifo.read(FRAME_SAMPLES)
            if frame is None:
                break
            frame.pts = self._encoded
            frame.time_base = _TIME_BASE
            self._encoded += FRAME_SAMPLES
            packets += self._packets(self._encoder.encode(frame))
        return packets

    def _packets(self, encoded: list[av.Packet]) -> list[AudioPacket]:
        base = self._base or 0
        out: list[AudioPacket] = []
        for packet in encoded:
            if packet.pts is None:
                continue
            pts = base + packet.pts * 90_000 // SAMPLE_RATE
            if pts < 0:
                continue  # the encoder's priming frame before the very start
            out.append(AudioPacket(bytes(packet), pts))
        self.stats.packets += len(out)
        return out


def _open_encoder() -> av.AudioCodecContext:
    encoder = av.CodecContext.create("aac", "w")
    encoder.sample_rate = SAMPLE_RATE
    encoder.layout = LAYOUT
    encoder.format = SAMPLE_FORMAT
    encoder.bit_rate = BIT_RATE
    encoder.time_base = _TIME_BASE
    encoder.open()
    return encoder
