"""How many simulated devices one gbsim process keeps registered, and at what CPU cost.

Run: .venv/bin/python bench/gbsim_scale.py [--devices 10000] [--keepalive 10] [--steady 20]

A minimal platform (digest challenge on REGISTER, 200 to everything else, on our
SipEndpoint) runs in a child process so the figures printed for gbsim are its own: the
time until every device is registered, and CPU seconds for that phase and for a steady
phase of keepalives. Over loopback UDP, one shared socket, no media.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import resource
import sys
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from gbsim.config import Timing, device_configs  # noqa: E402
from gbsim.runner import Simulator  # noqa: E402
from sip_gateway.core.digest import DigestServer  # noqa: E402
from sip_gateway.core.message import Request  # noqa: E402
from sip_gateway.core.responses import make_response  # noqa: E402
from sip_gateway.core.transaction import RequestReceived  # noqa: E402
from sip_gateway.endpoint import SipEndpoint  # noqa: E402

SERVER_ID = "34020000002000000001"
DOMAIN = "3402000000"
PASSWORD = "12345678"


def platform_process(port_out: multiprocessing.connection.Connection, seconds: float) -> None:
    """The platform: challenge REGISTERs, check the digest, answer everything else 200."""

    async def serve() -> None:
        digest = DigestServer(DOMAIN, b"bench", qop=True)
        counts = {"REGISTER": 0, "MESSAGE": 0}

        def on_request(event: RequestReceived) -> None:
            request: Request = event.request
            counts[request.method] = counts.get(request.method, 0) + 1
            now = endpoint.now()
            if request.method == "REGISTER":
                result = digest.verify(
                    request.headers.get("Authorization"),
                    method="REGISTER",
                    now=now,
                    password_lookup=lambda _u: PASSWORD,
                )
                if not result.ok:
                    challenge = digest.challenge(now).to_header()
                    endpoint.send_response(
                        make_response(request, 401, to_tag="b1", headers=[("WWW-Authenticate", challenge)])
                    )
                    return
                expires = request.headers.get("Expires") or "3600"
                endpoint.send_response(
                    make_response(request, 200, to_tag="b1", headers=[("Expires", expires)])
                )
            elif request.method != "ACK":
                endpoint.send_response(make_response(request, 200, to_tag="b1"))

        endpoint = SipEndpoint(on_request)
        port = await endpoint.start("127.0.0.1", 0)
        port_out.send(port)
        await asyncio.sleep(seconds)
        port_out.send(counts)
        await endpoint.close()

    _run(serve())


def _run(coro: Coroutine[Any, Any, None]) -> None:
    try:
        import uvloop
    except ImportError:
        asyncio.run(coro)
    else:
        uvloop.run(coro)


async def simulate(args: argparse.Namespace, port: int) -> None:
    timing = Timing(expires=3600, keepalive_interval=args.keepalive, request_timeout=32)
    configs = device_configs(
        "34020000",
        args.devices,
        args.channels,
        server_id=SERVER_ID,
        domain=DOMAIN,
        password=PASSWORD,
        timing=timing,
    )
    cpu0, t0 = time.process_time(), time.perf_counter()
    sim = Simulator(
        configs, platform=("udp", "127.0.0.1", port), sockets=args.sockets, ramp=args.ramp, seed=1
    )
    await sim.start("127.0.0.1")
    setup_cpu = time.process_time() - cpu0
    ok = await sim.wait_registered(timeout=args.timeout)
    t1, cpu1 = time.perf_counter(), time.process_time()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"devices: {args.devices} x {args.channels} channels, ramp {args.ramp:.1f} s, {args.sockets} socket(s)"
    )
    print(f"setup (creating device cores): {setup_cpu:.2f} s CPU")
    print(
        f"registered {sim.stats.registered}/{args.devices} in {t1 - t0:.2f} s wall, {cpu1 - cpu0:.2f} s CPU"
        f" (timeouts {sim.stats.timeouts}, all ok: {ok})"
    )
    sent0 = sim.stats.requests_sent
    await asyncio.sleep(args.steady)
    cpu2, t2 = time.process_time(), time.perf_counter()
    sent = sim.stats.requests_sent - sent0
    print(
        f"steady {t2 - t1:.1f} s: {sent} requests ({sent / (t2 - t1):.0f}/s, keepalive every {args.keepalive:g} s),"
        f" CPU {cpu2 - cpu1:.2f} s = {100 * (cpu2 - cpu1) / (t2 - t1):.1f} % of one core;"
        f" still registered {sim.registered_count}"
    )
    print(f"peak RSS {rss:.0f} MiB")
    await sim.stop(unregister=False)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", type=int, default=10000)
    parser.add_argument("--channels", type=int, default=4)
    parser.add_argument("--keepalive", type=float, default=10.0)
    parser.add_argument("--steady", type=float, default=20.0)
    parser.add_argument("--ramp", type=float, default=5.0)
    parser.add_argument("--sockets", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    parent, child = multiprocessing.Pipe()
    platform = multiprocessing.Process(
        target=platform_process, args=(child, args.timeout + args.steady + args.ramp + 30), daemon=True
    )
    platform.start()
    port = parent.recv()
    _run(simulate(args, port))
    platform.terminate()
    platform.join(5)
    child_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"platform process CPU: {child_cpu.ru_utime + child_cpu.ru_stime:.2f} s")


if __name__ == "__main__":
    main()
