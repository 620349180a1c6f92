"""GB ID helpers: 20-digit codes, type codes, civil-code regions and domains."""

from __future__ import annotations

import pytest

from sip_gateway.manscdp import ids


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("34020000001320000001", True),
        ("3402000000132000000", False),
        ("3402000000132000000x", False),
        ("３４020000001320000001", False),
        ("", False),
    ],
)
def test_device_ids_are_exactly_20_ascii_digits(value: str, expected: bool) -> None:
    assert ids.is_device_id(value) is expected


@pytest.mark.parametrize(
    ("device_id", "code"),
    [
        ("34020000001320000001", 132),
        ("34020000001310000001", 131),
        ("34020000002000000001", 200),
        ("34020000002150000001", 215),
        ("34020000002160000001", 216),
        ("340200", None),
    ],
)
def test_type_code_is_digits_11_to_13(device_id: str, code: int | None) -> None:
    assert ids.type_code(device_id) == code


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("34", True),
        ("3402", True),
        ("340200", True),
        ("34020001", True),
        ("340", False),
        ("3402000000", False),
        ("34020000001320000001", False),
        ("34ab", False),
    ],
)
def test_regions_have_2_4_6_or_8_digits(value: str, expected: bool) -> None:
    assert ids.is_region(value) is expected


@pytest.mark.parametrize(
    ("code", "parent"),
    [("34020001", "340200"), ("340200", "3402"), ("3402", "34"), ("34", None), ("x", None)],
)
def test_parent_civil_code_drops_the_last_level(code: str, parent: str | None) -> None:
    assert ids.parent_civil_code(code) == parent


def test_group_organisation_and_platform_predicates() -> None:
    assert ids.is_business_group("34020000002150000001")
    assert ids.is_virtual_organisation("34020000002160000001")
    assert ids.is_platform("34020000002000000001")
    assert not ids.is_business_group("34020000001310000001")


def test_civil_code_of_strips_unused_levels() -> None:
    assert ids.civil_code_of("34020000001320000001") == "3402"
    assert ids.civil_code_of("44198700001510000004") == "441987"
    assert ids.civil_code_of("44198712001510000004") == "44198712"
    assert ids.civil_code_of("bad") is None


def test_domain_is_the_first_ten_digits_of_the_server_id() -> None:
    assert ids.domain_of("34020000002000000001") == "3402000000"
    with pytest.raises(ValueError):
        ids.domain_of("3402000000")
