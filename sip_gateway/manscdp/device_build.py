"""Bodies a device (or our platform as a lower level in a cascade) sends upward.

Used by the device simulator and the cascade feature. Catalog and RecordInfo answers are
split into chunks that all carry the total in SumNum and their own count in `Num`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from .messages import AlarmStatusItem, CatalogItem, Position, RecordItem
from .values import format_datetime
from .xml_encode import Charset, El, leaf, leaves, message, render


def _dt(value: datetime | None) -> str | None:
    return format_datetime(value) if value is not None else None


def _chunks(count: int, per_message: int) -> list[range]:
    if per_message < 1:
        raise ValueError("per_message must be at least 1")
    return [range(start, min(start + per_message, count)) for start in range(0, count, per_message)]


def catalog_item_element(item: CatalogItem) -> El:
    """One `<Item>`; fields that are None are left out (2022 drops several 2016 fields)."""
    info = leaves([("PTZType", item.ptz_type)])
    children = leaves(
        [
            ("DeviceID", item.device_id),
            ("Event", item.event),
            ("Name", item.name),
            ("Manufacturer", item.manufacturer),
            ("Model", item.model),
            ("Owner", item.owner),
            ("CivilCode", item.civil_code),
            ("Block", item.block),
            ("Address", item.address),
            ("Parental", item.parental),
            ("ParentID", item.parent_id),
            ("BusinessGroupID", item.business_group_id),
            ("SafetyWay", item.safety_way),
            ("RegisterWay", item.register_way),
            ("CertNum", item.cert_num),
            ("Certifiable", item.certifiable),
            ("ErrCode", item.err_code),
            ("EndTime", item.end_time),
            ("Secrecy", item.secrecy),
            ("SecurityLevelCode", item.security_level_code),
            ("IPAddress", item.ip_address),
            ("Port", item.port),
            ("Password", item.password),
            ("Status", item.status),
            ("Longitude", item.longitude),
            ("Latitude", item.latitude),
        ]
    )
    if info:
        children.append(El("Info", children=info))
    return El("Item", children=children)


def catalog_response(
    sn: int, device_id: str, sum_num: int, items: Sequence[CatalogItem], *, charset: Charset = "GB2312"
) -> bytes:
    """One Response/Catalog message carrying `items` out of `sum_num`."""
    device_list = El(
        "DeviceList",
        children=[catalog_item_element(item) for item in items],
        attrs=[("Num", str(len(items)))],
    )
    body = [leaf("SumNum", sum_num), device_list]
    return render(message("Response", "Catalog", sn, device_id, body), charset)


def catalog_responses(
    sn: int,
    device_id: str,
    items: Sequence[CatalogItem],
    *,
    per_message: int = 1,
    charset: Charset = "GB2312",
) -> list[bytes]:
    """The whole catalog as Response messages; an empty catalog is one SumNum 0 message."""
    return list(iter_catalog_responses(sn, device_id, items, per_message=per_message, charset=charset))


def iter_catalog_responses(
    sn: int,
    device_id: str,
    items: Sequence[CatalogItem],
    *,
    per_message: int = 1,
    charset: Charset = "GB2312",
) -> Iterator[bytes]:
    """`catalog_responses`, each message rendered only when asked for: a device sends them one
    by one, and rendering 10,000 up front would hold it up before the first."""
    if not items:
        yield catalog_response(sn, device_id, 0, (), charset=charset)
        return
    if per_message < 1:
        raise ValueError("per_message must be at least 1")
    for start in range(0, len(items), per_message):
        yield catalog_response(sn, device_id, len(items), items[start : start + per_message], charset=charset)


def catalog_notify(
    sn: int, device_id: str, items: Sequence[CatalogItem], *, charset: Charset = "GB2312"
) -> bytes:
    """Notify/Catalog change report: SumNum = Num = items in this message, each with Event."""
    device_list = El(
        "DeviceList",
        children=[catalog_item_element(item) for item in items],
        attrs=[("Num", str(len(items)))],
    )
    return render(
        message("Notify", "Catalog", sn, device_id, [leaf("SumNum", len(items)), device_list]), charset
    )


def record_item_element(item: RecordItem) -> El:
    return El(
        "Item",
        children=leaves(
            [
                ("DeviceID", item.device_id),
                ("Name", item.name),
                ("FilePath", item.file_path),
                ("Address", item.address),
                ("StartTime", _dt(item.start_time)),
                ("EndTime", _dt(item.end_time)),
                ("Secrecy", item.secrecy),
                ("Type", item.type),
                ("RecorderID", item.recorder_id),
                ("FileSize", item.file_size),
            ]
        ),
    )


def record_info_responses(
    sn: int,
    device_id: str,
    items: Sequence[RecordItem],
    *,
    name: str | None = None,
    per_message: int = 8,
    charset: Charset = "GB2312",
) -> list[bytes]:
    """RecordInfo answers in chunks; no recordings is one message with SumNum 0."""
    chunks = _chunks(len(items), per_message) or [range(0)]
    out = []
    for chunk in chunks:
        record_list = El(
            "RecordList",
            children=[record_item_element(items[i]) for i in chunk],
            attrs=[("Num", str(len(chunk)))],
        )
        body = [leaf("Name", name), leaf("SumNum", len(items)), record_list]
        out.append(render(message("Response", "RecordInfo", sn, device_id, body), charset))
    return out


def device_info_response(
    sn: int,
    device_id: str,
    *,
    device_name: str | None = None,
    manufacturer: str | None = None,
    model: str | None = None,
    firmware: str | None = None,
    channel: int | None = None,
    result: str = "OK",
    charset: Charset = "GB2312",
) -> bytes:
    body = leaves(
        [
            ("DeviceName", device_name),
            ("Result", result),
            ("Manufacturer", manufacturer),
            ("Model", model),
            ("Firmware", firmware),
            ("Channel", channel),
        ]
    )
    return render(message("Response", "DeviceInfo", sn, device_id, body), charset)


def device_status_response(
    sn: int,
    device_id: str,
    *,
    online: bool = True,
    status_ok: bool = True,
    encode: bool | None = True,
    record: bool | None = False,
    device_time: datetime | None = None,
    alarm_status: Sequence[AlarmStatusItem] = (),
    result: str = "OK",
    charset: Charset = "GB2312",
) -> bytes:
    def on_off(value: bool | None) -> str | None:
        return None if value is None else ("ON" if value else "OFF")

    body: list[El | None] = list(
        leaves(
            [
                ("Result", result),
                ("Online", "ONLINE" if online else "OFFLINE"),
                ("Status", "OK" if status_ok else "ERROR"),
                ("Encode", on_off(encode)),
                ("Record", on_off(record)),
                ("DeviceTime", _dt(device_time)),
            ]
        )
    )
    if alarm_status:
        items = [
            El("Item", children=leaves([("DeviceID", a.device_id), ("DutyStatus", a.duty_status)]))
            for a in alarm_status
        ]
        body.append(El("Alarmstatus", children=items, attrs=[("Num", str(len(items)))]))
    return render(message("Response", "DeviceStatus", sn, device_id, body), charset)


def keepalive(sn: int, device_id: str, *, status: str = "OK", charset: Charset = "GB2312") -> bytes:
    return render(message("Notify", "Keepalive", sn, device_id, [leaf("Status", status)]), charset)


def alarm_notify(
    sn: int,
    device_id: str,
    *,
    alarm_time: datetime,
    alarm_priority: int = 1,
    alarm_method: int = 2,
    alarm_description: str | None = None,
    longitude: float | None = None,
    latitude: float | None = None,
    alarm_type: int | None = None,
    charset: Charset = "GB2312",
) -> bytes:
    if not 1 <= alarm_priority <= 4:
        raise ValueError("AlarmPriority must be 1..4")
    body: list[El | None] = list(
        leaves(
            [
                ("AlarmPriority", alarm_priority),
                ("AlarmMethod", alarm_method),
                ("AlarmTime", format_datetime(alarm_time)),
                ("AlarmDescription", alarm_description),
                ("Longitude", longitude),
                ("Latitude", latitude),
            ]
        )
    )
    if alarm_type is not None:
        body.append(El("Info", children=leaves([("AlarmType", alarm_type)])))
    return render(message("Notify", "Alarm", sn, device_id, body), charset)


def mobile_position_notify(
    sn: int, device_id: str, position: Position, *, charset: Charset = "GB2312"
) -> bytes:
    """The 2016 flat form, which every platform we know of reads."""
    if position.time is None or position.longitude is None or position.latitude is None:
        raise ValueError("a MobilePosition needs time, longitude and latitude")
    body = leaves(
        [
            ("Time", format_datetime(position.time)),
            ("Longitude", position.longitude),
            ("Latitude", position.latitude),
            ("Speed", position.speed),
            ("Direction", position.direction),
            ("Altitude", position.altitude),
        ]
    )
    return render(message("Notify", "MobilePosition", sn, device_id, body), charset)


def media_status_notify(
    sn: int, device_id: str, *, notify_type: int = 121, charset: Charset = "GB2312"
) -> bytes:
    """Notify/MediaStatus; 121 = end of the file being played back or downloaded."""
    return render(message("Notify", "MediaStatus", sn, device_id, [leaf("NotifyType", notify_type)]), charset)


def result_response(
    cmd_type: str, sn: int, device_id: str, *, ok: bool = True, charset: Charset = "GB2312"
) -> bytes:
    """Response/<cmd_type>/Result OK|ERROR (DeviceControl, Broadcast, Alarm, DeviceConfig)."""
    return render(
        message("Response", cmd_type, sn, device_id, [leaf("Result", "OK" if ok else "ERROR")]), charset
    )
