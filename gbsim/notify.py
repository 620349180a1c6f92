"""Notify bodies a device raises on its own: Alarm, MobilePosition and MediaStatus 121."""

from __future__ import annotations

from datetime import datetime

from gbsim.config import DeviceConfig
from gbsim.profiles import apply_body_quirks
from sip_gateway.manscdp import Position
from sip_gateway.manscdp.device_build import alarm_notify, media_status_notify, mobile_position_notify


def alarm_body(
    cfg: DeviceConfig,
    sn: int,
    device_id: str,
    when: datetime,
    *,
    priority: int,
    method: int,
    alarm_type: int | None,
    description: str,
) -> bytes:
    body = alarm_notify(
        sn,
        device_id,
        alarm_time=when.replace(microsecond=0),
        alarm_priority=priority,
        alarm_method=method,
        alarm_description=description,
        alarm_type=alarm_type,
        charset=cfg.body_charset,
    )
    return apply_body_quirks(body, cfg.profile)


def position_body(
    cfg: DeviceConfig,
    sn: int,
    when: datetime,
    longitude: float,
    latitude: float,
    speed: float,
    direction: float,
) -> bytes:
    position = Position(
        device_id=cfg.device_id,
        time=when.replace(microsecond=0),
        longitude=longitude,
        latitude=latitude,
        speed=speed,
        direction=direction,
        altitude=0.0,
    )
    return apply_body_quirks(
        mobile_position_notify(sn, cfg.device_id, position, charset=cfg.body_charset), cfg.profile
    )


def media_status_body(cfg: DeviceConfig, sn: int, channel_id: str) -> bytes:
    return apply_body_quirks(media_status_notify(sn, channel_id, charset=cfg.body_charset), cfg.profile)
