"""The RTP/PS a simulated channel sends, read back by independent readers (PyAV, ffprobe)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import av
import pytest

from gbsim.stream.clip import Clip, clip_from_ps_file
from gbsim.stream.sender import StreamSender
from media.rtp.packet import parse_rtp
from tests.vectors import vector_path


def run_sender(sender: StreamSender, start: float, end: float, step: float = 0.01) -> list[bytes]:
    packets: list[bytes] = []
    now = start
    while now <= end and not sender.finished:
        packets += sender.poll(now)
        now += step
    return packets


def payload_file(packets: list[bytes], path: Path) -> Path:
    path.write_bytes(b"".join(parse_rtp(p).payload for p in packets))
    return path


def decode_with_pyav(path: Path) -> tuple[str, int, int, int]:
    with av.open(str(path), format="mpeg") as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        return stream.codec_context.name, stream.codec_context.width, stream.codec_context.height, frames


def test_rtp_packets_share_a_timestamp_per_frame_with_marker_on_the_last(h264_clip: Clip) -> None:
    sender = StreamSender(h264_clip, ssrc=100000007, now=0.0)
    packets = [parse_rtp(p) for p in run_sender(sender, 0.0, 1.0)]
    assert all(p.ssrc == 100000007 and p.payload_type == 96 for p in packets)
    assert [p.sequence for p in packets] == list(range(len(packets)))
    # Each frame is a run of packets ending with the marker; every packet of a run has its timestamp.
    runs: list[list[int]] = [[]]
    for p in packets:
        runs[-1].append(p.timestamp)
        if p.marker:
            runs.append([])
    assert runs[-1] == [] and all(len(set(run)) == 1 for run in runs[:-1])
    assert any(len(run) > 1 for run in runs)
    assert max(len(p.payload) for p in packets) == 1400
    first = packets[0].payload
    assert first[:4] == b"\x00\x00\x01\xba" and b"\x00\x00\x01\xbc" in first[:200]  # PSM before the IDR


def test_pacing_follows_pts_in_real_time(h264_clip: Clip) -> None:
    sender = StreamSender(h264_clip, ssrc=1, now=100.0)
    assert sender.poll(100.0) and sender.frames_sent == 2  # the IDR and the audio frame at 0
    assert not sender.poll(100.03)
    due = sender.next_due()
    assert due is not None and abs(due - 100.04) < 1e-6
    run_sender(sender, 100.04, 103.9)
    sender.poll(104.0)
    # 4 s of a 25 fps clip looped twice, plus 40 ms audio frames.
    assert sender.frames_sent == 101 + 101


def test_pyav_reads_the_stream_as_h264_with_all_frames(h264_clip: Clip, tmp_path: Path) -> None:
    sender = StreamSender(h264_clip, ssrc=5, now=0.0, duration=4.0)
    packets = run_sender(sender, 0.0, 10.0)
    assert sender.finished
    codec, width, height, frames = decode_with_pyav(payload_file(packets, tmp_path / "live.ps"))
    assert (codec, width, height, frames) == ("h264", 640, 360, 100)


@pytest.mark.skipif(shutil.which("ffprobe") is None, reason="ffprobe not installed")
def test_ffprobe_counts_frames_and_sees_g711(h264_clip: Clip, tmp_path: Path) -> None:
    sender = StreamSender(h264_clip, ssrc=5, now=0.0, duration=2.0)
    path = payload_file(run_sender(sender, 0.0, 5.0), tmp_path / "probe.ps")
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-f", "mpeg", "-count_frames", "-show_streams", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    streams = {s["codec_type"]: s for s in json.loads(out.stdout)["streams"]}
    video = streams["video"]
    assert (video["codec_name"], video["width"], video["height"]) == ("h264", 640, 360)
    assert int(video["nb_read_frames"]) == 50
    assert video["profile"] in ("Constrained Baseline", "Baseline")
    assert "audio" in streams  # Debian's ffprobe may call G.711-in-PS mp2 (see architecture.md)


def test_h265_pattern_is_read_as_hevc(h265_clip: Clip, tmp_path: Path) -> None:
    sender = StreamSender(h265_clip, ssrc=5, now=0.0, duration=2.0)
    codec, width, height, frames = decode_with_pyav(
        payload_file(run_sender(sender, 0.0, 5.0), tmp_path / "h.ps")
    )
    assert (codec, width, height, frames) == ("hevc", 320, 180, 50)


def test_pause_seek_and_scale(h264_clip: Clip) -> None:
    sender = StreamSender(h264_clip, ssrc=5, now=0.0, duration=60.0)
    run_sender(sender, 0.0, 1.0)
    sender.pause(1.0)
    assert sender.poll(5.0) == [] and sender.next_due() is None
    sent = sender.frames_sent
    sender.play(5.0, seek=30.5)
    assert sender.position(5.0) == pytest.approx(30.0)  # back to the key frame at 30 s
    sender.play(5.0, scale=4.0)
    run_sender(sender, 5.0, 6.0)
    video = sender.frames_sent - sent
    assert 180 <= video <= 210  # 4 s of media in 1 s: 100 video + 100 audio frames
    run_sender(sender, 6.0, 20.0)
    assert sender.finished and sender.position(20.0) >= 60.0


def test_clip_from_camera_ps_file_starts_at_a_keyframe(tmp_path: Path) -> None:
    clip = clip_from_ps_file(vector_path("ps/hik_1080p_h264_midstart.ps"), max_seconds=4.0)
    assert clip.frames[0].keyframe and (clip.width, clip.height) == (1920, 1080)
    sender = StreamSender(clip, ssrc=9, now=0.0, duration=2.0)
    codec, width, height, frames = decode_with_pyav(
        payload_file(run_sender(sender, 0.0, 3.0), tmp_path / "c.ps")
    )
    assert (codec, width, height) == ("h264", 1920, 1080) and frames == 30  # 15 fps
