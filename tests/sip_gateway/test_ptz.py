"""PTZCmd encoding and decoding, with the known answers from the protocol fact sheet."""

from __future__ import annotations

import pytest

from sip_gateway.manscdp import ptz
from sip_gateway.manscdp.ptz import PtzError, PtzOp


@pytest.mark.parametrize(
    ("case", "produced", "expected"),
    [
        ("stop", ptz.stop(), "A50F0100000000B5"),
        ("right at speed 0x80", ptz.move(pan=1, pan_speed=0x80), "A50F010180000036"),
        ("call preset 1", ptz.preset(PtzOp.PRESET_CALL, 1), "A50F018200010038"),
        (
            "raw encode of the captured tilt-up command",
            ptz.encode(0x08, 0x00, 0x64, 0x00, address=0),
            "A50F000800640020",
        ),
    ],
)
def test_known_answers(case: str, produced: str, expected: str) -> None:
    assert produced == expected, case


@pytest.mark.parametrize(
    ("kwargs", "cmd"),
    [
        ({"pan": 1}, 0x01),
        ({"pan": -1}, 0x02),
        ({"tilt": -1}, 0x04),
        ({"tilt": 1}, 0x08),
        ({"zoom": 1}, 0x10),
        ({"zoom": -1}, 0x20),
        ({"pan": -1, "tilt": 1}, 0x0A),
        ({"pan": 1, "tilt": -1, "zoom": 1}, 0x15),
    ],
)
def test_direction_bits(kwargs: dict[str, int], cmd: int) -> None:
    assert ptz.decode(ptz.move(**kwargs)).cmd == cmd


def test_move_round_trips_directions_and_speeds() -> None:
    decoded = ptz.decode(ptz.move(pan=-1, tilt=1, zoom=-1, pan_speed=10, tilt_speed=20, zoom_speed=0xF))
    assert (decoded.pan, decoded.tilt, decoded.zoom) == (-1, 1, -1)
    assert (decoded.pan_speed, decoded.tilt_speed, decoded.zoom_speed) == (10, 20, 15)
    assert decoded.is_ptz and not decoded.is_stop


def test_captured_tilt_up_command_decodes() -> None:
    decoded = ptz.decode("A50F000800640020")
    assert (decoded.address, decoded.tilt, decoded.pan, decoded.tilt_speed) == (0, 1, 0, 0x64)


@pytest.mark.parametrize(
    ("kwargs", "focus", "iris"),
    [({"focus": 1}, 1, 0), ({"focus": -1}, -1, 0), ({"iris": 1}, 0, 1), ({"iris": -1}, 0, -1), ({}, 0, 0)],
)
def test_focus_and_iris(kwargs: dict[str, int], focus: int, iris: int) -> None:
    decoded = ptz.decode(ptz.focus_iris(**kwargs))
    assert decoded.is_focus_iris and (decoded.focus, decoded.iris) == (focus, iris)


@pytest.mark.parametrize("op", [PtzOp.PRESET_SET, PtzOp.PRESET_CALL, PtzOp.PRESET_DELETE])
@pytest.mark.parametrize("index", [1, 128, 255])
def test_presets(op: PtzOp, index: int) -> None:
    decoded = ptz.decode(ptz.preset(op, index))
    assert (decoded.op, decoded.preset) == (op, index)


def test_cruise_commands_carry_route_and_12_bit_values() -> None:
    add = ptz.decode(ptz.cruise(PtzOp.CRUISE_ADD, 3, 7))
    assert (add.op, add.group, add.preset) == (PtzOp.CRUISE_ADD, 3, 7)
    speed = ptz.decode(ptz.cruise(PtzOp.CRUISE_SPEED, 3, 0xABC))
    assert (speed.op, speed.group, speed.data12) == (PtzOp.CRUISE_SPEED, 3, 0xABC)
    dwell = ptz.decode(ptz.cruise(PtzOp.CRUISE_DWELL, 1, 30))
    assert dwell.data12 == 30
    assert ptz.decode(ptz.cruise(PtzOp.CRUISE_START, 2)).op is PtzOp.CRUISE_START
    assert ptz.decode(ptz.cruise(PtzOp.CRUISE_DELETE, 2, 0)).op is PtzOp.CRUISE_DELETE


def test_scan_and_aux() -> None:
    for value in (0, 1, 2):
        decoded = ptz.decode(ptz.scan(PtzOp.SCAN, 1, value))
        assert (decoded.op, decoded.group, decoded.preset) == (PtzOp.SCAN, 1, value)
    assert ptz.decode(ptz.scan(PtzOp.SCAN_SPEED, 1, 0x123)).data12 == 0x123
    assert ptz.decode(ptz.aux(2, on=True)).op is PtzOp.AUX_ON
    assert ptz.decode(ptz.aux(2, on=False)).op is PtzOp.AUX_OFF


def test_lower_case_hex_is_accepted_and_re_encoded_upper_case() -> None:
    assert ptz.decode("a50f0100000000b5").to_hex() == "A50F0100000000B5"


@pytest.mark.parametrize(
    "value",
    ["", "A50F01000000B5", "A50F0100000000B6", "B50F0100000000C5", "ZZ0F0100000000B5", "A50F0100000000B5FF"],
)
def test_malformed_commands_raise_ptz_error(value: str) -> None:
    with pytest.raises(PtzError):
        ptz.decode(value)


@pytest.mark.parametrize(
    "call",
    [
        lambda: ptz.move(pan=2),
        lambda: ptz.move(zoom=1, zoom_speed=16),
        lambda: ptz.move(pan=1, pan_speed=256),
        lambda: ptz.preset(PtzOp.PRESET_CALL, 0),
        lambda: ptz.preset(PtzOp.SCAN, 1),
        lambda: ptz.cruise(PtzOp.CRUISE_SPEED, 1, 0x1000),
        lambda: ptz.cruise(PtzOp.PRESET_SET, 1),
        lambda: ptz.scan(PtzOp.SCAN, 1, 3),
        lambda: ptz.scan(PtzOp.AUX_ON, 1),
        lambda: ptz.encode(0x100),
    ],
)
def test_encoders_reject_out_of_range_arguments(call: object) -> None:
    with pytest.raises(ValueError):
        call()  # type: ignore[operator]
