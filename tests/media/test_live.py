"""LiveStream without sockets: datagrams in, outputs and viewers fed, failures contained."""

from __future__ import annotations

import io
from pathlib import Path

import av

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
