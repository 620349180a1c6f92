"""G.711 (and camera AAC) to AAC-LC: the real G.711 vector decodes back whole and at its level,
timestamps only ever increase, and gaps, jitter, jumps and garbage never reach the caller."""

from __future__ import annotations

import io
import math
import random
from array import array

import av
import pytest

from media.audio import FRAME_TICKS, JITTER, MAX_FILL, QUIET, SAMPLE_RATE, AudioPacket, AudioTranscoder
from media.ps.frame import Frame
from tests.media.conftest import g711_frames

SAMPLES_PER_TICK = SAMPLE_RATE / 90_000


def _transcode(frames: list[Frame], transcoder: AudioTranscoder | None = None) -> tuple[AudioTranscoder, list[AudioPacket]]:
    transcoder = transcoder or AudioTranscoder()
    packets: list[AudioPacket] = []
    for frame in frames:
        packets += transcoder.push(frame.codec, frame.data, frame.pts)
    packets += transcoder.flush()
    return transcoder, packets


def _decode(transcoder: AudioTranscoder, packets: list[AudioPacket]) -> array[float]:
    """The AAC decoded by FFmpeg's decoder, as mono float samples."""
    decoder = av.CodecContext.create("aac", "r")
    decoder.extradata = transcoder.extradata
    pcm: array[float] = array("f")
    for packet in packets:
        for frame in decoder.decode(av.Packet(packet.data)):
            assert (frame.sample_rate, frame.layout.name) == (SAMPLE_RATE, "mono")
            pcm.frombytes(bytes(frame.planes[0])[: frame.samples * 4])
    return pcm


def _rms(samples: array[float] | array[int], scale: float = 1.0) -> float:
    return math.sqrt(sum((s / scale) ** 2 for s in samples) / max(len(samples), 1))


def _g711_rms(data: bytes) -> float:
    decoder = av.CodecContext.create("pcm_alaw", "r")
    decoder.sample_rate, decoder.layout = 8000, "mono"
    pcm: array[int] = array("h")
    for frame in decoder.decode(av.Packet(data)):
        pcm.frombytes(bytes(frame.planes[0])[: frame.samples * 2])
    return _rms(pcm, 32768.0)


def _assert_continuous(packets: list[AudioPacket]) -> None:
    assert packets, "no AAC at all"
    assert all(b.pts - a.pts == FRAME_TICKS for a, b in zip(packets, packets[1:], strict=False))


def test_the_real_g711a_vector_becomes_aac_lc_that_decodes_to_its_whole_length_and_level(g711a: bytes) -> None:
    transcoder, packets = _transcode(g711_frames(g711a))
    assert transcoder.extradata[:2] == b"\x14\x08"  # AudioSpecificConfig: AAC-LC, 16 kHz, mono
    assert packets[0].pts == 0
    _assert_continuous(packets)
    pcm = _decode(transcoder, packets)
    seconds = len(g711a) // 320 * 320 / 8000  # 73.28 s in whole 40 ms frames
    assert len(pcm) / SAMPLE_RATE == pytest.approx(seconds, abs=2 * 1024 / SAMPLE_RATE)
    assert packets[-1].pts / 90_000 == pytest.approx(seconds, abs=2 * 1024 / SAMPLE_RATE)
    # Lossy, but the same sound: the level of speech survives within a couple of dB.
    assert _rms(pcm) == pytest.approx(_g711_rms(g711a), rel=0.25)
    assert (transcoder.stats.silence_ticks, transcoder.stats.late, transcoder.stats.errors) == (0, 0, 0)


def test_mu_law_is_read_as_well(g711a: bytes) -> None:
    decoder = av.CodecContext.create("pcm_alaw", "r")
    decoder.sample_rate, decoder.layout = 8000, "mono"
    encoder = av.CodecContext.create("pcm_mulaw", "w")
    encoder.sample_rate, encoder.layout, encoder.format = 8000, "mono", "s16"
    encoder.open()
    mulaw = b"".join(bytes(p) for f in decoder.decode(av.Packet(g711a[:80_000])) for p in encoder.encode(f))
    transcoder, packets = _transcode(g711_frames(mulaw, codec="g711u"))
    assert len(_decode(transcoder, packets)) / SAMPLE_RATE == pytest.approx(10.0, abs=0.15)
    assert _rms(_decode(transcoder, packets)) == pytest.approx(_g711_rms(g711a[:80_000]), rel=0.25)


def _adts(alaw: bytes) -> list[bytes]:
    """A camera's ADTS AAC (8 kHz mono) made by FFmpeg from G.711, one bytes per ADTS frame."""
    source = io.BytesIO()
    with av.open(source, "w", format="adts") as adts:
        stream = adts.add_stream("aac", rate=8000, layout="mono")
        decoder = av.CodecContext.create("pcm_alaw", "r")
        decoder.sample_rate, decoder.layout = 8000, "mono"
        for frame in decoder.decode(av.Packet(alaw)):
            frame.pts = None
            adts.mux(stream.encode(frame))
        adts.mux(stream.encode(None))
    data = source.getvalue()
    adts_frames = []  # cut at ADTS headers: 13-bit frame length at bits 30..42
    while data:
        length = (data[3] & 0x03) << 11 | data[4] << 3 | data[5] >> 5
        adts_frames.append(data[:length])
        data = data[length:]
    return adts_frames


def test_camera_aac_is_decoded_and_encoded_again_into_the_same_track(g711a: bytes) -> None:
    adts_frames = _adts(g711a[:80_000])
    frames = [  # PES of 8 AAC frames (1.024 s), PTS of the first
        Frame("audio", "aac", i * 1024 * 90_000 // 8000, 0, b"".join(adts_frames[i : i + 8]))
        for i in range(0, len(adts_frames), 8)
    ]
    transcoder, packets = _transcode(frames)
    _assert_continuous(packets)
    assert len(_decode(transcoder, packets)) / SAMPLE_RATE == pytest.approx(10.0, abs=0.3)


def test_timestamps_jittering_within_100_ms_are_followed_by_the_sample_clock(g711a: bytes) -> None:
    frames = g711_frames(g711a[:160_000])  # 20 s
    wobbly = [Frame(f.stream, f.codec, f.pts + (i % 5 - 2) * JITTER // 3, f.dts, f.data) for i, f in enumerate(frames)]
    transcoder, packets = _transcode(wobbly)
    _assert_continuous(packets)
    assert transcoder.stats.silence_ticks == 0 and transcoder.stats.late == 0
    assert packets[-1].pts / 90_000 == pytest.approx(20.0, abs=0.15)


def test_a_gap_is_filled_with_silence_so_the_track_stays_continuous(g711a: bytes) -> None:
    before = g711_frames(g711a[:40_000])  # 5 s
    after = g711_frames(g711a[40_000:80_000], start=7 * 90_000)  # 5 s, after 2 s of nothing
    transcoder, packets = _transcode(before + after)
    _assert_continuous(packets)
    assert transcoder.stats.silence_ticks / 90_000 == pytest.approx(2.0, abs=0.01)
    assert packets[-1].pts / 90_000 == pytest.approx(12.0, abs=0.15)
    pcm = _decode(transcoder, packets)
    gap = pcm[int(5.3 * SAMPLE_RATE) : int(6.7 * SAMPLE_RATE)]
    assert _rms(gap) < 1e-3 < _rms(pcm[: 5 * SAMPLE_RATE])


def test_a_repeated_timestamp_means_a_pes_without_one_and_continues(g711a: bytes) -> None:
    frames = g711_frames(g711a[:40_000])
    stamped_every_third = [Frame(f.stream, f.codec, frames[i - i % 3].pts, 0, f.data) for i, f in enumerate(frames)]
    transcoder, packets = _transcode(stamped_every_third)
    _assert_continuous(packets)
    assert (transcoder.stats.late, transcoder.stats.silence_ticks, transcoder.stats.frames) == (0, 0, len(frames))


def test_a_frame_from_the_past_is_dropped_and_the_output_never_goes_back(g711a: bytes) -> None:
    frames = g711_frames(g711a[:40_000])
    replayed = frames[:60] + frames[40:50] + frames[60:]  # 10 frames (400 ms) sent again
    transcoder, packets = _transcode(replayed)
    _assert_continuous(packets)
    assert transcoder.stats.late == 10
    assert packets[-1].pts / 90_000 == pytest.approx(5.0, abs=0.15)


@pytest.mark.parametrize("jump", [MAX_FILL + 90_000, 3600 * 90_000, -3600 * 90_000], ids=["11s", "1h", "-1h"])
def test_a_jump_beyond_the_fill_limit_re_anchors_without_a_hole_or_a_step_back(g711a: bytes, jump: int) -> None:
    before = g711_frames(g711a[:40_000])
    after = g711_frames(g711a[40_000:80_000], start=5 * 90_000 + jump)
    transcoder, packets = _transcode(before + after)
    _assert_continuous(packets)
    assert transcoder.stats.resyncs == 1 and transcoder.stats.silence_ticks == 0
    assert packets[-1].pts / 90_000 == pytest.approx(10.0, abs=0.15)


def test_garbage_and_unknown_codecs_are_dropped_and_counted_never_raised(g711a: bytes) -> None:
    transcoder = AudioTranscoder()
    header = _adts(g711a[:8000])[5][:7]
    corrupt = header + bytes((i * 37) % 256 for i in range(len(header), 200))  # an ADTS header, noise after
    packets = transcoder.push("aac", corrupt * 3, 0)
    packets += transcoder.push("aac", b"not audio at all", 1800)
    packets += transcoder.push("g729", b"\x00" * 20, 3600)  # no decoder here: ignored
    packets += transcoder.push("g711a", b"", 5400)
    good = g711_frames(g711a[:16_000], start=7200)
    for frame in good:
        packets += transcoder.push(frame.codec, frame.data, frame.pts)
    packets += transcoder.flush()
    assert transcoder.stats.errors >= 1 and transcoder.stats.frames == len(good)
    _assert_continuous(packets)
    assert packets[-1].pts / 90_000 == pytest.approx(2.0, abs=0.15)


def test_while_the_camera_sends_no_audio_silence_keeps_pace_a_second_behind_the_video(g711a: bytes) -> None:
    transcoder = AudioTranscoder()
    packets: list[AudioPacket] = []
    for step in range(0, 5 * 25):  # 5 s of video at 25 fps, no audio
        packets += transcoder.keep_up(step * 3600)
    assert packets[0].pts == 0
    video_at = 124 * 3600 / 90_000  # 4.96 s; the AAC encoder holds back up to two frames (128 ms)
    assert video_at - QUIET / 90_000 - 0.25 <= packets[-1].pts / 90_000 <= video_at - QUIET / 90_000
    for frame in g711_frames(g711a[:16_000], start=5 * 90_000):  # audio arrives at 5 s
        packets += transcoder.keep_up(frame.pts)
        packets += transcoder.push(frame.codec, frame.data, frame.pts)
    packets += transcoder.flush()
    _assert_continuous(packets)
    assert packets[-1].pts / 90_000 == pytest.approx(7.0, abs=0.15)


def test_random_input_never_raises_and_never_makes_the_output_step_back(g711a: bytes) -> None:
    rng = random.Random(28181)
    adts = _adts(g711a[:16_000])
    transcoder = AudioTranscoder()
    packets: list[AudioPacket] = []
    pts = 0
    for _ in range(400):
        pts += rng.choice([1800, 1800, 1800, 0, -1800, 45_000, -45_000, 2_000_000, -(1 << 32)])
        codec = rng.choice(["g711a", "g711u", "aac", "aac", "g722.1"])
        if codec == "aac":
            data = bytearray(rng.choice(adts))
            for _ in range(rng.randrange(4)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        else:
            data = bytearray(rng.randbytes(rng.choice([0, 1, 160, 320, 4000])))
        packets += transcoder.push(codec, bytes(data), pts)
        if rng.random() < 0.1:
            packets += transcoder.keep_up(pts + rng.randrange(-90_000, 200_000))
    packets += transcoder.flush()
    assert all(p.pts >= 0 for p in packets)
    _assert_continuous(packets)
