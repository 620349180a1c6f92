"""RFC 4475 torture messages: every valid one parses to the right fields, every invalid one
raises SipParseError with the right reason or is accepted on purpose (each decision noted),
and nothing crashes. Vectors are read in place through tests.vectors; never copied."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from sip_gateway.core.errors import SipParseError
from sip_gateway.core.headers import Headers
from sip_gateway.core.message import Request, Response, parse_message, serialize
from sip_gateway.core.responses import make_stateless_error
from tests.vectors import vector_files, vector_path

FOLDER = "sip/rfc4475"


@dataclass(frozen=True)
class Case:
    """Expected outcome of one torture file: ``error`` substring, or the fields to check."""

    name: str
    error: str | None = None
    status: int = 400
    method: str | None = None
    uri: str | None = None
    response_status: int | None = None
    vias: int = 1
    call_id: str | None = None
    body: int | None = None
    cseq: int | None = None
    extra: dict[str, str] = field(default_factory=dict)
    note: str = ""


CASES = [
    # 3.1.1 valid: must parse.
    Case(
        "wsinv",
        method="INVITE",
        uri="sip:vivekg@chair-dnrc.example.com;unknownparam",
        vias=3,
        call_id="wsinv.ndaksdj@192.0.2.1",
        body=150,
        cseq=9,
        extra={
            "Max-Forwards": "0068",
            "Subject": "",
            "NewFangledHeader": "newfangled value continued newfangled value",
        },
    ),
    Case("intmeth", method="!interesting-Method0123456789_*+`.%indeed'~", body=0, cseq=139122385),
    Case("esc01", method="INVITE", uri="sip:sips%3Auser%40example.com@example.net", body=150),
    Case("escnull", method="REGISTER", call_id="escnull.39203ndfvkjdasfkq3w4otrq0adsfdfnavd", body=0),
    Case("esc02", method="RE%47IST%45R", uri="sip:registrar.example.com", body=0),
    Case("lwsdisp", method="OPTIONS", body=0, cseq=60),
    Case("longreq", method="INVITE", vias=34, body=150, cseq=3882340),
    Case(
        "dblreq",
        method="REGISTER",
        body=0,
        cseq=8,
        note="the INVITE after Content-Length 0 is ignored (RFC 3261 18.3)",
    ),
    Case("semiuri", method="OPTIONS", uri="sip:user;par=u%40example.net@example.com"),
    Case("transports", method="OPTIONS", vias=5),
    Case("mpart01", method="MESSAGE", body=553),
    Case("unreason", response_status=200, body=154),
    Case("noreason", response_status=100, body=0),
    # 3.1.2 invalid.
    Case("badinv01", error="empty parameter in Via"),
    Case("clerr", error="larger than", note="datagram semantics; the framer waits instead"),
    Case("ncl", error="negative Content-Length"),
    Case("scalar02", error="CSeq number too large"),
    Case("scalarlg", error="CSeq number too large"),
    Case("quotbal", error="unterminated quoted display name"),
    Case("ltgtruri", error="not an absolute URI"),
    Case("lwsruri", error="whitespace inside the Request-URI"),
    Case(
        "lwsstart",
        method="INVITE",
        uri="sip:user@example.com",
        body=150,
        note="accepted: extra SP between elements is unambiguous; we write single SP",
    ),
    Case(
        "trws",
        method="OPTIONS",
        uri="sip:remote-target@example.com",
        note="accepted: trailing SP ignored; not written back",
    ),
    Case("escruri", error="headers are not allowed in the Request-URI"),
    Case("baddate", method="INVITE", body=150, note="accepted: Date is not interpreted by the parser"),
    Case("regbadct", method="REGISTER", note="accepted: the <> are inferred (no ambiguity)"),
    Case("badaspec", method="OPTIONS", note="accepted: spaces inside <> around the addr-spec are trimmed"),
    Case(
        "baddn",
        method="OPTIONS",
        body=0,
        note="accepted: unquoted display name kept as written; file has no blank line (datagram end)",
    ),
    Case("badvers", error="unsupported SIP version", status=505),
    Case("mismatch01", error="does not match request method"),
    Case("mismatch02", error="does not match request method", note="400 (the RFC allows it; 501 preferred)"),
    Case("bigcode", error="bad status code"),
    # 3.2 transaction: parses; the transaction layer falls back or answers 400.
    Case("badbranch", method="OPTIONS"),
    # 3.3 application: parse; the application decides.
    Case("insuf", error="missing From header", note="rejected at parse: cannot answer or match it"),
    Case("unkscm", method="OPTIONS", uri="nobodyKnowsThisScheme:totallyopaquecontent"),
    Case("novelsc", method="OPTIONS", uri="soap.beep://192.0.2.103:3002"),
    Case("unksm2", method="REGISTER"),
    Case("bext01", method="OPTIONS"),
    Case("invut", method="INVITE", body=40),
    Case("regaut01", method="REGISTER"),
    Case("multi01", error="more than one", note="single-valued headers repeated"),
    Case("mcl01", error="conflicting Content-Length"),
    Case("bcast", response_status=200, vias=2, body=154),
    Case("zeromf", method="OPTIONS", extra={"Max-Forwards": "0"}),
    Case("cparam01", method="REGISTER"),
    Case("cparam02", method="REGISTER"),
    Case("regescrt", method="REGISTER"),
    Case("sdp01", method="INVITE", body=150),
    # 3.4 backward compatibility: RFC 2543 syntax, no Content-Length (body to end of datagram).
    Case("inv2543", method="INVITE", body=105, cseq=56),
]


def test_table_covers_all_49_files() -> None:
    files = vector_files(FOLDER, "*.dat")
    if not files:
        pytest.skip(f"vectors {FOLDER!r} not found")
    assert sorted(p.stem for p in files) == sorted(c.name for c in CASES)
    assert len(CASES) == 49


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_torture_message(case: Case) -> None:
    data = vector_path(f"{FOLDER}/{case.name}.dat").read_bytes()
    if case.error is not None:
        with pytest.raises(SipParseError) as caught:
            parse_message(data)
        assert case.error in caught.value.reason
        assert caught.value.status == case.status
        return
    message = parse_message(data)
    if case.response_status is not None:
        assert isinstance(message, Response)
        assert message.status == case.response_status
    else:
        assert isinstance(message, Request)
        assert message.method == case.method
        if case.uri is not None:
            assert message.uri == case.uri
    assert len(message.vias) == case.vias
    if case.call_id is not None:
        assert message.call_id == case.call_id
    if case.body is not None:
        assert len(message.body) == case.body
    if case.cseq is not None:
        assert message.cseq.number == case.cseq
    for name, value in case.extra.items():
        assert message.headers.get(name) == value
    _assert_round_trip(message)


def _assert_round_trip(message: Request | Response) -> None:
    wire = serialize(message)
    again = parse_message(wire)
    assert type(again) is type(message)
    assert again.body == message.body
    expected = [kv for kv in message.headers.items() if kv[0] != "Content-Length"]
    assert [kv for kv in again.headers.items() if kv[0] != "Content-Length"] == expected
    assert again.headers.get("Content-Length") == str(len(message.body))
    assert serialize(again) == wire  # canonical output is a fixed point


def test_dblreq_ignores_trailing_octets() -> None:
    message = parse_message(vector_path(f"{FOLDER}/dblreq.dat").read_bytes())
    assert b"INVITE" not in serialize(message)


def test_escnull_keeps_escaped_nulls_and_two_contacts() -> None:
    message = parse_message(vector_path(f"{FOLDER}/escnull.dat").read_bytes())
    assert [c.sip_uri.user for c in message.contacts] == ["%00", "%00%00"]


def test_esc02_has_two_contacts_not_three() -> None:
    message = parse_message(vector_path(f"{FOLDER}/esc02.dat").read_bytes())
    assert len(message.contacts) == 2


def test_wsinv_unfolds_and_reads_quoted_display_name() -> None:
    message = parse_message(vector_path(f"{FOLDER}/wsinv.dat").read_bytes())
    assert message.from_addr.display_name == 'J Rosenberg \\"'
    assert message.from_addr.tag == "98asjd8"
    assert message.to_addr.tag == "1918181833n"
    assert message.vias[0].transport == "UDP" and message.vias[0].branch == "390skdjuw"


def test_mpart01_binary_body_is_untouched() -> None:
    data = vector_path(f"{FOLDER}/mpart01.dat").read_bytes()
    message = parse_message(data)
    assert data.endswith(message.body)
    assert b"\x00" in message.body


def test_transports_keeps_unknown_transport() -> None:
    message = parse_message(vector_path(f"{FOLDER}/transports.dat").read_bytes())
    assert [v.transport for v in message.vias] == ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]


def test_semiuri_user_part_holds_semicolon() -> None:
    message = parse_message(vector_path(f"{FOLDER}/semiuri.dat").read_bytes())
    assert isinstance(message, Request)
    assert message.sip_uri.user == "user;par=u%40example.net"
    assert message.sip_uri.host == "example.com"


@pytest.mark.parametrize("name", ["badinv01", "quotbal", "mismatch01", "multi01", "lwsruri", "escruri"])
def test_invalid_requests_can_be_answered_statelessly(name: str) -> None:
    data = vector_path(f"{FOLDER}/{name}.dat").read_bytes()
    response = make_stateless_error(data)
    assert response is not None and response.status == 400
    assert response.headers.get("Call-ID") is not None
    assert (response.headers.get("Warning") or "").startswith("399 ")
    assert response.headers.get_all("Via") == parse_error_headers(data).get_all("Via")


def parse_error_headers(data: bytes) -> Headers:
    with pytest.raises(SipParseError) as caught:
        parse_message(data)
    assert caught.value.headers is not None
    return caught.value.headers


def test_bad_version_is_answered_505() -> None:
    response = make_stateless_error(vector_path(f"{FOLDER}/badvers.dat").read_bytes())
    assert response is not None and response.status == 505


@pytest.mark.parametrize("name", ["bigcode", "scalarlg"])
def test_bad_responses_get_no_answer(name: str) -> None:
    assert make_stateless_error(vector_path(f"{FOLDER}/{name}.dat").read_bytes()) is None
