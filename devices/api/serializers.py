from __future__ import annotations

from rest_framework import serializers

from ..models import Channel, Device


class DeviceSerializer(serializers.ModelSerializer[Device]):
    channel_count = serializers.IntegerField(read_only=True)
    password = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=64)
    has_password = serializers.SerializerMethodField()

    class Meta:
        model = Device
        fields = [
            "device_id",
            "name",
            "manufacturer",
            "model",
            "firmware",
            "transport",
            "media_transport",
            "source_ip",
            "source_port",
            "online",
            "registered_at",
            "expires_at",
            "last_keepalive_at",
            "charset",
            "gb_version",
            "user_agent",
            "catalog_state",
            "catalog_synced_at",
            "channel_count",
            "password",
            "has_password",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            field for field in fields if field not in {"device_id", "name", "media_transport", "password"}
        ]

    def get_has_password(self, device: Device) -> bool:
        return bool(device.password)


class DeviceUpdateSerializer(serializers.Serializer[Device]):
    name = serializers.CharField(required=False, allow_blank=True, max_length=128)
    password = serializers.CharField(required=False, allow_blank=True, max_length=64, write_only=True)
    media_transport = serializers.ChoiceField(
        required=False, choices=Device._meta.get_field("media_transport").choices or []
    )


class ChannelSerializer(serializers.ModelSerializer[Channel]):
    device_id = serializers.CharField(source="device.device_id", read_only=True)

    class Meta:
        model = Channel
        fields = [
            "device_id",
            "channel_id",
            "name",
            "manufacturer",
            "model",
            "owner",
            "civil_code",
            "block",
            "address",
            "parental",
            "parent_id",
            "business_group_id",
            "safety_way",
            "register_way",
            "secrecy",
            "ip_address",
            "port",
            "ptz_type",
            "status",
            "longitude",
            "latitude",
            "raw",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class TreeNodeSerializer(serializers.Serializer[dict[str, object]]):
    id = serializers.CharField()
    kind = serializers.CharField()
    name = serializers.CharField()
    has_children = serializers.BooleanField()
    online = serializers.BooleanField(allow_null=True)
    device_id = serializers.CharField(allow_null=True)
    channel_id = serializers.CharField(allow_null=True)
    status = serializers.CharField(allow_null=True)


class TokenRequestSerializer(serializers.Serializer[dict[str, str]]):
    username = serializers.CharField()
    password = serializers.CharField()


class TokenResponseSerializer(serializers.Serializer[dict[str, str]]):
    token = serializers.CharField()


class ErrorSerializer(serializers.Serializer[dict[str, str]]):
    detail = serializers.CharField()


class GatewayCommandSerializer(serializers.Serializer[dict[str, object]]):
    device_id = serializers.CharField()
    sn = serializers.IntegerField(required=False)
