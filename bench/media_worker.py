"""CPU of the media worker's data path per 4 Mbit/s stream, and streams per core.

Usage: .venv/bin/python bench/media_worker.py [--streams N] [--speed X] [--outputs all|none|hls|fmp4]

The D1 capture (rtp/hik_d1_h264.rtp) is replayed over loopback UDP to N ports of one in-process
MediaWorker (uvloop), each stream paced by its RTP timestamps at X times real time. The sender
is a separate process, so only the worker's receive + demux + mux CPU is measured (getrusage of
this process). CPU per byte is scaled to a 4 Mbit/s stream.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import socket
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from media.rtp.framing import split_headerless  # noqa: E402
from tests.vectors import vectors_root  # noqa: E402

STREAM_BITRATE = 4_000_000
CAPTURE = "rtp/hik_d1_h264.rtp"
FIRST_PORT = 46000


def load_packets() -> list[bytes]:
    path = vectors_root() / CAPTURE
    if not path.exists():
        sys.exit(f"{path} not found: set GB_VECTORS_DIR")
    return split_headerless(path.read_bytes())


def send(ports: list[int], speed: float) -> None:
    """The sender process: every port gets the whole capture, paced by RTP time / speed."""
    packets = load_packets()
    base = int.from_bytes(packets[0][4:8], "big")
    due = [((int.from_bytes(p[4:8], "big") - base) & 0xFFFFFFFF) / 90000 / speed for p in packets]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 * 1024 * 1024)
    start = time.perf_counter()
    for packet, at in zip(packets, due, strict=True):
        delay = at - (time.perf_counter() - start)
        if delay > 0:
            time.sleep(delay)
        for port in ports:
            sock.sendto(packet, ("127.0.0.1", port))


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


async def measure(streams: int, speed: float, outputs: str, output_dir: Path) -> dict[str, float]:
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure()
        django.setup()
    from media.live import OutputConfig
    from media.ports import PortAllocator
    from media.worker import MediaWorker, WorkerConfig

    config = WorkerConfig(
        output_dir=output_dir,
        bind_host="127.0.0.1",
        outputs=OutputConfig(hls=outputs in ("all", "hls"), fmp4=outputs in ("all", "fmp4"), list_size=6),
        rtp_timeout=60,
    )
    worker = MediaWorker(ports=PortAllocator(FIRST_PORT, FIRST_PORT + 2 * streams + 200), config=config)
    ports = []
    for index in range(streams):
        ports.append((await worker.cmd_open({"stream_id": f"s{index}", "ssrc": None}))["port"])
    rss_before = rss_mb()
    expected = len(load_packets()) * streams
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    wall0 = time.perf_counter()
    sender = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--send", ",".join(map(str, ports)), "--speed", str(speed)
    )
    await sender.wait()
    received = -1
    while received != sum(live.datagrams for live in worker.streams.values()):
        received = sum(live.datagrams for live in worker.streams.values())
        await asyncio.sleep(0.3)
    wall = time.perf_counter() - wall0
    usage1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime)
    nbytes = sum(live.session.stats.bytes for live in worker.streams.values())
    frames = sum(live.session.video_frames for live in worker.streams.values())
    rss_after = rss_mb()
    worker.close_all()
    return {
        "cpu": cpu,
        "wall": wall,
        "bytes": nbytes,
        "received": received,
        "expected": expected,
        "frames": frames,
        "rss_per_stream": (rss_after - rss_before) / streams,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--streams", type=int, default=20)
    parser.add_argument("--speed", type=float, default=8.0, help="replay speed, times real time")
    parser.add_argument("--outputs", choices=("all", "none", "hls", "fmp4"), default="all")
    parser.add_argument("--send", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.send:
        send([int(p) for p in args.send.split(",")], args.speed)
        return
    import uvloop

    with tempfile.TemporaryDirectory(prefix="media-bench-") as tmp:
        result = uvloop.run(measure(args.streams, args.speed, args.outputs, Path(tmp)))
    loss = 1 - result["received"] / result["expected"]
    stream_seconds = result["bytes"] * 8 / STREAM_BITRATE  # seconds of 4 Mbit/s video processed
    cpu_share = result["cpu"] / stream_seconds  # core-seconds per second of one 4 Mbit/s stream
    print(f"outputs: {args.outputs}; {args.streams} streams of the D1 capture at {args.speed:g}x real time")
    print(
        f"received {result['received']}/{result['expected']} packets (loss {loss:.2%}), "
        f"{result['bytes'] / 1e6:.1f} MB, {result['frames']} frames in {result['wall']:.2f} s wall, "
        f"{result['cpu']:.2f} s CPU"
    )
    print(f"aggregate input {result['bytes'] * 8 / result['wall'] / 1e6:.0f} Mbit/s")
    print(f"CPU per 4 Mbit/s stream: {cpu_share * 100:.2f} % of a core")
    print(f"streams per core at 4 Mbit/s: {1 / cpu_share:.0f}")
    print(f"RSS growth per stream: {result['rss_per_stream']:.2f} MB")


if __name__ == "__main__":
    main()
