"""The registrar's decisions, driven with `now` and real digest arithmetic; no network."""

from __future__ import annotations

import pytest

from sip_gateway.core.digest import DigestClient, DigestServer
from sip_gateway.core.headers import Headers
from sip_gateway.core.message import Request, parse_message
from sip_gateway.registrar import Outcome, Registrar
from tests.vectors import vector_path

DEVICE = "34020000001320000264"
PEER = ("udp", "127.0.0.1", 5060)
DATE = "2026-11-22T09:00:00.000"


def registrar(password_for=lambda device_id: "12345678") -> Registrar:
    digest = DigestServer("3402000000", b"test-secret", qop=False)
    return Registrar(digest=digest, password_for=password_for, gb_date=lambda: DATE)


def register(*, expires: str | None = "3600", authorization: str | None = None, call_id: str = "c1", cseq: int = 1,
             extra: tuple[tuple[str, str], ...] = (), device: str = DEVICE) -> Request:
    headers = Headers(
        [
            ("Via", "SIP/2.0/UDP 127.0.0.1:5060;rport;branch=z9hG4bK-" + call_id + str(cseq)),
            ("From", f"<sip:{device}@3402000000>;tag=ab"),
            ("To", f"<sip:{device}@3402000000>"),
            ("Call-ID", call_id),
            ("CSeq", f"{cseq} REGISTER"),
            ("Contact", f"<sip:{device}@127.0.0.1:5060>"),
            ("Max-Forwards", "70"),
            ("User-Agent", "IP Camera"),
            *extra,
        ]
    )
    if expires is not None:
        headers.add("Expires", expires)
    if authorization is not None:
        headers.add("Authorization", authorization)
    return Request("REGISTER", "sip:34020000002000000001@3402000000", headers)


def answer(challenge_response, password="12345678", **kwargs) -> Request:
    client = DigestClient(kwargs.get("device", DEVICE), password)
    auth = client.authorization(
        challenge_response.headers.get("WWW-Authenticate"),
        method="REGISTER",
        uri="sip:34020000002000000001@3402000000",
        cnonce="0a4f113b",
    )
    return register(authorization=auth, **kwargs)


def test_register_without_credentials_is_challenged_with_the_domain_as_realm():
    decision = registrar().handle(register(), PEER, now=100)
    assert decision.outcome is Outcome.CHALLENGED
    assert decision.response.status == 401
    assert 'realm="3402000000"' in decision.response.headers.get("WWW-Authenticate")


def test_correct_credentials_register_and_the_200_carries_date_and_expires():
    gate = registrar()
    challenge = gate.handle(register(), PEER, now=100).response
    decision = gate.handle(answer(challenge, cseq=2, extra=(("X-GB-Ver", "3.0"),)), PEER, now=101)
    assert decision.outcome is Outcome.REGISTERED
    response = decision.response
    assert (response.status, response.headers.get("Date"), response.headers.get("Expires")) == (200, DATE, "3600")
    assert response.headers.get("X-GB-Ver") == "3.0"
    assert gate.get(DEVICE).peer == PEER
    assert gate.get(DEVICE).gb_version == "3.0"


def test_wrong_password_is_refused_with_403():
    gate = registrar()
    challenge = gate.handle(register(), PEER, now=100).response
    decision = gate.handle(answer(challenge, password="wrong", cseq=2), PEER, now=101)
    assert (decision.outcome, decision.response.status) == (Outcome.REFUSED, 403)
    assert "wrong password" in decision.reason
    assert gate.get(DEVICE) is None


def test_unknown_device_is_refused_when_the_platform_does_not_accept_it():
    gate = registrar(password_for=lambda device_id: None)
    challenge = gate.handle(register(), PEER, now=100).response
    assert gate.handle(answer(challenge, cseq=2), PEER, now=101).response.status == 403


def test_an_old_nonce_gets_a_stale_challenge():
    gate = registrar()
    challenge = gate.handle(register(), PEER, now=100).response
    decision = gate.handle(answer(challenge, cseq=2), PEER, now=100 + 301)
    assert decision.response.status == 401
    assert "stale=true" in decision.response.headers.get("WWW-Authenticate").lower()


def test_a_replayed_authorization_is_challenged_again():
    gate = registrar()
    challenge = gate.handle(register(), PEER, now=100).response
    replay = answer(challenge, cseq=2, call_id="c1")
    assert gate.handle(replay, PEER, now=101).outcome is Outcome.REGISTERED
    other_peer = ("udp", "127.0.0.1", 6000)
    assert gate.handle(replay, other_peer, now=102).outcome is Outcome.CHALLENGED


def test_a_refresh_on_the_same_call_id_is_not_challenged_again():
    gate = registrar()
    challenge = gate.handle(register(), PEER, now=100).response
    gate.handle(answer(challenge, cseq=2), PEER, now=101)
    decision = gate.handle(register(cseq=3), PEER, now=1000)
    assert decision.outcome is Outcome.REFRESHED
    assert gate.get(DEVICE).expires_at == 1000 + 3600


def test_a_refresh_from_another_address_must_authenticate():
    gate = registrar()
    challenge = gate.handle(register(), PEER, now=100).response
    gate.handle(answer(challenge, cseq=2), PEER, now=101)
    assert gate.handle(register(cseq=3), ("tcp", "127.0.0.1", 40000), now=200).outcome is Outcome.CHALLENGED


def test_expires_zero_unregisters():
    gate = registrar()
    challenge = gate.handle(register(), PEER, now=100).response
    gate.handle(answer(challenge, cseq=2), PEER, now=101)
    challenge = gate.handle(register(expires="0", call_id="c2"), PEER, now=102).response
    decision = gate.handle(answer(challenge, expires="0", call_id="c2", cseq=2), PEER, now=103)
    assert decision.outcome is Outcome.UNREGISTERED
    assert decision.response.headers.get("Expires") == "0"
    assert gate.get(DEVICE) is None


def test_missing_expires_gets_the_default_and_absurd_values_are_bounded():
    gate = registrar()
    challenge = gate.handle(register(expires=None), PEER, now=100).response
    assert gate.handle(answer(challenge, expires=None, cseq=2), PEER, now=101).response.headers.get("Expires") == "3600"
    challenge = gate.handle(register(call_id="c9"), PEER, now=100).response
    decision = gate.handle(answer(challenge, expires="999999999", call_id="c9", cseq=2), PEER, now=101)
    assert decision.response.headers.get("Expires") == str(86_400 * 2)


def test_malformed_credentials_get_400_with_the_reason():
    decision = registrar().handle(register(authorization='Digest username="x", nonce="unterminated'), PEER, now=1)
    assert decision.response.status == 400
    assert "Authorization" in decision.response.headers.get("Warning")


def test_keepalives_keep_a_device_alive_and_silence_expires_it():
    gate = registrar()
    challenge = gate.handle(register(), PEER, now=100).response
    gate.handle(answer(challenge, cseq=2), PEER, now=101)
    moved = ("udp", "127.0.0.1", 5999)
    assert gate.touch(DEVICE, moved, now=160).peer == moved
    assert gate.expire(now=339, keepalive_timeout=180) == []
    assert gate.expire(now=341, keepalive_timeout=180) == [(DEVICE, "keepalive timeout")]
    assert gate.touch(DEVICE, PEER, now=342) is None


def test_expired_registration_is_reported():
    gate = registrar()
    challenge = gate.handle(register(expires="60"), PEER, now=100).response
    gate.handle(answer(challenge, expires="60", cseq=2), PEER, now=100)
    gate.touch(DEVICE, PEER, now=150)
    assert gate.expire(now=161, keepalive_timeout=180) == [(DEVICE, "registration expired")]


def test_expiry_follows_refreshes_keepalives_and_shorter_reregistrations():
    gate = registrar()
    challenge = gate.handle(register(expires="600"), PEER, now=100).response
    gate.handle(answer(challenge, expires="600", cseq=2), PEER, now=100)
    assert gate.expire(now=101, keepalive_timeout=180) == []  # due at 280 unless kept alive
    gate.touch(DEVICE, PEER, now=250)
    assert gate.expire(now=300, keepalive_timeout=180) == []  # now due at 430
    gate.handle(register(expires="3600", cseq=3), PEER, now=400)  # refresh on the same Call-ID
    assert gate.expire(now=500, keepalive_timeout=180) == []  # the refresh counts as seen: 580
    gate.handle(register(expires="60", cseq=4), PEER, now=510)  # shorter than the keepalive wait
    assert gate.expire(now=570, keepalive_timeout=180) == []
    assert gate.expire(now=571, keepalive_timeout=180) == [(DEVICE, "registration expired")]
    assert gate.expire(now=10_000, keepalive_timeout=180) == []


def test_only_devices_that_fell_silent_are_removed_and_each_once():
    gate = registrar()
    devices = [f"3402000000132000010{index}" for index in range(5)]
    for device in devices:
        challenge = gate.handle(register(device=device), PEER, now=100).response
        gate.handle(answer(challenge, device=device, cseq=2), PEER, now=100)
    assert gate.expire(now=200, keepalive_timeout=180) == []
    gate.touch(devices[1], PEER, now=250)
    gone = gate.expire(now=281, keepalive_timeout=180)
    assert sorted(gone) == [(devices[i], "keepalive timeout") for i in (0, 2, 3, 4)]
    assert list(gate.registrations) == [devices[1]]
    assert gate.expire(now=431, keepalive_timeout=180) == [(devices[1], "keepalive timeout")]


def test_unregistered_device_registering_again_is_still_expired_in_time():
    gate = registrar()
    challenge = gate.handle(register(), PEER, now=100).response
    gate.handle(answer(challenge, cseq=2), PEER, now=100)
    assert gate.expire(now=101, keepalive_timeout=180) == []
    challenge = gate.handle(register(expires="0", call_id="c2"), PEER, now=110).response
    gate.handle(answer(challenge, expires="0", call_id="c2", cseq=2), PEER, now=110)
    challenge = gate.handle(register(call_id="c3"), PEER, now=120).response
    gate.handle(answer(challenge, call_id="c3", cseq=2), PEER, now=120)
    assert gate.expire(now=290, keepalive_timeout=180) == []
    assert gate.expire(now=301, keepalive_timeout=180) == [(DEVICE, "keepalive timeout")]


def test_captured_dahua_register_is_challenged_like_the_real_platform_did():
    raw = vector_path("sip/dahua_sd_hik_nvr/01_device_REGISTER.sip").read_bytes()
    request = parse_message(raw)
    assert isinstance(request, Request)
    decision = registrar().handle(request, PEER, now=5)
    assert decision.response.status == 401
    assert decision.response.call_id == request.call_id


@pytest.mark.parametrize("from_header", ["<sip:@3402000000>;tag=1", "garbage <<"])
def test_register_without_a_usable_from_is_a_bad_request(from_header):
    request = register()
    request.headers.set("From", from_header)
    assert registrar().handle(request, PEER, now=1).response.status == 400


def test_every_answer_carries_its_own_digit_only_to_tag():
    gate = registrar()
    challenge = gate.handle(register(), PEER, now=100).response
    ok = gate.handle(answer(challenge, cseq=2), PEER, now=101).response
    tags = [response.to_addr.tag for response in (challenge, ok)]
    assert all(tag and tag.isdigit() for tag in tags)
    assert tags[0] != tags[1]


def test_a_register_without_contact_is_reached_at_its_source_address_ipv6_in_brackets():
    gate = registrar()
    peer = ("udp", "::1", 5062)
    challenge = gate.handle(register(), peer, now=100).response
    request = answer(challenge, cseq=2)
    request.headers.remove("Contact")
    assert gate.handle(request, peer, now=101).outcome is Outcome.REGISTERED
    assert gate.get(DEVICE).contact == f"<sip:{DEVICE}@[::1]:5062>"
