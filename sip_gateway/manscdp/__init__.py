"""MANSCDP: the XML application protocol carried in GB/T 28181 MESSAGE and NOTIFY bodies.

Pure functions and values: `parse_manscdp` for what arrives, `build` / `device_build` for
what we send, `catalog_assembly` for multi-message answers, `ptz` and `ids` helpers.
"""

from .catalog_assembly import Assembled, CatalogAssembler, RecordInfoAssembler, ResponseAssembler
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
from .parse import parse_manscdp
from .xml_decode import ManscdpError

__all__ = [
    "AlarmNotify",
    "AlarmResponse",
    "AlarmStatusItem",
    "Assembled",
    "BroadcastNotify",
    "BroadcastResponse",
    "CatalogAssembler",
    "CatalogItem",
    "CatalogResponse",
    "DeviceControl",
    "DeviceControlResponse",
    "DeviceInfoResponse",
    "DeviceStatusResponse",
    "Envelope",
    "Keepalive",
    "ManscdpError",
    "MediaStatusNotify",
    "Message",
    "MobilePositionNotify",
    "Position",
    "Query",
    "RecordInfoAssembler",
    "RecordInfoResponse",
    "RecordItem",
    "ResponseAssembler",
    "Unknown",
    "parse_manscdp",
]
