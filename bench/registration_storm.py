"""Registration storm, keepalive load and a large catalog, against the real platform processes.

Run: .venv/bin/python bench/registration_storm.py [--devices 10000] [--keepalive-devices 20000]
     [--keepalive-seconds 60] [--catalog 10000]

The gateway (`manage.py run_sip_gateway`) and a Celery worker run as their own processes on a
fresh SQLite database under var/; gbsim plays the devices from this process. Printed:
1. the time for N devices to register with digest auth (goal <= 20 s for 10,000), and how many
   reached the database as online (goal: none lost);
2. the gateway's CPU while M devices keep alive every 60 s (goal < 1 core);
3. the time from asking a device for its catalog to its C channels being in the database
   (goal <= 10 s for 10,000).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from gbsim.config import DeviceConfig, Timing, device_configs  # noqa: E402
from gbsim.runner import Simulator  # noqa: E402

SERVER_ID = "34020000002000000001"
DOMAIN = "3402000000"
PASSWORD = "storm-password"


def free_port() -> int:
    import socket

    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, socket.socket() as tcp:
            udp.bind(("127.0.0.1", 0))
            port = int(udp.getsockname()[1])
            try:
                tcp.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise OSError("no port free for both UDP and TCP")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Platform:
    """The gateway and a Celery worker on their own database, queue and Redis keys."""

    def __init__(self, workdir: Path) -> None:
        run = uuid.uuid4().hex[:8]
        self.database = workdir / f"storm-{run}.sqlite3"
        self.port = free_port()
        self.env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{self.database}",
            "SIP_PASSWORD": PASSWORD,
            "SIP_ADVERTISED_IP": "127.0.0.1",
            "CELERY_QUEUE": f"storm-{run}",
            "REDIS_KEY_PREFIX": f"storm-{run}:",
            "LOG_LEVEL": "WARNING",
        }
        self.logs = workdir
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=PROJECT_ROOT, env=self.env, check=True)
        self.worker = self._spawn("worker", [sys.executable, "-m", "celery", "-A", "gbplatform", "worker", "-P", "solo",
                                             "--without-mingle", "--without-gossip", "-Q", self.env["CELERY_QUEUE"]])
        self.gateway = self._spawn("gateway", [sys.executable, "manage.py", "run_sip_gateway", "--bind", "127.0.0.1",
                                               "--port", str(self.port)])
        time.sleep(4)

    def _spawn(self, name: str, command: list[str]) -> subprocess.Popen[bytes]:
        log = (self.logs / f"storm-{name}.log").open("wb")
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def count(self, sql: str) -> int:
        with sqlite3.connect(self.database, timeout=30) as db:
            return int(db.execute(sql).fetchone()[0])

    def wait_count(self, sql: str, want: int, timeout: float) -> float | None:
        start = time.perf_counter()
        while time.perf_counter() - start < timeout:
            if self.count(sql) >= want:
                return time.perf_counter() - start
            time.sleep(0.2)
        return None

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        import redis

        redis.Redis().delete(self.env["CELERY_QUEUE"])
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.database}{suffix}").unlink(missing_ok=True)


def configs(count: int, channels: int, keepalive: float, first_serial: int = 1) -> list[DeviceConfig]:
    return device_configs(
        "34020000",
        count,
        channels,
        first_serial=first_serial,
        server_id=SERVER_ID,
        domain=DOMAIN,
        password=PASSWORD,
        timing=Timing(expires=3600, keepalive_interval=keepalive),
        catalog_per_message=1,
    )


async def storm(platform: Platform, devices: int, ramp: float) -> None:
    sim = Simulator(configs(devices, 0, 60.0), platform=("udp", "127.0.0.1", platform.port), ramp=ramp, seed=1)
    start = time.perf_counter()
    cpu0 = cpu_seconds(platform.gateway.pid)
    await sim.start("127.0.0.1")
    ok = await sim.wait_registered(timeout=120)
    elapsed = time.perf_counter() - start
    cpu = cpu_seconds(platform.gateway.pid) - cpu0
    print(f"1. {sim.stats.registered}/{devices} devices (starting over {ramp:g} s) registered with digest auth in {elapsed:.1f} s "
          f"(goal <= 20 s; all: {ok}); gateway CPU {cpu:.1f} s")
    stored = await asyncio.to_thread(platform.wait_count, "select count(*) from devices_device where online", devices, 180)
    online = platform.count("select count(*) from devices_device where online")
    print(f"   {online}/{devices} online in the database"
          + (f" {stored:.1f} s later" if stored is not None else " (not all within 180 s)"))
    await sim.stop(unregister=False, grace=0.5)


async def requests_settle(sim: Simulator, *, keepalive_rate: float, window: float = 5.0, limit: float = 240.0) -> float:
    """Wait until the devices send little more than keepalives: each new device first answers the
    gateway's DeviceInfo/Catalog/DeviceStatus queries and its catalog SUBSCRIBE, which the gateway
    issues a few devices at a time. Returns the seconds waited."""
    start = time.perf_counter()
    while time.perf_counter() - start < limit:
        sent = sim.stats.requests_sent
        await asyncio.sleep(window)
        if (sim.stats.requests_sent - sent) / window <= 1.25 * keepalive_rate:
            break
    return time.perf_counter() - start


async def keepalive_load(platform: Platform, devices: int, seconds: float) -> None:
    sim = Simulator(configs(devices, 0, 60.0, first_serial=100001), platform=("udp", "127.0.0.1", platform.port),
                    ramp=30.0, seed=2)
    await sim.start("127.0.0.1")
    await sim.wait_registered(timeout=240)
    settled = await requests_settle(sim, keepalive_rate=devices / 60.0)
    print(f"   (the gateway's queries and catalog subscriptions for new devices done {settled:.0f} s after registering)")
    cpu0, t0 = cpu_seconds(platform.gateway.pid), time.perf_counter()
    sent0 = sim.stats.requests_sent
    await asyncio.sleep(seconds)
    cpu, wall = cpu_seconds(platform.gateway.pid) - cpu0, time.perf_counter() - t0
    print(f"2. {sim.registered_count}/{devices} devices keeping alive every 60 s: "
          f"{(sim.stats.requests_sent - sent0) / wall:.0f} requests/s, gateway CPU {100 * cpu / wall:.1f} % of one core "
          f"(goal < 100 %)")
    await sim.stop(unregister=False, grace=0.5)


async def big_catalog(platform: Platform, channels: int) -> None:
    big = configs(1, channels, 60.0, first_serial=900001)[0]
    sim = Simulator([big], platform=("udp", "127.0.0.1", platform.port), seed=3)
    load = os.getloadavg()[0]
    cpu0 = cpu_seconds(platform.gateway.pid), cpu_seconds(platform.worker.pid)
    await sim.start("127.0.0.1")  # registering makes the gateway ask for the catalog
    sql = ("select count(*) from devices_channel c join devices_device d on c.device_id = d.id "
           f"where d.device_id = '{big.device_id}'")
    took = await asyncio.to_thread(platform.wait_count, sql, channels, 120)
    gateway_cpu = cpu_seconds(platform.gateway.pid) - cpu0[0]
    worker_cpu = cpu_seconds(platform.worker.pid) - cpu0[1]
    print(f"3. catalog of {channels} channels (one item per message) in the database "
          + (f"{took:.1f} s after registering (goal <= 10 s)" if took is not None
             else f"incomplete after 120 s: {platform.count(sql)} channels")
          + f"; gateway CPU {gateway_cpu:.1f} s, worker CPU {worker_cpu:.1f} s; load average {load:.1f} before")
    await sim.stop(unregister=False, grace=0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--keepalive-devices", type=int, default=20_000)
    parser.add_argument("--keepalive-seconds", type=float, default=60.0)
    parser.add_argument("--catalog", type=int, default=10_000)
    parser.add_argument("--ramp", type=float, default=10.0, help="devices start spread over this many seconds")
    args = parser.parse_args()
    workdir = PROJECT_ROOT / "var"
    workdir.mkdir(exist_ok=True)
    import uvloop

    for phase in ("storm", "keepalive", "catalog"):
        platform = Platform(workdir)
        platform.start()
        try:
            if phase == "storm":
                uvloop.run(storm(platform, args.devices, args.ramp))
            elif phase == "keepalive" and args.keepalive_devices:
                uvloop.run(keepalive_load(platform, args.keepalive_devices, args.keepalive_seconds))
            elif phase == "catalog" and args.catalog:
                uvloop.run(big_catalog(platform, args.catalog))
        finally:
            platform.stop()


if __name__ == "__main__":
    main()
