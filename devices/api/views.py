from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import selectors, services
from ..filtersets import ChannelFilterSet, DeviceFilterSet
from ..gateway_client import BusError, BusTimeout, CommandFailed, gateway_command
from ..models import Channel, Device
from .serializers import (
    ChannelSerializer,
    DeviceSerializer,
    DeviceUpdateSerializer,
    ErrorSerializer,
    GatewayCommandSerializer,
    TreeNodeSerializer,
)


class DeviceViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[Device],
):
    """Devices that registered (or were provisioned) with the platform."""

    serializer_class = DeviceSerializer
    filterset_class = DeviceFilterSet
    lookup_field = "device_id"
    lookup_value_regex = r"\d{20}"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> Any:
        return selectors.device_list()

    @extend_schema(request=DeviceUpdateSerializer, responses=DeviceSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        device = self.get_object()
        form = DeviceUpdateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        services.device_update(device=device, **form.validated_data)
        return Response(self.get_serializer(self.get_queryset().get(pk=device.pk)).data)

    def perform_destroy(self, instance: Device) -> None:
        services.device_delete(device=instance)

    @extend_schema(
        request=None,
        responses={202: GatewayCommandSerializer, 409: ErrorSerializer, 502: ErrorSerializer, 503: ErrorSerializer},
        description="Ask the device for its catalog again. Progress arrives on /ws/events/ as "
        "`catalog.progress` events, then `catalog.updated`.",
    )
    @action(detail=True, methods=["post"], url_path="catalog")
    def catalog(self, request: Request, device_id: str | None = None) -> Response:
        return gateway_answer("catalog.refresh", device_id=self.get_object().device_id)

    @extend_schema(
        request=None,
        responses={202: GatewayCommandSerializer, 409: ErrorSerializer, 502: ErrorSerializer, 503: ErrorSerializer},
        description="Ask the device for its DeviceInfo and DeviceStatus again.",
    )
    @action(detail=True, methods=["post"], url_path="query")
    def query(self, request: Request, device_id: str | None = None) -> Response:
        return gateway_answer("device.query", device_id=self.get_object().device_id)


def gateway_answer(command: str, **args: Any) -> Response:
    """Run a gateway command and turn its failure into the status a client can act on."""
    try:
        result = gateway_command(command, **args)
    except BusTimeout as exc:
        return Response({"detail": str(exc)}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
    except CommandFailed as exc:
        return Response({"detail": str(exc)}, status=exc.status or status.HTTP_502_BAD_GATEWAY)
    except BusError as exc:
        return Response({"detail": str(exc)}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
    return Response(result, status=status.HTTP_202_ACCEPTED)



class DeviceChannelListView(generics.ListAPIView[Channel]):
    """The channels of one device."""

    serializer_class = ChannelSerializer
    filterset_class = ChannelFilterSet

    def get_queryset(self) -> Any:
        device = get_object_or_404(Device, device_id=self.kwargs["device_id"])
        return selectors.channel_list().filter(device=device)


class ChannelViewSet(viewsets.ReadOnlyModelViewSet[Any]):
    """Channels of every device, filterable by device, status, region, group and text."""

    serializer_class = ChannelSerializer
    filterset_class = ChannelFilterSet

    def get_queryset(self) -> Any:
        return selectors.channel_list()


class TreeView(APIView):
    """One level of the device tree, for lazy loading."""

    @extend_schema(
        parameters=[
            OpenApiParameter("parent", str, description="Node id from a previous answer; omit for the root."),
            OpenApiParameter("limit", int),
            OpenApiParameter("offset", int),
        ],
        responses=TreeNodeSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        parent = request.query_params.get("parent") or None
        try:
            limit = min(max(int(request.query_params.get("limit", 500)), 1), 5000)
            offset = max(int(request.query_params.get("offset", 0)), 0)
        except ValueError as exc:
            raise ValidationError({"limit": "limit and offset must be integers"}) from exc
        try:
            nodes = selectors.tree_children(parent, limit=limit, offset=offset)
        except selectors.UnknownTreeNode as exc:
            raise NotFound(f"no tree node {exc.args[0]!r}") from exc
        return Response({"parent": parent, "children": [node.as_dict() for node in nodes]}, status=status.HTTP_200_OK)
