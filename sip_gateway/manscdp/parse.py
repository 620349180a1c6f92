"""`parse_manscdp`: body bytes → one typed message, dispatched on root and CmdType.

Element names are matched case-insensitively (`Alarmstatus`, `AlarmStatus`), missing
fields become None and unknown CmdTypes become `Unknown`: a device that sends something
odd must never take the gateway down, so the only exception is `ManscdpError`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lxml import etree

from .messages import (
    AlarmNotify,
    AlarmResponse,
    AlarmStatusItem,
    BroadcastNotify,
    BroadcastResponse,
    CatalogItem,
    CatalogResponse,
    DeviceControl,
    DeviceControlResponse,
    DeviceInfoResponse,
    DeviceStatusResponse,
    Envelope,
    Keepalive,
    MediaStatusNotify,
    Message,
    MobilePositionNotify,
    Position,
    Query,
    RecordInfoResponse,
    RecordItem,
    Unknown,
)
from .tree import attr_int, find_child, items_of, leaf_fields, leaves_and_branches, local_name, lower_keys
from .values import text_or_none, to_datetime, to_float, to_int, to_online, to_status
from .xml_decode import ManscdpError, parse_xml

_ROOTS = {name.lower(): name for name in ("Query", "Control", "Notify", "Response")}
_CMD_TYPES = {
    name.lower(): name
    for name in (
        "Keepalive",
        "Catalog",
        "DeviceInfo",
        "DeviceStatus",
        "RecordInfo",
        "Alarm",
        "MobilePosition",
        "MediaStatus",
        "Broadcast",
        "DeviceControl",
        "DeviceConfig",
        "ConfigDownload",
        "PresetQuery",
        "HomePositionQuery",
        "CruiseTrackListQuery",
        "CruiseTrackQuery",
        "PTZPosition",
        "SDCardStatus",
        "UploadSnapShotFinished",
    )
}
CATALOG_EVENTS = frozenset({"ADD", "DEL", "UPDATE", "ON", "OFF", "VLOST", "DEFECT"})


def parse_manscdp(body: bytes) -> Message:
    """Parse one MANSCDP body. Raises only `ManscdpError`, for bodies that are not XML."""
    root = parse_xml(body)
    try:
        return _dispatch(root)
    except ManscdpError:
        raise
    except Exception as exc:  # a defect here must not become a gateway crash
        raise ManscdpError(f"could not interpret MANSCDP message: {exc!r}") from exc


def _dispatch(root: etree._Element) -> Message:
    raw_root = local_name(root.tag)
    root_name = _ROOTS.get(raw_root.lower(), raw_root)
    fields = leaf_fields(root)
    low = lower_keys(fields)
    raw_cmd = low.get("cmdtype", "")
    cmd_type = _CMD_TYPES.get(raw_cmd.lower(), raw_cmd)
    common: dict[str, Any] = {
        "root": root_name,
        "cmd_type": cmd_type,
        "sn": to_int(low.get("sn")),
        "device_id": text_or_none(low.get("deviceid")),
        "fields": fields,
    }
    handler = _HANDLERS.get((root_name, cmd_type))
    if handler is None and root_name == "Query":
        return _query(root, low, common)
    if handler is None:
        return Unknown(**common)
    return handler(root, low, common)


_Handler = Callable[[etree._Element, dict[str, str], dict[str, Any]], Message]


def _keepalive(root: etree._Element, low: dict[str, str], common: dict[str, Any]) -> Message:
    info = find_child(root, "Info")
    faults: list[str] = []
    if info is not None:
        for child in info.iter():
            if local_name(child.tag).lower() == "deviceid":
                value = text_or_none(child.text)
                if value:
                    faults.append(value)
    return Keepalive(status=text_or_none(low.get("status")), fault_device_ids=tuple(faults), **common)


def catalog_item_from_element(element: etree._Element) -> CatalogItem | None:
    """One catalog `<Item>`; None when it has no DeviceID (nothing to key it on)."""
    fields, branches = leaves_and_branches(element)
    low = lower_keys(fields)
    device_id = text_or_none(low.get("deviceid"))
    if device_id is None:
        return None
    info_el = branches.get("info")
    info = leaf_fields(info_el) if info_el is not None else {}
    info_low = lower_keys(info)
    event = text_or_none(low.get("event"))
    event = event.upper() if event is not None else None
    return CatalogItem(
        device_id=device_id,
        name=_name(low.get("name")),
        manufacturer=text_or_none(low.get("manufacturer")),
        model=text_or_none(low.get("model")),
        owner=text_or_none(low.get("owner")),
        civil_code=text_or_none(low.get("civilcode")),
        block=text_or_none(low.get("block")),
        address=text_or_none(low.get("address")),
        parental=to_int(low.get("parental")),
        parent_id=text_or_none(low.get("parentid")),
        safety_way=to_int(low.get("safetyway")),
        register_way=to_int(low.get("registerway")),
        cert_num=text_or_none(low.get("certnum")),
        certifiable=to_int(low.get("certifiable")),
        err_code=to_int(low.get("errcode")),
        end_time=text_or_none(low.get("endtime")),
        secrecy=to_int(low.get("secrecy")),
        ip_address=text_or_none(low.get("ipaddress")),
        port=to_int(low.get("port")),
        password=text_or_none(low.get("password")),
        status=to_status(low.get("status")),
        longitude=to_float(low.get("longitude")),
        latitude=to_float(low.get("latitude")),
        ptz_type=to_int(info_low.get("ptztype", low.get("ptztype"))),
        business_group_id=text_or_none(low.get("businessgroupid", info_low.get("businessgroupid"))),
        security_level_code=text_or_none(low.get("securitylevelcode")),
        event=event,
        info=info,
        fields=fields,
    )


def _name(value: str | None) -> str | None:
    # A name is shown to people: keep it as sent (only trimmed), even the word "null".
    if value is None:
        return None
    stripped = value.strip()
    return stripped or None


def _catalog(root: etree._Element, low: dict[str, str], common: dict[str, Any]) -> Message:
    device_list = find_child(root, "DeviceList")
    items = []
    for element in items_of(device_list):
        item = catalog_item_from_element(element)
        if item is not None:
            items.append(item)
    return CatalogResponse(
        sum_num=to_int(low.get("sumnum")), num=attr_int(device_list, "Num"), items=tuple(items), **common
    )


def _device_info(root: etree._Element, low: dict[str, str], common: dict[str, Any]) -> Message:
    return DeviceInfoResponse(
        result=text_or_none(low.get("result")),
        device_name=_name(low.get("devicename")),
        device_type=text_or_none(low.get("devicetype")),
        manufacturer=text_or_none(low.get("manufacturer")),
        model=text_or_none(low.get("model")),
        firmware=text_or_none(low.get("firmware")),
        channel=to_int(low.get("channel")),
        max_camera=to_int(low.get("maxcamera")),
        max_alarm=to_int(low.get("maxalarm")),
        **common,
    )


def _device_status(root: etree._Element, low: dict[str, str], common: dict[str, Any]) -> Message:
    alarms: list[AlarmStatusItem] = []
    for element in items_of(find_child(root, "Alarmstatus")):
        item = lower_keys(leaf_fields(element))
        device_id = text_or_none(item.get("deviceid"))
        if device_id is not None:
            duty = text_or_none(item.get("dutystatus"))
            alarms.append(AlarmStatusItem(device_id=device_id, duty_status=duty.upper() if duty else None))
    return DeviceStatusResponse(
        result=text_or_none(low.get("result")),
        online=to_online(low.get("online")),
        status=text_or_none(low.get("status")),
        reason=text_or_none(low.get("reason")),
        encode=text_or_none(low.get("encode")),
        record=text_or_none(low.get("record")),
        device_time=to_datetime(low.get("devicetime")),
        alarm_status=tuple(alarms),
        **common,
    )


def record_item_from_element(element: etree._Element) -> RecordItem:
    fields = leaf_fields(element)
    low = lower_keys(fields)
    return RecordItem(
        device_id=text_or_none(low.get("deviceid")),
        name=_name(low.get("name")),
        file_path=text_or_none(low.get("filepath")),
        address=text_or_none(low.get("address")),
        start_time=to_datetime(low.get("starttime")),
        end_time=to_datetime(low.get("endtime")),
        secrecy=to_int(low.get("secrecy")),
        type=text_or_none(low.get("type")),
        recorder_id=text_or_none(low.get("recorderid")),
        file_size=to_int(low.get("filesize")),
        fields=fields,
    )


def _record_info(root: etree._Element, low: dict[str, str], common: dict[str, Any]) -> Message:
    record_list = find_child(root, "RecordList")
    items = tuple(record_item_from_element(element) for element in items_of(record_list))
    return RecordInfoResponse(
        name=_name(low.get("name")),
        sum_num=to_int(low.get("sumnum")),
        num=attr_int(record_list, "Num"),
        items=items,
        **common,
    )


def _alarm(root: etree._Element, low: dict[str, str], common: dict[str, Any]) -> Message:
    info_el = find_child(root, "Info")
    info = lower_keys(leaf_fields(info_el)) if info_el is not None else {}
    event_type: int | None = None
    if info_el is not None:
        param = find_child(info_el, "AlarmTypeParam")
        if param is not None:
            event_type = to_int(lower_keys(leaf_fields(param)).get("eventtype"))
    return AlarmNotify(
        alarm_priority=to_int(low.get("alarmpriority")),
        alarm_method=to_int(low.get("alarmmethod")),
        alarm_time=to_datetime(low.get("alarmtime")),
        alarm_description=text_or_none(low.get("alarmdescription")),
        longitude=to_float(low.get("longitude")),
        latitude=to_float(low.get("latitude")),
        alarm_type=to_int(info.get("alarmtype", low.get("alarmtype"))),
        event_type=event_type,
        **common,
    )


def _position(low: dict[str, str], default_device: str | None) -> Position:
    return Position(
        device_id=text_or_none(low.get("deviceid")) or default_device,
        time=to_datetime(low.get("capturetime", low.get("time"))),
        longitude=to_float(low.get("longitude")),
        latitude=to_float(low.get("latitude")),
        speed=to_float(low.get("speed")),
        direction=to_float(low.get("direction")),
        altitude=to_float(low.get("altitude", low.get("height"))),
    )


def _mobile_position(root: etree._Element, low: dict[str, str], common: dict[str, Any]) -> Message:
    device_id = common["device_id"]
    # 2022 wraps positions in Items (inside a list element); 2016 is flat.
    items = [el for el in root.iter() if el is not root and local_name(el.tag).lower() == "item"]
    if items:
        positions = tuple(_position(lower_keys(leaf_fields(el)), device_id) for el in items)
    else:
        positions = (_position(low, device_id),)
    return MobilePositionNotify(positions=positions, **common)


def _media_status(root: etree._Element, low: dict[str, str], common: dict[str, Any]) -> Message:
    return MediaStatusNotify(notify_type=to_int(low.get("notifytype")), **common)


def _result_of(cls: type[BroadcastResponse] | type[DeviceControlResponse] | type[AlarmResponse]) -> _Handler:
    def handler(root: etree._Element, low: dict[str, str], common: dict[str, Any]) -> Message:
        return cls(result=text_or_none(low.get("result")), **common)

    return handler


def _broadcast_notify(root: etree._Element, low: dict[str, str], common: dict[str, Any]) -> Message:
    return BroadcastNotify(
        source_id=text_or_none(low.get("sourceid")), target_id=text_or_none(low.get("targetid")), **common
    )


def _device_control(root: etree._Element, low: dict[str, str], common: dict[str, Any]) -> Message:
    home = find_child(root, "HomePosition")
    home_low = lower_keys(leaf_fields(home)) if home is not None else {}
    return DeviceControl(
        ptz_cmd=text_or_none(low.get("ptzcmd")),
        tele_boot=text_or_none(low.get("teleboot")),
        record_cmd=text_or_none(low.get("recordcmd")),
        guard_cmd=text_or_none(low.get("guardcmd")),
        alarm_cmd=text_or_none(low.get("alarmcmd")),
        iframe_cmd=text_or_none(low.get("iframecmd", low.get("ifamecmd"))),
        home_position_enabled=to_int(home_low.get("enabled")),
        home_position_reset_time=to_int(home_low.get("resettime")),
        home_position_preset_index=to_int(home_low.get("presetindex")),
        **common,
    )


def _query(root: etree._Element, low: dict[str, str], common: dict[str, Any]) -> Message:
    return Query(
        start_time=to_datetime(low.get("starttime")),
        end_time=to_datetime(low.get("endtime")),
        type=text_or_none(low.get("type")),
        **common,
    )


_HANDLERS: dict[tuple[str, str], _Handler] = {
    ("Notify", "Keepalive"): _keepalive,
    ("Response", "Catalog"): _catalog,
    ("Notify", "Catalog"): _catalog,
    ("Response", "DeviceInfo"): _device_info,
    ("Response", "DeviceStatus"): _device_status,
    ("Response", "RecordInfo"): _record_info,
    ("Notify", "Alarm"): _alarm,
    ("Response", "Alarm"): _result_of(AlarmResponse),
    ("Notify", "MobilePosition"): _mobile_position,
    ("Notify", "MediaStatus"): _media_status,
    ("Notify", "Broadcast"): _broadcast_notify,
    ("Response", "Broadcast"): _result_of(BroadcastResponse),
    ("Response", "DeviceControl"): _result_of(DeviceControlResponse),
    ("Control", "DeviceControl"): _device_control,
}

__all__ = [
    "Envelope",
    "ManscdpError",
    "catalog_item_from_element",
    "parse_manscdp",
    "record_item_from_element",
]
