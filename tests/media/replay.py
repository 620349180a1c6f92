"""Turning the captures into RTP as a camera sends it, sending it fast, and reading results back.

Replays are not paced in real time: packets go out in bursts, and the sender waits for the
receiver to have taken each burst (loopback UDP drops what overflows the socket buffer).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from media.rtp.framing import split_headerless
from media.rtp.packetizer import Packetizer

PACK_START = b"\x00\x00\x01\xba"
BURST = 16


def pack_scr(pack: bytes) -> int:
    """The 90 kHz SCR base of an MPEG-2 pack header (0 if the pack is cut short)."""
    if len(pack) < 10 or not pack.startswith(PACK_START):
        return 0
    b = pack[4:10]
    return (
        ((b[0] >> 3) & 0x07) << 30
        | (b[0] & 0x03) << 28
        | b[1] << 20
        | ((b[2] >> 3) & 0x1F) << 15
        | (b[2] & 0x03) << 13
        | b[3] << 5
        | b[4] >> 3
    )


def ps_to_rtp(data: bytes, *, ssrc: int, limit: int | None = None) -> list[bytes]:
    """Cut a PS file at pack headers (one pack per frame) and packetize each pack as GB cameras do.

    Bytes before the first pack header (a capture that starts mid-PES) go out as they are.
    """
    data = data[:limit] if limit else data
    packetizer = Packetizer(ssrc=ssrc)
    starts = []
    at = data.find(PACK_START)
    while at != -1:
        starts.append(at)
        at = data.find(PACK_START, at + 4)
    packets: list[bytes] = []
    if not starts or starts[0] > 0:
        packets += packetizer.packetize(data[: starts[0] if starts else len(data)], 0)
    for index, start in enumerate(starts):
        end = starts[index + 1] if index + 1 < len(starts) else len(data)
        pack = data[start:end]
        packets += packetizer.packetize(pack, pack_scr(pack) & 0xFFFFFFFF)
    return packets


def d1_rtp_packets(path: Path) -> list[bytes]:
    return split_headerless(path.read_bytes())


def len16_frames(data: bytes) -> list[bytes]:
    """The RTP packets of an RFC 4571 file, for counting."""
    out = []
    at = 0
    while at + 2 <= len(data):
        (size,) = struct.unpack_from("!H", data, at)
        out.append(data[at + 2 : at + 2 + size])
        at += 2 + size
    return out


async def wait_for(condition: Callable[[], bool], *, timeout: float = 10.0, what: str = "condition") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.002)


async def send_udp(packets: list[bytes], port: int, received: Callable[[], int]) -> None:
    """Send to 127.0.0.1:port in bursts, each once the receiver has counted the previous one."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for start in range(0, len(packets), BURST):
            for packet in packets[start : start + BURST]:
                sock.sendto(packet, ("127.0.0.1", port))
            sent = min(start + BURST, len(packets))
            await wait_for(lambda sent=sent: received() >= sent, what=f"{sent} datagrams to arrive")  # type: ignore[misc]
    finally:
        sock.close()


async def send_tcp(
    writer: asyncio.StreamWriter,
    packets: list[bytes],
    received: Callable[[], int],
    also: Callable[[], bool] = lambda: True,
) -> None:
    """Write RFC 4571 frames in bursts, each once the receiver has taken the previous one."""
    for start in range(0, len(packets), BURST):
        burst = packets[start : start + BURST]
        writer.write(b"".join(struct.pack("!H", len(p)) + p for p in burst))
        await writer.drain()
        sent = start + len(burst)
        await wait_for(lambda sent=sent: received() >= sent and also(), what=f"{sent} packets to arrive")  # type: ignore[misc]


def ffprobe(path: Path) -> dict[str, Any]:
    """ffprobe's view of a file or playlist: streams with counted frames, and the format."""
    if shutil.which("ffprobe") is None:
        pytest.skip("ffprobe is not installed")
    result = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-show_streams",
            "-show_format",
            "-count_frames",
            "-of",
            "json",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)


def ffprobe_video_packets(path: Path) -> list[bool]:
    """Keyframe flags of the video packets ffprobe reads from a file: an independent reference."""
    if shutil.which("ffprobe") is None:
        pytest.skip("ffprobe is not installed")
    result = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "packet=flags",
            "-of",
            "csv=p=0",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return ["K" in line for line in result.stdout.split()]
