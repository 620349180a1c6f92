"""The gateway's book of live streams and its choice of media worker, with no I/O."""

from __future__ import annotations

from typing import Any

import pytest

from sip_gateway.media_workers import pick_worker, worker_http_base
from sip_gateway.streams import LiveSession, StreamTable


def session(stream_id: str = "s1", channel: str = "34020000001310000001", sequence: int = 1) -> LiveSession:
    return LiveSession(
        stream_id=stream_id,
        device_id="34020000001180000001",
        channel_id=channel,
        transport="udp",
        ssrc=f"002000{sequence:04d}",
        sequence=sequence,
        worker="media:a",
        http_base="http://127.0.0.1:8081",
        peer=("udp", "127.0.0.1", 5060),
        started_at=0.0,
        last_activity=0.0,
    )


@pytest.mark.parametrize(
    ("beats", "chosen"),
    [
        ([], None),
        ([{"instance": "a", "target": "media:a", "load": 3, "ports_free": 0}], None),
        ([{"instance": "a", "load": 0, "ports_free": 9}], None),  # no bus target: not a worker we can use
        (
            [
                {"instance": "a", "target": "media:a", "load": 3, "streams": 3, "ports_free": 10},
                {"instance": "b", "target": "media:b", "load": 1, "streams": 1, "ports_free": 10},
            ],
            "media:b",
        ),
        (
            [
                {"instance": "b", "target": "media:b", "load": 0, "streams": 0, "ports_free": 1},
                {"instance": "a", "target": "media:a", "load": 0, "streams": 0, "ports_free": 1},
            ],
            "media:a",  # a tie goes to the first instance name, so choices are repeatable
        ),
    ],
)
def test_the_least_loaded_worker_with_a_free_port_is_chosen(beats: list[dict[str, Any]], chosen: str | None) -> None:
    picked = pick_worker(beats)
    assert (picked["target"] if picked else None) == chosen


def test_streams_placed_since_the_last_heartbeat_count_as_load() -> None:
    beats = [
        {"instance": "a", "target": "media:a", "load": 0, "ports_free": 10},
        {"instance": "b", "target": "media:b", "load": 1, "ports_free": 10},
    ]
    assert pick_worker(beats, {"media:a": 2})["target"] == "media:b"
    assert pick_worker(beats, {"media:a": 1})["target"] == "media:a"  # a tie: the first name


@pytest.mark.parametrize(
    ("beat", "base"),
    [
        ({"http": "127.0.0.1:8081", "address": "10.0.0.5"}, "http://127.0.0.1:8081"),
        ({"http": "0.0.0.0:8081", "address": "10.0.0.5"}, "http://10.0.0.5:8081"),
        ({"http": ":9000", "address": "10.0.0.6"}, "http://10.0.0.6:9000"),
    ],
)
def test_browsers_reach_a_worker_bound_to_any_address_at_its_advertised_one(beat: dict[str, Any], base: str) -> None:
    assert worker_http_base(beat) == base


def test_ssrc_sequences_are_unique_among_live_streams_and_reused_after_release() -> None:
    table = StreamTable()
    first, second = table.reserve_sequence(), table.reserve_sequence()
    assert (first, second) == (1, 2)
    table.release_sequence(first)
    taken = {table.reserve_sequence() for _ in range(9998)}  # 3..9999, then 1 again
    assert first in taken and second not in taken and 0 not in taken
    with pytest.raises(LookupError):
        table.reserve_sequence()


def test_a_channel_maps_to_its_live_stream_until_it_is_removed() -> None:
    table = StreamTable()
    live = session()
    table.add(live)
    assert table.for_channel(live.device_id, live.channel_id) is live
    assert table.play_again("s1", now=5.0) is live and live.plays == 2 and live.last_activity == 5.0
    live.call_id = "call-1"
    assert table.for_call("call-1") is live
    assert table.remove("s1") is live
    assert table.for_channel(live.device_id, live.channel_id) is None and table.remove("s1") is None


@pytest.mark.parametrize(
    ("reports", "idle_at_10"),
    [
        ([], True),  # played at 0, nothing since
        ([(4.0, {"viewers": 1, "http_requests": 0})], True),  # a WebSocket viewer at 4, gone by 10
        ([(8.0, {"viewers": 1, "http_requests": 0})], False),
        ([(4.0, {"viewers": 0, "http_requests": 3}), (8.0, {"viewers": 0, "http_requests": 3})], True),
        ([(4.0, {"viewers": 0, "http_requests": 3}), (8.0, {"viewers": 0, "http_requests": 4})], False),
    ],
)
def test_a_stream_is_idle_when_nobody_played_or_watched_it_for_the_idle_time(
    reports: list[tuple[float, dict[str, Any]]], idle_at_10: bool
) -> None:
    table = StreamTable()
    table.add(session())
    for now, stats in reports:
        table.note_worker("s1", stats, now)
    assert table.idle(10.0, idle_seconds=5.0) == (["s1"] if idle_at_10 else [])
