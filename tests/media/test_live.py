"""LiveStream without sockets: datagrams in, outputs and viewers fed, failures contained."""

from __future__ import annotations

import io
from pathlib import Path

import av

from media.hls import PLAYLIST
from media.live import LiveStream, OutputConfig, _starts_with_sync_sample
from media.session import StreamSession
from tests.media.conftest import D1_RTP
from tests.media.replay import d1_rtp_packets
from tests.vectors import vector_path


def _live(directory: Path, **options: object) -> LiveStream:
    session = StreamSession("live", ssrc=None, now=0.0)
    return LiveStream(session, directory=directory, config=OutputConfig(**options))  # type: ignore[arg-type]


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
    fragments = [c for c in chunks[1:] if c is not None]
    with av.open(io.BytesIO(b"".join(c for c in chunks if c is not None))) as container:
        assert len(list(container.decode(video=0))) == len(fragments)  # one frame per fragment


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
    # Every kept frame but the newest is a fragment at once (the muxer writes one frame behind).
    assert len(chunks) == 1 + cached - 1 and _starts_with_sync_sample(chunks[1])  # type: ignore[arg-type]
    with av.open(io.BytesIO(b"".join(c for c in chunks if c is not None))) as container:
        assert len(list(container.decode(video=0))) == cached - 1


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
