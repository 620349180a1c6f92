"""MANSCDP answers a device sends after the 200 OK to a MESSAGE: pure functions of its state."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

from gbsim.config import DeviceConfig
from gbsim.notify import position_body
from gbsim.profiles import apply_body_quirks
from gbsim.state import DeviceState
from sip_gateway.manscdp import AlarmStatusItem, DeviceControl, Message, Query
from sip_gateway.manscdp.device_build import (
    catalog_notify,
    device_info_response,
    device_status_response,
    iter_catalog_responses,
    record_info_responses,
    result_response,
)
from sip_gateway.manscdp.xml_encode import El, leaf, message, render

# A RecordInfo query without times (or with nonsense) is answered for the last day.
DEFAULT_RECORD_SPAN = timedelta(days=1)


def answer_message(msg: Message, state: DeviceState, wall: datetime) -> Iterator[bytes]:
    """The Response bodies for a Query or Control; empty when the spec wants no answer.

    What the answer says is decided now; each body is rendered when it is taken (a catalog
    of 10,000 one-item messages is sent one at a time, not rendered all before the first)."""
    cfg = state.config
    target = msg.device_id or cfg.device_id
    if not state_owns(cfg, target):
        return iter(())
    sn = msg.sn if msg.sn is not None else 0
    charset = cfg.body_charset
    bodies: Iterable[bytes] = []
    if isinstance(msg, DeviceControl):
        effect = state.apply_control(target, msg)
        if effect.needs_result:
            bodies = [result_response("DeviceControl", sn, target, ok=effect.ok, charset=charset)]
    elif isinstance(msg, Query):
        bodies = _answer_query(msg, state, target, sn, wall)
    elif msg.root == "Notify" and msg.cmd_type == "Broadcast":
        bodies = [result_response("Broadcast", sn, target, charset=charset)]
    return (apply_body_quirks(body, cfg.profile) for body in bodies)


def _answer_query(msg: Query, state: DeviceState, target: str, sn: int, wall: datetime) -> Iterable[bytes]:
    cfg = state.config
    charset = cfg.body_charset
    cmd = msg.cmd_type
    if cmd == "Catalog":
        return iter_catalog_responses(
            sn,
            cfg.device_id,
            state.catalog_items(),
            per_message=cfg.items_per_catalog_message,
            charset=charset,
        )
    if cmd == "DeviceInfo":
        profile = cfg.profile
        return [
            device_info_response(
                sn,
                target,
                device_name=f"{profile.model} {cfg.device_id[-6:]}",
                manufacturer=profile.manufacturer,
                model=profile.model,
                firmware=profile.firmware,
                channel=len(cfg.channel_ids),
                charset=charset,
            )
        ]
    if cmd == "DeviceStatus":
        channel = state.channels.get(target)
        online = channel.online if channel is not None else True
        recording = channel.recording if channel is not None else state.recording
        duty = "ALARM" if state.alarm_active else ("ONDUTY" if state.guard else "OFFDUTY")
        return [
            device_status_response(
                sn,
                target,
                online=online,
                encode=True,
                record=recording,
                device_time=wall.replace(microsecond=0),
                alarm_status=[AlarmStatusItem(device_id=target, duty_status=duty)],
                charset=charset,
            )
        ]
    if cmd == "RecordInfo":
        end = msg.end_time or wall
        start = msg.start_time or end - DEFAULT_RECORD_SPAN
        items = state.records(target, start, end) if end > start else []
        name = state.channels[target].name if target in state.channels else None
        return record_info_responses(
            sn, target, items, name=name, per_message=cfg.record_per_message, charset=charset
        )
    if cmd == "PresetQuery":
        return [_preset_list(state, target, sn)]
    if cmd == "MobilePosition":
        # A query with an Interval is a subscription on some platforms; answer with one
        # position now (the periodic ones come from --position-every).
        return [position_body(cfg, sn, wall, 116.397, 39.909, 0.0, 0.0)]
    return []


def _preset_list(state: DeviceState, target: str, sn: int) -> bytes:
    """Response/PresetQuery: the presets set with PTZCmd 0x81 on this channel."""
    channel = state.channels.get(target)
    presets = sorted(channel.ptz.presets) if channel is not None else []
    items = [
        El("Item", children=[El("PresetID", str(index)), El("PresetName", f"预置点{index}")])
        for index in presets
    ]
    body = [leaf("SumNum", len(items)), El("PresetList", children=items, attrs=[("Num", str(len(items)))])]
    return render(message("Response", "PresetQuery", sn, target, body), state.config.body_charset)


def catalog_notifies(
    state: DeviceState, sn: int, event: str = "ON", *, only: set[str] | None = None
) -> Iterator[bytes]:
    """Notify/Catalog bodies for a subscription (all channels, or `only` these), chunked as for
    queries; each rendered, with the channels' state then, when it is taken."""
    cfg = state.config
    ids = [channel_id for channel_id in state.channels if only is None or channel_id in only]
    per = cfg.items_per_catalog_message
    return (
        apply_body_quirks(
            catalog_notify(
                sn,
                cfg.device_id,
                [state.catalog_item(channel_id, event=event) for channel_id in ids[i : i + per]],
                charset=cfg.body_charset,
            ),
            cfg.profile,
        )
        for i in range(0, len(ids), per)
    )


def state_owns(cfg: DeviceConfig, target: str) -> bool:
    return target == cfg.device_id or target in cfg.channel_ids
