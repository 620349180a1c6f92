"""Real captures: the Dahua/Hikvision session, and the 2016 conformance-test trace with its
server logs (which contain malformed real messages). Every message parses or raises
SipParseError; counts are asserted so a regression in leniency shows up as a number."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

from sip_gateway.core.errors import SipParseError
from sip_gateway.core.message import Request, Response, parse_message, serialize
from sip_gateway.core.responses import make_stateless_error
from tests.vectors import vector_files, vector_path

CAPTURE = "sip/dahua_sd_hik_nvr"
FRI = "sip/fri_test_tool"
_CDATA = re.compile(rb"<!\[CDATA\[(.*?)\]\]>", re.S)
# A rejected datagram as JAIN-SIP logged it: "...(UDPMessageChannel.java:632) [<message>\n]"
_BAD_MESSAGE = re.compile(rb"UDPMessageChannel\.java:632\) \[(.*?)\n\]\n", re.S)


def repair_capture(data: bytes) -> bytes:
    """Undo the blog's damage before parsing, as the manifest says: add the blank line the
    bodiless files lost, and set Content-Length to the body actually present (the CRLF
    normalisation changed body sizes, e.g. files 39 and 50 declare 282 for 281 bytes)."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        head, body = data.rstrip(b"\r\n"), b""
    head = re.sub(rb"(?im)^Content-Length:.*$", b"Content-Length: %d" % len(body), head)
    return head + b"\r\n\r\n" + body


def capture_files() -> list[Path]:
    return vector_files(CAPTURE, "*.sip")


def restore_crlf(logged: bytes) -> bytes:
    """The JAIN-SIP logger wrote LF line ends; Content-Length still counts the CRLFs sent."""
    return logged.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


@cache
def fri_trace_raw() -> list[bytes]:
    """The 3,046 messages of the JAIN-SIP XML trace, as logged (LF line ends)."""
    data = vector_path(f"{FRI}/fri_axy_mss-jsip-messages.xml").read_bytes()
    return _CDATA.findall(data)


@cache
def fri_trace_messages() -> list[bytes]:
    """The trace messages with their CRLF line ends restored."""
    return [restore_crlf(m) for m in fri_trace_raw()]


@cache
def fri_log_messages() -> tuple[list[bytes], list[bytes]]:
    """(messages logged as received, messages logged as [BAD MESSAGE!]) from the server logs."""
    logged: list[bytes] = []
    bad: list[bytes] = []
    for path in vector_files(FRI, "fri_axy_sip-server.log*"):
        data = path.read_bytes()
        logged.extend(restore_crlf(m) for m in _CDATA.findall(data))
        bad.extend(restore_crlf(m) for m in _BAD_MESSAGE.findall(data))
    return logged, bad


@pytest.mark.parametrize("path", capture_files(), ids=lambda p: p.stem)
def test_capture_message_parses(path: Path) -> None:
    message = parse_message(repair_capture(path.read_bytes()))
    kind = path.stem.split("_", 2)[2]
    if kind.startswith("resp"):
        assert isinstance(message, Response)
        assert message.status == int(kind[4:7])
        assert message.cseq.method == kind.split("-", 1)[1]
    else:
        assert isinstance(message, Request)
        assert message.method == kind.split("_")[0]
        assert message.cseq.method == message.method
    assert message.vias[0].transport == "UDP"
    again = parse_message(serialize(message))
    assert again.headers.items() == message.headers.items() and again.body == message.body


def test_capture_unrepaired_files_still_parse_except_short_bodies() -> None:
    """Without repair, only the two INVITE answers whose body lost a byte are refused."""
    refused = []
    for path in capture_files() or pytest.skip("capture vectors absent"):
        try:
            parse_message(path.read_bytes())
        except SipParseError as exc:
            assert "larger than" in exc.reason
            refused.append(path.stem[:2])
    assert refused == ["39", "50"]


def test_capture_xml_bodies_reach_the_application_untouched() -> None:
    checked = 0
    for xml_path in vector_files(CAPTURE, "*.xml"):
        sip = xml_path.with_suffix(".sip")
        message = parse_message(repair_capture(sip.read_bytes()))
        # The .xml copies have LF line ends; the .sip bodies CRLF (blog normalisation).
        assert (
            message.body.replace(b"\r\n", b"\n").strip()
            == xml_path.read_bytes().replace(b"\r\n", b"\n").strip()
        )
        assert (message.content_type or "").lower() == "application/manscdp+xml"
        checked += 1
    assert checked == 5 or not checked


def test_capture_register_401_register_flow_fields() -> None:
    register = parse_message(repair_capture(vector_path(f"{CAPTURE}/01_device_REGISTER.sip").read_bytes()))
    challenge = parse_message(
        repair_capture(vector_path(f"{CAPTURE}/02_platform_resp401-REGISTER.sip").read_bytes())
    )
    assert isinstance(register, Request) and isinstance(challenge, Response)
    assert register.sip_uri.user == "34020000002000000010" and register.sip_uri.port == 5062
    assert register.from_addr.sip_uri.user == "34020000001320000002"
    assert register.from_addr.tag == "2088733642" and register.to_addr.tag is None
    assert register.vias[0].has_rport and register.vias[0].rport is None
    assert challenge.vias[0].rport == 5060
    assert register.expires == 3600
    assert [str(c.sip_uri) for c in register.contacts] == ["sip:34020000001320000002@192.168.6.71:5060"]
    assert (
        challenge.headers.get("WWW-Authenticate")
        == 'Digest realm="34020000",algorithm=MD5,nonce="1715926053"'
    )


def test_fri_trace_has_3046_messages_that_all_parse_but_three() -> None:
    """Three Catalog answers had GB2312 names logged as '?', losing bytes: refused by name."""
    messages = fri_trace_messages()
    assert len(messages) == 3046
    kinds: dict[str, int] = {}
    damaged = 0
    for data in messages:
        try:
            message = parse_message(data)
        except SipParseError as exc:
            assert "larger than" in exc.reason and b"<Name>?" in data
            damaged += 1
            continue
        key = message.method if isinstance(message, Request) else f"{message.status}"
        kinds[key] = kinds.get(key, 0) + 1
    assert damaged == 3
    assert kinds["REGISTER"] == 678
    assert sum(kinds.values()) == 3043


def test_fri_trace_as_logged_parses_or_names_the_length_mismatch() -> None:
    """As logged (LF only), bodies are short of their Content-Length: each is refused by name."""
    parsed = refused = 0
    for data in fri_trace_raw():
        try:
            parse_message(data)
            parsed += 1
        except SipParseError as exc:
            assert "larger than" in exc.reason
            refused += 1
    assert parsed + refused == 3046
    assert refused == sum(1 for m in fri_trace_raw() if m.partition(b"\n\n")[2].count(b"\n"))


def test_fri_trace_keepalive_bodies_are_bytes() -> None:
    bodies = [parse_message(m).body for m in fri_trace_messages() if b"<CmdType>Keepalive" in m]
    assert len(bodies) == 703
    assert all(isinstance(b, bytes) for b in bodies)


def test_fri_logs_received_messages_parse_and_bad_ones_are_named() -> None:
    logged, bad = fri_log_messages()
    if not logged:
        pytest.skip("fri logs absent")
    damaged = 0
    for data in logged:
        try:
            parse_message(data)
        except SipParseError as exc:  # the same '?'-for-GB2312 logging damage as the trace
            assert "larger than" in exc.reason and b"<Name>?" in data
            damaged += 1
    assert (len(logged), damaged) == (1211, 3)
    assert len(bad) == 2347
    reasons: dict[str, int] = {}
    for data in bad:
        with pytest.raises(SipParseError) as caught:
            parse_message(data)
        reasons[caught.value.reason] = reasons.get(caught.value.reason, 0) + 1
    # JAIN-SIP's "Number format exception": the CSeq number is missing.
    assert reasons == {"CSeq number missing in 'REGISTER'": 2036, "CSeq number missing in 'MESSAGE'": 311}


def test_cseq_without_number_can_still_be_answered_400() -> None:
    _, bad = fri_log_messages()
    if not bad:
        pytest.skip("fri logs absent")
    response = make_stateless_error(bad[0])
    assert response is not None and response.status == 400
    assert response.headers.get("CSeq") == "REGISTER"
    assert "CSeq number missing" in (response.headers.get("Warning") or "")
