"""The worker's stream commands without Redis: ports, errors, keyframe waits and RTP timeouts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from gbplatform.bus import CommandFailed
from media.live import OutputConfig
from media.ports import PortAllocator
from media.worker import MediaWorker, WorkerConfig
from tests.media.conftest import AUDIO_PS, D1_RTP
from tests.media.replay import d1_rtp_packets, ps_to_rtp, send_udp
from tests.vectors import vector_path

D1_SSRC = 0x05F5ED76


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def events() -> list[dict[str, Any]]:
    return []


def make_worker(
    tmp_path: Path, events: list[dict[str, Any]], ports: tuple[int, int], **options: Any
) -> MediaWorker:
    async def publish(event: dict[str, Any]) -> None:
        events.append(event)

    config = WorkerConfig(
        output_dir=tmp_path, bind_host="127.0.0.1", outputs=OutputConfig(list_size=0), rtp_timeout=5.0
    )
    return MediaWorker(ports=PortAllocator(*ports), config=config, publish=publish, instance="w1", **options)


@pytest.fixture
async def worker(tmp_path: Path, events: list[dict[str, Any]]) -> AsyncIterator[MediaWorker]:
    worker = make_worker(tmp_path, events, (47200, 47239))
    yield worker
    worker.close_all()


async def test_opening_more_streams_than_ports_answers_503_no_free_port(tmp_path: Path) -> None:
    worker = make_worker(tmp_path, [], (47240, 47243))
    try:
        first = await worker.cmd_open({"stream_id": "a", "ssrc": 1})
        await worker.cmd_open({"stream_id": "b", "ssrc": 2})
        with pytest.raises(CommandFailed, match="no free RTP port") as refused:
            await worker.cmd_open({"stream_id": "c", "ssrc": 3})
        assert refused.value.status == 503
        await worker.cmd_close({"stream_id": "a"})
        again = await worker.cmd_open({"stream_id": "c", "ssrc": 3})
        assert again["port"] == first["port"]  # released on close, reused
    finally:
        worker.close_all()
    await asyncio.sleep(0)
    assert worker.ports.in_use == 0


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        ({"stream_id": "x y"}, 400, "bad stream_id"),
        (
            {"stream_id": "s", "transport": "sctp"},
            400,
            "transport must be one of udp, tcp-passive, tcp-active",
        ),
        ({"stream_id": "s", "ssrc": "abc"}, 400, "ssrc must be an integer"),
        ({"stream_id": "s", "audio": "yes"}, 400, "audio must be true or false"),
    ],
)
async def test_bad_open_arguments_are_refused_with_400(
    worker: MediaWorker, args: dict[str, Any], status: int, message: str
) -> None:
    with pytest.raises(CommandFailed, match=message) as refused:
        await worker.cmd_open(args)
    assert refused.value.status == status
    assert worker.ports.in_use == 0


async def test_audio_is_the_workers_setting_unless_the_open_command_says_otherwise(
    tmp_path: Path, events: list[dict[str, Any]]
) -> None:
    worker = make_worker(tmp_path, events, (47244, 47247))
    try:
        assert (await worker.cmd_open({"stream_id": "default", "ssrc": 1}))["audio"] is False
        assert (await worker.cmd_open({"stream_id": "asked", "ssrc": 2, "audio": True}))["audio"] is True
        assert worker.streams["asked"].config.audio and not worker.streams["default"].config.audio
        assert worker.config.outputs.audio is False  # the worker's own setting is left alone
    finally:
        worker.close_all()


async def test_a_stream_id_already_open_is_a_409_and_an_unknown_one_a_404(worker: MediaWorker) -> None:
    await worker.cmd_open({"stream_id": "s", "ssrc": 1})
    with pytest.raises(CommandFailed) as duplicate:
        await worker.cmd_open({"stream_id": "s", "ssrc": 1})
    with pytest.raises(CommandFailed, match="no stream 'nope'") as unknown:
        await worker.cmd_close({"stream_id": "nope"})
    assert (duplicate.value.status, unknown.value.status) == (409, 404)


async def test_waiting_for_a_keyframe_that_never_comes_is_a_504_saying_nothing_arrived(
    worker: MediaWorker,
) -> None:
    await worker.cmd_open({"stream_id": "s", "ssrc": 1})
    with pytest.raises(CommandFailed, match="no keyframe within 0.05 s \\(no RTP received\\)") as refused:
        await worker.cmd_wait_keyframe({"stream_id": "s", "timeout": 0.05})
    assert refused.value.status == 504


async def test_strict_ssrc_drops_the_device_stream_and_the_error_says_so(worker: MediaWorker) -> None:
    opened = await worker.cmd_open({"stream_id": "s", "ssrc": 1234})
    live = worker.streams["s"]
    await send_udp(d1_rtp_packets(vector_path(D1_RTP))[:200], opened["port"], lambda: live.datagrams)
    with pytest.raises(CommandFailed, match=f"200 packets dropped: SSRC {D1_SSRC} instead of 1234"):
        await worker.cmd_wait_keyframe({"stream_id": "s", "timeout": 0.05})


async def test_tolerant_ssrc_plays_the_device_stream(worker: MediaWorker) -> None:
    opened = await worker.cmd_open({"stream_id": "s", "ssrc": 1234, "tolerant_ssrc": True})
    live = worker.streams["s"]
    await send_udp(d1_rtp_packets(vector_path(D1_RTP))[:200], opened["port"], lambda: live.datagrams)
    answer = await worker.cmd_wait_keyframe({"stream_id": "s", "timeout": 1})
    assert answer == {
        "stream_id": "s",
        "codec": "h264",
        "width": 704,
        "height": 576,
        "mime": 'video/mp4; codecs="avc1.4D001E"',
        "audio": False,
    }
    (stats,) = (await worker.cmd_list({}))["streams"]
    assert (stats["ssrc_seen"], stats["ssrc_mismatches"], stats["packets"]) == (D1_SSRC, 0, 200)


async def test_the_ssrc_a_device_answers_with_replaces_the_offered_one(worker: MediaWorker) -> None:
    opened = await worker.cmd_open({"stream_id": "s", "ssrc": 1234})
    assert await worker.cmd_update({"stream_id": "s", "ssrc": D1_SSRC}) == {
        "stream_id": "s",
        "ssrc": D1_SSRC,
        "tolerant_ssrc": False,
    }
    live = worker.streams["s"]
    await send_udp(d1_rtp_packets(vector_path(D1_RTP))[:200], opened["port"], lambda: live.datagrams)
    assert (await worker.cmd_wait_keyframe({"stream_id": "s", "timeout": 1}))["codec"] == "h264"
    assert live.session.ssrc_mismatches == 0


async def test_an_unreadable_device_ssrc_switches_the_stream_to_tolerant(worker: MediaWorker) -> None:
    await worker.cmd_open({"stream_id": "s", "ssrc": 1234})
    answer = await worker.cmd_update({"stream_id": "s", "ssrc": None, "tolerant_ssrc": True})
    assert (answer["ssrc"], answer["tolerant_ssrc"]) == (None, True)


async def test_the_audio_only_sample_answers_415_audio_only_and_writes_no_video(
    worker: MediaWorker, tmp_path: Path
) -> None:
    opened = await worker.cmd_open({"stream_id": "audio", "ssrc": 3})
    live = worker.streams["audio"]
    packets = ps_to_rtp(vector_path(AUDIO_PS).read_bytes(), ssrc=3, limit=120_000)
    waiter = asyncio.ensure_future(worker.cmd_wait_keyframe({"stream_id": "audio", "timeout": 10}))
    await send_udp(packets, opened["port"], lambda: live.datagrams)
    with pytest.raises(
        CommandFailed, match=r"stream audio is audio only \(g711a\): no video to show"
    ) as refused:
        await waiter
    assert refused.value.status == 415
    (stats,) = (await worker.cmd_list({}))["streams"]
    assert (stats["audio_only"], stats["codec"], stats["audio_codec"]) == (True, None, "g711a")
    assert not (tmp_path / "audio" / "index.m3u8").exists()


async def test_rtp_timeout_closes_the_stream_releases_its_port_and_publishes_an_event(tmp_path: Path) -> None:
    clock = FakeClock(1000.0)
    events: list[dict[str, Any]] = []
    worker = make_worker(tmp_path, events, (47244, 47247), clock=clock)
    await worker.cmd_open({"stream_id": "quiet", "ssrc": 1})
    await worker.cmd_open({"stream_id": "short", "ssrc": 2, "rtp_timeout": 1})
    assert worker.next_deadline() == 1001.0
    clock.now = 1000.9
    assert await worker.sweep() == []
    clock.now = 1001.0
    assert await worker.sweep() == ["short"]
    clock.now = 1005.0
    assert await worker.sweep() == ["quiet"]
    assert [(e["event"], e["stream_id"], e["instance"], e["idle_seconds"]) for e in events] == [
        ("stream.timeout", "short", "w1", 1.0),
        ("stream.timeout", "quiet", "w1", 5.0),
    ]
    await asyncio.sleep(0)
    assert (worker.streams, worker.ports.in_use) == ({}, 0)


async def test_tcp_active_before_the_device_port_is_known_only_reserves_a_port(worker: MediaWorker) -> None:
    opened = await worker.cmd_open({"stream_id": "act", "ssrc": 1, "transport": "tcp-active"})
    assert opened["transport"] == "tcp-active" and opened["port"] % 2 == 0
    with pytest.raises(CommandFailed, match="remote_host and remote_port are required"):
        await worker.cmd_connect({"stream_id": "act"})
    with pytest.raises(CommandFailed, match="is not tcp-active"):
        await worker.cmd_open({"stream_id": "udp1", "ssrc": 1})
        await worker.cmd_connect({"stream_id": "udp1", "remote_host": "127.0.0.1", "remote_port": 9})
