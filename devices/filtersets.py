"""Filters shared by the REST API and the console."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from .constants import ChannelStatus
from .models import Channel, Device


class DeviceFilterSet(django_filters.FilterSet):
    online = django_filters.BooleanFilter()
    manufacturer = django_filters.CharFilter(lookup_expr="iexact")
    search = django_filters.CharFilter(method="filter_search", label="Search by ID or name")

    class Meta:
        model = Device
        fields = ["online", "manufacturer", "transport"]

    def filter_search(self, queryset: QuerySet[Device], name: str, value: str) -> QuerySet[Device]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(device_id__icontains=value) | Q(name__icontains=value))


class ChannelFilterSet(django_filters.FilterSet):
    device = django_filters.CharFilter(field_name="device__device_id")
    status = django_filters.ChoiceFilter(choices=ChannelStatus.choices)
    civil_code = django_filters.CharFilter(field_name="civil_code", lookup_expr="startswith")
    parent_id = django_filters.CharFilter(field_name="parent_id", lookup_expr="exact")
    business_group_id = django_filters.CharFilter()
    online = django_filters.BooleanFilter(method="filter_online", label="Channel status is ON")
    search = django_filters.CharFilter(method="filter_search", label="Search by ID or name")

    class Meta:
        model = Channel
        fields = ["device", "status", "civil_code", "parent_id", "business_group_id", "ptz_type"]

    def filter_online(self, queryset: QuerySet[Channel], name: str, value: bool) -> QuerySet[Channel]:
        if value:
            return queryset.filter(status=ChannelStatus.ON)
        return queryset.exclude(status=ChannelStatus.ON)

    def filter_search(self, queryset: QuerySet[Channel], name: str, value: str) -> QuerySet[Channel]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(channel_id__icontains=value) | Q(name__icontains=value))
