"""Live video over the REST API: play a channel, list live streams, stop one.

The gateway does the work (INVITE, media worker, keyframe wait; see sip_gateway/play.py); this
layer finds the channel, asks the gateway over Redis, and signs the browser URLs with an expiring
token in the path (media/tokens.py), valid for MEDIA_TOKEN_TTL seconds. By default the URLs point
at the web tier itself, at the scheme and host the client used, and the web tier passes them on
to the stream's media worker (gbplatform/media_proxy.py); MEDIA_PUBLIC_URL picks a fixed base
instead, or "direct" for the worker's own address.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.shortcuts import get_object_or_404
from django.urls import get_script_prefix
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from gbplatform.config import DIRECT
from media.tokens import stream_urls, token_sign

from .. import selectors
from ..constants import MediaTransport
from ..gateway_client import BusError, BusTimeout, CommandFailed, gateway_command
from ..models import Channel, Device
from .serializers import ErrorSerializer

DEFAULT_TOKEN_TTL = 3600
DEFAULT_PLAY_TIMEOUT = 30.0  # seconds: INVITE answer (10) + first keyframe (10) + bus waits, and a margin


class PlayRequestSerializer(serializers.Serializer[dict[str, Any]]):
    transport = serializers.ChoiceField(
        choices=MediaTransport.choices,
        required=False,
        help_text="How RTP flows; default: the device's media_transport.",
    )
    audio = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Carry the camera's audio as AAC; default: the media worker's MEDIA_AUDIO setting. "
        "A play that joins a live stream gets it as it is.",
    )


class StreamSerializer(serializers.Serializer[dict[str, Any]]):
    stream_id = serializers.CharField()
    device_id = serializers.CharField()
    channel_id = serializers.CharField()
    transport = serializers.CharField()
    codec = serializers.CharField(allow_null=True)
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    audio = serializers.BooleanField(
        default=False, help_text="The stream carries an AAC audio track (null codec: audio only)."
    )
    viewers = serializers.IntegerField(help_text="Play requests answered with this stream.")
    hls = serializers.URLField(
        help_text="HLS playlist. Like the other URLs: no login needed, a signed token in the path valid for "
        "MEDIA_TOKEN_TTL seconds, at the address this request was sent to unless MEDIA_PUBLIC_URL says otherwise."
    )
    ws_fmp4 = serializers.CharField(help_text="WebSocket (ws:// or wss://) fMP4 for Media Source Extensions.")
    snapshot = serializers.URLField(help_text="JPEG of the latest keyframe.")


class LiveStreamSerializer(StreamSerializer):
    ssrc = serializers.CharField()
    started_at = serializers.FloatField(help_text="Unix time.")
    ws_viewers = serializers.IntegerField(help_text="WebSocket viewers connected now.")
    stats = serializers.DictField(help_text="The media worker's receive statistics (loss, jitter, bitrate, fps).")


class StreamListSerializer(serializers.Serializer[dict[str, Any]]):
    count = serializers.IntegerField()
    results = LiveStreamSerializer(many=True)


class GatewayFailure(APIException):
    def __init__(self, detail: str, status_code: int) -> None:
        super().__init__(detail)
        self.status_code = status_code


def _gateway(command: str, *, timeout: float | None = None, **args: Any) -> dict[str, Any]:
    try:
        return gateway_command(command, timeout=timeout, **args)
    except BusTimeout as exc:
        raise GatewayFailure(str(exc), status.HTTP_503_SERVICE_UNAVAILABLE) from exc
    except CommandFailed as exc:
        raise GatewayFailure(str(exc), exc.status or status.HTTP_502_BAD_GATEWAY) from exc
    except BusError as exc:
        raise GatewayFailure(str(exc), status.HTTP_503_SERVICE_UNAVAILABLE) from exc


def media_base(request: Request, stream: dict[str, Any]) -> str:
    """Where the client reaches the stream's `/media/` URLs (see MEDIA_PUBLIC_URL)."""
    public = str(getattr(settings, "MEDIA_PUBLIC_URL", ""))
    if public == DIRECT:
        return str(stream["http"])
    return public or request.build_absolute_uri(get_script_prefix())


def with_urls(stream: dict[str, Any], request: Request) -> dict[str, Any]:
    """The stream with its browser URLs, signed now for MEDIA_TOKEN_TTL seconds."""
    ttl = int(getattr(settings, "MEDIA_TOKEN_TTL", DEFAULT_TOKEN_TTL))
    stream_id = str(stream["stream_id"])
    token = token_sign(secret=settings.SECRET_KEY, stream_id=stream_id, expires=int(time.time()) + ttl)
    return {**stream, **stream_urls(http_base=media_base(request, stream), stream_id=stream_id, token=token)}


class ChannelPlayView(APIView):
    @extend_schema(
        operation_id="channel_play",
        tags=["streams"],
        request=PlayRequestSerializer,
        responses={
            200: StreamSerializer,
            404: ErrorSerializer,
            409: ErrorSerializer,
            415: ErrorSerializer,
            502: ErrorSerializer,
            503: ErrorSerializer,
            504: ErrorSerializer,
        },
        description="Start live video of a channel (or join it when it is already live) and answer once "
        "the first keyframe has arrived. 409: the device is not registered; 502: it refused the INVITE "
        "(the SIP status is in `detail`); 504: no answer or no video in time; 503: no media worker or no "
        "free RTP port; 415: the channel sends audio only and audio is off (with audio on, it plays as "
        "audio-only HLS and fMP4, codec, width and height null).",
    )
    def post(self, request: Request, device_id: str, channel_id: str) -> Response:
        device = get_object_or_404(Device, device_id=device_id)
        channel = get_object_or_404(Channel, device=device, channel_id=channel_id)
        form = PlayRequestSerializer(data=request.data or {})
        form.is_valid(raise_exception=True)
        transport = form.validated_data.get("transport") or device.media_transport
        timeout = float(getattr(settings, "STREAM_PLAY_TIMEOUT", DEFAULT_PLAY_TIMEOUT))
        options = {} if form.validated_data.get("audio") is None else {"audio": form.validated_data["audio"]}
        stream = _gateway(
            "stream.play",
            timeout=timeout,
            device_id=device.device_id,
            channel_id=channel.channel_id,
            transport=transport,
            **options,
        )
        return Response(StreamSerializer(with_urls(stream, request)).data)


class StreamListView(APIView):
    @extend_schema(operation_id="stream_list", tags=["streams"], responses={200: StreamListSerializer})
    def get(self, request: Request) -> Response:
        """Live streams with their statistics. Without a gateway, the last known list (no statistics)."""
        results = [LiveStreamSerializer(with_urls(stream, request)).data for stream in selectors.streams_live()]
        return Response({"count": len(results), "results": results})


class StreamDetailView(APIView):
    @extend_schema(
        operation_id="stream_stop", tags=["streams"], responses={204: None, 404: ErrorSerializer, 503: ErrorSerializer}
    )
    def delete(self, request: Request, stream_id: str) -> Response:
        """Stop a live stream for every viewer: BYE to the device, the RTP port released."""
        _gateway("stream.stop", stream_id=stream_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
