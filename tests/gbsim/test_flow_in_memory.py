"""A whole flow with no network: register (challenged), keepalive, catalog one item per message,
live INVITE, ACK, and the RTP the channel sends, decoded by PyAV."""

from __future__ import annotations

from pathlib import Path

import av

from gbsim.actions import StartMedia
from gbsim.config import DeviceConfig, Timing, channel_ids, device_ids
from gbsim.device import DeviceCore
from gbsim.profiles import PROFILES
from gbsim.stream.clip import Clip
from gbsim.stream.sender import StreamSender
from media.rtp.packet import parse_rtp
from sip_gateway.manscdp import CatalogResponse
from sip_gateway.manscdp.build import query_catalog
from sip_gateway.sdp import parse_answer
from tests.gbsim.platform_stub import DOMAIN, PASSWORD, SERVER_ID, PlatformStub, Wire


def test_register_keepalive_catalog_invite_and_rtp_in_memory(h264_clip: Clip, tmp_path: Path) -> None:
    cfg = DeviceConfig(
        device_id=device_ids("34020000", 1, type_code="132")[0],
        channel_ids=channel_ids("34020000", 0, 3),
        server_id=SERVER_ID,
        domain=DOMAIN,
        password=PASSWORD,
        profile=PROFILES["hikvision"],
        timing=Timing(keepalive_interval=60),
    )
    device = DeviceCore(cfg, seed=1)
    stub = PlatformStub(qop=False)
    wire = Wire(stub, device)

    device.start(0.0)
    now = wire.run(until=121.0)
    assert device.registered and stub.challenges == 1 and stub.keepalives[cfg.device_id] == 2

    wire.deliver(device, stub.request("MESSAGE", cfg.device_id, query_catalog(1, cfg.device_id)), now)
    chunks = [m for m in stub.messages if isinstance(m, CatalogResponse)]
    assert [(c.sum_num, c.num, len(c.items)) for c in chunks] == [(3, None, 1)] * 3  # Hikvision: no Num

    invite = stub.invite(cfg.channel_ids[2], port=40000, ssrc="0100000123")
    ok = wire.deliver(device, invite, now)[-1]
    assert ok.status == 200 and parse_answer(ok.body).ssrc == "0100000123"
    wire.deliver(device, stub.in_dialog("ACK", invite, ok), now)
    plan = next(a.plan for a in wire.actions if isinstance(a, StartMedia))

    sender = StreamSender(h264_clip, ssrc=plan.ssrc, now=now)
    packets: list[bytes] = []
    t = now
    while t < now + 1.0:
        packets += sender.poll(t)
        t += 0.01
    rtp = [parse_rtp(p) for p in packets]
    assert {p.ssrc for p in rtp} == {100000123}
    path = tmp_path / "flow.ps"
    path.write_bytes(b"".join(p.payload for p in rtp))
    with av.open(str(path), format="mpeg") as container:
        stream = container.streams.video[0]
        assert sum(1 for _ in container.decode(stream)) == 25
        assert (stream.codec_context.name, stream.codec_context.width) == ("h264", 640)
