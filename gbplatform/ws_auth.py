"""WebSocket authentication: a Django session cookie, or `?token=<API token>` for clients that
cannot set headers on a WebSocket handshake."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.security.websocket import OriginValidator
from django.conf import settings
from django.contrib.auth.models import AnonymousUser


@database_sync_to_async
def user_for_token(token: str) -> Any:
    from rest_framework.authtoken.models import Token

    try:
        return Token.objects.select_related("user").get(key=token).user
    except Token.DoesNotExist:
        return AnonymousUser()


class TokenAuthMiddleware:
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        tokens = query.get("token")
        user = scope.get("user")
        if tokens and (user is None or not user.is_authenticated):
            user = await user_for_token(tokens[0])
            if user.is_active or isinstance(user, AnonymousUser):
                scope = {**scope, "user": user}
        return await self.inner(scope, receive, send)


def AuthStack(inner: Any) -> Any:
    return AuthMiddlewareStack(TokenAuthMiddleware(inner))


class _OriginOptionalValidator(OriginValidator):
    """Browsers always send Origin, so a cross-site page is refused; clients that are not
    browsers send none and authenticate with a token instead."""

    def valid_origin(self, parsed_origin: Any) -> bool:
        if parsed_origin is None:
            return True
        return bool(super().valid_origin(parsed_origin))


def BrowserOriginValidator(inner: Any) -> Any:
    allowed = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not allowed:
        allowed = ["localhost", "127.0.0.1", "[::1]"]
    return _OriginOptionalValidator(inner, allowed)
