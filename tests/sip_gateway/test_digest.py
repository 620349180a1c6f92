"""Digest authentication: known answers, the captured REGISTER/401/REGISTER exchange, qop and
no qop, algorithm absent, stale, replay, wrong password, unknown user, malformed headers."""

from __future__ import annotations

import hashlib

import pytest

from sip_gateway.core.digest import (
    DigestChallenge,
    DigestClient,
    DigestCredentials,
    DigestOutcome,
    DigestServer,
    digest_response,
    parse_auth_params,
)
from sip_gateway.core.errors import SipParseError
from sip_gateway.core.message import Request, Response, parse_message
from tests.sip_gateway.test_captures import CAPTURE, repair_capture
from tests.vectors import vector_path

SECRET = b"test-secret"
REALM = "3402000000"
DEVICE = "34020000001320000264"
PASSWORD = "12345678"
URI = "sip:34020000002000000001@3402000000"
NOW = 1_700_000_000.0


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def lookup(user: str) -> str | None:
    return PASSWORD if user == DEVICE else None


def test_rfc2617_known_answer_with_qop() -> None:
    # RFC 2617 3.5: the published response for Mufasa / "Circle Of Life".
    assert (
        digest_response(
            username="Mufasa",
            realm="testrealm@host.com",
            password="Circle Of Life",
            method="GET",
            uri="/dir/index.html",
            nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
            qop="auth",
            nc="00000001",
            cnonce="0a4f113b",
        )
        == "6629fae49393a05397450978507c4ef1"
    )


def test_formula_without_qop_matches_gb28181_fact_sheet() -> None:
    ha1 = md5(f"{DEVICE}:{REALM}:{PASSWORD}")
    ha2 = md5(f"REGISTER:{URI}")
    expected = md5(f"{ha1}:nonce123:{ha2}")
    assert (
        digest_response(
            username=DEVICE, realm=REALM, password=PASSWORD, method="REGISTER", uri=URI, nonce="nonce123"
        )
        == expected
    )


def test_captured_challenge_and_authorization_parse() -> None:
    challenge_msg = parse_message(
        repair_capture(vector_path(f"{CAPTURE}/02_platform_resp401-REGISTER.sip").read_bytes())
    )
    register = parse_message(repair_capture(vector_path(f"{CAPTURE}/03_device_REGISTER.sip").read_bytes()))
    assert isinstance(challenge_msg, Response) and isinstance(register, Request)
    challenge = DigestChallenge.parse(challenge_msg.headers.get("WWW-Authenticate") or "")
    assert (challenge.realm, challenge.nonce, challenge.algorithm, challenge.qop) == (
        "34020000",
        "1715926053",
        "MD5",
        None,
    )
    creds = DigestCredentials.parse(register.headers.get("Authorization") or "")
    assert creds.username == "34020000001320000002"
    assert creds.uri == "sip:34020000002000000010@192.168.6.106:5062"
    assert creds.response == "fa983ee8abd2b6ff36b857c660b06f67"
    assert creds.qop is None and creds.nc is None and creds.algorithm == "MD5"
    # Our client answering the captured challenge writes the same fields the Dahua dome did.
    ours = DigestCredentials.parse(
        DigestClient(creds.username, "secret").authorization(
            challenge, method="REGISTER", uri=creds.uri, cnonce="unused"
        )
    )
    assert (ours.username, ours.realm, ours.nonce, ours.uri, ours.algorithm) == (
        creds.username,
        creds.realm,
        creds.nonce,
        creds.uri,
        creds.algorithm,
    )
    assert ours.response == md5(
        f"{md5(f'{creds.username}:34020000:secret')}:1715926053:{md5('REGISTER:' + creds.uri)}"
    )


@pytest.mark.parametrize("qop", [False, True])
@pytest.mark.parametrize("algorithm_in_challenge", [False, True])
def test_register_challenge_answer_verify(qop: bool, algorithm_in_challenge: bool) -> None:
    server = DigestServer(REALM, SECRET, qop=qop, algorithm_in_challenge=algorithm_in_challenge)
    header = server.challenge(NOW).to_header()
    assert ("qop=" in header) is qop and ("algorithm=MD5" in header) is algorithm_in_challenge
    authorization = DigestClient(DEVICE, PASSWORD).authorization(
        header, method="REGISTER", uri=URI, cnonce="0a4f113b"
    )
    result = server.verify(authorization, method="REGISTER", now=NOW + 5, password_lookup=lookup)
    assert result.ok and result.username == DEVICE, result.reason
    if qop:
        creds = DigestCredentials.parse(authorization)
        assert (creds.qop, creds.nc, creds.cnonce) == ("auth", "00000001", "0a4f113b")


def test_hikvision_style_authorization_with_odd_spacing_and_bare_values() -> None:
    server = DigestServer(REALM, SECRET, qop=True)
    nonce = server.challenge(NOW).nonce
    nc, cnonce = "00000001", "0a4f113b"
    response = md5(
        f"{md5(f'{DEVICE}:{REALM}:{PASSWORD}')}:{nonce}:{nc}:{cnonce}:auth:{md5('REGISTER:' + URI)}"
    )
    value = (
        f'Digest  username="{DEVICE}",realm = "{REALM}" ,nonce="{nonce}", uri="{URI}",'
        f'response={response},  cnonce="{cnonce}",qop=auth, nc={nc}'
    )
    assert server.verify(value, method="REGISTER", now=NOW, password_lookup=lookup).ok


def make_authorization(
    server: DigestServer,
    *,
    password: str = PASSWORD,
    user: str = DEVICE,
    client: DigestClient | None = None,
    challenge: DigestChallenge | None = None,
) -> str:
    client = client or DigestClient(user, password)
    return client.authorization(challenge or server.challenge(NOW), method="REGISTER", uri=URI, cnonce="abc")


@pytest.mark.parametrize(
    ("authorization", "outcome"),
    [
        (None, DigestOutcome.MISSING),
        ("", DigestOutcome.MISSING),
        ("Basic dXNlcjpwdw==", DigestOutcome.MALFORMED),
        ('Digest username="x", realm="3402000000"', DigestOutcome.MALFORMED),
        ('Digest username="x, realm=', DigestOutcome.MALFORMED),
        ("Digest username", DigestOutcome.MALFORMED),
        (
            'Digest username="a",realm="3402000000",nonce="n",uri="u",response="r",qop=auth',
            DigestOutcome.MALFORMED,
        ),
        (
            'Digest username="a",realm="3402000000",nonce="n",uri="u",response="r",algorithm=SHA-256',
            DigestOutcome.MALFORMED,
        ),
        ('Digest username="a",realm="other",nonce="n",uri="u",response="r"', DigestOutcome.BAD_RESPONSE),
        (
            'Digest username="a",realm="3402000000",nonce="forged.1234",uri="u",response="r"',
            DigestOutcome.BAD_RESPONSE,
        ),
    ],
)
def test_unusable_authorization_values(authorization: str | None, outcome: DigestOutcome) -> None:
    result = DigestServer(REALM, SECRET).verify(
        authorization, method="REGISTER", now=NOW, password_lookup=lookup
    )
    assert result.outcome is outcome and result.reason


def test_wrong_password_and_unknown_user() -> None:
    server = DigestServer(REALM, SECRET)
    wrong = server.verify(
        make_authorization(server, password="nope"), method="REGISTER", now=NOW, password_lookup=lookup
    )
    assert wrong.outcome is DigestOutcome.BAD_RESPONSE and "response" in wrong.reason
    unknown = server.verify(
        make_authorization(server, user="34020000001320000999"),
        method="REGISTER",
        now=NOW,
        password_lookup=lookup,
    )
    assert unknown.outcome is DigestOutcome.UNKNOWN_USER


def test_wrong_method_does_not_verify() -> None:
    server = DigestServer(REALM, SECRET)
    result = server.verify(make_authorization(server), method="MESSAGE", now=NOW, password_lookup=lookup)
    assert result.outcome is DigestOutcome.BAD_RESPONSE


def test_expired_but_correct_is_stale_and_wrong_stays_wrong() -> None:
    server = DigestServer(REALM, SECRET, nonce_ttl=60)
    late = NOW + 61
    assert (
        server.verify(make_authorization(server), method="REGISTER", now=late, password_lookup=lookup).outcome
        is DigestOutcome.STALE
    )
    wrong = make_authorization(server, password="nope")
    assert (
        server.verify(wrong, method="REGISTER", now=late, password_lookup=lookup).outcome
        is DigestOutcome.BAD_RESPONSE
    )
    assert "stale=true" in server.challenge(late, stale=True).to_header()


@pytest.mark.parametrize("qop", [False, True])
def test_replayed_response_is_refused(qop: bool) -> None:
    server = DigestServer(REALM, SECRET, qop=qop)
    authorization = make_authorization(server)
    assert server.verify(authorization, method="REGISTER", now=NOW, password_lookup=lookup).ok
    replay = server.verify(authorization, method="REGISTER", now=NOW + 1, password_lookup=lookup)
    assert replay.outcome is DigestOutcome.REPLAY


def test_qop_nonce_count_may_increase_on_the_same_nonce() -> None:
    server = DigestServer(REALM, SECRET, qop=True)
    challenge = server.challenge(NOW)
    client = DigestClient(DEVICE, PASSWORD)
    for _ in range(3):
        authorization = client.authorization(challenge, method="REGISTER", uri=URI, cnonce="c")
        assert server.verify(authorization, method="REGISTER", now=NOW, password_lookup=lookup).ok
    assert DigestCredentials.parse(authorization).nc == "00000003"


def test_nonce_reuse_without_qop_when_allowed() -> None:
    server = DigestServer(REALM, SECRET, allow_nonce_reuse=True)
    authorization = make_authorization(server)
    for _ in range(2):
        assert server.verify(authorization, method="REGISTER", now=NOW, password_lookup=lookup).ok


def test_tracked_nonces_are_bounded_and_forgotten_ones_are_not_replayable() -> None:
    server = DigestServer(REALM, SECRET, qop=True, max_tracked_nonces=10)
    first = make_authorization(server)
    assert server.verify(first, method="REGISTER", now=NOW, password_lookup=lookup).ok
    for step in range(1, 30):
        auth = make_authorization(server, challenge=server.challenge(NOW + step))
        assert server.verify(auth, method="REGISTER", now=NOW + step, password_lookup=lookup).ok
    assert len(server._used) == 10
    assert (
        server.verify(first, method="REGISTER", now=NOW + 30, password_lookup=lookup).outcome
        is DigestOutcome.REPLAY
    )


def test_client_refuses_unsupported_challenges() -> None:
    client = DigestClient(DEVICE, PASSWORD)
    with pytest.raises(SipParseError):
        client.authorization(
            'Digest realm="r",nonce="n",algorithm=SHA-256', method="REGISTER", uri=URI, cnonce="c"
        )
    with pytest.raises(SipParseError):
        client.authorization(
            'Digest realm="r",nonce="n",qop="auth-int"', method="REGISTER", uri=URI, cnonce="c"
        )
    with pytest.raises(SipParseError):
        client.authorization('Basic realm="r"', method="REGISTER", uri=URI, cnonce="c")


def test_challenge_round_trip_and_opaque_echoed() -> None:
    server = DigestServer(REALM, SECRET, qop=True, opaque="op4que")
    issued = server.challenge(NOW)
    challenge = DigestChallenge.parse(issued.to_header())
    assert challenge == issued
    creds = DigestCredentials.parse(make_authorization(server, challenge=challenge))
    assert creds.opaque == "op4que"


def test_parse_auth_params_handles_escapes_and_commas_in_quotes() -> None:
    scheme, params = parse_auth_params('Digest realm="a,b", nonce="x\\"y" , qop="auth,auth-int"')
    assert scheme == "Digest"
    assert params == {"realm": "a,b", "nonce": 'x"y', "qop": "auth,auth-int"}


def test_every_challenge_has_its_own_nonce_even_within_one_second() -> None:
    server = DigestServer(REALM, SECRET)
    nonces = {server.challenge(NOW).nonce for _ in range(1000)}
    assert len(nonces) == 1000


def test_two_devices_challenged_in_the_same_second_both_register_without_qop() -> None:
    server = DigestServer(REALM, SECRET, qop=False)
    for user in ("34020000001320000001", "34020000001320000002"):
        challenge = server.challenge(NOW)
        authorization = DigestClient(user, "pw").authorization(challenge, method="REGISTER", uri="sip:x", cnonce="c")
        result = server.verify(authorization, method="REGISTER", now=NOW, password_lookup=lambda _u: "pw")
        assert result.ok, result.reason
