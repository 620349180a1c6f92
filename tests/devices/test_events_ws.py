"""/ws/events/: authenticated clients receive platform events as JSON."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from devices import events
from gbplatform.asgi import application

pytestmark = [pytest.mark.django_db(transaction=True)]


async def test_anonymous_websocket_is_refused():
    communicator = WebsocketCommunicator(application, "/ws/events/")
    connected, _ = await communicator.connect()
    assert connected is False


async def test_a_wrong_token_is_refused():
    communicator = WebsocketCommunicator(application, "/ws/events/?token=not-a-token")
    connected, _ = await communicator.connect()
    assert connected is False


async def test_cross_site_browser_origin_is_refused(token):
    communicator = WebsocketCommunicator(
        application, f"/ws/events/?token={token.key}", headers=[(b"origin", b"https://evil.example")]
    )
    connected, _ = await communicator.connect()
    assert connected is False


async def test_token_client_receives_published_events(token):
    communicator = WebsocketCommunicator(application, f"/ws/events/?token={token.key}")
    connected, _ = await communicator.connect()
    assert connected
    assert (await communicator.receive_json_from(timeout=5))["type"] == "hello"

    await events.event_publish_async(events.DEVICE_ONLINE, device_id="34020000001180000001")
    event = await communicator.receive_json_from(timeout=5)
    assert event["type"] == "device.online"
    assert event["device_id"] == "34020000001180000001"
    assert "at" in event
    await communicator.disconnect()


async def test_session_client_receives_events_from_sync_code(user):
    from django.test import Client

    client = Client()
    await database_sync_to_async(client.force_login)(user)
    cookie = client.cookies["sessionid"].value
    communicator = WebsocketCommunicator(
        application,
        "/ws/events/",
        headers=[(b"cookie", f"sessionid={cookie}".encode()), (b"origin", b"http://127.0.0.1")],
    )
    connected, _ = await communicator.connect()
    assert connected
    await communicator.receive_json_from(timeout=5)
    await database_sync_to_async(events.event_publish)(events.DEVICE_OFFLINE, device_id="1", reason="test")
    event = await communicator.receive_json_from(timeout=5)
    assert (event["type"], event["reason"]) == ("device.offline", "test")
    await communicator.send_json_to({"type": "ping"})
    assert (await communicator.receive_json_from(timeout=5))["type"] == "pong"
    await communicator.disconnect()
