"""The device core against the in-memory platform stub: registration, keepalive, queries, INVITE."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from gbsim.actions import ControlMedia, RegistrationChanged, SendRequest, StartMedia, StopMedia
from gbsim.config import DeviceConfig, Timing, channel_ids, device_ids
from gbsim.device import DeviceCore
from gbsim.profiles import PROFILES
from sip_gateway.core.digest import DigestCredentials
from sip_gateway.core.message import Request
from sip_gateway.core.responses import make_response
from sip_gateway.manscdp import (
    CatalogAssembler,
    CatalogResponse,
    DeviceInfoResponse,
    DeviceStatusResponse,
    MediaStatusNotify,
    RecordInfoResponse,
    parse_manscdp,
)
from sip_gateway.manscdp.build import (
    control_ptz,
    control_record,
    query_catalog,
    query_device_info,
    query_device_status,
    query_record_info,
)
from sip_gateway.manscdp.ptz import PtzOp, move, preset
from sip_gateway.sdp import Transport, parse_answer
from tests.gbsim.platform_stub import DOMAIN, PASSWORD, SERVER_ID, PlatformStub, Wire

TIMING = Timing(
    expires=600, keepalive_interval=30, keepalive_misses=3, retry_min=2, retry_max=16, request_timeout=10
)


def make_device(channels: int = 4, profile: str = "standard", **options: object) -> DeviceCore:
    """A device with 4 channels; `options` override DeviceConfig fields."""
    cfg = DeviceConfig(
        device_id=device_ids("34020000", 1)[0],
        channel_ids=channel_ids("34020000", 0, channels),
        server_id=SERVER_ID,
        domain=DOMAIN,
        password=PASSWORD,
        profile=PROFILES[profile],
        timing=TIMING,
    )
    cfg = replace(cfg, **options)  # type: ignore[arg-type]
    return DeviceCore(cfg, seed=7, wall_offset=datetime(2024, 5, 1, 12).timestamp())


def registered_pair(
    channels: int = 4, profile: str = "standard", **options: object
) -> tuple[DeviceCore, PlatformStub, Wire]:
    device = make_device(channels, profile, **options)
    stub = PlatformStub()
    wire = Wire(stub, device)
    device.start(0.0)
    wire.pump(0.0)
    assert device.registered
    return device, stub, wire


def test_register_is_challenged_then_accepted_with_digest() -> None:
    device, stub, wire = registered_pair()
    registers = [r for r in wire.sent if r.method == "REGISTER"]
    assert len(registers) == 2 and stub.challenges == 1
    assert "Authorization" not in registers[0].headers
    creds = DigestCredentials.parse(registers[1].headers.get("Authorization") or "")
    assert creds.username == device.cfg.device_id and creds.realm == DOMAIN and creds.qop == "auth"
    assert registers[1].call_id == registers[0].call_id
    assert registers[1].cseq.number == registers[0].cseq.number + 1
    assert stub.registered[device.cfg.device_id].startswith(f"sip:{device.cfg.device_id}@127.0.0.1")
    assert RegistrationChanged(device.cfg.device_id, True, "registered") in wire.actions


def test_digest_without_qop_and_without_algorithm_for_hikvision() -> None:
    device = make_device(profile="hikvision")
    stub = PlatformStub(qop=False, algorithm_in_challenge=False)
    wire = Wire(stub, device)
    device.start(0.0)
    wire.pump(0.0)
    assert device.registered
    value = wire.sent[1].headers.get("Authorization") or ""
    assert "algorithm" not in value and "qop" not in value


def test_wrong_password_backs_off_and_retries() -> None:
    device = make_device(password="wrong")
    stub = PlatformStub()
    wire = Wire(stub, device)
    device.start(0.0)
    wire.pump(0.0)
    assert not device.registered
    first_retry = device.deadline
    assert 1.5 <= first_retry <= 2.5
    wire.run(until=60.0, now=0.0)
    times = len([r for r in wire.sent if r.method == "REGISTER"])
    # 2 s, 4 s, 8 s, 16 s, 16 s... each attempt is REGISTER + challenged retry.
    assert 8 <= times <= 14


def test_keepalives_at_the_interval_and_refresh_before_expiry() -> None:
    device, stub, wire = registered_pair()
    wire.run(until=600.0)
    assert stub.keepalives[device.cfg.device_id] == 20
    registers = [r for r in wire.sent if r.method == "REGISTER"]
    # Refresh at 80 % of 600 s on the same Call-ID; our stub challenges every REGISTER.
    assert len(registers) == 4
    assert {r.call_id for r in registers} == {registers[0].call_id}
    assert device.registered


def test_platform_restart_leads_to_re_registration() -> None:
    device, stub, wire = registered_pair()
    wire.run(until=31.0)
    stub.restart()  # forgets us: the next keepalive is refused with 403
    wire.run(until=64.0, now=31.0)
    assert device.registered and device.cfg.device_id in stub.registered
    assert device.reg.registrations == 2
    assert any(isinstance(a, RegistrationChanged) and not a.registered for a in wire.actions)


def test_platform_down_keepalive_misses_then_register_with_backoff() -> None:
    device, stub, wire = registered_pair()
    stub.up = False
    wire.run(until=200.0)
    assert not device.registered
    stub.up = True
    stub.restart()
    wire.run(until=320.0, now=200.0)
    assert device.registered


@pytest.mark.parametrize("charset", ["GB2312", "GB18030", "UTF-8"])
def test_catalog_one_item_per_message_with_non_ascii_names(charset: str) -> None:
    device, stub, wire = registered_pair(channels=5, catalog_per_message=1, charset=charset)
    query = stub.request("MESSAGE", device.cfg.device_id, query_catalog(11, device.cfg.device_id))
    answers = wire.deliver(device, query, 1.0)
    assert [r.status for r in answers] == [200]
    chunks = [m for m in stub.messages if isinstance(m, CatalogResponse)]
    assert len(chunks) == 5 and all(c.sum_num == 5 and c.num == 1 and c.sn == 11 for c in chunks)
    assembler = CatalogAssembler()
    assembled = [assembler.feed(c, 1.0) for c in chunks][-1]
    assert assembled is not None and assembled.complete
    names = [item.name for item in assembled.items]
    assert names[4] == "堃园路口 05"  # 堃 is not in GB2312: the bytes are GB18030
    assert f'encoding="{charset}"'.encode() in stub.raw_bodies[-1]


def test_catalog_messages_go_one_at_a_time_each_after_the_previous_is_answered() -> None:
    device, stub, _ = registered_pair(channels=3, catalog_per_message=1)
    device.outbox.clear()
    device.on_request(stub.request("MESSAGE", device.cfg.device_id, query_catalog(12, device.cfg.device_id)), 1.0)

    def sent() -> list[SendRequest]:
        return [action for action in device.outbox if isinstance(action, SendRequest)]

    (first,) = sent()
    device.prepare_next()  # built while the first waits for its answer, not sent
    assert len(sent()) == 1
    device.on_response(make_response(first.request, 200), 1.1)
    second = sent()[1]
    bodies = [parse_manscdp(action.request.body) for action in (first, second)]
    assert [m.items[0].device_id for m in bodies if isinstance(m, CatalogResponse)] == list(device.cfg.channel_ids[:2])
    device.on_response(make_response(second.request, 200), 1.2)
    device.on_response(make_response(sent()[2].request, 200), 1.3)
    assert len(sent()) == 3 and not device.next_unprepared


def test_hikvision_profile_quirks_in_bodies() -> None:
    device, stub, wire = registered_pair(channels=3, profile="hikvision", catalog_per_message=8)
    wire.deliver(
        device, stub.request("MESSAGE", device.cfg.device_id, query_catalog(3, device.cfg.device_id)), 1
    )
    bodies = [b for b in stub.raw_bodies if b"<CmdType>Catalog" in b]
    assert len(bodies) == 3  # the profile forces one per message
    assert all(b'encoding="gb2312"' in b and b"Num=" not in b for b in bodies)
    first = parse_manscdp(bodies[0])
    assert isinstance(first, CatalogResponse) and first.sum_num == 3 and first.num is None


def test_device_info_status_record_info_and_ptz_control() -> None:
    device, stub, wire = registered_pair(channels=2, record_segment=3600, record_per_message=4)
    dev, ch = device.cfg.device_id, device.cfg.channel_ids[0]
    wire.deliver(device, stub.request("MESSAGE", dev, query_device_info(1, dev)), 1)
    info = stub.messages[-1]
    assert isinstance(info, DeviceInfoResponse) and info.channel == 2 and info.manufacturer == "gbsim"

    wire.deliver(device, stub.request("MESSAGE", ch, control_ptz(2, ch, move(pan=1))), 2)
    wire.deliver(device, stub.request("MESSAGE", ch, control_record(3, ch, start=True)), 3)
    assert stub.messages[-1].cmd_type == "DeviceControl"  # RecordCmd gets a Result, PTZ does not
    assert device.state.channels[ch].ptz.pan == 1
    wire.deliver(device, stub.request("MESSAGE", ch, query_device_status(4, ch)), 4)
    status = stub.messages[-1]
    assert isinstance(status, DeviceStatusResponse) and status.record == "ON" and status.online

    start, end = datetime(2024, 5, 1, 0, 30), datetime(2024, 5, 1, 10, 0)
    wire.deliver(device, stub.request("MESSAGE", ch, query_record_info(5, ch, start, end)), 5)
    records = [m for m in stub.messages if isinstance(m, RecordInfoResponse)]
    assert len(records) == 3 and all(r.sum_num == 10 for r in records)
    items = [item for r in records for item in r.items]
    assert items[0].start_time == start and items[-1].end_time == end


def catalog_subscribe(stub: PlatformStub, device: DeviceCore) -> Request:
    """The platform's SUBSCRIBE to the device's catalog, for 600 s."""
    return stub.request(
        "SUBSCRIBE",
        device.cfg.device_id,
        query_catalog(9, device.cfg.device_id),
        extra=[("Event", "Catalog;id=1"), ("Expires", "600")],
    )


def test_catalog_subscription_sends_notify_in_the_dialog() -> None:
    device, stub, wire = registered_pair(channels=2, catalog_per_message=2)
    sub = catalog_subscribe(stub, device)
    answers = wire.deliver(device, sub, 1.0)
    assert answers[0].status == 200 and answers[0].to_addr.tag
    notify = [r for r in wire.sent if r.method == "NOTIFY"]
    assert len(notify) == 1 and notify[0].call_id == sub.call_id
    assert notify[0].headers.get("Subscription-State") == "active;expires=600"
    message = parse_manscdp(notify[0].body)
    assert (
        isinstance(message, CatalogResponse) and message.root == "Notify" and message.items[0].event == "ON"
    )


@pytest.mark.parametrize("profile", ["standard", "dahua"])
def test_live_invite_answer_ack_start_and_bye_stop(profile: str) -> None:
    device, stub, wire = registered_pair(profile=profile)
    ch = device.cfg.channel_ids[1]
    invite = stub.invite(ch, port=40000, ssrc="0100000007")
    answers = wire.deliver(device, invite, 1.0)
    statuses = [r.status for r in answers]
    assert statuses == ([101, 200] if profile == "dahua" else [200])
    sdp = parse_answer(answers[-1].body)
    assert sdp.ssrc == "0100000007" and sdp.direction == "sendonly" and sdp.payload_types == (96,)
    assert sdp.origin_user == ch and sdp.port == 30000
    assert (sdp.attribute("streamprofile") is not None) == (profile == "dahua")
    assert not any(isinstance(a, StartMedia) for a in wire.actions)
    wire.deliver(device, stub.in_dialog("ACK", invite, answers[-1]), 1.1)
    start = [a for a in wire.actions if isinstance(a, StartMedia)]
    assert len(start) == 1
    plan = start[0].plan
    assert (plan.remote_host, plan.remote_port, plan.ssrc, plan.transport) == (
        "127.0.0.1",
        40000,
        100000007,
        Transport.UDP,
    )
    bye = wire.deliver(device, stub.in_dialog("BYE", invite, answers[-1], cseq=2), 5.0)
    assert bye[0].status == 200 and StopMedia(invite.call_id) in wire.actions


@pytest.mark.parametrize(
    ("offer", "ours"),
    [(Transport.TCP_PASSIVE, Transport.TCP_ACTIVE), (Transport.TCP_ACTIVE, Transport.TCP_PASSIVE)],
)
def test_tcp_offer_gets_the_opposite_setup(offer: Transport, ours: Transport) -> None:
    device, stub, wire = registered_pair()
    invite = stub.invite(device.cfg.channel_ids[0], port=40002, transport=offer)
    sdp = parse_answer(wire.deliver(device, invite, 1.0)[-1].body)
    assert sdp.proto == "TCP/RTP/AVP" and sdp.setup == ours.setup


def test_playback_info_controls_and_media_status_at_the_end() -> None:
    device, stub, wire = registered_pair()
    ch = device.cfg.channel_ids[0]
    invite = stub.invite(
        ch, port=40004, ssrc="1100000001", session="Playback", start=1714500000, end=1714500060
    )
    answer = wire.deliver(device, invite, 1.0)[-1]
    wire.deliver(device, stub.in_dialog("ACK", invite, answer), 1.0)
    plan = next(a for a in wire.actions if isinstance(a, StartMedia)).plan
    assert plan.is_history and plan.duration == 60
    info = stub.in_dialog("INFO", invite, answer, b"PLAY RTSP/1.0\r\nCSeq: 3\r\nScale: 2.0\r\n", cseq=3)
    assert wire.deliver(device, info, 2.0)[0].status == 200
    control = [a for a in wire.actions if isinstance(a, ControlMedia)]
    assert control[-1].command.scale == 2.0
    device.media_finished(invite.call_id, 30.0)
    wire.pump(30.0)
    last = wire.sent[-1]
    assert last.method == "MESSAGE" and last.call_id == invite.call_id
    assert last.to_addr.tag == "ptag"
    status = parse_manscdp(last.body)
    assert isinstance(status, MediaStatusNotify) and status.is_end_of_file


def test_invite_for_unknown_channel_is_404_and_bad_sdp_is_488() -> None:
    device, stub, wire = registered_pair()
    assert wire.deliver(device, stub.invite("34020000001310999999", port=40000), 1)[0].status == 404
    bad = stub.request(
        "INVITE", device.cfg.channel_ids[0], b"v=0\r\ns=Play\r\n", content_type="application/sdp"
    )
    assert wire.deliver(device, bad, 1)[0].status == 488


def test_alarm_and_mobile_position_on_demand() -> None:
    device, stub, wire = registered_pair()
    device.raise_alarm(5.0, channel_id=device.cfg.channel_ids[0], priority=2)
    device.send_position(5.0, 116.39, 39.9)
    wire.pump(5.0)
    kinds = [m.cmd_type for m in stub.messages[-2:]]
    assert kinds == ["Alarm", "MobilePosition"]


def test_presets_set_by_ptz_are_listed_by_preset_query() -> None:
    device, stub, wire = registered_pair(channels=1)
    ch = device.cfg.channel_ids[0]
    for sn, cmd in enumerate(
        [preset(PtzOp.PRESET_SET, 3), preset(PtzOp.PRESET_SET, 7), preset(PtzOp.PRESET_DELETE, 3)]
    ):
        wire.deliver(device, stub.request("MESSAGE", ch, control_ptz(sn + 1, ch, cmd)), 1)
    query = (
        b'<?xml version="1.0"?><Query><CmdType>PresetQuery</CmdType><SN>9</SN><DeviceID>%s</DeviceID></Query>'
    )
    wire.deliver(device, stub.request("MESSAGE", ch, query % ch.encode()), 2)
    body = stub.raw_bodies[-1]
    assert b"<CmdType>PresetQuery</CmdType>" in body and b'<PresetList Num="1">' in body
    assert b"<PresetID>7</PresetID>" in body and b"<PresetID>3</PresetID>" not in body


def test_channel_going_offline_is_notified_to_catalog_subscribers() -> None:
    device, stub, wire = registered_pair(channels=3, catalog_per_message=8)
    sub = catalog_subscribe(stub, device)
    wire.deliver(device, sub, 1.0)
    device.set_channel_status(device.cfg.channel_ids[2], False, 5.0)
    wire.pump(5.0)
    notifies = [r for r in wire.sent if r.method == "NOTIFY"]
    assert len(notifies) == 2 and notifies[1].cseq.number == notifies[0].cseq.number + 1
    change = parse_manscdp(notifies[1].body)
    assert isinstance(change, CatalogResponse) and change.sum_num == 1
    assert (change.items[0].device_id, change.items[0].event) == (device.cfg.channel_ids[2], "OFF")
    assert notifies[1].headers.get("Subscription-State") == "active;expires=596"
