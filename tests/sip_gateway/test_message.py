"""Parser and serializer behaviour on hand-made messages shaped like real GB devices' quirks."""

from __future__ import annotations

import pytest

from sip_gateway.core.errors import SipParseError
from sip_gateway.core.header_values import CSeq, NameAddress, Via
from sip_gateway.core.headers import Headers, canonical_name, split_list
from sip_gateway.core.message import Request, Response, parse_message, serialize
from sip_gateway.core.responses import make_response, make_stateless_error
from sip_gateway.core.uri import SipUri

GB2312_XML = '<?xml version="1.0" encoding="GB2312"?>\r\n<Response><Name>摄像机</Name></Response>\r\n'.encode(
    "gb2312"
)


def register(extra: str = "", cseq: str = "1 REGISTER") -> bytes:
    return (
        "REGISTER sip:34020000002000000001@3402000000 SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.168.2.64:5060;rport;branch=z9hG4bK1\r\n"
        "From: <sip:34020000001320000264@3402000000>;tag=180588994\r\n"
        "To: <sip:34020000001320000264@3402000000>\r\n"
        "Call-ID: 1881196343@192.168.2.64\r\n"
        f"CSeq: {cseq}\r\n"
        "Contact: <sip:34020000001320000264@192.168.2.64:5060>\r\n"
        f"{extra}"
        "Expires: 3600\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


def test_gb_register_fields() -> None:
    message = parse_message(register())
    assert isinstance(message, Request)
    assert message.method == "REGISTER"
    assert message.sip_uri == SipUri(host="3402000000", user="34020000002000000001")
    assert message.from_addr.sip_uri.user == "34020000001320000264"
    assert message.from_addr.tag == "180588994"
    assert message.cseq == CSeq(1, "REGISTER")
    assert message.top_via.host == "192.168.2.64" and message.top_via.port == 5060
    assert message.expires == 3600


def test_compact_forms_are_read_and_written_in_full() -> None:
    data = (
        b"MESSAGE sip:34020000002000000001@3402000000 SIP/2.0\r\n"
        b"v: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK2\r\nf: <sip:a@b>;tag=1\r\nt: <sip:c@d>\r\n"
        b"i: abc\r\nCSeq: 2 MESSAGE\r\nc: Application/MANSCDP+xml\r\nl: 3\r\nk: timer\r\n"
        b"m: <sip:a@10.0.0.1>\r\ns: hi\r\ne: gzip\r\no: Catalog;id=1\r\nu: presence\r\n\r\nabc"
    )
    message = parse_message(data)
    assert message.call_id == "abc" and message.body == b"abc"
    names = [name for name, _ in message.headers.items()]
    assert names == [
        "Via",
        "From",
        "To",
        "Call-ID",
        "CSeq",
        "Content-Type",
        "Content-Length",
        "Supported",
        "Contact",
        "Subject",
        "Content-Encoding",
        "Event",
        "Allow-Events",
    ]
    wire = serialize(message)
    assert b"\r\nEvent: Catalog;id=1\r\n" in wire and b"\r\nv:" not in wire


def test_case_insensitive_names_and_lookup() -> None:
    message = parse_message(
        register().replace(b"Call-ID:", b"cALL-iD  :").replace(b"CSeq: 1 REGISTER", b"cseq: 1 register")
    )
    assert message.headers.get("call-id") == message.headers.get("i") == "1881196343@192.168.2.64"
    assert message.cseq.method == "REGISTER"
    assert b"\r\nCall-ID: " in serialize(message)


def test_folded_header_is_unfolded() -> None:
    message = parse_message(register("Subject: first\r\n  second\r\n\tthird\r\n"))
    assert message.headers.get("Subject") == "first second third"


def test_lf_only_and_missing_content_length() -> None:
    data = register().replace(b"Content-Length: 0\r\n", b"").replace(b"\r\n", b"\n") + b"tail"
    message = parse_message(data)
    assert message.body == b"tail"
    assert serialize(message).endswith(b"Content-Length: 4\r\n\r\ntail")


def test_cseq_without_number_is_a_named_error_with_partial_headers() -> None:
    with pytest.raises(SipParseError) as caught:
        parse_message(register(cseq=" REGISTER"))
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.reason == "CSeq number missing in 'REGISTER'"
    assert error.is_request and error.method == "REGISTER"
    assert error.headers is not None and error.headers.get("Call-ID") == "1881196343@192.168.2.64"


def test_gb2312_body_reaches_the_application_untouched() -> None:
    data = register().replace(b"Content-Length: 0", b"Content-Length: %d" % len(GB2312_XML)) + GB2312_XML
    message = parse_message(data)
    assert message.body == GB2312_XML
    assert serialize(message).endswith(GB2312_XML)


def test_non_utf8_header_bytes_survive_a_round_trip() -> None:
    data = register().replace(
        b"From: <sip:34020000001320000264@3402000000>;tag=180588994",
        b'From: "\xc9\xe3\xcf\xf1" <sip:a@b>;tag=1',
    )
    message = parse_message(data)
    assert serialize(message) == data


def test_via_list_split_respects_quotes_and_ipv6() -> None:
    value = 'SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bKa;x="a,b", SIP/2.0/TCP 10.0.0.2;branch=z9hG4bKb'
    vias = parse_message(
        register().replace(
            b"Via: SIP/2.0/UDP 192.168.2.64:5060;rport;branch=z9hG4bK1", b"Via: " + value.encode()
        )
    ).vias
    assert [(v.transport, v.host, v.port, v.branch) for v in vias] == [
        ("UDP", "[2001:db8::1]", 5060, "z9hG4bKa"),
        ("TCP", "10.0.0.2", None, "z9hG4bKb"),
    ]


def test_contact_list_with_quoted_commas() -> None:
    message = parse_message(
        register().replace(
            b"Contact: <sip:34020000001320000264@192.168.2.64:5060>",
            b'Contact: "Doe, John" <sip:a@b;x=1,2>;expires=60, <sip:c@d>',
        )
    )
    contacts = message.contacts
    assert [c.display_name for c in contacts] == ["Doe, John", None]
    assert contacts[0].param("expires") == "60"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sip:34020000001320000001@3402000000", SipUri(host="3402000000", user="34020000001320000001")),
        ("sip:[::1]:5060", SipUri(host="[::1]", port=5060)),
        (
            "SIPS:u:pw@h.example.com;transport=tcp;lr?subject=x&priority",
            SipUri(
                host="h.example.com",
                user="u",
                password="pw",
                scheme="sips",
                params=(("transport", "tcp"), ("lr", None)),
                headers=(("subject", "x"), ("priority", None)),
            ),
        ),
    ],
)
def test_sip_uri_parse_and_print(text: str, expected: SipUri) -> None:
    uri = SipUri.parse(text)
    assert uri == expected
    assert SipUri.parse(str(uri)) == uri


@pytest.mark.parametrize(
    "text", ["http://x", "sip:", "sip:u@", "sip:h:99999", "sip:[::1", "sip:a b", "sip:h:"]
)
def test_bad_sip_uris(text: str) -> None:
    with pytest.raises(SipParseError):
        SipUri.parse(text)


def test_name_address_views() -> None:
    addr = NameAddress.parse('"A \\"B\\"" <sip:a@b>;tag=x;foo')
    assert addr.display_name == 'A "B"' and addr.tag == "x" and addr.param("foo") == ""
    assert NameAddress.parse(str(addr)) == addr
    assert NameAddress.parse("sip:a@b;tag=1").tag == "1"
    assert addr.with_param("tag", "y").tag == "y"


def test_via_views_and_rport() -> None:
    via = Via.parse("SIP / 2.0 / udp 10.0.0.1:5060 ; rport ; branch = z9hG4bK1")
    assert (via.transport, via.branch, via.has_rport, via.rport) == ("UDP", "z9hG4bK1", True, None)
    filled = via.with_param("rport", "40000").with_param("received", "1.2.3.4")
    assert str(filled) == "SIP/2.0/UDP 10.0.0.1:5060;rport=40000;branch=z9hG4bK1;received=1.2.3.4"
    assert filled.rport == 40000


def test_headers_multimap() -> None:
    headers = Headers([("v", "a"), ("Via", "b"), ("X-Odd", "1")])
    assert headers.get_all("VIA") == ["a", "b"] and len(headers) == 3
    headers.set("via", "c")
    headers.add("x-odd", "2")
    assert headers.items() == [("Via", "c"), ("X-Odd", "1"), ("x-odd", "2")]
    assert headers.get_all("X-ODD") == ["1", "2"]
    headers.remove("X-Odd")
    assert "x-odd" not in headers and headers.count("via") == 1
    with pytest.raises(ValueError):
        headers.add("Subject", "evil\r\nVia: injected")
    assert split_list('"a,b" <c,d>, e') == ['"a,b" <c,d>', "e"]
    assert (
        canonical_name("www-authenticate") == "WWW-Authenticate" and canonical_name("l") == "Content-Length"
    )


def test_serialize_fixes_content_length() -> None:
    request = Request("MESSAGE", "sip:a@b", Headers([("Content-Length", "99"), ("Call-ID", "x")]), b"12345")
    assert serialize(request) == b"MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 5\r\nCall-ID: x\r\n\r\n12345"
    assert request.to_bytes() == serialize(request)


def test_make_response_copies_transaction_headers_and_adds_to_tag() -> None:
    request = parse_message(register())
    assert isinstance(request, Request)
    response = make_response(request, 200, to_tag="t1", headers=[("Expires", "3600")])
    assert isinstance(response, Response)
    assert response.reason == "OK"
    assert response.headers.items() == [
        ("Via", "SIP/2.0/UDP 192.168.2.64:5060;rport;branch=z9hG4bK1"),
        ("From", "<sip:34020000001320000264@3402000000>;tag=180588994"),
        ("To", "<sip:34020000001320000264@3402000000>;tag=t1"),
        ("Call-ID", "1881196343@192.168.2.64"),
        ("CSeq", "1 REGISTER"),
        ("Expires", "3600"),
    ]
    again = parse_message(serialize(response))
    assert isinstance(again, Response) and again.to_addr.tag == "t1"
    assert make_response(request, 401, to_tag="a").reason == "Unauthorized"


def test_stateless_error_is_deterministic_and_not_sent_for_ack_or_responses() -> None:
    bad = register(cseq=" REGISTER")
    first = make_stateless_error(bad)
    assert first is not None and first.status == 400
    assert first == make_stateless_error(bad)
    ack = bad.replace(b"REGISTER sip", b"ACK sip")
    assert make_stateless_error(ack) is None
    assert make_stateless_error(b"SIP/2.0 200 OK\r\n\r\n") is None
    assert make_stateless_error(b"\x00garbage") is None


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty message"),
        (b"\r\n\r\n", "empty message"),
        (b"garbage", "bad request line"),
        (b"SIP/2.0 abc OK\r\n\r\n", "bad status code"),
        (b"SIP/3.0 200 OK\r\n\r\n", "unsupported SIP version"),
        (b"SIP/2.0 099 Low\r\n\r\n", "out of range"),
        (b"INVITE sip:a@b SIP/2.0\r\n folded first\r\n\r\n", "continuation line"),
        (b"INVITE sip:a@b SIP/2.0\r\nNoColon\r\n\r\n", "without ':'"),
        (b"INVITE sip:a@b SIP/2.0\r\nBad Name: x\r\n\r\n", "bad header name"),
    ],
)
def test_malformed_inputs_are_named(data: bytes, reason: str) -> None:
    with pytest.raises(SipParseError) as caught:
        parse_message(data)
    assert reason in caught.value.reason


def test_missing_required_headers_are_named() -> None:
    with pytest.raises(SipParseError, match="missing Call-ID"):
        parse_message(register().replace(b"Call-ID: 1881196343@192.168.2.64\r\n", b""))


def test_leading_crlf_before_start_line_is_ignored() -> None:
    assert parse_message(b"\r\n\r\n" + register()) == parse_message(register())


def test_tabs_and_unicode_spaces_in_values() -> None:
    data = register().replace(b"Via: SIP/2.0/UDP 192.168.2.64", b"Via:\tSIP/2.0/UDP\t192.168.2.64")
    data = data.replace(b"Expires: 3600", "Subject: 通道\u3000".encode() + b"\r\nExpires: 3600")
    message = parse_message(data)
    assert message.top_via.host == "192.168.2.64"
    assert message.headers.get("Subject") == "通道\u3000"  # only SP/HT are trimmed
