"""HLS from codec copy: keyframe-aligned segments, a rolling playlist, ffprobe reads it all."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from media.audio import AudioPacket
from media.hls import HlsError, HlsWriter
from media.ps.frame import Frame
from media.timestamps import Timeline
from tests.media.conftest import aac_packets, encode_frames
from tests.media.replay import ffprobe, ffprobe_video_packets


def _write(
    directory: Path,
    frames: list[Frame],
    codec: str,
    size: tuple[int, int],
    audio: list[AudioPacket] | None = None,
    **options: object,
) -> HlsWriter:
    writer = HlsWriter(directory, codec, *size, audio=audio is not None, **options)  # type: ignore[arg-type]
    timeline = Timeline()
    pending = list(audio or [])
    for frame in frames:
        pts, dts = timeline.map(frame.pts, frame.dts)
        writer.write(frame, pts, dts)
        while pending and pending[0].pts <= dts:  # interleaved as they arrive live
            writer.write_audio(pending.pop(0))
    for packet in pending:
        writer.write_audio(packet)
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


def test_h264_with_audio_becomes_ts_segments_that_ffprobe_reads_as_h264_and_aac(
    tmp_path: Path, d1_frames: list[Frame], g711a: bytes
) -> None:
    video = [f for f in d1_frames if f.stream == "video"][:300]  # 12 s
    audio = aac_packets(g711a, 12.0)
    writer = _write(tmp_path, video, "h264", (704, 576), audio=audio, list_size=0)
    streams = ffprobe(writer.playlist)["streams"]
    assert [s["codec_name"] for s in streams] == ["h264", "aac"]
    aac = streams[1]
    assert (aac["profile"], aac["sample_rate"], aac["channels"]) == ("LC", "16000", 1)
    assert int(aac["nb_read_frames"]) == len(audio) and int(streams[0]["nb_read_frames"]) == 300
    assert writer.errors == 0 and writer.audio_frames == len(audio)
    for name in _segments(writer.playlist):
        assert ffprobe_video_packets(tmp_path / name)[0], f"{name} does not start with a keyframe"


def test_h265_with_audio_becomes_fmp4_segments_with_hevc_and_aac(tmp_path: Path, g711a: bytes) -> None:
    frames = encode_frames("libx265", count=30)
    audio = aac_packets(g711a, 1.2)
    writer = _write(tmp_path, frames, "h265", (320, 180), audio=audio, segment_seconds=0.2, list_size=0)
    assert '#EXT-X-MAP:URI="init.mp4"' in writer.playlist.read_text()
    streams = ffprobe(writer.playlist)["streams"]
    assert [(s["codec_name"], s["nb_read_frames"]) for s in streams] == [("hevc", "30"), ("aac", str(len(audio)))]


def test_an_audio_only_stream_becomes_audio_only_ts_segments(tmp_path: Path, g711a: bytes) -> None:
    audio = aac_packets(g711a, 6.0)
    writer = HlsWriter(tmp_path, None, None, None, segment_seconds=2, list_size=0, audio=True)
    for packet in audio:
        writer.write_audio(packet)
    writer.close()
    assert len(_segments(writer.playlist)) == 3
    (stream,) = ffprobe(writer.playlist)["streams"]
    assert (stream["codec_name"], stream["sample_rate"], int(stream["nb_read_frames"])) == ("aac", "16000", len(audio))


def test_without_video_or_audio_there_is_nothing_to_write(tmp_path: Path) -> None:
    with pytest.raises(HlsError, match="no HLS output for None"):
        HlsWriter(tmp_path, None, None, None)


def test_a_segment_goes_to_its_file_while_it_is_written_not_when_it_ends(
    tmp_path: Path, d1_frames: list[Frame]
) -> None:
    video = [f for f in d1_frames if f.stream == "video"]  # 54 s, about 3 MB, in one long segment
    writer = HlsWriter(tmp_path, "h264", 704, 576, segment_seconds=100, list_size=0)
    timeline = Timeline()
    for frame in video:
        writer.write(frame, *timeline.map(frame.pts, frame.dts))
    pending = tmp_path / "seg000000.ts.tmp"
    # All but the muxer's write buffer (256 KB) is on disk already: no copy of the segment is held.
    assert pending.stat().st_size >= sum(len(f.data) for f in video) - 256 * 1024
    assert not (tmp_path / "seg000000.ts").exists()
    writer.close()
    assert not pending.exists() and (tmp_path / "seg000000.ts").exists()
    assert _segments(writer.playlist) == ["seg000000.ts"]
