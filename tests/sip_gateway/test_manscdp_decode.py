"""Decoding MANSCDP bodies: character sets, lying declarations, junk and unsafe XML."""

from __future__ import annotations

import codecs

import pytest

from sip_gateway.manscdp import CatalogResponse, Keepalive, ManscdpError, parse_manscdp
from sip_gateway.manscdp.xml_decode import MAX_BODY_BYTES, decode_text, normalise_encoding, parse_xml

NAME = "大门口𠀀䶮鎔€"  # outside GB2312: needs GB18030 to survive


def catalog_body(name: str, declaration: str | None) -> str:
    head = f'<?xml version="1.0" encoding="{declaration}"?>\r\n' if declaration else ""
    return (
        f"{head}<Response><CmdType>Catalog</CmdType><SN>3</SN><DeviceID>34020000001320000001</DeviceID>"
        f'<SumNum>1</SumNum><DeviceList Num="1"><Item><DeviceID>34020000001310000001</DeviceID>'
        f"<Name>{name}</Name></Item></DeviceList></Response>"
    )


def name_of(body: bytes) -> str | None:
    message = parse_manscdp(body)
    assert isinstance(message, CatalogResponse)
    return message.items[0].name


@pytest.mark.parametrize(
    ("case", "declaration", "codec"),
    [
        ("gb2312 declared, gb18030 bytes", "GB2312", "gb18030"),
        ("lower-case gb2312 declared", "gb2312", "gb18030"),
        ("gbk declared", "GBK", "gb18030"),
        ("gb18030 declared", "GB18030", "gb18030"),
        ("utf-8 declared and sent", "UTF-8", "utf-8"),
        ("utf-8 declared but gb18030 sent", "UTF-8", "gb18030"),
        ("no declaration, utf-8 sent", None, "utf-8"),
        ("no declaration, gb18030 sent", None, "gb18030"),
        ("gb2312 declared but utf-8 sent", "GB2312", "utf-8"),
    ],
)
def test_names_survive_every_declared_and_actual_charset(
    case: str, declaration: str | None, codec: str
) -> None:
    assert name_of(catalog_body(NAME, declaration).encode(codec)) == NAME, case


@pytest.mark.parametrize(
    ("case", "prefix", "suffix"),
    [
        ("utf-8 bom", codecs.BOM_UTF8, b""),
        ("leading whitespace", b"\r\n \t", b""),
        ("leading garbage", b"\x00\x01garbage", b""),
        ("trailing nuls", b"", b"\x00\x00\x00"),
        ("trailing nuls and newlines", b"", b"\r\n\x00\r\n"),
    ],
)
def test_framing_junk_around_the_document_is_ignored(case: str, prefix: bytes, suffix: bytes) -> None:
    body = prefix + catalog_body("门", "UTF-8").encode("utf-8") + suffix
    assert name_of(body) == "门", case


def test_utf16_body_with_bom_is_decoded() -> None:
    body = codecs.BOM_UTF16_LE + catalog_body("门", "UTF-16").encode("utf-16-le")
    assert name_of(body) == "门"


def test_unescaped_ampersand_in_a_name_is_repaired() -> None:
    assert name_of(catalog_body("A&B 门 &amp; C", "GB2312").encode("gb18030")) == "A&B 门 & C"


def test_unknown_named_entity_is_kept_as_text() -> None:
    assert name_of(catalog_body("x&nbsp;y", "UTF-8").encode()) == "x&nbsp;y"


def test_undecodable_bytes_are_replaced_rather_than_losing_the_message() -> None:
    body = catalog_body("AB", "UTF-8").encode().replace(b"AB", b"A\xff\xfe\x80B")
    name = name_of(body)
    assert name is not None and name.startswith("A") and name.endswith("B")


@pytest.mark.parametrize(
    ("label", "codec"),
    [
        ("gb2312", "gb18030"),
        ("GBK", "gb18030"),
        ("cp936", "gb18030"),
        ("UTF8", "utf-8"),
        ("latin1", "iso8859-1"),
        ("no-such-charset", None),
        (None, None),
    ],
)
def test_encoding_labels_map_to_codecs(label: str | None, codec: str | None) -> None:
    assert normalise_encoding(label) == codec


def test_decode_text_prefers_the_declaration() -> None:
    assert decode_text('<?xml version="1.0" encoding="GB2312"?><a>中</a>'.encode("gb18030")).endswith(
        "<a>中</a>"
    )


@pytest.mark.parametrize(
    ("case", "body"),
    [
        ("empty", b""),
        ("whitespace only", b"  \r\n\x00"),
        ("not xml", b"hello world"),
        ("doctype", b'<!DOCTYPE Notify [<!ENTITY x "y">]><Notify><CmdType>&x;</CmdType></Notify>'),
        ("external entity", b'<!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]><r>&e;</r>'),
        ("oversized", b"<Notify>" + b" " * MAX_BODY_BYTES + b"</Notify>"),
    ],
)
def test_unusable_bodies_raise_only_manscdp_error(case: str, body: bytes) -> None:
    with pytest.raises(ManscdpError):
        parse_manscdp(body)


def test_a_billion_laughs_never_expands() -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
        b"<Notify><CmdType>&lol2;</CmdType></Notify>"
    )
    with pytest.raises(ManscdpError):
        parse_xml(body)


def test_non_bytes_input_is_a_manscdp_error() -> None:
    with pytest.raises(ManscdpError):
        parse_xml("<Notify/>")  # type: ignore[arg-type]


def test_unclosed_element_is_recovered() -> None:
    body = (
        b"<Notify><CmdType>Keepalive</CmdType><SN>5</SN><DeviceID>34020000001320000001</DeviceID><Status>OK"
    )
    message = parse_manscdp(body)
    assert isinstance(message, Keepalive)
    assert message.sn == 5


@pytest.mark.parametrize(
    "name", ["门", "你好", "大门口", "测试通道一", "€", "中文 Camera 01", "球机-南门（东）"]
)
def test_short_gb_names_are_never_mistaken_for_utf8(name: str) -> None:
    assert name_of(catalog_body(name, "GB2312").encode("gb18030")) == name


def test_gb_bytes_that_happen_to_be_valid_utf8_stay_gb() -> None:
    # "谋" is C4 B1 in GB18030, which is also the UTF-8 encoding of U+0131 (dotless i).
    assert "谋".encode("gb18030").decode("utf-8") == "ı"
    assert name_of(catalog_body("谋", "GB2312").encode("gb18030")) == "谋"


@pytest.mark.parametrize(
    ("case", "body"),
    [
        ("junk after the root", b"<Notify><CmdType>Keepalive</CmdType><SN>1</SN></Notify>\x00junk<Notify/>"),
        ("unescaped < in a value", b"<Notify><CmdType>Keepalive</CmdType><SN>1</SN><Info>a<b</Info></Notify>"),
    ],
)
def test_recoverable_damage_still_yields_the_message(case: str, body: bytes) -> None:
    message = parse_manscdp(body)
    assert isinstance(message, Keepalive) and message.sn == 1, case
