"""Small pure pieces: MANSRTSP parsing, profile body rewrites, ID generation."""

from __future__ import annotations

import pytest

from gbsim.config import channel_ids, device_ids
from gbsim.mansrtsp import MansrtspError, PlaybackCommand, parse_mansrtsp
from gbsim.profiles import PROFILES, apply_body_quirks
from sip_gateway.manscdp import CatalogItem, CatalogResponse, parse_manscdp
from sip_gateway.manscdp.device_build import catalog_response


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"PLAY RTSP/1.0\r\nCSeq: 3\r\nScale: 2.0\r\n", PlaybackCommand("PLAY", 3, 2.0, None)),
        (b"PLAY RTSP/1.0\r\nCSeq: 4\r\nRange: npt=100-\r\n", PlaybackCommand("PLAY", 4, None, 100.0)),
        (b"PLAY RTSP/1.0\r\nCSeq: 5\r\nRange: npt=now-\r\n", PlaybackCommand("PLAY", 5, None, None)),
        (b"PAUSE RTSP/1.0\r\nCSeq: 6\r\nPauseTime: now\r\n", PlaybackCommand("PAUSE", 6, None, None)),
        (b"PLAY RTSP/1.0\nCSeq: 7\nScale: -1\n", PlaybackCommand("PLAY", 7, -1.0, None)),  # bare LF
        (b"TEARDOWN RTSP/1.0\r\nCSeq: 8\r\n", PlaybackCommand("TEARDOWN", 8, None, None)),
    ],
)
def test_mansrtsp_commands(body: bytes, expected: PlaybackCommand) -> None:
    assert parse_mansrtsp(body) == expected


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"GET / HTTP/1.1\r\n",
        b"PLAY RTSP/1.0\r\nScale: fast\r\n",
        b"PLAY RTSP/1.0\r\nRange: clock=20240501T120000Z-\r\n",
        b"PLAY RTSP/1.0\r\nScale: 1000\r\n",
        b"PLAY HTTP/1.1\r\n",
    ],
)
def test_mansrtsp_rejects_what_it_cannot_honour(body: bytes) -> None:
    with pytest.raises(MansrtspError):
        parse_mansrtsp(body)


def test_hikvision_body_quirks_keep_the_xml_readable() -> None:
    body = catalog_response(
        1, "34020000001180000001", 2, [CatalogItem(device_id="34020000001310000001", name="堃")]
    )
    quirky = apply_body_quirks(body, PROFILES["hikvision"])
    assert quirky.startswith(b'<?xml version="1.0" encoding="gb2312"?>') and b"Num=" not in quirky
    parsed = parse_manscdp(quirky)
    assert isinstance(parsed, CatalogResponse) and parsed.num is None
    assert parsed.sum_num == 2 and parsed.items[0].name == "堃"
    assert apply_body_quirks(body, PROFILES["standard"]) == body


def test_ids_are_twenty_digits_and_unique_across_devices() -> None:
    devices = device_ids("34020000", 3, first_serial=998, type_code="132")
    assert devices == ["34020000001320000998", "34020000001320000999", "34020000001320001000"]
    channels = [c for i in range(3) for c in channel_ids("34020000", i, 16)]
    assert len(set(channels)) == 48 and all(len(c) == 20 and c[10:13] == "131" for c in channels)
    with pytest.raises(ValueError):
        device_ids("3402", 1)
    with pytest.raises(ValueError):
        device_ids("34020000", 2, first_serial=999999)
