"""N concurrent 4 Mbit/s streams into one media worker: streams per core, RSS, fragment delay, play time.

Usage: .venv/bin/python bench/media_ingest.py [--idle N] [--watched N] [--seconds S] [--play-runs R]

The source is a 4 Mbit/s H.264 stream (1280x720, 25 fps, a keyframe every 2 s, no B-frames) that
x264 encodes once from noise, muxed to PS one pack per frame and packetized with 1400-byte payloads
as GB/T 28181 cameras send it (cached under var/bench/). A separate sender process replays it in
real time to every stream's UDP port, the streams staggered over one GOP as independent cameras
are. The worker (MediaWorker plus its HTTP/WebSocket app on uvicorn, uvloop) runs in its own
process; its CPU is getrusage of that process, so the sender and the viewers do not count.

Two runs:
- idle: nobody watches; the worker receives, demuxes and keeps each stream's current GOP.
- watched: every stream has a WebSocket fMP4 viewer and an HLS player (playlist polled every 2 s,
  each new segment fetched), both in a viewer process started before the RTP.

Printed for each run: packets received against packets sent per stream (any loss, late packet,
duplicate or malformed packet voids the run), streams per core (stream-seconds of 4 Mbit/s
video per CPU-second of the worker), RSS per stream ((RSS with the streams - RSS before) / N, at
the end of the replay and at the peak), and for the watched run the delay from the sender
handing a frame's last RTP packet to the kernel to the viewer process holding that frame's fMP4
fragment (median, 95th percentile, worst). Then bench/play_latency.py gives play request ->
first frame with gbsim answering (needs Redis; --play-runs 0 skips it).
Goals (issue 6): >= 150 streams per core, <= 2 MB per stream, <= 50 ms, play <= 1.0 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

WIDTH, HEIGHT, FPS, GOP = 1280, 720, 25, 50
BITRATE = 4_000_000
FRAME_TICKS = 90000 // FPS
FIRST_PORT = 46000
SECRET = "bench-secret"
SSRC = 0x4D4B


# ---- the source ------------------------------------------------------------------------------
def source_packets(seconds: float) -> tuple[list[bytes], list[int]]:
    """RTP packets of the 4 Mbit/s clip, and for each frame the index of its last packet."""
    cache = PROJECT_ROOT / "var" / "bench" / f"ingest_{WIDTH}x{HEIGHT}_{BITRATE}_{seconds:g}s.len16"
    if not cache.exists():
        cache.parent.mkdir(parents=True, exist_ok=True)
        data = b"".join(struct.pack("!H", len(p)) + p for p in _encode_source(seconds))
        cache.write_bytes(data)
    data = cache.read_bytes()
    packets, at = [], 0
    while at < len(data):
        (size,) = struct.unpack_from("!H", data, at)
        packets.append(data[at + 2 : at + 2 + size])
        at += 2 + size
    ends = [index for index, packet in enumerate(packets) if packet[1] & 0x80]
    return packets, ends


def _encode_source(seconds: float) -> list[bytes]:
    import av

    from media.ps.frame import Frame
    from media.ps.mux import PsMuxer
    from media.rtp.packetizer import Packetizer

    print(f"encoding the {BITRATE / 1e6:g} Mbit/s source once ({seconds:g} s)...", file=sys.stderr)
    context = av.CodecContext.create("libx264", "w")
    context.width, context.height, context.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    context.time_base = Fraction(1, FPS)
    context.bit_rate = BITRATE
    context.options = {
        "preset": "ultrafast",
        "x264-params": (
            f"keyint={GOP}:min-keyint={GOP}:scenecut=0:bframes=0:nal-hrd=cbr:"
            f"vbv-maxrate={BITRATE // 1000}:vbv-bufsize={BITRATE // 1000}:repeat-headers=1"
        ),
    }
    muxer, packetizer = PsMuxer(video_codec="h264"), Packetizer(ssrc=SSRC)
    noise = os.urandom(WIDTH * HEIGHT * 2)
    packets: list[bytes] = []
    encoded = []
    for index in range(int(seconds * FPS)):
        picture = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
        for plane in picture.planes:  # moving noise: every frame costs the encoder its bitrate
            offset = (index * 7919) % (len(noise) - plane.buffer_size)
            plane.update(noise[offset : offset + plane.buffer_size])
        picture.pts = index
        encoded += context.encode(picture)
    encoded += context.encode(None)
    for packet in encoded:
        pts = 90000 + (packet.pts or 0) * FRAME_TICKS
        frame = Frame("video", "h264", pts, pts, bytes(packet), packet.is_keyframe)
        packets += packetizer.packetize(muxer.mux(frame), pts & 0xFFFFFFFF)
    return packets


# ---- the sender process ----------------------------------------------------------------------
def sender(ports: list[int], seconds: float, out: Path) -> None:
    """Every port gets the whole clip in real time, stream i starting i/N of a GOP later.

    Records, per stream and frame, when the frame's last packet was handed to the kernel.
    """
    packets, ends = source_packets(seconds)
    starts = [0] + [end + 1 for end in ends[:-1]]
    count = len(ports)
    gop_seconds = GOP / FPS
    events = sorted(
        (i * gop_seconds / count + k / FPS, i, k) for i in range(count) for k in range(len(ends))
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8 * 1024 * 1024)
    sent_at = [[0.0] * len(ends) for _ in range(count)]
    start = time.monotonic() + 0.2
    sendto = sock.sendto
    for due, i, k in events:
        delay = start + due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        address = ("127.0.0.1", ports[i])
        for packet in packets[starts[k] : ends[k] + 1]:
            sendto(packet, address)
        sent_at[i][k] = time.monotonic()
    out.write_text(json.dumps({"sent_at": sent_at, "packets": len(packets), "frames": len(ends)}))


# ---- the viewer process ----------------------------------------------------------------------
def viewer(urls: list[dict[str, str]], out: Path) -> None:
    import uvloop

    uvloop.run(_view_all(urls, out))


async def _view_all(urls: list[dict[str, str]], out: Path) -> None:
    results = await asyncio.gather(*(_view(index, u) for index, u in enumerate(urls)))
    out.write_text(json.dumps(results))


async def _view(index: int, urls: dict[str, str]) -> dict[str, Any]:
    import websockets

    hls = asyncio.ensure_future(_play_hls(urls["hls"]))
    fragments: list[tuple[int, float]] = []
    timescale = 90000
    async with websockets.connect(urls["ws_fmp4"], max_size=None) as ws:
        await ws.recv()  # the JSON header
        async for message in ws:
            now = time.monotonic()
            if not isinstance(message, bytes):
                continue
            if message[4:8] == b"ftyp":
                timescale = _timescale(message)
                continue
            fragments.append((_tfdt(message) * 90000 // timescale, now))
    hls.cancel()
    segments = await asyncio.gather(hls, return_exceptions=True)
    return {"fragments": fragments, "segments": segments[0] if isinstance(segments[0], int) else -1}


async def _play_hls(url: str) -> int:
    """A player: the playlist every 2 s, each new segment once. Returns segments fetched."""
    base = url.rsplit("/", 1)[0]
    seen: set[str] = set()
    try:
        while True:
            status, body = await _get(url)
            if status == 200:
                for line in body.decode().splitlines():
                    if line and not line.startswith("#") and line not in seen:
                        seen.add(line)
                        await _get(f"{base}/{line}")
            await asyncio.sleep(2.0)
    except asyncio.CancelledError:
        return len(seen)


async def _get(url: str) -> tuple[int, bytes]:
    rest = url.split("://", 1)[1]
    hostport, path = rest.split("/", 1)
    host, port = hostport.rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\nConnection: close\r\n\r\n".encode())
    response = await reader.read()
    writer.close()
    head, _, body = response.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def _tfdt(fragment: bytes) -> int:
    at = fragment.find(b"tfdt")
    if fragment[at + 4] == 1:
        return int.from_bytes(fragment[at + 8 : at + 16], "big")
    return int.from_bytes(fragment[at + 8 : at + 12], "big")


def _timescale(init: bytes) -> int:
    at = init.find(b"mdhd")
    offset = 24 if init[at + 4] == 1 else 16
    return int.from_bytes(init[at + offset : at + offset + 4], "big")


# ---- the worker process ----------------------------------------------------------------------
def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6  # ru_maxrss is in KiB


async def run_worker(streams: int, watched: bool, seconds: float, output_dir: Path) -> dict[str, Any]:
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure()
        django.setup()
    from media.live import OutputConfig
    from media.ports import PortAllocator
    from media.service import http_server
    from media.tokens import stream_urls, token_sign
    from media.worker import MediaWorker, WorkerConfig

    packets, ends = source_packets(seconds)
    config = WorkerConfig(
        output_dir=output_dir, bind_host="127.0.0.1", outputs=OutputConfig(), rtp_timeout=120
    )
    worker = MediaWorker(ports=PortAllocator(FIRST_PORT, FIRST_PORT + 2 * streams + 200), config=config)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    http = http_server(worker=worker, output_dir=output_dir, secret=SECRET)
    server = asyncio.ensure_future(http.serve(sockets=[sock]))
    await asyncio.sleep(0.3)
    rss_before = rss_mb()
    ports = []
    for index in range(streams):
        ports.append((await worker.cmd_open({"stream_id": f"s{index}", "ssrc": SSRC}))["port"])
    tmp = output_dir / "bench"
    tmp.mkdir(parents=True, exist_ok=True)
    viewers = None
    if watched:
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        urls = [
            stream_urls(
                http_base=base,
                stream_id=f"s{i}",
                token=token_sign(secret=SECRET, stream_id=f"s{i}", expires=int(time.time()) + 3600),
            )
            for i in range(streams)
        ]
        viewers = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--role", "viewer", "--urls", json.dumps(urls), "--out", str(tmp / "viewers.json")
        )
        deadline = time.monotonic() + 30
        while not all(live.viewers and getattr(live, "hls_requests", 1) for live in worker.streams.values()):
            if time.monotonic() > deadline:
                raise SystemExit("viewers did not all connect")
            await asyncio.sleep(0.1)
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    wall0 = time.monotonic()
    load0 = os.getloadavg()
    send = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--role",
        "sender",
        "--ports",
        ",".join(map(str, ports)),
        "--seconds",
        str(seconds),
        "--out",
        str(tmp / "sent.json"),
    )
    await send.wait()
    received = -1
    while received != sum(live.datagrams for live in worker.streams.values()):
        received = sum(live.datagrams for live in worker.streams.values())
        await asyncio.sleep(0.3)
    usage1 = resource.getrusage(resource.RUSAGE_SELF)
    wall = time.monotonic() - wall0
    load1 = os.getloadavg()
    rss_after, rss_peak = rss_mb(), peak_rss_mb()
    cpu = (usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime)
    stats = [live.snapshot(time.monotonic()) for live in worker.streams.values()]
    gop_mb = sum(live.gop.nbytes for live in worker.streams.values()) / 1e6
    hls_frames = [s["hls_frames"] for s in stats]
    worker.close_all()  # ends every WebSocket: the viewer process then writes its records
    if viewers is not None:
        await asyncio.wait_for(viewers.wait(), 60)
    http.should_exit = True
    await server
    sent = json.loads((tmp / "sent.json").read_text())
    result: dict[str, Any] = {
        "streams": streams,
        "watched": watched,
        "cpu": cpu,
        "wall": wall,
        "utime": usage1.ru_utime - usage0.ru_utime,
        "stime": usage1.ru_stime - usage0.ru_stime,
        "load": [round(x, 2) for x in (*load0, *load1)],
        "sent_per_stream": sent["packets"],
        "frames_per_stream": sent["frames"],
        "bytes": sum(s["bytes"] for s in stats),
        "seconds": sent["frames"] / FPS,
        "packets": [s["packets"] for s in stats],
        "lost": sum(s["lost"] for s in stats),
        "late": sum(s["late"] for s in stats),
        "duplicates": sum(s["duplicates"] for s in stats),
        "malformed": sum(s["malformed"] for s in stats),
        "video_frames": [s["video_frames"] for s in stats],
        "output_errors": sum(s["output_errors"] for s in stats),
        "hls_frames": hls_frames,
        "rss_before": rss_before,
        "rss_after": rss_after,
        "rss_peak": rss_peak,
        "gop_mb": gop_mb,
    }
    if watched:
        views = json.loads((tmp / "viewers.json").read_text())
        delays = []
        fragments = 0
        for index, view in enumerate(views):
            sent_at = sent["sent_at"][index]
            fragments += len(view["fragments"])
            for dts, arrived in view["fragments"]:
                frame = dts // FRAME_TICKS
                # The last frame's fragment comes out when the stream closes, not when it is sent.
                if 0 <= frame < len(sent_at) - 1:
                    delays.append(arrived - sent_at[frame])
        result["delays"] = delays
        result["fragments"] = fragments
        result["segments"] = [view["segments"] for view in views]
    return result


def worker_role(args: argparse.Namespace) -> None:
    import uvloop

    with tempfile.TemporaryDirectory(prefix="media-ingest-") as tmp:
        result = uvloop.run(run_worker(args.streams, args.watched, args.seconds, Path(tmp)))
    Path(args.out).write_text(json.dumps(result))


# ---- the report ------------------------------------------------------------------------------
def report(result: dict[str, Any]) -> bool:
    n = result["streams"]
    kind = "watched (WebSocket fMP4 + HLS player each)" if result["watched"] else "idle (nobody watching)"
    sent = result["sent_per_stream"]
    complete = all(p == sent for p in result["packets"])
    clean = complete and not (result["lost"] or result["late"] or result["duplicates"] or result["malformed"])
    frames_ok = all(f == result["frames_per_stream"] for f in result["video_frames"])
    stream_seconds = n * result["seconds"]
    mbit = result["bytes"] * 8 / stream_seconds / 1e6
    per_core = stream_seconds / result["cpu"]
    print(f"{kind}: {n} streams x {result['seconds']:g} s at {mbit:.2f} Mbit/s each")
    print(
        f"  packets per stream received/sent: min {min(result['packets'])} max {max(result['packets'])} / {sent};"
        f" lost {result['lost']}, late {result['late']}, duplicates {result['duplicates']},"
        f" malformed {result['malformed']}; frames {min(result['video_frames'])}/{result['frames_per_stream']}"
        f" -> {'no loss' if clean and frames_ok else 'LOSS: run void'}"
    )
    print(
        f"  worker CPU {result['cpu']:.2f} s (user {result['utime']:.2f}, sys {result['stime']:.2f})"
        f" for {stream_seconds:.0f} stream-seconds: {100 / per_core:.2f} % of a core per stream"
    )
    print(
        f"  replay took {result['wall']:.1f} s wall for {result['seconds']:g} s of video"
        f" (worker busy {100 * result['cpu'] / result['wall']:.0f} % of one core)"
    )
    print(f"  streams per core at 4 Mbit/s: {per_core:.0f}")
    print(
        f"  RSS per stream: {(result['rss_after'] - result['rss_before']) / n:.2f} MB at the end,"
        f" {(result['rss_peak'] - result['rss_before']) / n:.2f} MB at the peak"
        f" ({result['rss_before']:.0f} MB before the streams; the kept GOPs hold {result['gop_mb'] / n:.2f} MB"
        " per stream)"
    )
    if result["watched"]:
        delays = sorted(result["delays"])
        if delays:
            p95 = delays[int(len(delays) * 0.95)]
            print(
                f"  frame's last packet sent -> its fMP4 fragment at the viewer: median"
                f" {statistics.median(delays) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, worst {delays[-1] * 1000:.1f} ms"
                f" ({len(delays)} fragments)"
            )
        print(
            f"  HLS: {min(result['hls_frames'])}..{max(result['hls_frames'])} frames muxed per stream,"
            f" {min(result['segments'])}..{max(result['segments'])} segments fetched per player;"
            f" output errors {result['output_errors']}"
        )
    print(f"  load average before/after: {result['load'][:3]} / {result['load'][3:]}")
    return clean and frames_ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--idle", type=int, default=100, help="streams in the idle run (0 skips it)")
    parser.add_argument("--watched", type=int, default=40, help="streams in the watched run (0 skips it)")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the 4 Mbit/s clip")
    parser.add_argument("--play-runs", type=int, default=5, help="bench/play_latency.py runs (0 skips it)")
    parser.add_argument("--role", choices=("sender", "viewer", "worker"), help=argparse.SUPPRESS)
    parser.add_argument("--ports", help=argparse.SUPPRESS)
    parser.add_argument("--urls", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--streams", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--watch", action="store_true", dest="watched_role", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "sender":
        sender([int(p) for p in args.ports.split(",")], args.seconds, Path(args.out))
        return
    if args.role == "viewer":
        viewer(json.loads(args.urls), Path(args.out))
        return
    if args.role == "worker":
        args.watched = args.watched_role
        worker_role(args)
        return

    source_packets(args.seconds)  # encode once, outside any measurement
    print(f"uptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    ok = True
    for streams, watched in ((args.idle, False), (args.watched, True)):
        if not streams:
            continue
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            command = [sys.executable, __file__, "--role", "worker", "--streams", str(streams)]
            command += ["--seconds", str(args.seconds), "--out", out.name] + (["--watch"] if watched else [])
            subprocess.run(command, check=True)
            ok = report(json.loads(Path(out.name).read_text())) and ok
    if args.play_runs:
        play = subprocess.run(
            [sys.executable, str(PROJECT_ROOT / "bench" / "play_latency.py"), "--runs", str(args.play_runs)],
            capture_output=True,
            text=True,
        )
        print("\n".join(line for line in play.stdout.splitlines() if not line.startswith("{")))
        if play.returncode:
            print(f"play latency run failed:\n{play.stderr[-2000:]}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
