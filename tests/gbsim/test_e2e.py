"""gbsim on real loopback sockets against a tiny platform built on our SipEndpoint (UDP and TCP)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import av
import pytest

from gbsim.config import DeviceConfig, Timing, device_configs
from gbsim.runner import Simulator
from gbsim.stream.clip import Clip
from media.rtp.framing import TcpFramer
from media.rtp.packet import parse_rtp
from sip_gateway.manscdp import CatalogResponse, Keepalive
from sip_gateway.manscdp.build import query_catalog
from sip_gateway.sdp import Transport, parse_answer
from tests.gbsim.platform_stub import DOMAIN, PASSWORD, SERVER_ID
from tests.gbsim.responder import Responder

PROJECT = Path(__file__).resolve().parents[2]


def configs(count: int, channels: int, transport: str) -> list[DeviceConfig]:
    timing = Timing(expires=60, keepalive_interval=0.3, request_timeout=5)
    return device_configs(
        "34020000",
        count,
        channels,
        server_id=SERVER_ID,
        domain=DOMAIN,
        password=PASSWORD,
        transport=transport,
        catalog_per_message=1,
        timing=timing,
    )


class RtpSink(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.packets: list[bytes] = []

    def datagram_received(self, data: bytes, addr: object) -> None:
        self.packets.append(data)


async def receive_stream(
    transport: Transport, packets: list[bytes]
) -> tuple[int, asyncio.AbstractServer | None, asyncio.BaseTransport | None]:
    """Listen for media as the platform would: UDP socket, or TCP server for a passive offer."""
    loop = asyncio.get_running_loop()
    if transport is Transport.UDP:
        sink = RtpSink()
        sink.packets = packets
        udp, _ = await loop.create_datagram_endpoint(lambda: sink, local_addr=("127.0.0.1", 0))
        return udp.get_extra_info("sockname")[1], None, udp

    async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        framer = TcpFramer()
        while data := await reader.read(65536):
            packets.extend(framer.feed(data))

    server = await asyncio.start_server(on_client, "127.0.0.1", 0)
    return server.sockets[0].getsockname()[1], server, None


@contextlib.asynccontextmanager
async def one_registered_device(clip: Clip, *, seed: int) -> AsyncIterator[tuple[Responder, DeviceConfig]]:
    """One device with one channel over UDP, registered with a fresh responder; both stop after."""
    responder = Responder()
    port = await responder.start()
    sim = Simulator(configs(1, 1, "udp"), platform=("udp", "127.0.0.1", port), clip=clip, seed=seed)
    await sim.start("127.0.0.1")
    try:
        assert await sim.wait_registered(timeout=10)
        yield responder, sim.devices[0].cfg
    finally:
        await sim.stop(grace=1.0)
        await responder.close()


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_register_keepalive_catalog_and_live_stream(
    transport: str, h264_clip: Clip, tmp_path: Path
) -> None:
    responder = Responder()
    port = await responder.start()
    # Over TCP each device gets its own socket, hence its own connection, as real devices have.
    sockets = 3 if transport == "tcp" else 1
    sim = Simulator(
        configs(3, 2, transport),
        platform=(transport, "127.0.0.1", port),
        clip=h264_clip,
        seed=1,
        sockets=sockets,
    )
    await sim.start("127.0.0.1")
    stub = responder.stub
    try:
        assert await sim.wait_registered(timeout=10)
        assert set(stub.registered) == {d.cfg.device_id for d in sim.devices}
        assert all(peer[0] == transport for peer in responder.peers.values())
        assert len(set(responder.peers.values())) == (3 if transport == "tcp" else 1)
        await responder.wait_for(lambda: all(stub.keepalives[d.cfg.device_id] >= 2 for d in sim.devices))
        assert any(isinstance(m, Keepalive) for m in stub.messages)

        dev = sim.devices[1].cfg
        answer = await responder.request(
            stub.request("MESSAGE", dev.device_id, query_catalog(5, dev.device_id)), dev.device_id
        )
        assert answer.status == 200

        def chunks() -> list[CatalogResponse]:
            return [
                m for m in stub.messages if isinstance(m, CatalogResponse) and m.device_id == dev.device_id
            ]

        await responder.wait_for(lambda: len(chunks()) == 2)
        assert [c.items[0].device_id for c in chunks()] == list(dev.channel_ids)

        offer = Transport.UDP if transport == "udp" else Transport.TCP_PASSIVE
        packets: list[bytes] = []
        media_port, server, udp = await receive_stream(offer, packets)
        invite = stub.invite(dev.channel_ids[0], port=media_port, ssrc="0200000001", transport=offer)
        ok = await responder.request(invite, dev.device_id)
        assert ok.status == 200
        sdp = parse_answer(ok.body)
        assert sdp.ssrc == "0200000001" and (sdp.setup == "active") == (transport == "tcp")
        responder.ack(stub.in_dialog("ACK", invite, ok), dev.device_id)
        await asyncio.sleep(2.3)
        bye = await responder.request(stub.in_dialog("BYE", invite, ok, cseq=2), dev.device_id)
        assert bye.status == 200
        await asyncio.sleep(0.1)
        assert not sim.media or not sim.media.streams
        if server is not None:
            server.close()
        if udp is not None:
            udp.close()

        rtp = [parse_rtp(p) for p in packets]
        assert rtp and {p.ssrc for p in rtp} == {200000001}
        path = tmp_path / "live.ps"
        path.write_bytes(b"".join(p.payload for p in rtp))
        with av.open(str(path), format="mpeg") as container:
            video = container.streams.video[0]
            frames = sum(1 for _ in container.decode(video))
            assert (video.codec_context.name, video.codec_context.width, video.codec_context.height) == (
                "h264",
                640,
                360,
            )
        assert 45 <= frames <= 62  # ~2.3 s at 25 fps, paced in real time
    finally:
        await sim.stop(grace=1.0)
        await responder.close()
    # Stopping unregisters (Expires: 0).
    assert not stub.registered


async def test_platform_restart_devices_register_again() -> None:
    responder = Responder()
    port = await responder.start()
    cfgs = [replace(c, timing=replace(c.timing, retry_min=0.2)) for c in configs(4, 1, "udp")]
    sim = Simulator(cfgs, platform=("udp", "127.0.0.1", port), seed=2)
    await sim.start("127.0.0.1")
    try:
        assert await sim.wait_registered(timeout=10)
        responder.stub.restart()
        await responder.wait_for(lambda: len(responder.stub.registered) == 4, timeout=10)
        assert sim.stats.lost == 4 and sim.stats.registrations == 8
    finally:
        await sim.stop(grace=1.0)
        await responder.close()


async def test_cli_registers_devices_and_exits(tmp_path: Path) -> None:
    responder = Responder()
    port = await responder.start()
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "gbsim",
            "--server",
            f"127.0.0.1:{port}",
            "--devices",
            "5",
            "--channels",
            "2",
            "--media",
            "none",
            "--keepalive",
            "0.5",
            "--duration",
            "2",
            "--stats-every",
            "1",
            cwd=PROJECT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(PROJECT)},
        )
        out, err = await asyncio.wait_for(process.communicate(), 20)
        assert process.returncode == 0, err.decode()
        assert "registered 5/5" in out.decode()
        assert len(responder.stub.keepalives) == 5
    finally:
        await responder.close()


def test_cli_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gbsim", "--help"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    for option in (
        "--devices",
        "--channels",
        "--transport",
        "--profile",
        "--ps-file",
        "--catalog-per-message",
    ):
        assert option in result.stdout


async def test_download_ends_with_media_status_121_and_bye(h264_clip: Clip) -> None:
    async with one_registered_device(h264_clip, seed=3) as (responder, dev):
        stub = responder.stub
        packets: list[bytes] = []
        media_port, _, udp = await receive_stream(Transport.UDP, packets)
        # 2 s of recording at download speed 4: done in about half a second.
        invite = stub.invite(
            dev.channel_ids[0],
            port=media_port,
            ssrc="1200000002",
            session="Download",
            start=1714500000,
            end=1714500002,
            download_speed=4,
        )
        ok = await responder.request(invite, dev.device_id)
        assert ok.status == 200
        responder.ack(stub.in_dialog("ACK", invite, ok), dev.device_id)
        await responder.wait_for(lambda: any(r.call_id == invite.call_id for r in stub.requests), timeout=5)
        status = next(r for r in stub.requests if r.call_id == invite.call_id)
        assert b"<NotifyType>121</NotifyType>" in status.body
        bye = await responder.request(stub.in_dialog("BYE", invite, ok, cseq=2), dev.device_id)
        assert bye.status == 200
        assert udp is not None
        udp.close()
        frames = {parse_rtp(p).timestamp for p in packets if parse_rtp(p).marker}
        assert 50 <= len(frames) <= 101  # 2 s of video (50) plus the audio frames


async def test_tcp_active_offer_the_platform_connects_to_the_device(h264_clip: Clip) -> None:
    async with one_registered_device(h264_clip, seed=4) as (responder, dev):
        stub = responder.stub
        # The platform says it will connect (setup:active); the device listens on its answer's port.
        invite = stub.invite(dev.channel_ids[0], port=9, ssrc="0200000003", transport=Transport.TCP_ACTIVE)
        ok = await responder.request(invite, dev.device_id)
        sdp = parse_answer(ok.body)
        assert sdp.setup == "passive" and sdp.port
        reader, writer = await asyncio.open_connection("127.0.0.1", sdp.port)
        responder.ack(stub.in_dialog("ACK", invite, ok), dev.device_id)
        framer = TcpFramer()
        packets: list[bytes] = []
        end = asyncio.get_running_loop().time() + 1.0
        while (left := end - asyncio.get_running_loop().time()) > 0:
            try:
                data = await asyncio.wait_for(reader.read(65536), left)
            except TimeoutError:
                break
            packets += framer.feed(data)
        writer.close()
        assert (
            await responder.request(stub.in_dialog("BYE", invite, ok, cseq=2), dev.device_id)
        ).status == 200
        rtp = [parse_rtp(p) for p in packets]
        assert {p.ssrc for p in rtp} == {200000003} and framer.dropped_bytes == 0
        video_frames = sum(1 for p in rtp if p.marker) // 2  # video and audio frames alternate
        assert 15 <= video_frames <= 27


async def test_playback_pause_and_fast_forward_over_info(h264_clip: Clip) -> None:
    async with one_registered_device(h264_clip, seed=6) as (responder, dev):
        stub = responder.stub
        packets: list[bytes] = []
        media_port, _, udp = await receive_stream(Transport.UDP, packets)
        invite = stub.invite(
            dev.channel_ids[0],
            port=media_port,
            ssrc="1200000009",
            session="Playback",
            start=1714500000,
            end=1714503600,
        )
        ok = await responder.request(invite, dev.device_id)
        responder.ack(stub.in_dialog("ACK", invite, ok), dev.device_id)

        async def frames_in(seconds: float) -> int:
            start = len(packets)
            await asyncio.sleep(seconds)
            return sum(1 for p in packets[start:] if parse_rtp(p).marker)

        assert 10 <= await frames_in(0.4) <= 25  # 25 video + 25 audio frames a second
        pause = b"PAUSE RTSP/1.0\r\nCSeq: 2\r\nPauseTime: now\r\n"
        assert (
            await responder.request(stub.in_dialog("INFO", invite, ok, pause, cseq=2), dev.device_id)
        ).status == 200
        await asyncio.sleep(0.05)
        assert await frames_in(0.4) == 0
        fast = b"PLAY RTSP/1.0\r\nCSeq: 3\r\nScale: 4.0\r\n"
        assert (
            await responder.request(stub.in_dialog("INFO", invite, ok, fast, cseq=3), dev.device_id)
        ).status == 200
        assert 45 <= await frames_in(0.4) <= 90  # four times as fast
        await responder.request(stub.in_dialog("BYE", invite, ok, cseq=4), dev.device_id)
        assert udp is not None
        udp.close()
