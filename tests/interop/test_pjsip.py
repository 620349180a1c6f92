"""Interop with PJSIP (pjsua2): a real, independent user agent registers with digest auth over
UDP and TCP and sends a MANSCDP MESSAGE; the gateway must accept all of it."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("pjsua2", reason="pjsua2-python is not installed")

SCRIPT = Path(__file__).with_name("pjsua_device.py")
PASSWORD = "test-device-password"


async def run_pjsua(transport: str, port: int, device_id: str, password: str) -> dict[str, list[int]]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(SCRIPT), transport, str(port), device_id, password,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    lines = [line for line in out.decode().splitlines() if line.startswith("{")]
    assert lines, f"pjsua2 printed no result; stderr:\n{err.decode()[-2000:]}"
    return json.loads(lines[-1])


@pytest.mark.interop
@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_pjsip_registers_with_digest_and_sends_a_manscdp_message(gateway, transport):
    device_id = "34020000001320000077" if transport == "udp" else "34020000001320000078"
    result = await run_pjsua(transport, gateway.port, device_id, PASSWORD)
    assert result["register"][-1] == 200
    assert result["message"] == [200]
    gateway.app.tick()
    registered = [report for batch in gateway.tasks.named("devices_registered") for report in batch["reports"]]
    assert [(r["device_id"], r["transport"]) for r in registered] == [(device_id, transport)]
    gateway.app.tick()
    keepalives = [kwargs["seen"] for kwargs in gateway.tasks.named("keepalives_apply")]
    assert any(device_id in seen for seen in keepalives)  # the MESSAGE was taken as a keepalive
    # pjsua2 unregisters (Expires: 0) when its account shuts down
    assert "device_unregistered" in gateway.tasks.names()
    assert gateway.registrar.get(device_id) is None


@pytest.mark.interop
async def test_pjsip_with_a_wrong_password_is_refused(gateway):
    result = await run_pjsua("udp", gateway.port, "34020000001320000079", "not-the-password")
    assert result["register"][-1] == 403
    assert gateway.registrar.get("34020000001320000079") is None
