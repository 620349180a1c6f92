"""The web tier asks the gateway over Redis; when no gateway answers, the client is told so."""

from __future__ import annotations

import pytest

from .factories import make_device

pytestmark = pytest.mark.django_db


def test_catalog_refresh_without_a_gateway_answers_503_saying_so(auth_api, settings):
    settings.GATEWAY_COMMAND_TIMEOUT = 0.3
    device = make_device()
    answer = auth_api.post(f"/api/devices/{device.device_id}/catalog/")
    assert answer.status_code == 503
    assert "gateway did not answer" in answer.json()["detail"]
    assert "is it running" in answer.json()["detail"]


def test_catalog_refresh_of_an_unknown_device_is_404(auth_api):
    assert auth_api.post("/api/devices/34020000001189999999/catalog/").status_code == 404


def test_catalog_refresh_needs_authentication(api):
    device = make_device()
    assert api.post(f"/api/devices/{device.device_id}/catalog/").status_code == 401
