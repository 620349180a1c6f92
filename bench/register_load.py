"""REGISTER-with-challenge load against a real gateway process over UDP loopback.

The gateway (`manage.py run_sip_gateway`, the whole stack: transport, transactions,
registrar, Celery hand-off) runs in its own process; this process plays N devices on the other
core, keeping `window` registrations in flight: REGISTER, 401, REGISTER with Authorization, 200.
Requests the gateway sends back (DeviceInfo and Catalog queries) are answered 200.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from sip_gateway.core.digest import DigestClient  # noqa: E402
from sip_gateway.core.message import Request, parse_message  # noqa: E402
from sip_gateway.core.responses import make_response  # noqa: E402

DOMAIN = "3402000000"
REGISTRAR_URI = f"sip:34020000002000000001@{DOMAIN}"


@dataclass
class Result:
    devices: int
    seconds: float
    gateway_cpu_seconds: float
    failures: int
    gateway_system_seconds: float = 0.0  # the kernel's share of gateway_cpu_seconds (sockets)

    @property
    def rate(self) -> float:
        return self.devices / self.seconds

    @property
    def cpu_rate(self) -> float:
        """Registrations per gateway CPU-second: what one core sustains, whatever else runs."""
        return self.devices / max(self.gateway_cpu_seconds, 1e-9)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, socket.socket() as tcp:
        udp.bind(("127.0.0.1", 0))
        port = int(udp.getsockname()[1])
        tcp.bind(("127.0.0.1", port))
        return port


def cpu_seconds(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds a process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


class Devices(asyncio.DatagramProtocol):
    def __init__(self, count: int, window: int, password: str, gateway: tuple[str, int]) -> None:
        self.count, self.window, self.password, self.gateway = count, window, password, gateway
        self.next_index = 0
        self.done = 0
        self.failures = 0
        self.finished = asyncio.get_running_loop().create_future()
        self.pending: dict[str, tuple[str, int]] = {}  # Call-ID -> (device ID, CSeq)
        self.last_sent: dict[str, tuple[float, bytes]] = {}  # Call-ID -> (when, bytes), to retransmit
        self.retransmissions = 0
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's UDP transport is not a subclass
        self.port = transport.get_extra_info("sockname")[1]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # The default buffer holds fewer datagrams than the window: a client that loses its
            # core for a moment would drop answers and stall a second on each retransmission.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        for _ in range(min(self.window, self.count)):
            self.start_one()

    def start_one(self) -> None:
        index = self.next_index
        self.next_index += 1
        device_id = f"3402000000132{index:07d}"
        call_id = uuid.uuid4().hex
        self.pending[call_id] = (device_id, 1)
        self.send_register(device_id, call_id, 1, None)

    def send_register(self, device_id: str, call_id: str, cseq: int, authorization: str | None) -> None:
        # Built from a template: the load generator must stay cheaper than what it measures.
        auth = f"Authorization: {authorization}\r\n" if authorization else ""
        data = (
            f"REGISTER {REGISTRAR_URI} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};rport;branch=z9hG4bK{call_id[:12]}{cseq}\r\n"
            f"From: <sip:{device_id}@{DOMAIN}>;tag={call_id[:8]}\r\n"
            f"To: <sip:{device_id}@{DOMAIN}>\r\n"
            f"Call-ID: {call_id}\r\n"
            f"CSeq: {cseq} REGISTER\r\n"
            f"Contact: <sip:{device_id}@127.0.0.1:{self.port}>\r\n"
            f"Max-Forwards: 70\r\nExpires: 3600\r\n{auth}Content-Length: 0\r\n\r\n"
        ).encode()
        assert self.transport is not None
        self.last_sent[call_id] = (time.monotonic(), data)
        self.transport.sendto(data, self.gateway)

    def retransmit(self, older_than: float) -> None:
        """Like a device's Timer E: resend what got no answer (UDP may drop under load)."""
        assert self.transport is not None
        now = time.monotonic()
        for call_id, (when, data) in list(self.last_sent.items()):
            if now - when > older_than:
                self.retransmissions += 1
                self.last_sent[call_id] = (now, data)
                self.transport.sendto(data, self.gateway)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        assert self.transport is not None
        if not data.startswith(b"SIP/2.0 "):
            message = parse_message(data)  # a query from the gateway: answer 200
            if isinstance(message, Request) and message.method != "ACK":
                self.transport.sendto(make_response(message, 200, to_tag="dev").to_bytes(), addr)
            return
        call_match = _CALL_ID.search(data)
        if call_match is None:
            return
        call_id = call_match.group(1).decode()
        entry = self.pending.get(call_id)
        if entry is None:
            return
        device_id, cseq = entry
        cseq_match = _CSEQ.search(data)
        if cseq_match is None or int(cseq_match.group(1)) != cseq:
            return  # a late answer to a retransmitted REGISTER this device has moved past
        status = int(data[8:11])
        if status == 401 and cseq == 1:
            challenge = _CHALLENGE.search(data)
            if challenge is None:
                return
            client = DigestClient(device_id, self.password)
            auth = client.authorization(challenge.group(1).decode(), method="REGISTER", uri=REGISTRAR_URI, cnonce="b3nch")
            self.pending[call_id] = (device_id, 2)
            self.send_register(device_id, call_id, 2, auth)
            return
        if status < 200:
            return
        del self.pending[call_id]
        self.last_sent.pop(call_id, None)
        self.done += 1
        if status != 200:
            self.failures += 1
        if self.next_index < self.count:
            self.start_one()
        elif not self.pending and not self.finished.done():
            self.finished.set_result(None)


_CALL_ID = re.compile(rb"\r\nCall-ID: *([^\r\n]+)", re.IGNORECASE)
_CSEQ = re.compile(rb"\r\nCSeq: *(\d+)", re.IGNORECASE)
_CHALLENGE = re.compile(rb"\r\nWWW-Authenticate: *([^\r\n]+)", re.IGNORECASE)


async def drive(count: int, window: int, password: str, port: int) -> tuple[float, int]:
    loop = asyncio.get_running_loop()
    start = time.perf_counter()
    transport, devices = await loop.create_datagram_endpoint(
        lambda: Devices(count, window, password, ("127.0.0.1", port)), local_addr=("127.0.0.1", 0)
    )
    deadline = start + max(60.0, count / 200)
    try:
        while not devices.finished.done():
            if time.perf_counter() > deadline:
                raise TimeoutError(f"only {devices.done} of {count} registrations completed")
            await asyncio.wait([devices.finished], timeout=0.5)
            devices.retransmit(older_than=1.0)
    finally:
        transport.close()
    if devices.retransmissions:
        print(f"  ({devices.retransmissions} REGISTERs retransmitted after 1 s without an answer)")
    return time.perf_counter() - start, devices.failures


def run(count: int = 10_000, window: int = 256, *, queries: bool = False) -> Result:
    port = free_port()
    password = secrets.token_hex(6)
    env = {
        **os.environ,
        "SIP_PASSWORD": password,
        "SIP_ADVERTISED_IP": "127.0.0.1",
        "CELERY_QUEUE": f"bench-{uuid.uuid4().hex[:8]}",
        "REDIS_KEY_PREFIX": f"bench-{uuid.uuid4().hex[:8]}:",
        "LOG_LEVEL": "WARNING",
        "SIP_QUERY_ON_REGISTER": "1" if queries else "0",
    }
    log = tempfile.NamedTemporaryFile(prefix="gateway-", suffix=".log", delete=False)  # noqa: SIM115
    gateway = subprocess.Popen(
        [sys.executable, "manage.py", "run_sip_gateway", "--bind", "127.0.0.1", "--port", str(port)],
        cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        time.sleep(3.0)  # let it bind and settle
        if gateway.poll() is not None:
            raise RuntimeError(Path(log.name).read_text())
        os.sched_setaffinity(gateway.pid, {0})
        os.sched_setaffinity(0, {1})
        user_before, system_before = cpu_seconds(gateway.pid)
        import uvloop

        seconds, failures = uvloop.run(drive(count, window, password, port))
        user_after, system_after = cpu_seconds(gateway.pid)
    finally:
        gateway.terminate()
        gateway.wait(timeout=30)
        import redis

        client = redis.Redis()
        client.delete(env["CELERY_QUEUE"])
    system = system_after - system_before
    return Result(count, seconds, user_after - user_before + system, failures, system)


def report(result: Result, label: str) -> None:
    print(
        f"{label}: {result.devices} authenticated registrations in {result.seconds:.2f} s = {result.rate:,.0f}/s "
        f"(gateway CPU {result.gateway_cpu_seconds:.2f} s, {result.gateway_system_seconds:.2f} s of it in the kernel, "
        f"= {result.cpu_rate:,.0f} per CPU-second), {result.failures} failed"
    )


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    report(run(n), "REGISTER only")
    report(run(n, queries=True), "with DeviceInfo/Catalog/DeviceStatus queries")
