"""HLS from codec copy: keyframe-aligned segments, a rolling playlist, ffprobe reads it all."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from media.hls import HlsError, HlsWriter
from media.ps.frame import Frame
from media.timestamps import Timeline
from tests.media.conftest import encode_frames
from tests.media.replay import ffprobe, ffprobe_video_packets


def _write(
    directory: Path, frames: list[Frame], codec: str, size: tuple[int, int], **options: object
) -> HlsWriter:
    writer = HlsWriter(directory, codec, *size, **options)  # type: ignore[arg-type]
    timeline = Timeline()
    for frame in frames:
        writer.write(frame, *timeline.map(frame.pts, frame.dts))
    writer.close()
    return writer


def _segments(playlist: Path) -> list[str]:
    return [line for line in playlist.read_text().splitlines() if line and not line.startswith("#")]


def test_h264_becomes_mpeg_ts_segments_that_ffprobe_reads_as_the_whole_d1_stream(
    tmp_path: Path, d1_frames: list[Frame]
) -> None:
    video = [f for f in d1_frames if f.stream == "video"]
    writer = _write(tmp_path, video, "h264", (704, 576), list_size=0)
    probe = ffprobe(writer.playlist)
    (stream,) = probe["streams"]
    assert (stream["codec_name"], stream["width"], stream["height"]) == ("h264", 704, 576)
    assert int(stream["nb_read_frames"]) == 1347
    # 1,347 frames at 25 fps; the playlist's duration is the span of the frames' timestamps.
    assert float(probe["format"]["duration"]) == pytest.approx(1347 / 25, abs=1 / 25)
    assert all(name.endswith(".ts") for name in _segments(writer.playlist))
    assert writer.errors == 0


def test_every_segment_starts_with_a_keyframe_and_lasts_about_the_configured_time(
    tmp_path: Path, d1_frames: list[Frame]
) -> None:
    video = [f for f in d1_frames if f.stream == "video"][:300]  # 12 s, an IDR every second
    writer = _write(tmp_path, video, "h264", (704, 576), segment_seconds=2, list_size=0)
    text = writer.playlist.read_text()
    durations = [float(d) for d in re.findall(r"#EXTINF:([0-9.]+),", text)]
    assert durations[:-1] == [pytest.approx(2.0)] * (len(durations) - 1)
    for name in _segments(writer.playlist):
        assert ffprobe_video_packets(tmp_path / name)[0], f"{name} does not start with a keyframe"


def test_the_rolling_playlist_keeps_the_last_segments_and_deletes_older_files(
    tmp_path: Path, d1_frames: list[Frame]
) -> None:
    video = [f for f in d1_frames if f.stream == "video"][:500]  # 20 s
    writer = _write(tmp_path, video, "h264", (704, 576), segment_seconds=1, list_size=3)
    listed = _segments(writer.playlist)
    assert len(listed) == 3
    assert listed[-1] == "seg000019.ts"
    on_disk = sorted(p.name for p in tmp_path.glob("seg*.ts"))
    assert set(listed) <= set(on_disk)
    assert len(on_disk) < 20  # older segments were deleted
    assert "#EXT-X-MEDIA-SEQUENCE:17" in writer.playlist.read_text()


def test_h265_becomes_fmp4_segments_with_an_init_segment(tmp_path: Path) -> None:
    frames = encode_frames("libx265", count=30)
    writer = _write(tmp_path, frames, "h265", (320, 180), segment_seconds=0.2, list_size=0)
    text = writer.playlist.read_text()
    assert '#EXT-X-MAP:URI="init.mp4"' in text
    assert (tmp_path / "init.mp4").exists()
    assert all(name.endswith(".m4s") for name in _segments(writer.playlist))
    (stream,) = ffprobe(writer.playlist)["streams"]
    assert (stream["codec_name"], stream["width"], stream["height"], stream["nb_read_frames"]) == (
        "hevc",
        320,
        180,
        "30",
    )


def test_codecs_hls_cannot_carry_without_transcoding_are_refused(tmp_path: Path) -> None:
    with pytest.raises(HlsError, match="no HLS output for mpeg4"):
        HlsWriter(tmp_path, "mpeg4", 352, 288)
