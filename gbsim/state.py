"""What a simulated device knows about itself: channels, PTZ position, guard, recording.

DeviceControl commands change this state; Catalog, DeviceStatus and RecordInfo answers read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from gbsim.config import DeviceConfig, channel_name
from sip_gateway.manscdp import CatalogItem, DeviceControl, RecordItem
from sip_gateway.manscdp.ptz import PtzError, PtzOp, decode

MAX_RECORDS = 2000


@dataclass(slots=True)
class PtzState:
    pan: int = 0
    tilt: int = 0
    zoom: int = 0
    moving: tuple[int, int, int] = (0, 0, 0)
    presets: dict[int, tuple[int, int, int]] = field(default_factory=dict)
    last_cmd: str | None = None


@dataclass(slots=True)
class ChannelState:
    channel_id: str
    name: str
    online: bool = True
    ptz: PtzState = field(default_factory=PtzState)
    recording: bool = False


@dataclass(slots=True)
class ControlEffect:
    """What a DeviceControl did, and whether the spec wants a Response/Result for it."""

    applied: list[str]
    needs_result: bool
    ok: bool = True


class DeviceState:
    __slots__ = ("config", "channels", "guard", "alarm_active", "controls", "boots")

    def __init__(self, config: DeviceConfig) -> None:
        self.config = config
        self.channels = {cid: ChannelState(cid, channel_name(i)) for i, cid in enumerate(config.channel_ids)}
        self.guard = False
        self.alarm_active = False
        self.controls: list[tuple[str, str]] = []  # (target id, command) history
        self.boots = 0

    # -- Catalog --------------------------------------------------------------------
    def catalog_items(self) -> list[CatalogItem]:
        return [self.catalog_item(channel_id) for channel_id in self.channels]

    def catalog_item(self, channel_id: str, *, event: str | None = None) -> CatalogItem:
        cfg = self.config
        ch = self.channels[channel_id]
        return CatalogItem(
            device_id=ch.channel_id,
            name=ch.name,
            manufacturer=cfg.profile.manufacturer,
            model=cfg.profile.model,
            owner="Owner",
            civil_code=cfg.device_id[:8],
            address="Address",
            parental=0,
            parent_id=cfg.device_id,
            safety_way=0,
            register_way=1,
            secrecy=0,
            status="ON" if ch.online else "OFF",
            ptz_type=1,
            event=event,
        )

    # -- RecordInfo -----------------------------------------------------------------
    def records(self, channel_id: str, start: datetime, end: datetime) -> list[RecordItem]:
        """Synthetic recordings: back-to-back segments aligned to the segment length."""
        segment = timedelta(seconds=max(self.config.record_segment, 1))
        midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
        steps = int((start - midnight) / segment)
        cursor = midnight + steps * segment
        out: list[RecordItem] = []
        while cursor < end and len(out) < MAX_RECORDS:
            seg_start, seg_end = max(cursor, start), min(cursor + segment, end)
            if seg_end > seg_start:
                out.append(
                    RecordItem(
                        device_id=channel_id,
                        name=self.channels[channel_id].name if channel_id in self.channels else channel_id,
                        file_path=f"/record/{channel_id}/{cursor:%Y%m%d%H%M%S}.ps",
                        address="Address",
                        start_time=seg_start,
                        end_time=seg_end,
                        secrecy=0,
                        type="time",
                        recorder_id=self.config.device_id,
                        file_size=int((seg_end - seg_start).total_seconds()) * 256_000,
                    )
                )
            cursor += segment
        return out

    # -- DeviceControl --------------------------------------------------------------
    def apply_control(self, target: str, control: DeviceControl) -> ControlEffect:
        applied: list[str] = []
        needs_result = False
        ok = True
        channel = self.channels.get(target)
        if control.ptz_cmd is not None:
            applied.append(f"PTZCmd={control.ptz_cmd}")
            if channel is None or not _apply_ptz(channel.ptz, control.ptz_cmd):
                ok = False
        if control.tele_boot is not None:
            applied.append("TeleBoot")
            self.boots += 1
        if control.iframe_cmd is not None:
            applied.append("IFrameCmd")
        if control.record_cmd is not None:
            needs_result = True
            applied.append(f"RecordCmd={control.record_cmd}")
            recording = control.record_cmd.lower() == "record"
            for ch in [channel] if channel is not None else self.channels.values():
                ch.recording = recording
        if control.guard_cmd is not None:
            needs_result = True
            applied.append(f"GuardCmd={control.guard_cmd}")
            self.guard = control.guard_cmd.lower() == "setguard"
        if control.alarm_cmd is not None:
            needs_result = True
            applied.append(f"AlarmCmd={control.alarm_cmd}")
            self.alarm_active = False
        if control.home_position_enabled is not None:
            needs_result = True
            applied.append(f"HomePosition={control.home_position_enabled}")
        for command in applied:
            self.controls.append((target, command))
        return ControlEffect(applied, needs_result, ok)

    @property
    def recording(self) -> bool:
        return any(ch.recording for ch in self.channels.values())


def _apply_ptz(ptz: PtzState, text: str) -> bool:
    try:
        cmd = decode(text)
    except PtzError:
        return False
    ptz.last_cmd = cmd.to_hex()
    op = cmd.op
    if cmd.is_ptz:
        # A move command starts motion; the position is advanced one step per command so a
        # status query shows it changed, and motion stops at the next stop (cmd 00).
        ptz.moving = (cmd.pan, cmd.tilt, cmd.zoom)
        ptz.pan += cmd.pan
        ptz.tilt += cmd.tilt
        ptz.zoom += cmd.zoom
    elif op is PtzOp.PRESET_SET:
        ptz.presets[cmd.preset] = (ptz.pan, ptz.tilt, ptz.zoom)
    elif op is PtzOp.PRESET_CALL:
        ptz.pan, ptz.tilt, ptz.zoom = ptz.presets.get(cmd.preset, (ptz.pan, ptz.tilt, ptz.zoom))
    elif op is PtzOp.PRESET_DELETE:
        ptz.presets.pop(cmd.preset, None)
    return True
