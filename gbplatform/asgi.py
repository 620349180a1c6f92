"""ASGI entry point: HTTP goes to Django, WebSockets to Channels consumers."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gbplatform.settings")

from channels.routing import ProtocolTypeRouter, URLRouter
from django.core.asgi import get_asgi_application

django_asgi_app = get_asgi_application()

from .routing import websocket_urlpatterns  # noqa: E402
from .ws_auth import AuthStack, BrowserOriginValidator  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": BrowserOriginValidator(AuthStack(URLRouter(websocket_urlpatterns))),
    }
)
