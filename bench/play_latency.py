"""Play request -> first frame: how long a viewer waits for live video, with gbsim on loopback.

Usage: .venv/bin/python bench/play_latency.py [--runs N] [--transport udp|tcp-passive|tcp-active]

Runs the live-video stack of the tests in-process (a media worker, the SIP gateway, a gbsim camera
streaming a 640x360 H.264 test pattern; needs Redis at REDIS_URL) and, N times, sends
`stream.play` over the Redis bus as the web tier does, then opens the WebSocket fMP4 URL. Printed:
the median and worst time from the play request to its answer (the gateway answers once the
media worker holds the first keyframe) and to the first fMP4 media fragment received over the
WebSocket. Each run stops its stream first, so every play is a cold start: INVITE, 200, ACK,
first RTP. Goal (issue 6): <= 1.0 s to the first frame.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")  # its own Redis key prefix

import django  # noqa: E402

django.setup()

import websockets  # noqa: E402
from django.conf import settings  # noqa: E402

from gbplatform.bus import bus_request  # noqa: E402
from gbplatform.redis_client import get_redis  # noqa: E402
from gbsim.stream.pattern import encode_pattern  # noqa: E402
from media.tokens import stream_urls, token_sign  # noqa: E402
from tests.streams.stack import LiveStack  # noqa: E402


async def first_fragment(url: str) -> float:
    """Seconds until the first media fragment (after the JSON header and the init segment)."""
    async with websockets.connect(url, max_size=None) as ws:
        await ws.recv()  # {"mime", "codec", ...}
        await ws.recv()  # init segment
        await ws.recv()  # the first moof+mdat
        return time.perf_counter()


def worker_fmp4_url(stream: dict[str, object]) -> str:
    """The WebSocket URL at the media worker itself: this bench measures the worker, not the web tier."""
    stream_id = str(stream["stream_id"])
    token = token_sign(secret=settings.SECRET_KEY, stream_id=stream_id, expires=int(time.time()) + 60)
    return stream_urls(http_base=str(stream["http"]), stream_id=stream_id, token=token)["ws_fmp4"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--transport", default="udp", choices=["udp", "tcp-passive", "tcp-active"])
    options = parser.parse_args()

    clip = encode_pattern("h264", width=640, height=360, seconds=2.0, gop=25)
    with tempfile.TemporaryDirectory() as output:
        stack = LiveStack(Path(output), clip).start()
        try:
            camera = stack.camera_device
            redis = get_redis()
            answered, fragment = [], []
            for run in range(options.runs):
                stack.beat()
                channel = camera.channel_ids[run % len(camera.channel_ids)]
                start = time.perf_counter()
                stream = bus_request(
                    redis,
                    "gateway",
                    "stream.play",
                    {"device_id": camera.device_id, "channel_id": channel, "transport": options.transport},
                    timeout=20,
                )
                answered.append(time.perf_counter() - start)
                fragment.append(asyncio.run(first_fragment(worker_fmp4_url(stream))) - start)
                bus_request(redis, "gateway", "stream.stop", {"stream_id": stream["stream_id"]}, timeout=10)
                time.sleep(0.2)  # the device's BYE answered, the port back in the pool
        finally:
            stack.stop()

    def ms(values: list[float]) -> str:
        return f"median {statistics.median(values) * 1000:6.1f} ms, worst {max(values) * 1000:6.1f} ms"

    print(f"play latency over {options.transport}, {options.runs} cold plays of a 640x360 H.264 gbsim camera:")
    print(f"  play request -> answer (first keyframe in the worker): {ms(answered)}")
    print(f"  play request -> first fMP4 fragment over WebSocket:    {ms(fragment)}")
    print(json.dumps({"answer_ms": [round(v * 1000, 1) for v in answered]}))


if __name__ == "__main__":
    main()
