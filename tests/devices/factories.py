"""Small factories for devices and channels, shared by the tests."""

from __future__ import annotations

from itertools import count
from typing import Any

from devices.constants import ChannelStatus
from devices.models import Channel, Device

_serial = count(1)


def device_id(kind: str = "118", serial: int | None = None) -> str:
    number = next(_serial) if serial is None else serial
    return f"3402000000{kind}{number:07d}"


def make_device(**fields: Any) -> Device:
    fields.setdefault("device_id", device_id())
    fields.setdefault("name", f"NVR {fields['device_id'][-4:]}")
    fields.setdefault("manufacturer", "Hikvision")
    return Device.objects.create(**fields)


def make_channel(device: Device, **fields: Any) -> Channel:
    fields.setdefault("channel_id", device_id("131"))
    fields.setdefault("name", f"Camera {fields['channel_id'][-4:]}")
    fields.setdefault("status", ChannelStatus.ON)
    return Channel.objects.create(device=device, **fields)
