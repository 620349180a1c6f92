"""PTZCmd: the 8-byte front-end control word, written as 16 hex characters.

Layout `A5 0F addr cmd b5 b6 b7 sum`, sum = (b1 + … + b7) mod 256. The command byte
selects the family: 0x00–0x3F pan/tilt/zoom bits, 0x40–0x4F focus/iris, 0x81–0x8D
presets, cruise, scan and auxiliary switches.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

HEADER = 0xA5
COMBINATION = 0x0F
DEFAULT_ADDRESS = 0x01

# Bits of the PTZ command byte.
RIGHT, LEFT, DOWN, UP, ZOOM_IN, ZOOM_OUT = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
FOCUS_FAR, FOCUS_NEAR, IRIS_OPEN, IRIS_CLOSE = 0x01, 0x02, 0x04, 0x08


class PtzError(ValueError):
    """A PTZCmd that is not 16 hex characters, has a wrong header or checksum."""


class PtzOp(enum.IntEnum):
    PRESET_SET = 0x81
    PRESET_CALL = 0x82
    PRESET_DELETE = 0x83
    CRUISE_ADD = 0x84
    CRUISE_DELETE = 0x85
    CRUISE_SPEED = 0x86
    CRUISE_DWELL = 0x87
    CRUISE_START = 0x88
    SCAN = 0x89
    SCAN_SPEED = 0x8A
    AUX_ON = 0x8C
    AUX_OFF = 0x8D


def _byte(name: str, value: int, high: int = 0xFF) -> int:
    if not 0 <= value <= high:
        raise ValueError(f"{name} must be 0..{high}, got {value}")
    return value


def encode(cmd: int, b5: int = 0, b6: int = 0, b7: int = 0, *, address: int = DEFAULT_ADDRESS) -> str:
    """The 16-hex-character PTZCmd for one command byte and its three data bytes."""
    raw = [HEADER, COMBINATION, _byte("address", address), _byte("cmd", cmd)]
    raw += [_byte("b5", b5), _byte("b6", b6), _byte("b7", b7)]
    raw.append(sum(raw) % 256)
    return bytes(raw).hex().upper()


@dataclass(frozen=True, slots=True)
class PtzCommand:
    address: int
    cmd: int
    b5: int
    b6: int
    b7: int

    @property
    def is_stop(self) -> bool:
        return self.cmd == 0

    @property
    def is_ptz(self) -> bool:
        return self.cmd < 0x40

    @property
    def is_focus_iris(self) -> bool:
        return 0x40 <= self.cmd < 0x50

    @property
    def pan(self) -> int:
        """+1 right, -1 left, 0 none (both bits set cancel out)."""
        return self._axis(RIGHT, LEFT) if self.is_ptz else 0

    @property
    def tilt(self) -> int:
        """+1 up, -1 down."""
        return self._axis(UP, DOWN) if self.is_ptz else 0

    @property
    def zoom(self) -> int:
        """+1 in (tele), -1 out (wide)."""
        return self._axis(ZOOM_IN, ZOOM_OUT) if self.is_ptz else 0

    @property
    def focus(self) -> int:
        """+1 far, -1 near."""
        return self._axis(FOCUS_FAR, FOCUS_NEAR) if self.is_focus_iris else 0

    @property
    def iris(self) -> int:
        """+1 open, -1 close."""
        return self._axis(IRIS_OPEN, IRIS_CLOSE) if self.is_focus_iris else 0

    @property
    def pan_speed(self) -> int:
        return self.b5

    @property
    def tilt_speed(self) -> int:
        return self.b6

    @property
    def zoom_speed(self) -> int:
        return self.b7 >> 4

    @property
    def op(self) -> PtzOp | None:
        try:
            return PtzOp(self.cmd)
        except ValueError:
            return None

    @property
    def preset(self) -> int:
        """Preset index for 81/82/83, preset point for cruise 84/85."""
        return self.b6

    @property
    def group(self) -> int:
        """Cruise route, scan group or auxiliary switch number."""
        return self.b5

    @property
    def data12(self) -> int:
        """The 12-bit value of cruise speed/dwell and scan speed: b6 low, b7 high nibble."""
        return self.b6 | (self.b7 >> 4) << 8

    def _axis(self, positive: int, negative: int) -> int:
        return (1 if self.cmd & positive else 0) - (1 if self.cmd & negative else 0)

    def to_hex(self) -> str:
        return encode(self.cmd, self.b5, self.b6, self.b7, address=self.address)


def decode(value: str) -> PtzCommand:
    """Parse a PTZCmd; raises PtzError unless it is 8 bytes with header A5 and a good sum."""
    text = value.strip()
    if len(text) != 16:
        raise PtzError(f"PTZCmd must be 16 hex characters, got {len(text)}")
    try:
        raw = bytes.fromhex(text)
    except ValueError as exc:
        raise PtzError(f"PTZCmd is not hexadecimal: {text!r}") from exc
    if raw[0] != HEADER:
        raise PtzError(f"PTZCmd header must be A5, got {raw[0]:02X}")
    if sum(raw[:7]) % 256 != raw[7]:
        raise PtzError(f"PTZCmd checksum {raw[7]:02X} should be {sum(raw[:7]) % 256:02X}")
    return PtzCommand(address=raw[2], cmd=raw[3], b5=raw[4], b6=raw[5], b7=raw[6])


def validate_ptz_cmd(value: str) -> None:
    decode(value)


def stop(*, address: int = DEFAULT_ADDRESS) -> str:
    return encode(0, address=address)


def move(
    *,
    pan: int = 0,
    tilt: int = 0,
    zoom: int = 0,
    pan_speed: int = 0x80,
    tilt_speed: int = 0x80,
    zoom_speed: int = 0x8,
    address: int = DEFAULT_ADDRESS,
) -> str:
    """Pan (+1 right/-1 left), tilt (+1 up/-1 down), zoom (+1 in/-1 out) at given speeds."""
    cmd = _direction(pan, RIGHT, LEFT) | _direction(tilt, UP, DOWN) | _direction(zoom, ZOOM_IN, ZOOM_OUT)
    return encode(
        cmd,
        pan_speed if pan else 0,
        tilt_speed if tilt else 0,
        _byte("zoom_speed", zoom_speed, 0xF) << 4 if zoom else 0,
        address=address,
    )


def focus_iris(
    *,
    focus: int = 0,
    iris: int = 0,
    focus_speed: int = 0x80,
    iris_speed: int = 0x80,
    address: int = DEFAULT_ADDRESS,
) -> str:
    """Focus (+1 far/-1 near) and iris (+1 open/-1 close); 0x40 alone stops both."""
    cmd = 0x40 | _direction(focus, FOCUS_FAR, FOCUS_NEAR) | _direction(iris, IRIS_OPEN, IRIS_CLOSE)
    return encode(cmd, focus_speed if focus else 0, iris_speed if iris else 0, address=address)


def _direction(value: int, positive: int, negative: int) -> int:
    if value not in (-1, 0, 1):
        raise ValueError(f"direction must be -1, 0 or 1, got {value}")
    return positive if value > 0 else negative if value < 0 else 0


def preset(op: PtzOp, index: int, *, address: int = DEFAULT_ADDRESS) -> str:
    """Set, call or delete preset 1..255."""
    if op not in (PtzOp.PRESET_SET, PtzOp.PRESET_CALL, PtzOp.PRESET_DELETE):
        raise ValueError(f"{op!r} is not a preset operation")
    if not 1 <= index <= 255:
        raise ValueError(f"preset index must be 1..255, got {index}")
    return encode(op, 0, index, address=address)


def cruise(op: PtzOp, route: int, value: int = 0, *, address: int = DEFAULT_ADDRESS) -> str:
    """Cruise route commands: add/delete a preset point, set speed or dwell (12 bits), start."""
    if op not in (
        PtzOp.CRUISE_ADD,
        PtzOp.CRUISE_DELETE,
        PtzOp.CRUISE_SPEED,
        PtzOp.CRUISE_DWELL,
        PtzOp.CRUISE_START,
    ):
        raise ValueError(f"{op!r} is not a cruise operation")
    _byte("route", route)
    if op in (PtzOp.CRUISE_SPEED, PtzOp.CRUISE_DWELL):
        _byte("value", value, 0xFFF)
        return encode(op, route, value & 0xFF, (value >> 8) << 4, address=address)
    return encode(op, route, _byte("value", value), address=address)


def scan(op: PtzOp, group: int, value: int = 0, *, address: int = DEFAULT_ADDRESS) -> str:
    """Scan: 0x89 with value 0 start / 1 left edge / 2 right edge; 0x8A sets speed (12 bits)."""
    _byte("group", group)
    if op is PtzOp.SCAN:
        if value not in (0, 1, 2):
            raise ValueError("scan value must be 0 (start), 1 (left edge) or 2 (right edge)")
        return encode(op, group, value, address=address)
    if op is PtzOp.SCAN_SPEED:
        _byte("speed", value, 0xFFF)
        return encode(op, group, value & 0xFF, (value >> 8) << 4, address=address)
    raise ValueError(f"{op!r} is not a scan operation")


def aux(switch: int, *, on: bool, address: int = DEFAULT_ADDRESS) -> str:
    return encode(PtzOp.AUX_ON if on else PtzOp.AUX_OFF, _byte("switch", switch), address=address)
