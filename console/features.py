"""What the console may offer, found from the API that is actually installed: a page or button
appears only when the endpoint behind it answers (no dead buttons while the live-video API is
still being built)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.urls import Resolver404, resolve

_SAMPLE_ID = "34020000001320000001"
PLAY_PATH = f"/api/devices/{_SAMPLE_ID}/channels/{_SAMPLE_ID}/play/"
STREAMS_PATH = "/api/streams/"
HLS_SCRIPT = Path("npm") / "node_modules" / "hls.js" / "dist" / "hls.min.js"


def route_exists(path: str) -> bool:
    try:
        resolve(path)
    except Resolver404:
        return False
    return True


def hls_script_path() -> Path:
    return Path(settings.VAR_DIR) / HLS_SCRIPT


@dataclass(frozen=True)
class Features:
    live_view: bool
    streams: bool
    hls_js: bool


def features_available() -> Features:
    return Features(
        live_view=route_exists(PLAY_PATH),
        streams=route_exists(STREAMS_PATH),
        hls_js=hls_script_path().is_file(),
    )
