"""`gbsim` / `python -m gbsim`: run simulated GB/T 28181 devices against a platform."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
import time
from collections.abc import Callable, Sequence

from gbsim.config import DeviceConfig, Timing, device_configs
from gbsim.profiles import PROFILES
from gbsim.runner import Simulator
from gbsim.stream.clip import Clip, clip_from_ps_file
from gbsim.stream.pattern import encode_pattern

logger = logging.getLogger("gbsim")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="gbsim",
        description="Simulate GB/T 28181 devices (NVRs/IPCs with channels) against a platform.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    g = p.add_argument_group("platform")
    g.add_argument("--server", default="127.0.0.1:5060", help="platform SIP address host:port")
    g.add_argument("--server-id", default="34020000002000000001", help="platform SIP ID (20 digits)")
    g.add_argument("--domain", help="SIP domain / realm (default: first 10 digits of --server-id)")
    g.add_argument("--password", default="12345678", help="device password for digest authentication")
    g.add_argument("--transport", choices=("udp", "tcp"), default="udp", help="signalling transport")
    g = p.add_argument_group("devices")
    g.add_argument("--devices", type=int, default=1, help="number of devices")
    g.add_argument("--channels", type=int, default=4, help="channels (cameras) per device")
    g.add_argument("--civil-code", default="34020000", help="8-digit civil code the IDs start with")
    g.add_argument("--first-serial", type=int, default=1, help="serial number of the first device")
    g.add_argument("--device-type", default="118", help="type code of device IDs (118 NVR, 132 IPC)")
    g.add_argument("--profile", choices=sorted(PROFILES), default="standard", help="vendor quirks")
    g.add_argument("--charset", choices=("GB2312", "GB18030", "UTF-8"), help="MANSCDP body charset")
    g.add_argument("--catalog-per-message", type=int, default=4, help="catalog items per MESSAGE")
    g.add_argument("--record-segment", type=int, default=1800, help="synthetic recording length, s")
    g = p.add_argument_group("timing")
    g.add_argument("--expires", type=int, default=3600, help="REGISTER Expires, s")
    g.add_argument("--keepalive", type=float, default=60.0, help="keepalive interval, s")
    g.add_argument(
        "--keepalive-misses", type=int, default=3, help="unanswered keepalives before re-registering"
    )
    g.add_argument("--retry-max", type=float, default=60.0, help="longest registration backoff, s")
    g.add_argument("--ramp", type=float, default=0.0, help="spread device start-up over this many seconds")
    g.add_argument("--duration", type=float, help="exit after this many seconds (default: run until Ctrl-C)")
    g.add_argument("--alarm-every", type=float, help="raise an Alarm on every device at this interval, s")
    g.add_argument(
        "--position-every", type=float, help="send MobilePosition from every device at this interval"
    )
    g = p.add_argument_group("media")
    g.add_argument(
        "--media", choices=("pattern", "file", "none"), default="pattern", help="what channels stream"
    )
    g.add_argument("--ps-file", help="PS file to stream with --media file (e.g. ../shared/vectors/ps/*.ps)")
    g.add_argument("--codec", choices=("h264", "h265"), default="h264", help="test pattern codec")
    g.add_argument("--size", default="640x360", help="test pattern size WxH")
    g.add_argument("--fps", type=int, default=25, help="test pattern frame rate")
    g.add_argument("--gop", type=int, default=50, help="test pattern key frame interval (frames)")
    g.add_argument("--clip-seconds", type=float, default=4.0, help="length of the looped test pattern")
    g.add_argument("--audio", action="store_true", help="add G.711 A-law audio to the test pattern")
    g = p.add_argument_group("process")
    g.add_argument("--bind", default="127.0.0.1", help="local address for SIP and media")
    g.add_argument("--advertise", help="address put in Via, Contact and SDP (default: --bind)")
    g.add_argument("--port", type=int, default=0, help="first local SIP port (0: any)")
    g.add_argument("--sockets", type=int, default=1, help="SIP sockets (ports) shared by the devices")
    g.add_argument("--seed", type=int, help="seed IDs and tags for a reproducible run")
    g.add_argument("--stats-every", type=float, default=10.0, help="print statistics at this interval, s")
    g.add_argument("--no-uvloop", action="store_true", help="use the stock asyncio loop")
    g.add_argument("-v", "--verbose", action="count", default=0)
    return p


def configs_from_args(args: argparse.Namespace) -> list[DeviceConfig]:
    domain = args.domain or args.server_id[:10]
    timing = Timing(
        expires=args.expires,
        keepalive_interval=args.keepalive,
        keepalive_misses=args.keepalive_misses,
        retry_max=args.retry_max,
    )
    return device_configs(
        args.civil_code,
        args.devices,
        args.channels,
        first_serial=args.first_serial,
        first_channel=(args.first_serial - 1) * args.channels + 1,
        type_code=args.device_type,
        server_id=args.server_id,
        domain=domain,
        password=args.password,
        transport=args.transport,
        profile=PROFILES[args.profile],
        charset=args.charset,
        catalog_per_message=args.catalog_per_message,
        record_segment=args.record_segment,
        timing=timing,
    )


def clip_from_args(args: argparse.Namespace) -> Clip | None:
    if args.media == "none":
        return None
    if args.media == "file":
        if not args.ps_file:
            raise SystemExit("gbsim: --media file needs --ps-file PATH")
        return clip_from_ps_file(args.ps_file)
    width, _, height = args.size.partition("x")
    return encode_pattern(
        args.codec,
        width=int(width),
        height=int(height),
        fps=args.fps,
        seconds=args.clip_seconds,
        gop=args.gop,
        audio=args.audio,
    )


def parse_server(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return (host or text), int(port) if port.isdigit() else 5060


async def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    clip = clip_from_args(args)
    if clip is not None:
        logger.info(
            "media clip: %s %sx%s, %.1f s, %d frames (prepared in %.2f s)",
            clip.video_codec,
            clip.width,
            clip.height,
            clip.seconds,
            len(clip.frames),
            time.monotonic() - started,
        )
    host, port = parse_server(args.server)
    sim = Simulator(
        configs_from_args(args),
        platform=(args.transport, host, port),
        clip=clip,
        sockets=args.sockets,
        ramp=args.ramp,
        seed=args.seed,
    )
    if args.bind in ("0.0.0.0", "::") and not args.advertise:
        raise SystemExit(
            "gbsim: with --bind 0.0.0.0 give the address the platform should use: --advertise IP"
        )
    ports = await sim.start(args.bind, args.port, advertise=args.advertise)
    logger.info(
        "%d devices x %d channels on %s port(s) %s -> %s %s:%d",
        args.devices,
        args.channels,
        args.bind,
        ",".join(map(str, ports)),
        args.transport.upper(),
        host,
        port,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    with contextlib.suppress(NotImplementedError, AttributeError):
        loop.add_signal_handler(signal.SIGUSR1, sim.raise_alarms)
        loop.add_signal_handler(signal.SIGUSR2, sim.send_positions)
    periodic = [
        asyncio.ensure_future(_every(args.stats_every, lambda: _print_stats(sim, started))),
    ]
    if args.alarm_every:
        periodic.append(asyncio.ensure_future(_every(args.alarm_every, sim.raise_alarms)))
    if args.position_every:
        periodic.append(asyncio.ensure_future(_every(args.position_every, sim.send_positions)))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), args.duration)
    for task in periodic:
        task.cancel()
    _print_stats(sim, started)
    await sim.stop()
    return 0


async def _every(interval: float, action: Callable[[], object]) -> None:
    while True:
        await asyncio.sleep(interval)
        action()


def _print_stats(sim: Simulator, started: float) -> None:
    s = sim.stats
    media = sim.media
    cpu = time.process_time()
    print(
        f"[gbsim {time.monotonic() - started:7.1f}s] registered {s.registered}/{len(sim.devices)}"
        f" (registrations {s.registrations}, lost {s.lost}, timeouts {s.timeouts}),"
        f" requests sent {s.requests_sent}, received {dict(sim.methods)},"
        f" streams {len(media.streams) if media else 0} ({media.packets if media else 0} RTP packets),"
        f" CPU {cpu:.1f}s",
        flush=True,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING - 10 * min(args.verbose, 2),
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    if not args.no_uvloop:
        with contextlib.suppress(ImportError):
            import uvloop

            return uvloop.run(run(args))
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
