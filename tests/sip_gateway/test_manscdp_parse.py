"""parse_manscdp on captured device bodies and on each message type devices send."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest

from sip_gateway.manscdp import (
    AlarmNotify,
    AlarmResponse,
    BroadcastResponse,
    CatalogResponse,
    DeviceControl,
    DeviceControlResponse,
    DeviceInfoResponse,
    DeviceStatusResponse,
    Keepalive,
    MediaStatusNotify,
    MobilePositionNotify,
    Query,
    RecordInfoResponse,
    Unknown,
    parse_manscdp,
)
from tests.vectors import vector_files, vector_path

DAHUA_HIK = "sip/dahua_sd_hik_nvr"
FRI_TRACE = "sip/fri_test_tool/fri_axy_mss-jsip-messages.xml"
HEAD = "<CmdType>{cmd}</CmdType><SN>17</SN><DeviceID>34020000001320000001</DeviceID>"


def body(root: str, cmd: str, inner: str = "", encoding: str = "GB2312") -> bytes:
    text = f'<?xml version="1.0" encoding="{encoding}"?>\r\n<{root}>{HEAD.format(cmd=cmd)}{inner}</{root}>'
    return text.encode("gb18030" if encoding.upper().startswith("GB") else "utf-8")


def fri_catalog_bodies() -> list[bytes]:
    """Response/Catalog bodies inside the conformance-tool trace (each body ends at `]]>`)."""
    raw = vector_path(FRI_TRACE).read_bytes()
    bodies = re.findall(rb"(<\?xml[^>]*\?>\s*<Response>.*?</Response>)", raw, flags=re.S)
    return [b for b in bodies if b"<CmdType>Catalog</CmdType>" in b]


def test_real_keepalive_from_a_dahua_dome() -> None:
    message = parse_manscdp(vector_path(f"{DAHUA_HIK}/05_device_MESSAGE_Notify-Keepalive.xml").read_bytes())
    assert message == Keepalive(
        root="Notify", cmd_type="Keepalive", sn=539, device_id="34020000001320000002", status="OK"
    )


def test_real_catalog_from_a_dahua_dome_has_info_ptz_type_and_fields() -> None:
    message = parse_manscdp(vector_path(f"{DAHUA_HIK}/09_device_MESSAGE_Response-Catalog.xml").read_bytes())
    assert isinstance(message, CatalogResponse)
    assert (message.sn, message.sum_num, message.num, len(message.items)) == (7, 1, 1, 1)
    item = message.items[0]
    assert item.device_id == "34020000001310000001"
    assert (item.name, item.manufacturer, item.model) == ("DH71", "Dahua", "DH-SD-6C3230UE-HN")
    assert (item.civil_code, item.parent_id, item.parental, item.register_way) == (
        "340200",
        "34020000001320000002",
        0,
        1,
    )
    assert (item.status, item.ptz_type, item.secrecy) == ("ON", 3, 0)
    assert item.info["DownloadSpeed"] == "1/2/4/8"
    assert item.fields["StreamNum"] == "2"


def test_real_device_info() -> None:
    message = parse_manscdp(
        vector_path(f"{DAHUA_HIK}/13_device_MESSAGE_Response-DeviceInfo.xml").read_bytes()
    )
    assert isinstance(message, DeviceInfoResponse)
    assert (message.device_name, message.manufacturer, message.firmware) == (
        "DH-SD-6C3230UE-HN",
        "Dahua",
        "2.623.0000000.17.R,2019-01-19",
    )
    assert (message.channel, message.max_camera, message.max_alarm, message.result) == (1, 1, 2, "OK")


def test_real_device_status_with_alarm_status_items() -> None:
    message = parse_manscdp(
        vector_path(f"{DAHUA_HIK}/17_device_MESSAGE_Response-DeviceStatus.xml").read_bytes()
    )
    assert isinstance(message, DeviceStatusResponse)
    assert (message.online, message.status, message.encode, message.record) == (True, "OK", "ON", "OFF")
    assert message.device_time == datetime(2024, 5, 17, 14, 24, 54)
    assert [(a.device_id, a.duty_status) for a in message.alarm_status] == [
        ("34020000001340000001", "ONDUTY"),
        ("34020000001340000002", "ONDUTY"),
    ]


def test_real_hikvision_record_info_with_lower_case_gb2312() -> None:
    message = parse_manscdp(
        vector_path(f"{DAHUA_HIK}/36_device_MESSAGE_Response-RecordInfo.xml").read_bytes()
    )
    assert isinstance(message, RecordInfoResponse)
    assert (message.sum_num, message.num, message.name) == (2, 2, "IPCamera 01")
    first = message.items[0]
    assert (first.start_time, first.end_time) == (
        datetime(2024, 5, 4, 14, 43, 16),
        datetime(2024, 5, 4, 15, 16, 26),
    )
    assert (first.file_path, first.type, first.secrecy) == ("1714804996_1714806986", "time", 0)


@pytest.mark.parametrize("path", vector_files(DAHUA_HIK, "*.xml"), ids=lambda p: Path(p).name)
def test_every_captured_device_body_parses_to_a_typed_message(path: Path) -> None:
    assert not isinstance(parse_manscdp(path.read_bytes()), Unknown)


def test_platform_query_bodies_in_the_capture_parse_as_queries_and_controls() -> None:
    raw = vector_path(f"{DAHUA_HIK}/34_platform_MESSAGE_Query-RecordInfo.sip").read_bytes()
    query = parse_manscdp(raw.split(b"\r\n\r\n", 1)[1])
    assert isinstance(query, Query)
    assert (query.cmd_type, query.type, query.start_time) == ("RecordInfo", "all", datetime(2024, 5, 1))
    raw = vector_path(f"{DAHUA_HIK}/26_platform_MESSAGE_Control-DeviceControl.sip").read_bytes()
    control = parse_manscdp(raw.split(b"\r\n\r\n", 1)[1])
    assert isinstance(control, DeviceControl)
    assert control.ptz_cmd == "A50F000800640020"


def test_fri_trace_catalogs_parse_and_null_means_missing() -> None:
    bodies = fri_catalog_bodies()
    assert len(bodies) >= 5
    messages = [parse_manscdp(b) for b in bodies]
    assert all(isinstance(m, CatalogResponse) for m in messages)
    camera = next(
        m.items[0] for m in messages if isinstance(m, CatalogResponse) and m.items[0].name == "Camera01"
    )
    assert (camera.manufacturer, camera.civil_code, camera.address) == (None, None, None)
    assert camera.fields["Manufacturer"] == "null"
    assert (camera.ip_address, camera.port, camera.status) == ("192.168.230.100", 5060, "ON")


def test_fri_trace_virtual_organisation_has_business_group_at_top_level() -> None:
    items = [
        i
        for b in fri_catalog_bodies()
        for m in [parse_manscdp(b)]
        if isinstance(m, CatalogResponse)
        for i in m.items
    ]
    org = next(i for i in items if i.device_id == "44198700001510000004")
    assert org.business_group_id == "44000000002150000001"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("ON", "ON"),
        ("on", "ON"),
        ("ONLINE", "ON"),
        ("OK", "ON"),
        ("OFF", "OFF"),
        ("OFFLINE", "OFF"),
        (" Off ", "OFF"),
        ("", None),
        ("DEFECT", "DEFECT"),
    ],
)
def test_catalog_status_variants_are_normalised(status: str, expected: str | None) -> None:
    inner = f'<SumNum>1</SumNum><DeviceList Num="1"><Item><DeviceID>1</DeviceID><Status>{status}</Status></Item></DeviceList>'
    message = parse_manscdp(body("Response", "Catalog", inner))
    assert isinstance(message, CatalogResponse)
    assert message.items[0].status == expected


def test_catalog_2022_fields_and_info_business_group_fallback() -> None:
    inner = (
        "<SumNum>2</SumNum><DeviceList Num='2'>"
        "<Item><DeviceID>34020000002160000001</DeviceID><Name>组</Name><ParentID>34020000002150000001</ParentID>"
        "<Info><BusinessGroupID>34020000002150000001</BusinessGroupID></Info></Item>"
        "<Item><DeviceID>34020000001310000009</DeviceID><PTZType>1</PTZType><SecurityLevelCode>A</SecurityLevelCode>"
        "<Longitude> 117.2 </Longitude><Latitude>31,8</Latitude><Port>abc</Port></Item></DeviceList>"
    )
    message = parse_manscdp(body("Response", "Catalog", inner))
    assert isinstance(message, CatalogResponse)
    org, cam = message.items
    assert org.business_group_id == "34020000002150000001"
    assert (cam.ptz_type, cam.security_level_code, cam.longitude, cam.latitude, cam.port) == (
        1,
        "A",
        117.2,
        31.8,
        None,
    )


@pytest.mark.parametrize("event", ["ADD", "DEL", "UPDATE", "ON", "OFF", "VLOST", "DEFECT", "add"])
def test_catalog_notify_items_carry_their_event(event: str) -> None:
    inner = f"<SumNum>1</SumNum><DeviceList Num='1'><Item><DeviceID>34020000001310000001</DeviceID><Event>{event}</Event></Item></DeviceList>"
    message = parse_manscdp(body("Notify", "Catalog", inner))
    assert isinstance(message, CatalogResponse) and message.root == "Notify"
    assert message.items[0].event == event.upper()


def test_catalog_items_without_device_id_are_skipped_and_missing_num_is_none() -> None:
    inner = "<SumNum>3</SumNum><DeviceList><Item><Name>x</Name></Item><Item><DeviceID>1</DeviceID></Item></DeviceList>"
    message = parse_manscdp(body("Response", "Catalog", inner))
    assert isinstance(message, CatalogResponse)
    assert (message.num, [i.device_id for i in message.items]) == (None, ["1"])


def test_empty_catalog_with_sum_num_zero() -> None:
    message = parse_manscdp(
        body("Response", "Catalog", '<SumNum>0</SumNum><DeviceList Num="0"></DeviceList>')
    )
    assert isinstance(message, CatalogResponse)
    assert (message.sum_num, message.num, message.items) == (0, 0, ())


def test_keepalive_info_lists_faulty_devices() -> None:
    inner = "<Status>OK</Status><Info><DeviceID>34020000001310000001</DeviceID><DeviceID>34020000001310000002</DeviceID></Info>"
    message = parse_manscdp(body("Notify", "Keepalive", inner))
    assert isinstance(message, Keepalive)
    assert message.fault_device_ids == ("34020000001310000001", "34020000001310000002")


def test_alarm_notify() -> None:
    inner = (
        "<AlarmPriority>1</AlarmPriority><AlarmMethod>2</AlarmMethod><AlarmTime>2024-05-01T12:00:00</AlarmTime>"
        "<AlarmDescription>门口</AlarmDescription><Longitude>117.1</Longitude><Latitude>31.5</Latitude>"
        "<Info><AlarmType>5</AlarmType><AlarmTypeParam><EventType>1</EventType></AlarmTypeParam></Info>"
    )
    message = parse_manscdp(body("Notify", "Alarm", inner))
    assert isinstance(message, AlarmNotify)
    assert (message.alarm_priority, message.alarm_method, message.alarm_type, message.event_type) == (
        1,
        2,
        5,
        1,
    )
    assert (message.alarm_time, message.alarm_description) == (datetime(2024, 5, 1, 12), "门口")


def test_mobile_position_2016_flat() -> None:
    inner = (
        "<Time>2024-05-01 12:00:01</Time><Longitude>116.3</Longitude><Latitude>39.9</Latitude>"
        "<Speed>12.5</Speed><Direction>90</Direction><Altitude>50</Altitude>"
    )
    message = parse_manscdp(body("Notify", "MobilePosition", inner))
    assert isinstance(message, MobilePositionNotify)
    (position,) = message.positions
    assert (position.device_id, position.time) == ("34020000001320000001", datetime(2024, 5, 1, 12, 0, 1))
    assert (position.longitude, position.latitude, position.speed, position.direction, position.altitude) == (
        116.3,
        39.9,
        12.5,
        90.0,
        50.0,
    )


def test_mobile_position_2022_item_list() -> None:
    inner = (
        "<ItemList Num='2'><Item><DeviceID>34020000001320000005</DeviceID><CaptureTime>2024-05-01T12:00:01"
        "</CaptureTime><Longitude>1</Longitude><Latitude>2</Latitude><Height>3</Height></Item>"
        "<Item><CaptureTime>2024-05-01T12:00:02</CaptureTime><Longitude>4</Longitude></Item></ItemList>"
    )
    message = parse_manscdp(body("Notify", "MobilePosition", inner))
    assert isinstance(message, MobilePositionNotify)
    first, second = message.positions
    assert (first.device_id, first.altitude, second.device_id, second.longitude) == (
        "34020000001320000005",
        3.0,
        "34020000001320000001",
        4.0,
    )


@pytest.mark.parametrize(
    ("root", "cmd", "inner", "expected"),
    [
        (
            "Notify",
            "MediaStatus",
            "<NotifyType>121</NotifyType>",
            MediaStatusNotify(
                root="Notify",
                cmd_type="MediaStatus",
                sn=17,
                device_id="34020000001320000001",
                notify_type=121,
            ),
        ),
        (
            "Response",
            "Broadcast",
            "<Result>OK</Result>",
            BroadcastResponse(
                root="Response", cmd_type="Broadcast", sn=17, device_id="34020000001320000001", result="OK"
            ),
        ),
        (
            "Response",
            "DeviceControl",
            "<Result>ERROR</Result>",
            DeviceControlResponse(
                root="Response",
                cmd_type="DeviceControl",
                sn=17,
                device_id="34020000001320000001",
                result="ERROR",
            ),
        ),
        (
            "Response",
            "Alarm",
            "<Result>OK</Result>",
            AlarmResponse(
                root="Response", cmd_type="Alarm", sn=17, device_id="34020000001320000001", result="OK"
            ),
        ),
    ],
)
def test_small_responses_and_notifies(root: str, cmd: str, inner: str, expected: object) -> None:
    assert parse_manscdp(body(root, cmd, inner)) == expected


def test_media_status_121_means_end_of_file() -> None:
    message = parse_manscdp(body("Notify", "MediaStatus", "<NotifyType>121</NotifyType>"))
    assert isinstance(message, MediaStatusNotify) and message.is_end_of_file


@pytest.mark.parametrize(
    ("root", "cmd"), [("notify", "keepalive"), ("NOTIFY", "KEEPALIVE"), ("Notify", " Keepalive ")]
)
def test_root_and_cmd_type_match_case_insensitively(root: str, cmd: str) -> None:
    message = parse_manscdp(body(root, cmd, "<Status>OK</Status>"))
    assert isinstance(message, Keepalive)
    assert (message.root, message.cmd_type) == ("Notify", "Keepalive")


@pytest.mark.parametrize(
    ("root", "cmd"),
    [("Response", "DeviceConfig"), ("Notify", "SomethingNew"), ("Other", "Keepalive"), ("Response", "")],
)
def test_unknown_cmd_types_and_roots_are_not_errors(root: str, cmd: str) -> None:
    message = parse_manscdp(body(root, cmd, "<Extra>1</Extra>"))
    assert isinstance(message, Unknown)
    assert message.fields["Extra"] == "1"


def test_iframe_command_is_accepted_in_both_spellings() -> None:
    for tag in ("IFameCmd", "IFrameCmd"):
        message = parse_manscdp(body("Control", "DeviceControl", f"<{tag}>Send</{tag}>"))
        assert isinstance(message, DeviceControl) and message.iframe_cmd == "Send"


@pytest.mark.parametrize(
    ("sn_text", "expected"), [("7", 7), (" 7 ", 7), ("", None), ("x", None), ("12abc", 12), ("-3", -3)]
)
def test_numbers_are_parsed_leniently(sn_text: str, expected: int | None) -> None:
    text = f"<Notify><CmdType>Keepalive</CmdType><SN>{sn_text}</SN></Notify>".encode()
    message = parse_manscdp(text)
    assert message.sn == expected and message.device_id is None


def test_missing_everything_but_the_root_is_unknown_not_an_error() -> None:
    assert parse_manscdp(b"<Response/>") == Unknown(root="Response", cmd_type="")
