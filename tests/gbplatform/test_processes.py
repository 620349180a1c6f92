"""Every long-running process starts, says it is ready, beats in Redis, and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings

from gbplatform.heartbeat import GATEWAY, MEDIA_WORKER, heartbeats_read

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**os.environ, "HEARTBEAT_INTERVAL": "1", **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for_line(process: subprocess.Popen[str], needle: str, timeout: float = 90) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if needle in line:
            return seen
    process.kill()
    raise AssertionError(f"{needle!r} not seen; output was:\n{''.join(seen)}")


def stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=30)
    return out


@pytest.fixture
def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)


def test_sip_gateway_listens_on_udp_and_tcp_beats_and_stops_on_sigterm(redis_client):
    port = free_port()
    gateway = start("run_sip_gateway", "--bind", "127.0.0.1", "--port", str(port))
    wait_for_line(gateway, "ready")
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        pass  # TCP is open on the same port as UDP
    assert any(beat["port"] == port for beat in heartbeats_read(redis_client, kind=GATEWAY))
    output = stop(gateway)
    assert gateway.returncode == 0, output
    assert "stopped" in output
    assert not any(beat["port"] == port for beat in heartbeats_read(redis_client, kind=GATEWAY))


def test_gateway_prints_a_generated_device_password_never_a_default(tmp_path):
    env = {"VAR_DIR": str(tmp_path), "SIP_PASSWORD": ""}
    gateway = start("run_sip_gateway", "--bind", "127.0.0.1", "--port", str(free_port()), env=env)
    lines = wait_for_line(gateway, "ready")
    stop(gateway)
    generated = (tmp_path / "sip_password").read_text().strip()
    assert len(generated) >= 12
    assert any(generated in line for line in lines)


def test_media_worker_announces_its_port_range_and_stops_on_sigterm(redis_client):
    worker = start("run_media_worker", env={"MEDIA_RTP_PORTS": "41000-41099"})
    wait_for_line(worker, "ready")
    beats = [b for b in heartbeats_read(redis_client, kind=MEDIA_WORKER) if b["rtp_ports"] == [41000, 41099]]
    assert len(beats) == 1
    assert beats[0]["streams"] == 0
    output = stop(worker)
    assert worker.returncode == 0, output


def test_web_process_serves_http_and_stops_on_sigterm() -> None:
    port = free_port()
    web = subprocess.Popen(
        [sys.executable, "-m", "gbplatform.serve"],
        cwd=ROOT,
        env={**os.environ, "WEB_BIND": f"127.0.0.1:{port}"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    wait_for_line(web, "Uvicorn running")
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(b"GET /media/not-a-stream HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        answer = conn.recv(4096)
    assert answer.startswith(b"HTTP/1.1 404"), answer  # the media proxy answered: the app is up
    output = stop(web)
    # uvicorn shuts down gracefully, then re-raises the signal so the exit status tells why.
    assert "Finished server process" in output
    assert web.returncode in (0, -signal.SIGTERM), output
