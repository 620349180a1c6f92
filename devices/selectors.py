"""Functions that read devices, channels and the device tree."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet

from gbplatform.redis_client import get_redis, key

from .constants import ChannelStatus
from .gateway_client import BusError, gateway_command
from .models import BusinessGroup, Channel, Device, Region, VirtualOrganization


def device_list() -> QuerySet[Device]:
    return Device.objects.annotate(channel_count=Count("channels"))


def channel_list() -> QuerySet[Channel]:
    return Channel.objects.select_related("device")


def streams_live() -> list[dict[str, Any]]:
    """Live streams with their statistics, as the gateway knows them; without a gateway, the last
    known list it left in Redis (no statistics)."""
    try:
        return list(gateway_command("streams.list")["streams"])
    except BusError:
        raw = get_redis().hgetall(key("stream", "live"))
        return [{**json.loads(value), "stats": {}} for value in raw.values()]


@dataclass(frozen=True)
class TreeNode:
    """One node of the lazily loaded device tree. `id` is what to pass back as `parent`."""

    id: str
    kind: str
    name: str
    has_children: bool
    online: bool | None = None
    device_id: str | None = None
    channel_id: str | None = None
    status: str | None = None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


class UnknownTreeNode(LookupError):
    pass


def _region_nodes(regions: QuerySet[Region]) -> list[TreeNode]:
    return [
        TreeNode(
            id=f"region:{region.civil_code}",
            kind="region",
            name=region.name or region.civil_code,
            has_children=True,
        )
        for region in regions
    ]


def _channel_nodes(channels: QuerySet[Channel]) -> list[TreeNode]:
    return [
        TreeNode(
            id=f"channel:{channel.device.device_id}:{channel.channel_id}",
            kind="channel",
            name=channel.name or channel.channel_id,
            has_children=False,
            online=channel.status == ChannelStatus.ON,
            device_id=channel.device.device_id,
            channel_id=channel.channel_id,
            status=channel.status,
        )
        for channel in channels.select_related("device")
    ]


def tree_children(parent: str | None, *, limit: int = 500, offset: int = 0) -> list[TreeNode]:
    """Children of one tree node: the root holds top-level regions, business groups and devices;
    a region holds its sub-regions and the channels in it; a group or organisation holds its
    organisations and channels; a device holds its channels."""
    window = slice(offset, offset + limit)
    if not parent:
        top_regions = Region.objects.filter(parent__isnull=True)
        groups = BusinessGroup.objects.select_related("device")
        devices = device_list().order_by("device_id")
        nodes = _region_nodes(top_regions)
        nodes += [
            TreeNode(id=f"group:{group.pk}", kind="business_group", name=group.name or group.group_id, has_children=True)
            for group in groups
        ]
        nodes += [
            TreeNode(
                id=f"device:{device.device_id}",
                kind="device",
                name=device.name or device.device_id,
                has_children=device.channel_count > 0,  # type: ignore[attr-defined]
                online=device.online,
                device_id=device.device_id,
            )
            for device in devices
        ]
        return nodes[window]
    kind, _, ident = parent.partition(":")
    if kind == "region":
        region = Region.objects.filter(civil_code=ident).first()
        if region is None:
            raise UnknownTreeNode(parent)
        return (_region_nodes(region.children.all()) + _channel_nodes(Channel.objects.filter(civil_code=ident)))[window]
    if kind == "device":
        if not Device.objects.filter(device_id=ident).exists():
            raise UnknownTreeNode(parent)
        return _channel_nodes(Channel.objects.filter(device__device_id=ident)[window])
    if kind in {"group", "org"}:
        return _folder_children(kind, ident)[window]
    raise UnknownTreeNode(parent)


def _folder_children(kind: str, ident: str) -> list[TreeNode]:
    if not ident.isdigit():
        raise UnknownTreeNode(f"{kind}:{ident}")
    if kind == "group":
        group = BusinessGroup.objects.filter(pk=int(ident)).first()
        if group is None:
            raise UnknownTreeNode(f"group:{ident}")
        orgs = VirtualOrganization.objects.filter(device=group.device, business_group_id=group.group_id).filter(
            Q(parent_id="") | Q(parent_id=group.group_id)
        )
        channels = Channel.objects.filter(device=group.device, parent_id=group.group_id)
    else:
        org = VirtualOrganization.objects.filter(pk=int(ident)).first()
        if org is None:
            raise UnknownTreeNode(f"org:{ident}")
        orgs = VirtualOrganization.objects.filter(device=org.device, parent_id=org.org_id)
        channels = Channel.objects.filter(device=org.device).filter(
            Q(parent_id=org.org_id) | Q(parent_id__endswith=f"/{org.org_id}") | Q(parent_id__startswith=f"{org.org_id}/")
        )
    nodes = [
        TreeNode(id=f"org:{org_item.pk}", kind="virtual_organization", name=org_item.name or org_item.org_id, has_children=True)
        for org_item in orgs
    ]
    return nodes + _channel_nodes(channels)
