"""Property tests: whatever bytes arrive, parse_manscdp returns a message or raises ManscdpError."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sip_gateway.manscdp import CatalogItem, CatalogResponse, Envelope, ManscdpError, parse_manscdp
from sip_gateway.manscdp.device_build import catalog_response
from sip_gateway.manscdp.xml_encode import XML_ILLEGAL_CHARS, Charset
from sip_gateway.sdp import parse_sdp
from tests.vectors import vector_files

REAL_BODIES = [p.read_bytes() for p in vector_files("sip/dahua_sd_hik_nvr", "*.xml")]
SYNTHETIC = [
    b'<?xml version="1.0" encoding="GB2312"?><Response><CmdType>Catalog</CmdType><SN>1</SN><SumNum>2</SumNum>'
    b'<DeviceList Num="2"><Item><DeviceID>1</DeviceID><Name>\xb4\xf3\xc3\xc5</Name></Item></DeviceList></Response>',
    b"<Notify><CmdType>MobilePosition</CmdType><Time>2024-13-45T99:99:99</Time><Longitude>1e999</Longitude></Notify>",
]
SEEDS = REAL_BODIES + SYNTHETIC


def parse_or_manscdp_error(body: bytes) -> None:
    try:
        message = parse_manscdp(body)
    except ManscdpError:
        return
    assert isinstance(message, Envelope)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048))
def test_random_bytes_never_raise_anything_but_manscdp_error(body: bytes) -> None:
    parse_or_manscdp_error(body)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.sampled_from(SEEDS),
    edits=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=4096),
            st.integers(min_value=0, max_value=8),
            st.binary(max_size=8),
        ),
        max_size=6,
    ),
)
def test_mutated_real_bodies_never_raise_anything_but_manscdp_error(
    seed: bytes, edits: list[tuple[int, int, bytes]]
) -> None:
    body = bytearray(seed)
    for position, delete, insert in edits:
        at = position % (len(body) + 1)
        body[at : at + delete] = insert
    parse_or_manscdp_error(bytes(body))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=200), st.sampled_from(["GB2312", "UTF-8"]))
def test_any_name_we_build_parses_back_unchanged(name: str, charset: Charset) -> None:
    body = catalog_response(
        1, "34020000001320000001", 1, [CatalogItem(device_id="1", name=name)], charset=charset
    )
    message = parse_manscdp(body)
    assert isinstance(message, CatalogResponse)
    # What XML itself cannot carry: control characters are dropped, CR becomes LF, edges are trimmed.
    expected = XML_ILLEGAL_CHARS.sub("", name).replace("\r\n", "\n").replace("\r", "\n").strip() or None
    assert message.items[0].name == expected


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=1024))
def test_sdp_parser_never_raises(body: bytes) -> None:
    parse_sdp(body)


@pytest.mark.parametrize("path", vector_files("sip/dahua_sd_hik_nvr", "*.xml"), ids=lambda p: Path(p).name)
def test_every_truncation_of_a_real_body_is_handled(path: Path) -> None:
    body = path.read_bytes()
    for end in range(len(body) + 1):
        parse_or_manscdp_error(body[:end])
