"""Requests the platform sends to devices: Query and Control bodies.

All builders are strict (invalid arguments raise `ValueError`) and return the encoded body
bytes, GB2312-declared by default.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from .ptz import validate_ptz_cmd
from .values import format_datetime
from .xml_encode import Charset, El, leaf, leaves, message, render

RecordType = Literal["all", "time", "alarm", "manual"]
IFrameSpelling = Literal["IFameCmd", "IFrameCmd"]


def query_catalog(
    sn: int,
    device_id: str,
    *,
    start_time: datetime | None = None,
    end_time: datetime | None = None,
    charset: Charset = "GB2312",
) -> bytes:
    """Query/Catalog; the optional times ask only for changes in that window."""
    body = [
        leaf("StartTime", format_datetime(start_time) if start_time else None),
        leaf("EndTime", format_datetime(end_time) if end_time else None),
    ]
    return render(message("Query", "Catalog", sn, device_id, body), charset)


def query_device_info(sn: int, device_id: str, *, charset: Charset = "GB2312") -> bytes:
    return render(message("Query", "DeviceInfo", sn, device_id, ()), charset)


def query_device_status(sn: int, device_id: str, *, charset: Charset = "GB2312") -> bytes:
    return render(message("Query", "DeviceStatus", sn, device_id, ()), charset)


def query_record_info(
    sn: int,
    device_id: str,
    start_time: datetime,
    end_time: datetime,
    *,
    record_type: RecordType = "all",
    secrecy: int = 0,
    file_path: str | None = None,
    address: str | None = None,
    recorder_id: str | None = None,
    charset: Charset = "GB2312",
) -> bytes:
    """Query/RecordInfo with local start/end times; Type is required by Dahua NVRs."""
    if end_time < start_time:
        raise ValueError("RecordInfo end_time is before start_time")
    body = [
        leaf("StartTime", format_datetime(start_time)),
        leaf("EndTime", format_datetime(end_time)),
        leaf("FilePath", file_path),
        leaf("Address", address),
        leaf("Secrecy", secrecy),
        leaf("Type", record_type),
        leaf("RecorderID", recorder_id),
    ]
    return render(message("Query", "RecordInfo", sn, device_id, body), charset)


def query_mobile_position(
    sn: int, device_id: str, *, interval: int = 5, charset: Charset = "GB2312"
) -> bytes:
    if interval <= 0:
        raise ValueError("MobilePosition interval must be positive")
    body = [leaf("Interval", interval)]
    return render(message("Query", "MobilePosition", sn, device_id, body), charset)


def _control(sn: int, device_id: str, body: list[El | None], charset: Charset) -> bytes:
    return render(message("Control", "DeviceControl", sn, device_id, body), charset)


def control_ptz(sn: int, device_id: str, ptz_cmd: str, *, charset: Charset = "GB2312") -> bytes:
    """PTZCmd (see `ptz.encode_*`); the checksum is verified before sending."""
    validate_ptz_cmd(ptz_cmd)
    body = [leaf("PTZCmd", ptz_cmd.upper()), El("Info", children=[El("ControlPriority", "5")])]
    return _control(sn, device_id, list(body), charset)


def control_teleboot(sn: int, device_id: str, *, charset: Charset = "GB2312") -> bytes:
    return _control(sn, device_id, [leaf("TeleBoot", "Boot")], charset)


def control_record(sn: int, device_id: str, *, start: bool, charset: Charset = "GB2312") -> bytes:
    return _control(sn, device_id, [leaf("RecordCmd", "Record" if start else "StopRecord")], charset)


def control_guard(sn: int, device_id: str, *, arm: bool, charset: Charset = "GB2312") -> bytes:
    return _control(sn, device_id, [leaf("GuardCmd", "SetGuard" if arm else "ResetGuard")], charset)


def control_reset_alarm(
    sn: int,
    device_id: str,
    *,
    alarm_method: int | None = None,
    alarm_type: int | None = None,
    charset: Charset = "GB2312",
) -> bytes:
    info = leaves([("AlarmMethod", alarm_method), ("AlarmType", alarm_type)])
    body: list[El | None] = [leaf("AlarmCmd", "ResetAlarm")]
    if info:
        body.append(El("Info", children=info))
    return _control(sn, device_id, body, charset)


def control_iframe(
    sn: int, device_id: str, *, spelling: IFrameSpelling = "IFameCmd", charset: Charset = "GB2312"
) -> bytes:
    """Request a key frame; 2016 devices know `IFameCmd`, the 2022 draft says `IFrameCmd`."""
    return _control(sn, device_id, [leaf(spelling, "Send")], charset)


def control_home_position(
    sn: int,
    device_id: str,
    *,
    enabled: bool,
    reset_time: int | None = None,
    preset_index: int | None = None,
    charset: Charset = "GB2312",
) -> bytes:
    if preset_index is not None and not 0 <= preset_index <= 255:
        raise ValueError("HomePosition preset_index must be 0..255")
    home = El(
        "HomePosition",
        children=leaves(
            [("Enabled", int(enabled)), ("ResetTime", reset_time), ("PresetIndex", preset_index)]
        ),
    )
    return _control(sn, device_id, [home], charset)


def notify_broadcast(sn: int, source_id: str, target_id: str, *, charset: Charset = "GB2312") -> bytes:
    """Notify/Broadcast: ask voice-output channel `target_id` to take audio from `source_id`.

    It names SourceID and TargetID instead of a DeviceID; the device answers
    Response/Broadcast and then INVITEs us for the audio.
    """
    if sn < 0:
        raise ValueError("SN must not be negative")
    children = [
        El("CmdType", "Broadcast"),
        El("SN", str(sn)),
        El("SourceID", source_id),
        El("TargetID", target_id),
    ]
    return render(El("Notify", children=children), charset)
