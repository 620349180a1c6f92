"""What one simulated device is: its IDs, credentials, platform, timing and profile."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gbsim.profiles import PROFILES, Profile
from sip_gateway.manscdp.xml_encode import Charset

# Channel names mix plain Chinese with characters outside GB2312 (but inside GB18030):
# 堃 and 喆 are common in names and are not in GB2312; 𠀀 is outside the BMP.
CHANNEL_NAMES = ("大门口", "停车场东", "仓库 B2", "前台", "堃园路口", "喆楼走廊", "𠀀号通道", "Lobby 大厅")


@dataclass(frozen=True, slots=True)
class Timing:
    expires: int = 3600
    # Refresh at this fraction of the granted expiry.
    refresh_ratio: float = 0.8
    keepalive_interval: float = 60.0
    keepalive_misses: int = 3
    # Backoff between failed registrations: min, doubling up to max, with +-25% jitter.
    retry_min: float = 1.0
    retry_max: float = 60.0
    # Our own bound on waiting for a final response (the transaction layer's Timer F is 32 s).
    request_timeout: float = 32.0


@dataclass(frozen=True, slots=True)
class DeviceConfig:
    device_id: str
    channel_ids: tuple[str, ...]
    server_id: str
    domain: str
    password: str
    local_host: str = "127.0.0.1"
    local_port: int = 5060
    transport: str = "udp"
    profile: Profile = field(default_factory=lambda: PROFILES["standard"])
    charset: Charset | None = None
    catalog_per_message: int = 4
    record_per_message: int = 8
    record_segment: int = 1800
    timing: Timing = field(default_factory=Timing)

    @property
    def body_charset(self) -> Charset:
        return self.charset or self.profile.charset

    @property
    def items_per_catalog_message(self) -> int:
        return self.profile.catalog_per_message or self.catalog_per_message


def device_ids(civil_code: str, count: int, *, first_serial: int = 1, type_code: str = "118") -> list[str]:
    """`count` 20-digit device IDs: civil code (8) + industry 00 + type + network 0 + serial (6)."""
    _check_civil_code(civil_code)
    if first_serial + count - 1 > 999999:
        raise ValueError("too many devices for a 6-digit serial")
    return [f"{civil_code}00{type_code}0{first_serial + i:06d}" for i in range(count)]


def channel_ids(
    civil_code: str, device_index: int, channels: int, *, first_serial: int = 1
) -> tuple[str, ...]:
    """Camera (131) channel IDs for one device, unique across the run."""
    _check_civil_code(civil_code)
    base = first_serial + device_index * channels
    if base + channels - 1 > 999999:
        raise ValueError("too many channels for a 6-digit serial")
    return tuple(f"{civil_code}001310{base + i:06d}" for i in range(channels))


def device_configs(
    civil_code: str,
    count: int,
    channels: int,
    *,
    first_serial: int = 1,
    first_channel: int = 1,
    type_code: str = "118",
    **fields: Any,
) -> list[DeviceConfig]:
    """`count` devices with `channels` channels each, numbered as `device_ids` and `channel_ids`
    number them; `fields` (server, credentials, timing, ...) are the same for every device."""
    ids = device_ids(civil_code, count, first_serial=first_serial, type_code=type_code)
    return [
        DeviceConfig(
            device_id=device_id,
            channel_ids=channel_ids(civil_code, index, channels, first_serial=first_channel),
            **fields,
        )
        for index, device_id in enumerate(ids)
    ]


def channel_name(index: int) -> str:
    return f"{CHANNEL_NAMES[index % len(CHANNEL_NAMES)]} {index + 1:02d}"


def _check_civil_code(code: str) -> None:
    if len(code) != 8 or not code.isdigit():
        raise ValueError(f"civil code must be 8 digits, got {code!r}")
