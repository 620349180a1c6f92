"""MANSCDP builders: exact canonical bytes, strict arguments, and round trips through the parser."""

from __future__ import annotations

from datetime import datetime

import pytest

from sip_gateway.manscdp import (
    AlarmNotify,
    AlarmStatusItem,
    BroadcastNotify,
    CatalogItem,
    CatalogResponse,
    DeviceControl,
    DeviceInfoResponse,
    DeviceStatusResponse,
    Keepalive,
    MediaStatusNotify,
    MobilePositionNotify,
    Position,
    Query,
    RecordInfoResponse,
    RecordItem,
    build,
    device_build,
    parse_manscdp,
    ptz,
)

DEV = "34020000001320000001"
CH = "34020000001310000001"


def lines(body: bytes, codec: str = "gb18030") -> list[str]:
    return body.decode(codec).split("\r\n")


def test_query_catalog_is_canonical_gb2312_declared() -> None:
    assert build.query_catalog(7, DEV) == (
        b'<?xml version="1.0" encoding="GB2312"?>\r\n<Query>\r\n<CmdType>Catalog</CmdType>\r\n<SN>7</SN>\r\n'
        b"<DeviceID>34020000001320000001</DeviceID>\r\n</Query>\r\n"
    )


def test_utf8_output_when_asked() -> None:
    body = build.query_device_info(1, DEV, charset="UTF-8")
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\r\n<Query>')


def test_query_record_info_has_local_times_secrecy_and_type() -> None:
    body = build.query_record_info(18, CH, datetime(2024, 5, 1), datetime(2024, 5, 4, 15, 41))
    assert lines(body)[5:9] == [
        "<StartTime>2024-05-01T00:00:00</StartTime>",
        "<EndTime>2024-05-04T15:41:00</EndTime>",
        "<Secrecy>0</Secrecy>",
        "<Type>all</Type>",
    ]
    query = parse_manscdp(body)
    assert isinstance(query, Query) and query.end_time == datetime(2024, 5, 4, 15, 41)


def test_record_info_query_rejects_reversed_times() -> None:
    with pytest.raises(ValueError):
        build.query_record_info(1, CH, datetime(2024, 5, 2), datetime(2024, 5, 1))


@pytest.mark.parametrize(
    ("body", "field", "value"),
    [
        (build.control_ptz(3, CH, "A50F0100000000B5"), "ptz_cmd", "A50F0100000000B5"),
        (build.control_teleboot(3, DEV), "tele_boot", "Boot"),
        (build.control_record(3, CH, start=True), "record_cmd", "Record"),
        (build.control_record(3, CH, start=False), "record_cmd", "StopRecord"),
        (build.control_guard(3, CH, arm=True), "guard_cmd", "SetGuard"),
        (build.control_guard(3, CH, arm=False), "guard_cmd", "ResetGuard"),
        (build.control_reset_alarm(3, CH, alarm_method=2, alarm_type=1), "alarm_cmd", "ResetAlarm"),
        (build.control_iframe(3, CH), "iframe_cmd", "Send"),
        (build.control_iframe(3, CH, spelling="IFrameCmd"), "iframe_cmd", "Send"),
        (
            build.control_home_position(3, CH, enabled=True, reset_time=30, preset_index=2),
            "home_position_preset_index",
            2,
        ),
    ],
)
def test_device_control_commands_round_trip(body: bytes, field: str, value: object) -> None:
    message = parse_manscdp(body)
    assert isinstance(message, DeviceControl)
    assert (message.sn, getattr(message, field)) == (3, value)


def test_ptz_control_refuses_a_bad_checksum() -> None:
    with pytest.raises(ptz.PtzError):
        build.control_ptz(1, CH, "A50F0100000000B6")


def test_iframe_default_is_the_2016_spelling() -> None:
    assert b"<IFameCmd>Send</IFameCmd>" in build.control_iframe(1, CH)


def test_names_are_escaped_and_keep_non_gb2312_characters() -> None:
    item = CatalogItem(device_id=CH, name="A&B <门> 𠀀䶮鎔€")
    (body,) = device_build.catalog_responses(9, DEV, [item])
    assert "<Name>A&amp;B &lt;门&gt; 𠀀䶮鎔€</Name>" in body.decode("gb18030")
    message = parse_manscdp(body)
    assert isinstance(message, CatalogResponse) and message.items[0].name == "A&B <门> 𠀀䶮鎔€"


FULL_ITEM = CatalogItem(
    device_id=CH,
    name="球机",
    manufacturer="Dahua",
    model="SD",
    owner="0",
    civil_code="340200",
    block="b",
    address="axy",
    parental=0,
    parent_id=DEV,
    safety_way=0,
    register_way=1,
    cert_num="c",
    certifiable=0,
    err_code=400,
    end_time="2030-01-01T00:00:00",
    secrecy=0,
    ip_address="10.0.0.7",
    port=5060,
    password="p",
    status="ON",
    longitude=117.25,
    latitude=31.75,
    ptz_type=1,
    business_group_id="34020000002150000001",
    security_level_code="A",
)


def test_catalog_item_round_trips_every_field() -> None:
    (body,) = device_build.catalog_responses(9, DEV, [FULL_ITEM])
    message = parse_manscdp(body)
    assert isinstance(message, CatalogResponse)
    assert message.items == (FULL_ITEM,)


@pytest.mark.parametrize(("count", "per_message", "chunks"), [(0, 1, 1), (1, 1, 1), (5, 2, 3), (8, 8, 1)])
def test_catalog_responses_are_chunked_with_sum_num_and_num(
    count: int, per_message: int, chunks: int
) -> None:
    items = [CatalogItem(device_id=f"3402000000131{i:07d}", name=f"c{i}") for i in range(count)]
    bodies = device_build.catalog_responses(4, DEV, items, per_message=per_message)
    parsed = [parse_manscdp(b) for b in bodies]
    assert len(parsed) == chunks
    assert all(isinstance(m, CatalogResponse) and m.sum_num == count for m in parsed)
    assert sum(len(m.items) for m in parsed if isinstance(m, CatalogResponse)) == count
    assert all(isinstance(m, CatalogResponse) and m.num == len(m.items) for m in parsed)


def test_catalog_notify_carries_events() -> None:
    body = device_build.catalog_notify(2, DEV, [CatalogItem(device_id=CH, event="DEL")])
    message = parse_manscdp(body)
    assert isinstance(message, CatalogResponse) and message.root == "Notify"
    assert (message.sum_num, message.items[0].event) == (1, "DEL")


def test_record_info_responses_round_trip_in_chunks() -> None:
    items = [
        RecordItem(
            device_id=CH,
            name="n",
            file_path=f"f{i}",
            start_time=datetime(2024, 5, 1, i),
            end_time=datetime(2024, 5, 1, i, 30),
            secrecy=0,
            type="time",
            file_size=10 * i,
        )
        for i in range(5)
    ]
    bodies = device_build.record_info_responses(18, CH, items, name="IPCamera 01", per_message=2)
    parsed = [parse_manscdp(b) for b in bodies]
    assert all(isinstance(m, RecordInfoResponse) and m.sum_num == 5 for m in parsed)
    assert tuple(i for m in parsed if isinstance(m, RecordInfoResponse) for i in m.items) == tuple(items)


def test_record_info_without_recordings_is_one_empty_message() -> None:
    (body,) = device_build.record_info_responses(1, CH, [])
    message = parse_manscdp(body)
    assert isinstance(message, RecordInfoResponse) and (message.sum_num, message.num) == (0, 0)


def test_device_info_and_status_round_trip() -> None:
    info = parse_manscdp(
        device_build.device_info_response(
            2, DEV, device_name="NVR", manufacturer="Hik", model="M", firmware="V5", channel=16
        )
    )
    assert isinstance(info, DeviceInfoResponse) and (info.channel, info.result) == (16, "OK")
    status = parse_manscdp(
        device_build.device_status_response(
            3,
            DEV,
            online=False,
            device_time=datetime(2024, 5, 17, 14, 24, 54),
            alarm_status=[AlarmStatusItem(device_id=CH, duty_status="ALARM")],
        )
    )
    assert isinstance(status, DeviceStatusResponse)
    assert (status.online, status.device_time, status.alarm_status[0].duty_status) == (
        False,
        datetime(2024, 5, 17, 14, 24, 54),
        "ALARM",
    )


def test_keepalive_notify_is_canonical() -> None:
    assert lines(device_build.keepalive(539, DEV))[1:-1] == [
        "<Notify>",
        "<CmdType>Keepalive</CmdType>",
        "<SN>539</SN>",
        f"<DeviceID>{DEV}</DeviceID>",
        "<Status>OK</Status>",
        "</Notify>",
    ]
    assert isinstance(parse_manscdp(device_build.keepalive(1, DEV)), Keepalive)


def test_alarm_mobile_position_and_media_status_round_trip() -> None:
    alarm = parse_manscdp(
        device_build.alarm_notify(5, CH, alarm_time=datetime(2024, 1, 2, 3, 4, 5), alarm_type=2)
    )
    assert isinstance(alarm, AlarmNotify) and (alarm.alarm_method, alarm.alarm_type) == (2, 2)
    position = Position(time=datetime(2024, 1, 2), longitude=116.5, latitude=39.5, speed=3.0)
    mobile = parse_manscdp(device_build.mobile_position_notify(6, CH, position))
    assert isinstance(mobile, MobilePositionNotify)
    assert mobile.positions == (
        Position(device_id=CH, time=datetime(2024, 1, 2), longitude=116.5, latitude=39.5, speed=3.0),
    )
    media = parse_manscdp(device_build.media_status_notify(7, CH))
    assert isinstance(media, MediaStatusNotify) and media.is_end_of_file


@pytest.mark.parametrize("cmd_type", ["DeviceControl", "Broadcast", "Alarm"])
def test_result_responses_round_trip(cmd_type: str) -> None:
    message = parse_manscdp(device_build.result_response(cmd_type, 8, DEV, ok=False))
    assert (message.cmd_type, getattr(message, "result", None)) == (cmd_type, "ERROR")


@pytest.mark.parametrize(
    "call",
    [
        lambda: build.query_catalog(-1, DEV),
        lambda: build.query_mobile_position(1, DEV, interval=0),
        lambda: build.control_home_position(1, CH, enabled=True, preset_index=256),
        lambda: device_build.alarm_notify(1, CH, alarm_time=datetime(2024, 1, 1), alarm_priority=5),
        lambda: device_build.mobile_position_notify(1, CH, Position()),
        lambda: device_build.catalog_responses(1, DEV, [FULL_ITEM], per_message=0),
    ],
)
def test_builders_are_strict(call: object) -> None:
    with pytest.raises(ValueError):
        call()  # type: ignore[operator]


def test_broadcast_notify_names_source_and_target_instead_of_a_device() -> None:
    body = build.notify_broadcast(11, "34020000002000000001", "34020000001370000001")
    assert b"<DeviceID>" not in body
    message = parse_manscdp(body)
    assert isinstance(message, BroadcastNotify)
    assert (message.sn, message.source_id, message.target_id, message.device_id) == (
        11,
        "34020000002000000001",
        "34020000001370000001",
        None,
    )
