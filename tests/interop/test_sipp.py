"""Interop with sipp (Debian's sip-tester), an independent SIP implementation: its
`[authentication]` REGISTER scenario, then a MANSCDP keepalive, over UDP and TCP."""

from __future__ import annotations

import asyncio
import shutil
import socket
from pathlib import Path

import pytest

SCENARIO = Path(__file__).with_name("sipp_register.xml")
PASSWORD = "test-device-password"

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(shutil.which("sipp") is None, reason="sipp is not installed (apt-get install sip-tester)"),
]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        tcp.bind(("127.0.0.1", 0))
        port = int(tcp.getsockname()[1])
        udp.bind(("127.0.0.1", port))
        return port


async def run_sipp(port: int, device_id: str, password: str, transport: str, workdir: Path) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        "sipp", f"127.0.0.1:{port}", "-sf", str(SCENARIO), "-m", "1", "-i", "127.0.0.1", "-p", str(free_port()),
        "-t", "t1" if transport == "tcp" else "u1", "-s", device_id, "-au", device_id, "-ap", password,
        "-timeout", "20s", "-trace_err", "-nostdin",
        cwd=workdir, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    errors = "".join(p.read_text(errors="replace") for p in workdir.glob("*_errors.log"))
    return process.returncode or 0, out.decode(errors="replace")[-1500:] + errors[-1500:]


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_sipp_registers_with_digest_and_keeps_alive(gateway, transport, tmp_path):
    device_id = "34020000001320000081" if transport == "udp" else "34020000001320000082"
    code, log = await run_sipp(gateway.port, device_id, PASSWORD, transport, tmp_path)
    assert code == 0, log
    registration = gateway.registrar.get(device_id)
    assert registration is not None and registration.peer[0] == transport


async def test_sipp_with_a_wrong_password_is_refused(gateway, tmp_path):
    code, log = await run_sipp(gateway.port, "34020000001320000083", "wrong", "udp", tmp_path)
    assert code != 0
    assert "403" in log
    assert gateway.registrar.get("34020000001320000083") is None
