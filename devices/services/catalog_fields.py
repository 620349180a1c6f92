"""What a catalog item says, as model fields: its kind (channel or tree node) and cleaned values.

Items arrive from the gateway as plain dicts (JSON through Celery) with snake_case keys:
`device_id` (the item's own ID), `name`, `manufacturer`, `model`, `owner`, `civil_code`, `block`,
`address`, `parental`, `parent_id`, `business_group_id`, `safety_way`, `register_way`, `secrecy`,
`ip_address`, `port`, `ptz_type`, `status`, `longitude`, `latitude`, `event` (NOTIFY only) and
`raw` (every field as the device sent it). Devices fill them with anything: values that do not
fit a column become empty rather than failing the whole catalog.
"""

from __future__ import annotations

from typing import Any

from ..constants import ChannelStatus, PtzType

BUSINESS_GROUP_TYPE = "215"
VIRTUAL_ORGANIZATION_TYPE = "216"

REGION = "region"
BUSINESS_GROUP = "business_group"
VIRTUAL_ORGANIZATION = "virtual_organization"
CHANNEL = "channel"
KINDS = (REGION, BUSINESS_GROUP, VIRTUAL_ORGANIZATION, CHANNEL)

_STATUS_WORDS = {
    "on": ChannelStatus.ON,
    "online": ChannelStatus.ON,
    "ok": ChannelStatus.ON,
    "off": ChannelStatus.OFF,
    "offline": ChannelStatus.OFF,
    "vlost": ChannelStatus.VLOST,
    "defect": ChannelStatus.DEFECT,
}
_PTZ_TYPES = frozenset(PtzType.values)
_TRUE_WORDS = frozenset({"1", "True", "true"})


def item_kind(item_id: str) -> str:
    if item_id.isdigit() and len(item_id) in (2, 4, 6, 8):
        return REGION
    if len(item_id) == 20:
        type_code = item_id[10:13]
        if type_code == BUSINESS_GROUP_TYPE:
            return BUSINESS_GROUP
        if type_code == VIRTUAL_ORGANIZATION_TYPE:
            return VIRTUAL_ORGANIZATION
    return CHANNEL


def items_by_kind(items: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Items sorted into regions, business groups, virtual organisations and channels; items
    without an ID are dropped, and a later copy of an ID replaces an earlier one."""
    kinds: dict[str, dict[str, dict[str, Any]]] = {kind: {} for kind in KINDS}
    for item in items:
        raw_id = item.get("device_id")
        item_id = raw_id.strip() if isinstance(raw_id, str) else str(raw_id or "").strip()
        if not item_id:
            continue
        if item_id != raw_id:
            item = {**item, "device_id": item_id}
        kinds[item_kind(item_id)][item_id] = item
    return {kind: list(found.values()) for kind, found in kinds.items()}


def text(value: Any, limit: int) -> str:
    if value is None:
        return ""
    return str(value).strip()[:limit]


def _small_int(value: Any) -> int | None:
    if value is None:
        return None
    try:
        number = value if type(value) is int else int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if 0 <= number <= 32767 else None


def _float(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) <= 1e9 else None  # drop NaN and absurd values


def channel_status(value: Any) -> str:
    return _STATUS_WORDS.get(str(value or "").strip().lower(), ChannelStatus.OFF)


def channel_key(item: dict[str, Any]) -> str:
    return str(item["device_id"])[:32]


def channel_fields(item: dict[str, Any]) -> dict[str, Any]:
    ptz = _small_int(item.get("ptz_type"))
    port = _small_int(item.get("port"))
    raw = item.get("raw")
    return {
        "name": text(item.get("name"), 128),
        "manufacturer": text(item.get("manufacturer"), 64),
        "model": text(item.get("model"), 64),
        "owner": text(item.get("owner"), 64),
        "civil_code": text(item.get("civil_code"), 20),
        "block": text(item.get("block"), 64),
        "address": text(item.get("address"), 256),
        "parental": str(item.get("parental") or "0").strip() in _TRUE_WORDS,
        "parent_id": text(item.get("parent_id"), 256),
        "business_group_id": text(item.get("business_group_id"), 20),
        "safety_way": _small_int(item.get("safety_way")),
        "register_way": _small_int(item.get("register_way")),
        "secrecy": _small_int(item.get("secrecy")),
        "ip_address": text(item.get("ip_address"), 64),
        "port": port if port and port > 0 else None,
        "ptz_type": ptz if ptz in _PTZ_TYPES else PtzType.UNKNOWN,
        "status": channel_status(item.get("status")),
        "longitude": _float(item.get("longitude")),
        "latitude": _float(item.get("latitude")),
        "raw": raw if isinstance(raw, dict) else {},
    }


CHANNEL_FIELDS = tuple(channel_fields({}))


def business_group_fields(item: dict[str, Any]) -> dict[str, Any]:
    raw = item.get("raw")
    return {"name": text(item.get("name"), 128), "raw": raw if isinstance(raw, dict) else {}}


def virtual_organization_fields(item: dict[str, Any]) -> dict[str, Any]:
    raw = item.get("raw")
    return {
        "name": text(item.get("name"), 128),
        "parent_id": text(item.get("parent_id"), 20),
        "business_group_id": text(item.get("business_group_id"), 20),
        "raw": raw if isinstance(raw, dict) else {},
    }
