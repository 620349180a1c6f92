"""The shortcuts the REGISTER hot path takes give exactly what the general code gives."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import inspect
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sip_gateway.core import message as message_module
from sip_gateway.core.digest import HmacSha256, _fast_params, _tidy_params, md5_hex
from sip_gateway.core.errors import SipParseError
from sip_gateway.core.frozen import quick_init
from sip_gateway.core.header_values import NameAddress, Via, check_name_addr, check_vias, sip_user
from sip_gateway.core.headers import Headers
from sip_gateway.core.message import parse_message
from tests.vectors import vector_path

token = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~", min_size=1, max_size=8)
param = st.tuples(token, st.none() | token).map(lambda p: f";{p[0]}" if p[1] is None else f";{p[0]}={p[1]}")
params = st.lists(param, max_size=4).map("".join)
host = st.sampled_from(["192.168.2.64", "3402000000", "gw.example.com", "a-b.c", "1.2.3.4", "[::1]", "bad_host", ""])
port = st.sampled_from(["", ":5060", ":0", ":65535", ":65536", ":99999", ":05060", ":"])


def captured_values(name: str) -> list[str]:
    values = []
    for path in sorted(vector_path("sip").rglob("*.sip")):
        for line in path.read_bytes().decode("utf-8", "surrogateescape").splitlines():
            key, colon, value = line.partition(":")
            if colon and key.strip().lower() == name.lower():
                values.append(value.strip())
    return values


def outcome(parse, text: str) -> object:  # type: ignore[no-untyped-def]
    try:
        return parse(text)
    except SipParseError as exc:
        return ("error", type(exc))


def general_user(text: str) -> str | None:
    return NameAddress.parse(text).sip_uri.user


@given(st.sampled_from(["UDP", "udp", "TCP", "Tcp"]), host, port, params)
def test_via_shortcut_agrees_with_the_general_parser(transport: str, host: str, port: str, params: str) -> None:
    text = f"SIP/2.0/{transport} {host}{port}{params}"
    assert outcome(Via.parse, text) == outcome(Via.parse_general, text)


def test_via_shortcut_agrees_on_every_captured_via() -> None:
    vias = captured_values("Via") + captured_values("v")
    assert vias
    for text in vias:
        first = text.split(",")[0].strip()
        assert outcome(Via.parse, first) == outcome(Via.parse_general, first)


@given(
    st.sampled_from(["", '"Camera 1" ', '"" ', "Camera ", '"q\\"x" ']),
    st.sampled_from(["sip", "SIP", "sips", "tel"]),
    st.sampled_from(["34020000001320000001", "user", "", "us:er", "a%20b"]),
    host,
    port,
    params,
    params,
)
def test_device_id_shortcut_agrees_with_the_general_parser(
    display: str, scheme: str, user: str, host: str, port: str, uri_params: str, tail: str
) -> None:
    at = f"{user}@" if user else ""
    text = f"{display}<{scheme}:{at}{host}{port}{uri_params}>{tail}"
    assert outcome(sip_user, text) == outcome(general_user, text)


def test_device_id_shortcut_agrees_on_every_captured_from() -> None:
    values = captured_values("From") + captured_values("f")
    assert values
    for text in values:
        assert outcome(sip_user, text) == outcome(general_user, text)


def test_device_id_of_a_parsed_register() -> None:
    message = parse_message(
        b"REGISTER sip:34020000002000000001@3402000000 SIP/2.0\r\n"
        b"Via: SIP/2.0/UDP 192.168.2.64:5060;rport;branch=z9hG4bK1\r\n"
        b'From: "IPC" <sip:34020000001320000264@3402000000>;tag=180588994\r\n'
        b"To: <sip:34020000001320000264@3402000000>\r\nCall-ID: 1@2\r\nCSeq: 1 REGISTER\r\n\r\n"
    )
    assert message.from_user == "34020000001320000264"


operations = st.lists(
    st.tuples(
        st.sampled_from(["add", "set", "remove", "copy"]),
        st.sampled_from(["Via", "v", "VIA", "Contact", "m", "X-Odd", "x-odd", "Expires"]),
        st.text(alphabet="ab ;=", max_size=4),
    ),
    max_size=12,
)


@given(operations, st.booleans())
def test_header_lookups_follow_every_change(steps: list[tuple[str, str, str]], looked_up_first: bool) -> None:
    headers = Headers([("Via", "first"), ("Expires", "60")])
    if looked_up_first:
        headers.get("Via")  # the lookup index exists before the changes
    for operation, name, value in steps:
        if operation == "add":
            headers.add(name, value)
        elif operation == "set":
            headers.set(name, value)
        elif operation == "remove":
            headers.remove(name)
        else:
            headers = headers.copy()
    for name in ("Via", "Contact", "X-Odd", "Expires", "Absent"):
        values = headers.get_all(name)
        assert headers.get(name) == (values[0] if values else None)
        assert (name in headers) == bool(values)


def test_a_copy_does_not_see_later_changes_to_the_original() -> None:
    original = Headers([("Via", "a")])
    original.get("Via")
    copy = original.copy()
    original.set("Via", "b")
    assert copy.get("Via") == "a" and original.get("Via") == "b"


@pytest.mark.parametrize("key_length", [0, 1, 32, 63, 64, 65, 200])
@pytest.mark.parametrize("message", [b"", b"67a1b2c3-4d5e", bytes(range(256))])
def test_nonce_mac_is_hmac_sha256(key_length: int, message: bytes) -> None:
    key = hashlib.sha512(b"k").digest() * 4
    assert HmacSha256(key[:key_length]).digest(message) == hmac.digest(key[:key_length], message, "sha256")


@given(st.text(max_size=80))
def test_md5_from_a_copied_hash_is_md5(text: str) -> None:
    encoded = text.encode("utf-8", "surrogateescape")
    assert md5_hex(text) == hashlib.md5(encoded).hexdigest()
    assert md5_hex(text) == md5_hex(text)  # the shared starting state is never changed


def test_gb_date_has_milliseconds_and_no_zone() -> None:
    from sip_gateway.service import gb_date

    first, second = gb_date(), gb_date()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}", first)
    assert first <= second


def test_report_times_are_iso_8601_local_times_with_the_zone() -> None:
    from datetime import datetime

    from sip_gateway.service import _local_zone, iso_now

    stamp = datetime.fromisoformat(iso_now())
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d", iso_now())
    assert stamp.utcoffset() == stamp.replace(tzinfo=_local_zone()).utcoffset()


auth_name = st.sampled_from(["username", "Realm", "nonce", "uri", "response", "algorithm", "qop", "nc", "x-y_z", "a b", ""])
auth_value = st.sampled_from(
    ['"34020000001320000001"', '""', '"sip:a@b"', '"a,b"', '"a\\"b"', '"a b"', "MD5", "auth", "00000001", "", "a b", '"open']
)
auth_separator = st.sampled_from([", ", ",", " , ", ",  ", ", ,"])


@given(st.lists(st.tuples(auth_name, st.sampled_from(["=", " = ", "= "]), auth_value), min_size=1, max_size=6), auth_separator)
def test_tidy_authorization_shortcut_agrees_with_the_regex_reader(
    items: list[tuple[str, str, str]], separator: str
) -> None:
    rest = separator.join(f"{name}{equals}{value}" for name, equals, value in items)
    tidy = _tidy_params(rest)
    if tidy is not None:
        assert tidy == _fast_params(rest)


def test_a_device_authorization_takes_the_tidy_shortcut() -> None:
    rest = (
        'username="34020000001320000001", realm="3402000000", nonce="56d-2ba248.8111d808bd53525186941ab7", '
        'uri="sip:34020000002000000001@3402000000", response="3601c2c1a82accde0cdd315c57f428b4", algorithm=MD5'
    )
    tidy = _tidy_params(rest)
    assert tidy is not None and tidy == _fast_params(rest)


@dataclasses.dataclass(frozen=True, slots=True)
class Generated:
    a: int
    b: str = "x"
    c: tuple[int, ...] = dataclasses.field(default=())


@quick_init
@dataclasses.dataclass(frozen=True, slots=True)
class Quick:
    a: int
    b: str = "x"
    c: tuple[int, ...] = dataclasses.field(default=())


@pytest.mark.parametrize(
    ("args", "kwargs"), [((1,), {}), ((1, "y"), {}), ((), {"a": 2, "c": (3,)}), ((1,), {"b": "z"})]
)
def test_a_quick_init_builds_what_the_generated_one_builds(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    quick, generated = Quick(*args, **kwargs), Generated(*args, **kwargs)
    assert dataclasses.astuple(quick) == dataclasses.astuple(generated)
    assert list(inspect.signature(Quick).parameters) == list(inspect.signature(Generated).parameters)


def test_a_quick_init_keeps_the_class_frozen_and_its_arguments_required() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Quick(1).a = 2  # type: ignore[misc]
    with pytest.raises(TypeError):
        Quick()  # type: ignore[call-arg]


def test_quick_init_refuses_classes_it_would_change() -> None:
    @dataclasses.dataclass
    class Mutable:
        a: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class WithFactory:
        a: list[int] = dataclasses.field(default_factory=list)

    for cls in (Mutable, WithFactory):
        with pytest.raises(TypeError):
            quick_init(cls)


def general_head(data: bytes) -> tuple[list[str], bytes]:
    """The header lines (start line first) and the rest, as the general path reads them."""
    head_bytes, rest = message_module._split_head(data)
    head = head_bytes.decode("utf-8", "surrogateescape").replace("\r\n", "\n")
    return head.split("\n"), rest


line_piece = st.sampled_from(
    ["Via: SIP/2.0/UDP h;branch=z9hG4bK1", "To: <sip:a@b>", " folded", "\tfolded", "", "x", "é", "a\rb", "a\nb"]
)
line_end = st.sampled_from(["\r\n", "\n", "\r", "\r\n\r\n", "\n\n", "\r\n\n", "\n\r\n"])


@given(st.lists(st.tuples(line_piece, line_end), max_size=8), st.binary(max_size=6))
def test_crlf_shortcut_splits_the_head_as_the_general_path_does(pieces: list[tuple[str, str]], tail: bytes) -> None:
    data = ("REGISTER sip:a@b SIP/2.0\r\n" + "".join(text + end for text, end in pieces)).encode() + tail
    fast = message_module._crlf_lines(data)
    if fast is not None:
        assert fast == general_head(data)


def test_captured_messages_take_the_crlf_shortcut() -> None:
    paths = sorted(vector_path("sip").rglob("*.sip"))
    taken = 0
    for path in paths:
        data = path.read_bytes()
        fast = message_module._crlf_lines(data)
        if fast is not None:
            taken += 1
            assert fast == general_head(data)
    assert taken


def test_a_via_parsed_twice_in_a_row_is_the_same_value() -> None:
    text = "SIP/2.0/UDP 192.168.2.64:5060;rport;branch=z9hG4bK1"
    check_vias([text])
    assert Via.parse(text) == Via.parse_general(text)
    assert Via.parse("SIP/2.0/UDP 10.0.0.1") == Via("UDP", "10.0.0.1")
    with pytest.raises(SipParseError):
        Via.parse("")


@pytest.mark.parametrize(
    "value", ["<sip:34020000001320000264@3402000000>;tag=1", '"IPC" <sip:a@b>', "sip:user@host;tag=2", "<tel:123>"]
)
def test_the_sender_checked_by_the_parser_gives_the_device_id_the_general_reader_gives(value: str) -> None:
    check_name_addr(value)
    assert outcome(sip_user, value) == outcome(general_user, value)
    check_name_addr("<sip:other@3402000000>")
    assert outcome(sip_user, value) == outcome(general_user, value)
