"""The REST API as a client sees it: authentication, devices, channels and the tree."""

from __future__ import annotations

import pytest

from devices.constants import ChannelStatus
from devices.models import BusinessGroup, Channel, Device, Region, VirtualOrganization

from .factories import make_channel, make_device

pytestmark = pytest.mark.django_db

PROTECTED = [
    "/api/devices/",
    "/api/channels/",
    "/api/tree/",
    "/api/devices/34020000001180000001/",
    "/api/devices/34020000001180000001/channels/",
]


@pytest.mark.parametrize("url", PROTECTED)
def test_anonymous_requests_are_refused(api, url):
    assert api.get(url).status_code == 401


@pytest.mark.parametrize("url", PROTECTED)
def test_a_wrong_token_is_refused(api, url):
    api.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef")
    assert api.get(url).status_code == 401


def test_token_is_issued_for_valid_credentials_and_opens_the_api(api, user):
    answer = api.post("/api/auth/token/", {"username": "operator", "password": "operator-password-1"}, format="json")
    assert answer.status_code == 200
    token = answer.json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/devices/").status_code == 200


def test_token_is_refused_for_a_wrong_password(api, user):
    answer = api.post("/api/auth/token/", {"username": "operator", "password": "nope"}, format="json")
    assert answer.status_code == 400
    assert "token" not in answer.json()


def test_token_request_without_fields_says_what_is_missing(api):
    answer = api.post("/api/auth/token/", {}, format="json")
    assert answer.status_code == 400
    assert set(answer.json()) == {"username", "password"}


def test_session_login_opens_the_api_for_the_browser(api, user):
    api.login(username="operator", password="operator-password-1")
    assert api.get("/api/devices/").status_code == 200


def test_device_list_shows_fields_and_channel_count(auth_api):
    device = make_device(name="Lobby NVR", manufacturer="Hikvision", model="DS-7808", online=True)
    make_channel(device)
    make_channel(device)
    answer = auth_api.get("/api/devices/")
    assert answer.status_code == 200
    body = answer.json()
    assert body["count"] == 1
    item = body["results"][0]
    assert item["device_id"] == device.device_id
    assert item["name"] == "Lobby NVR"
    assert item["manufacturer"] == "Hikvision"
    assert item["model"] == "DS-7808"
    assert item["online"] is True
    assert item["channel_count"] == 2
    assert "password" not in item


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("online=true", {"online-dahua"}),
        ("online=false", {"offline-hik"}),
        ("manufacturer=dahua", {"online-dahua"}),
        ("search=offline", {"offline-hik"}),
        ("search=34020000001180000077", {"offline-hik"}),
    ],
)
def test_device_list_filters(auth_api, query, expected):
    make_device(name="online-dahua", manufacturer="Dahua", online=True)
    make_device(device_id="34020000001180000077", name="offline-hik", manufacturer="Hikvision", online=False)
    names = {item["name"] for item in auth_api.get(f"/api/devices/?{query}").json()["results"]}
    assert names == expected


def test_device_detail_and_unknown_device(auth_api):
    device = make_device()
    assert auth_api.get(f"/api/devices/{device.device_id}/").json()["device_id"] == device.device_id
    assert auth_api.get("/api/devices/34020000001189999999/").status_code == 404


def test_patch_changes_name_and_password_without_revealing_it(auth_api):
    device = make_device(name="old")
    answer = auth_api.patch(
        f"/api/devices/{device.device_id}/", {"name": "大门 NVR", "password": "s3cret"}, format="json"
    )
    assert answer.status_code == 200
    assert answer.json()["name"] == "大门 NVR"
    assert answer.json()["has_password"] is True
    assert "password" not in answer.json()
    device.refresh_from_db()
    assert (device.name, device.password) == ("大门 NVR", "s3cret")


def test_patch_refuses_an_unknown_media_transport(auth_api):
    device = make_device()
    answer = auth_api.patch(f"/api/devices/{device.device_id}/", {"media_transport": "carrier-pigeon"}, format="json")
    assert answer.status_code == 400
    assert "media_transport" in answer.json()


def test_patch_cannot_change_registration_state(auth_api):
    device = make_device(online=False)
    auth_api.patch(f"/api/devices/{device.device_id}/", {"online": True, "source_ip": "10.0.0.1"}, format="json")
    device.refresh_from_db()
    assert device.online is False
    assert device.source_ip is None


def test_delete_removes_the_device_and_its_channels(auth_api):
    device = make_device()
    make_channel(device)
    assert auth_api.delete(f"/api/devices/{device.device_id}/").status_code == 204
    assert not Device.objects.exists()
    assert not Channel.objects.exists()


def test_device_channels_lists_only_that_device(auth_api):
    nvr = make_device()
    other = make_device()
    make_channel(nvr, channel_id="34020000001310000001", name="Gate")
    make_channel(other, channel_id="34020000001310000001", name="Same ID on another NVR")
    answer = auth_api.get(f"/api/devices/{nvr.device_id}/channels/")
    assert answer.status_code == 200
    results = answer.json()["results"]
    assert [(c["channel_id"], c["name"], c["status"]) for c in results] == [("34020000001310000001", "Gate", "on")]


def test_channel_ids_are_unique_per_device_not_globally(auth_api):
    first, second = make_device(), make_device()
    make_channel(first, channel_id="34020000001310000001")
    make_channel(second, channel_id="34020000001310000001")
    assert auth_api.get("/api/channels/?search=34020000001310000001").json()["count"] == 2


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=off", {"Yard"}),
        ("online=true", {"Gate"}),
        ("civil_code=3402", {"Gate"}),
        ("search=yar", {"Yard"}),
    ],
)
def test_channel_list_filters(auth_api, query, expected):
    device = make_device()
    make_channel(device, name="Gate", civil_code="34020000", status=ChannelStatus.ON)
    make_channel(device, name="Yard", civil_code="11010000", status=ChannelStatus.OFF)
    names = {item["name"] for item in auth_api.get(f"/api/channels/?{query}").json()["results"]}
    assert names == expected


def test_tree_is_loaded_one_level_at_a_time(auth_api):
    province = Region.objects.create(civil_code="34", name="安徽省")
    Region.objects.create(civil_code="3402", name="芜湖市", parent=province)
    device = make_device(name="NVR", online=True)
    make_channel(device, name="Gate", civil_code="3402")
    group = BusinessGroup.objects.create(device=device, group_id="34020000002150000001", name="交通")
    org = VirtualOrganization.objects.create(
        device=device, org_id="34020000002160000001", name="路口", business_group_id=group.group_id
    )
    make_channel(device, name="Crossing", parent_id=org.org_id)

    root = auth_api.get("/api/tree/").json()["children"]
    assert [(n["kind"], n["name"]) for n in root] == [("region", "安徽省"), ("business_group", "交通"), ("device", "NVR")]

    cities = auth_api.get("/api/tree/", {"parent": "region:34"}).json()["children"]
    assert [(n["kind"], n["name"]) for n in cities] == [("region", "芜湖市")]
    in_city = auth_api.get("/api/tree/", {"parent": "region:3402"}).json()["children"]
    assert [(n["kind"], n["name"], n["online"]) for n in in_city] == [("channel", "Gate", True)]

    in_group = auth_api.get("/api/tree/", {"parent": f"group:{group.pk}"}).json()["children"]
    assert [(n["kind"], n["name"]) for n in in_group] == [("virtual_organization", "路口")]
    in_org = auth_api.get("/api/tree/", {"parent": f"org:{org.pk}"}).json()["children"]
    assert [(n["kind"], n["name"]) for n in in_org] == [("channel", "Crossing")]

    on_device = auth_api.get("/api/tree/", {"parent": f"device:{device.device_id}"}).json()["children"]
    assert {n["name"] for n in on_device} == {"Gate", "Crossing"}


@pytest.mark.parametrize("parent", ["region:99", "device:00000000000000000000", "group:x", "bogus:1", "nothing"])
def test_tree_answers_404_for_an_unknown_node(auth_api, parent):
    assert auth_api.get("/api/tree/", {"parent": parent}).status_code == 404


def test_openapi_schema_and_docs_are_served(auth_api):
    schema = auth_api.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/devices/" in schema.content
    assert auth_api.get("/api/docs/").status_code == 200
