"""LiveStream without sockets: datagrams in, outputs and viewers fed, failures contained."""

from __future__ import annotations

import io
from pathlib import Path

import av
import pytest

from media.fragment import boxes
from media.fragment import starts_with_sync_sample as _starts_with_sync_sample
from media.hls import PLAYLIST
from media.live import LiveStream, OutputConfig
from media.ps.frame import Frame
from media.session import StreamSession
from tests.media.conftest import AUDIO_PS, D1_RTP, MIDSTART_PS, av_sync, g711_frames, ps_rtp
from tests.media.replay import d1_rtp_packets, ffprobe, ps_to_rtp
from tests.vectors import vector_path


def _live(directory: Path, **options: object) -> LiveStream:
    session = StreamSession("live", ssrc=None, now=0.0)
    return LiveStream(session, directory=directory, config=OutputConfig(**options))  # type: ignore[arg-type]


def _moofs(data: bytes) -> int:
    return sum(kind == b"moof" for kind, _, _ in boxes(data))


def _drain(viewer_queue: object) -> list[bytes | None]:
    out = []
    while not viewer_queue.empty():  # type: ignore[attr-defined]
        out.append(viewer_queue.get_nowait())  # type: ignore[attr-defined]
    return out


def test_a_viewer_joining_mid_stream_starts_at_the_current_gop_and_decodes(tmp_path: Path) -> None:
    live = _live(tmp_path / "out", hls=False)
    packets = d1_rtp_packets(vector_path(D1_RTP))
    for index, packet in enumerate(packets[:700]):
        live.receive(packet, index * 0.001)
    viewer = live.add_viewer()
    head = _drain(viewer.queue)
    assert head[0] is not None and head[0][4:8] == b"ftyp"
    assert head[1] is not None and _starts_with_sync_sample(head[1])
    for index, packet in enumerate(packets[700:900]):
        live.receive(packet, 1 + index * 0.001)
    live.close()
    chunks = head + _drain(viewer.queue)
    assert chunks[-1] is None  # the stream ended
    fragments = b"".join(c for c in chunks[1:] if c is not None)
    with av.open(io.BytesIO(b"".join(c for c in chunks if c is not None))) as container:
        assert len(list(container.decode(video=0))) == _moofs(fragments)  # one frame per fragment


def test_an_output_that_cannot_start_is_counted_and_the_others_keep_working(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the HLS folder should go")
    live = _live(blocker)
    live.request_hls()
    live.add_viewer()
    for index, packet in enumerate(d1_rtp_packets(vector_path(D1_RTP))[:300]):
        live.receive(packet, index * 0.001)
    assert live.hls is None and live.output_errors == 1
    assert live.fmp4 is not None and live.mime == 'video/mp4; codecs="avc1.4D001E"'
    assert live.keyframe is not None and live.snapshot(1.0)["video_frames"] > 0


def test_an_output_failing_while_it_is_primed_is_switched_off_and_the_stream_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = _live(tmp_path / "out")
    packets = d1_rtp_packets(vector_path(D1_RTP))
    now = _feed(live, packets[:700], 0.0)
    assert len(live.gop) > 1  # priming writes several frames

    def disk_full(*_: object) -> None:
        raise OSError("no space left on device")

    monkeypatch.setattr("media.hls.HlsWriter.write", disk_full)
    live.request_hls()
    assert live.hls is None and live.output_errors == 1
    viewer = live.add_viewer()
    _feed(live, packets[700:760], now)
    assert live.fmp4 is not None and _drain(viewer.queue)


def test_a_viewer_that_falls_too_far_behind_is_ended_not_buffered_forever(tmp_path: Path) -> None:
    live = _live(tmp_path / "out", hls=False)
    viewer = live.add_viewer()
    for index, packet in enumerate(d1_rtp_packets(vector_path(D1_RTP))):
        live.receive(packet, index * 0.001)
    assert viewer.dropped
    assert _drain(viewer.queue) == [None]


def test_closing_removes_the_stream_files_unless_told_to_keep_them(tmp_path: Path) -> None:
    kept, removed = _live(tmp_path / "kept", keep_files=True), _live(tmp_path / "removed")
    for live in (kept, removed):
        live.request_hls()
        for index, packet in enumerate(d1_rtp_packets(vector_path(D1_RTP))[:300]):
            live.receive(packet, index * 0.001)
        live.close()
    assert (tmp_path / "kept" / "index.m3u8").exists()
    assert not (tmp_path / "removed").exists()


def test_an_internal_error_on_one_packet_drops_that_packet_only(tmp_path: Path) -> None:
    live = _live(tmp_path / "out", hls=False)
    packets = d1_rtp_packets(vector_path(D1_RTP))[:300]
    original = live.session.demuxer.feed
    calls = {"n": 0}

    def flaky(data: bytes) -> list:  # type: ignore[type-arg]
        calls["n"] += 1
        if calls["n"] == 150:
            raise RuntimeError("a demuxer bug")
        return original(data)

    live.session.demuxer.feed = flaky  # type: ignore[method-assign,assignment]
    for index, packet in enumerate(packets):
        live.receive(packet, index * 0.001)
    assert live.receive_errors == 1
    assert live.datagrams == 300 and live.session.stats.packets == 300
    assert live.snapshot(1.0)["video_frames"] > 100


def _feed(live: LiveStream, packets: list[bytes], start: float, step: float = 0.04 / 3) -> float:
    """Packets at roughly the capture's pace (about three per 25 fps frame); returns the end time."""
    now = start
    for packet in packets:
        live.receive(packet, now)
        now += step
    return now


def test_a_stream_nobody_watches_keeps_its_current_gop_and_muxes_nothing(tmp_path: Path) -> None:
    live = _live(tmp_path / "out")
    _feed(live, d1_rtp_packets(vector_path(D1_RTP))[:700], 0.0)
    assert live.hls is None and live.fmp4 is None and not (tmp_path / "out").exists()
    group = live.gop.frames
    assert group and group[0][0].keyframe and not any(frame.keyframe for frame, _, _ in group[1:])
    assert live.keyframe is group[0][0]
    assert live.ready.is_set() and live.mime == 'video/mp4; codecs="avc1.4D001E"'  # without a muxer
    stats = live.snapshot(10.0)
    assert (stats["hls_active"], stats["fmp4_active"], stats["gop_frames"]) == (False, False, len(group))


def test_the_first_viewer_starts_fmp4_primed_with_the_gop_so_it_waits_for_no_keyframe(tmp_path: Path) -> None:
    live = _live(tmp_path / "out")
    _feed(live, d1_rtp_packets(vector_path(D1_RTP))[:700], 0.0)
    cached = len(live.gop)
    viewer = live.add_viewer()
    chunks = _drain(viewer.queue)
    assert live.fmp4 is not None and live.fmp4_starts == 1
    assert chunks[0] is not None and chunks[0][4:8] == b"ftyp"
    # The init segment, then every kept frame (the newest included: nothing waits for the next
    # frame) in one message.
    assert len(chunks) == 2 and _starts_with_sync_sample(chunks[1])  # type: ignore[arg-type]
    with av.open(io.BytesIO(b"".join(c for c in chunks if c is not None))) as container:
        assert len(list(container.decode(video=0))) == cached


def test_a_second_viewer_gets_the_kept_group_written_out_for_it_and_then_the_live_fragments(
    tmp_path: Path,
) -> None:
    live = _live(tmp_path / "out", hls=False)
    packets = d1_rtp_packets(vector_path(D1_RTP))
    now = _feed(live, packets[:700], 0.0)
    first = live.add_viewer()
    now = _feed(live, packets[700:760], now)
    second = live.add_viewer()
    joined, kept = _drain(second.queue), len(live.gop)
    assert joined[0] == live.fmp4.init and len(joined) == 2  # type: ignore[union-attr]
    assert _starts_with_sync_sample(joined[1])  # type: ignore[arg-type]
    assert _moofs(joined[1]) == kept  # type: ignore[arg-type]
    _feed(live, packets[760:900], now)
    live.close()
    ours, theirs = _drain(first.queue), joined + _drain(second.queue)
    assert theirs[len(joined) :] == ours[-(len(theirs) - len(joined)) :]  # the same live fragments
    with av.open(io.BytesIO(b"".join(c for c in theirs if c is not None))) as container:
        assert len(list(container.decode(video=0))) == kept + len(theirs) - 3  # init, group, end


def test_an_hls_request_starts_the_writer_primed_and_the_playlist_follows_at_the_next_keyframe(
    tmp_path: Path,
) -> None:
    live = _live(tmp_path / "out")
    packets = d1_rtp_packets(vector_path(D1_RTP))
    now = _feed(live, packets[:700], 0.0)
    live.request_hls()
    assert live.hls is not None and not live.hls_ready.is_set()
    _feed(live, packets[700:900], now)  # more than one GOP (25 frames) later
    assert live.hls_ready.is_set()
    lines = (tmp_path / "out" / PLAYLIST).read_text().splitlines()
    segments = [line for line in lines if line.endswith(".ts")]
    assert segments  # a live playlist (no end list yet): read its first segment, not the playlist
    with av.open(str(tmp_path / "out" / segments[0])) as container:
        keyframes = [packet.is_keyframe for packet in container.demux(video=0) if packet.size]
    assert keyframes[0] and keyframes.count(True) == 1  # the kept GOP, whole, up to the next keyframe
    assert len(keyframes) == 25


def test_outputs_stop_after_their_linger_with_nobody_watching_and_start_again_on_demand(tmp_path: Path) -> None:
    live = _live(tmp_path / "out", hls_linger=6.0, fmp4_linger=2.0)
    packets = d1_rtp_packets(vector_path(D1_RTP))
    now = _feed(live, packets[:300], 0.0)
    viewer = live.add_viewer()
    live.request_hls()
    now = _feed(live, packets[300:400], now)
    live.remove_viewer(viewer)
    now = _feed(live, packets[400:700], now)  # 4 s later: the fragmenter stopped, HLS still runs
    assert live.fmp4 is None and live.hls is not None
    now = _feed(live, packets[700:1000], now)  # no HLS request for 8 s: the writer stopped too
    assert live.hls is None and not (tmp_path / "out").exists()
    live.request_hls()
    live.add_viewer()
    assert (live.hls_starts, live.fmp4_starts) == (2, 2)
    _feed(live, packets[1000:1200], now)
    assert live.hls_ready.is_set() and (tmp_path / "out" / PLAYLIST).exists()


# ---- audio ---------------------------------------------------------------------------------------
def _viewer_chunks(live: LiveStream, packets: list[bytes]) -> list[bytes]:
    viewer = live.add_viewer()
    chunks: list[bytes | None] = []
    for index, packet in enumerate(packets):
        live.receive(packet, index * 0.001)
        chunks += _drain(viewer.queue)  # a viewer that keeps up
    live.close()
    chunks += _drain(viewer.queue)
    return [c for c in chunks if c is not None]


def _decoded(blob: bytes) -> dict[str, float]:
    """Seconds of each track PyAV decodes from an fMP4 blob."""
    seconds: dict[str, float] = {}
    with av.open(io.BytesIO(blob)) as container:
        for frame in container.decode():
            kind = "audio" if isinstance(frame, av.AudioFrame) else "video"
            step = frame.samples / frame.sample_rate if isinstance(frame, av.AudioFrame) else 1 / 25
            seconds[kind] = seconds.get(kind, 0.0) + step
    return seconds


def test_with_audio_on_h264_and_g711_play_as_one_fmp4_with_both_tracks_in_sync(
    tmp_path: Path, d1_frames: list[Frame], g711a: bytes
) -> None:
    video = [f for f in d1_frames if f.stream == "video"][:500]  # 20 s
    packets = ps_rtp(av_sync(video, g711_frames(g711a)), ssrc=1)
    live = _live(tmp_path / "out", hls=False, audio=True)
    chunks = _viewer_chunks(live, packets)
    assert live.mime == 'video/mp4; codecs="avc1.4D001E,mp4a.40.2"'
    assert live.audio is not None and live.audio.stats.silence_ticks == 0 and live.audio.stats.late == 0
    seconds = _decoded(b"".join(chunks))
    assert seconds["video"] == pytest.approx(20.0, abs=0.05)
    assert seconds["audio"] == pytest.approx(20.0, abs=0.2)
    with av.open(io.BytesIO(b"".join(chunks))) as container:
        video_start, audio_start = (s.start_time * s.time_base for s in container.streams)  # type: ignore[operator]
    assert abs(video_start - audio_start) < 0.07  # lip sync: both start on the same clock


def test_a_late_joiner_with_audio_still_starts_at_a_keyframe(
    tmp_path: Path, d1_frames: list[Frame], g711a: bytes
) -> None:
    video = [f for f in d1_frames if f.stream == "video"][:200]
    packets = ps_rtp(av_sync(video, g711_frames(g711a)), ssrc=1)
    live = _live(tmp_path / "out", hls=False, audio=True)
    for index, packet in enumerate(packets[: len(packets) // 2]):
        live.receive(packet, index * 0.001)
    head = _drain(live.add_viewer().queue)
    assert head[0] is not None and head[0][4:8] == b"ftyp"
    assert head[1] is not None and _starts_with_sync_sample(head[1])


def test_with_audio_off_the_same_stream_has_no_audio_track(
    tmp_path: Path, d1_frames: list[Frame], g711a: bytes
) -> None:
    video = [f for f in d1_frames if f.stream == "video"][:100]
    live = _live(tmp_path / "out", hls=False)
    chunks = _viewer_chunks(live, ps_rtp(av_sync(video, g711_frames(g711a)), ssrc=1))
    assert live.audio is None and live.mime == 'video/mp4; codecs="avc1.4D001E"'
    assert set(_decoded(b"".join(chunks))) == {"video"}


def test_audio_declared_in_the_psm_but_never_sent_becomes_silence_that_keeps_pace(tmp_path: Path) -> None:
    # The Hikvision 1080p capture's PSM declares G.711 that never comes: MSE plays only where both
    # tracks have data, so the audio track must keep growing with the video.
    packets = ps_to_rtp(vector_path(MIDSTART_PS).read_bytes(), ssrc=9, limit=1_500_000)
    live = _live(tmp_path / "out", hls=False, audio=True)
    chunks = _viewer_chunks(live, packets)
    seconds = _decoded(b"".join(chunks))
    assert live.audio is not None and live.audio.stats.frames == 0
    assert seconds["audio"] == pytest.approx(seconds["video"] * 25 / 15 - 1.0, abs=0.3)  # 15 fps camera


def test_with_audio_on_an_audio_only_stream_plays_as_audio_only_outputs(tmp_path: Path) -> None:
    live = _live(tmp_path / "out", audio=True, list_size=0, keep_files=True)
    packets = ps_to_rtp(vector_path(AUDIO_PS).read_bytes(), ssrc=5, limit=300_000)
    chunks = _viewer_chunks(live, packets)
    assert live.ready.is_set() and live.video is None
    assert live.mime == 'audio/mp4; codecs="mp4a.40.2"'
    assert _decoded(b"".join(chunks))["audio"] > 10
    (stream,) = ffprobe(tmp_path / "out" / "index.m3u8")["streams"]
    assert (stream["codec_name"], stream["sample_rate"]) == ("aac", "16000")


def test_with_audio_on_audio_only_in_a_codec_we_cannot_read_still_gets_the_clear_answer(tmp_path: Path) -> None:
    g729 = [Frame("audio", "g729", i * 1800, i * 1800, bytes(20)) for i in range(200)]  # 4 s, no decoder
    live = _live(tmp_path / "out", audio=True)
    for index, packet in enumerate(ps_rtp(g729, ssrc=3, audio_codec="g729")):
        live.receive(packet, index * 0.001)
    assert live.ready.is_set() and live.session.audio_only
    assert (live.audio, live.hls, live.fmp4, live.output_errors) == (None, None, None, 0)


def test_with_audio_on_outputs_started_on_demand_are_primed_with_audio_too(
    tmp_path: Path, d1_frames: list[Frame], g711a: bytes
) -> None:
    video = [f for f in d1_frames if f.stream == "video"][:300]  # 12 s
    packets = ps_rtp(av_sync(video, g711_frames(g711a)), ssrc=1)
    live = _live(tmp_path / "out", audio=True, list_size=0, keep_files=True)
    third = len(packets) // 3
    for index, packet in enumerate(packets[:third]):
        live.receive(packet, index * 0.001)
    assert live.audio is None and live.has_audio  # nothing transcoded while nobody watches
    kept = live.gop.frames
    assert {frame.stream for frame, _, _ in kept} == {"video", "audio"}

    viewer = live.add_viewer()  # starts the fragmenter and the transcoder, primed from the group
    chunks = _drain(viewer.queue)
    for index, packet in enumerate(packets[third : 2 * third]):
        live.receive(packet, 100 + index * 0.001)
        chunks += _drain(viewer.queue)
    live.request_hls()  # a second output: primed with the group and the AAC made since its keyframe
    for index, packet in enumerate(packets[2 * third :]):
        live.receive(packet, 200 + index * 0.001)
        chunks += _drain(viewer.queue)
    live.close()
    chunks += _drain(viewer.queue)

    blob = b"".join(c for c in chunks if c is not None)
    assert _starts_with_sync_sample(chunks[1])  # type: ignore[arg-type]
    seconds = _decoded(blob)
    assert seconds["audio"] == pytest.approx(seconds["video"], abs=0.3)
    streams = {s["codec_type"]: s for s in ffprobe(tmp_path / "out" / PLAYLIST)["streams"]}
    assert (streams["video"]["codec_name"], streams["audio"]["codec_name"]) == ("h264", "aac")
