"""Typed MANSCDP messages, as parsed from what devices and lower platforms send.

Every field a device may omit is optional and `None` when absent. Each message also keeps
`fields`, the raw text of its top-level elements, so callers can reach vendor extensions
without a new release of this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, kw_only=True, slots=True)
class Envelope:
    """What every MANSCDP message carries: its root element, CmdType, SN and DeviceID."""

    root: str
    cmd_type: str
    sn: int | None = None
    device_id: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False, repr=False)


@dataclass(frozen=True, kw_only=True, slots=True)
class Keepalive(Envelope):
    status: str | None = None
    fault_device_ids: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class CatalogItem:
    """One catalog entry: a channel, region, business group or virtual organisation."""

    device_id: str
    name: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    owner: str | None = None
    civil_code: str | None = None
    block: str | None = None
    address: str | None = None
    parental: int | None = None
    parent_id: str | None = None
    safety_way: int | None = None
    register_way: int | None = None
    cert_num: str | None = None
    certifiable: int | None = None
    err_code: int | None = None
    end_time: str | None = None
    secrecy: int | None = None
    ip_address: str | None = None
    port: int | None = None
    password: str | None = None
    status: str | None = None
    longitude: float | None = None
    latitude: float | None = None
    ptz_type: int | None = None
    business_group_id: str | None = None
    security_level_code: str | None = None
    event: str | None = None
    info: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False, repr=False)
    fields: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False, repr=False)


@dataclass(frozen=True, kw_only=True, slots=True)
class CatalogResponse(Envelope):
    """A Response/Catalog chunk, or a Notify/Catalog change report (root 'Notify')."""

    sum_num: int | None = None
    num: int | None = None
    items: tuple[CatalogItem, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class DeviceInfoResponse(Envelope):
    result: str | None = None
    device_name: str | None = None
    device_type: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    firmware: str | None = None
    channel: int | None = None
    max_camera: int | None = None
    max_alarm: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class AlarmStatusItem:
    device_id: str
    duty_status: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class DeviceStatusResponse(Envelope):
    result: str | None = None
    online: bool | None = None
    status: str | None = None
    reason: str | None = None
    encode: str | None = None
    record: str | None = None
    device_time: datetime | None = None
    alarm_status: tuple[AlarmStatusItem, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class RecordItem:
    device_id: str | None = None
    name: str | None = None
    file_path: str | None = None
    address: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    secrecy: int | None = None
    type: str | None = None
    recorder_id: str | None = None
    file_size: int | None = None
    fields: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False, repr=False)


@dataclass(frozen=True, kw_only=True, slots=True)
class RecordInfoResponse(Envelope):
    name: str | None = None
    sum_num: int | None = None
    num: int | None = None
    items: tuple[RecordItem, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class AlarmNotify(Envelope):
    alarm_priority: int | None = None
    alarm_method: int | None = None
    alarm_time: datetime | None = None
    alarm_description: str | None = None
    longitude: float | None = None
    latitude: float | None = None
    alarm_type: int | None = None
    event_type: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Position:
    device_id: str | None = None
    time: datetime | None = None
    longitude: float | None = None
    latitude: float | None = None
    speed: float | None = None
    direction: float | None = None
    altitude: float | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class MobilePositionNotify(Envelope):
    """2016 sends one flat position; 2022 sends a list. Both end up in `positions`."""

    positions: tuple[Position, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class MediaStatusNotify(Envelope):
    notify_type: int | None = None

    @property
    def is_end_of_file(self) -> bool:
        return self.notify_type == 121


@dataclass(frozen=True, kw_only=True, slots=True)
class BroadcastNotify(Envelope):
    """The platform's request that a voice-output channel (137) receive its audio."""

    source_id: str | None = None
    target_id: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class BroadcastResponse(Envelope):
    result: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class DeviceControlResponse(Envelope):
    result: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class AlarmResponse(Envelope):
    result: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class DeviceControl(Envelope):
    """A Control/DeviceControl, as an upper platform sends it to us in a cascade."""

    ptz_cmd: str | None = None
    tele_boot: str | None = None
    record_cmd: str | None = None
    guard_cmd: str | None = None
    alarm_cmd: str | None = None
    iframe_cmd: str | None = None
    home_position_enabled: int | None = None
    home_position_reset_time: int | None = None
    home_position_preset_index: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Query(Envelope):
    """Any Query (Catalog, DeviceInfo, RecordInfo…) an upper platform sends us."""

    start_time: datetime | None = None
    end_time: datetime | None = None
    type: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Unknown(Envelope):
    """A well-formed message this module has no type for; never an error."""


Message = (
    Keepalive
    | CatalogResponse
    | DeviceInfoResponse
    | DeviceStatusResponse
    | RecordInfoResponse
    | AlarmNotify
    | MobilePositionNotify
    | MediaStatusNotify
    | BroadcastNotify
    | BroadcastResponse
    | DeviceControlResponse
    | AlarmResponse
    | DeviceControl
    | Query
    | Unknown
)
