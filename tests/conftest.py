"""Shared fixtures. The suite talks to a real Redis (REDIS_URL) and to the database in
DATABASE_URL (SQLite by default, PostgreSQL in CI)."""

from __future__ import annotations

import os
import uuid

# Isolate this run's Redis keys from a platform running on the same Redis.
os.environ.setdefault("REDIS_KEY_PREFIX", f"gbtest-{uuid.uuid4().hex[:8]}:")
os.environ.setdefault("SIP_PASSWORD", "test-device-password")

import pytest
import uvloop


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> dict[str, object]:
    """Async tests run on uvloop, as the gateway and media worker do in production."""
    return {"uvloop": uvloop.new_event_loop}


@pytest.fixture
def user(django_user_model):  # type: ignore[no-untyped-def]
    return django_user_model.objects.create_user(username="operator", password="operator-password-1")


@pytest.fixture
def token(user):  # type: ignore[no-untyped-def]
    from rest_framework.authtoken.models import Token

    return Token.objects.create(user=user)


@pytest.fixture
def api():  # type: ignore[no-untyped-def]
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def auth_api(api, token):  # type: ignore[no-untyped-def]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return api
