"""Configuration read from environment variables (and an optional `.env` file).

Secrets that must never have a well-known default (SECRET_KEY, SIP_PASSWORD) are generated once
into the runtime folder `var/` and reused on later starts.
"""

from __future__ import annotations

import os
import secrets
import socket
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent.parent

load_dotenv(BASE_DIR / ".env", override=False)

VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var")).resolve()


def env_str(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"environment variable {name} must be an integer, got {raw!r}") from exc


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    return raw in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def port_range(name: str, default: str) -> tuple[int, int]:
    raw = env_str(name, default)
    try:
        low_text, high_text = raw.split("-", 1)
        low, high = int(low_text), int(high_text)
    except ValueError as exc:
        raise ValueError(f"{name} must look like 30000-30499, got {raw!r}") from exc
    if not 0 < low <= high < 65536:
        raise ValueError(f"{name} is not a valid port range: {raw!r}")
    return low, high


DIRECT = "direct"


def public_media_url(name: str) -> str:
    """Where browsers are sent for stream URLs: "" (the web tier, at the address each API request
    came to), "direct" (each media worker's own HTTP address) or a base URL such as
    https://video.example.com or https://example.com/gb (a reverse proxy in front of the web tier)."""
    raw = env_str(name, "")
    if raw.lower() in ("", DIRECT):
        return raw.lower()
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(f"{name} must be empty, {DIRECT!r} or a base URL like https://video.example.com, got {raw!r}")
    return raw.rstrip("/")


def generated_secret(name: str, filename: str, length: int = 32) -> str:
    """The variable's value, or a random secret kept in var/<filename> across restarts."""
    value = os.environ.get(name, "").strip()
    if value:
        return value
    path = VAR_DIR / filename
    try:
        stored = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        stored = ""
    if stored:
        return stored
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    stored = secrets.token_urlsafe(length)
    path.write_text(stored + "\n", encoding="utf-8")
    path.chmod(0o600)
    return stored


def detect_advertised_ip() -> str:
    """The address peers should use to reach us: the source address of the default route.

    No packet is sent: connecting a UDP socket only selects a route. Falls back to loopback on
    a machine with no route at all, never to 0.0.0.0.
    """
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))  # TEST-NET-1: routing lookup only, nothing is sent
        address = str(probe.getsockname()[0])
    except OSError:
        address = "127.0.0.1"
    finally:
        probe.close()
    return "127.0.0.1" if address in {"0.0.0.0", ""} else address
