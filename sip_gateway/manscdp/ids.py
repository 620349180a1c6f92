"""GB/T 28181 identifiers: 20-digit device codes and 2/4/6/8-digit civil (region) codes.

Layout of a 20-digit ID: 1–8 civil code, 9–10 industry, 11–13 type, 14 network, 15–20
serial number.
"""

from __future__ import annotations

import re

_DIGITS = re.compile(r"\d+")

TYPE_DVR = 111
TYPE_ENCODER = 113
TYPE_NVR = 118
TYPE_CAMERA = 131
TYPE_IPC = 132
TYPE_ALARM_IN = 134
TYPE_VOICE_OUT = 137
TYPE_SIP_SERVER = 200
TYPE_BUSINESS_GROUP = 215
TYPE_VIRTUAL_ORGANISATION = 216

_REGION_LENGTHS = frozenset({2, 4, 6, 8})


def _all_digits(value: str) -> bool:
    return value.isascii() and _DIGITS.fullmatch(value) is not None


def is_device_id(value: str) -> bool:
    """True for a 20-digit GB code."""
    return len(value) == 20 and _all_digits(value)


def is_region(value: str) -> bool:
    """Civil codes of 2, 4, 6 or 8 digits are regions (province … grassroots)."""
    return len(value) in _REGION_LENGTHS and _all_digits(value)


def type_code(device_id: str) -> int | None:
    """Digits 11–13 (e.g. 131 camera, 200 platform, 215 group); None for non-20-digit IDs."""
    if not is_device_id(device_id):
        return None
    return int(device_id[10:13])


def civil_code_of(device_id: str) -> str | None:
    """Digits 1–8 of a device ID, with trailing unused `00` pairs removed."""
    if not is_device_id(device_id):
        return None
    code = device_id[:8]
    while len(code) > 2 and code.endswith("00"):
        code = code[:-2]
    return code


def parent_civil_code(code: str) -> str | None:
    """The region one level up (8 → 6 → 4 → 2 digits); None for a province or non-region."""
    if not is_region(code) or len(code) == 2:
        return None
    return code[:-2]


def is_business_group(device_id: str) -> bool:
    return type_code(device_id) == TYPE_BUSINESS_GROUP


def is_virtual_organisation(device_id: str) -> bool:
    return type_code(device_id) == TYPE_VIRTUAL_ORGANISATION


def is_platform(device_id: str) -> bool:
    return type_code(device_id) == TYPE_SIP_SERVER


def domain_of(server_id: str) -> str:
    """The SIP domain / realm of a server: the first 10 digits of its ID."""
    if not is_device_id(server_id):
        raise ValueError(f"not a 20-digit GB ID: {server_id!r}")
    return server_id[:10]
