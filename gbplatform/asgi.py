"""ASGI entry point: `/media/` to the media proxy, other HTTP to Django, WebSockets to Channels."""

from __future__ import annotations

import os
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gbplatform.settings")

from channels.routing import ProtocolTypeRouter, URLRouter
from django.core.asgi import get_asgi_application

django_asgi_app = get_asgi_application()

from .media_proxy import media_proxy_from_settings, media_routed  # noqa: E402
from .routing import websocket_urlpatterns  # noqa: E402
from .ws_auth import AuthStack, BrowserOriginValidator  # noqa: E402


def application_build(django_http: Any) -> ProtocolTypeRouter:
    """The platform around Django's HTTP app. Stream URLs (`/media/...`, HTTP and WebSocket) go to
    the media proxy, which checks their signed token itself and needs no session."""
    media = media_proxy_from_settings()
    channels_ws = BrowserOriginValidator(AuthStack(URLRouter(websocket_urlpatterns)))
    return ProtocolTypeRouter(
        {
            "http": media_routed(media, django_http),
            "websocket": media_routed(media, channels_ws),
        }
    )


application = application_build(django_asgi_app)
