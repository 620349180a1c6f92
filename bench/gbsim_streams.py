"""CPU cost of gbsim's media path: PS muxing + RTP packetizing + UDP send, per stream.

Run: .venv/bin/python bench/gbsim_streams.py [--streams 50] [--seconds 10] [--kbps 1024]

The test pattern is encoded once (the same clip gbsim uses); then `--streams` senders are
driven through `--seconds` of media time as fast as possible, and each packet is sent to a
loopback UDP socket nobody reads. The figure printed is the CPU needed per real-time stream.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import sys
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from gbsim.stream.pattern import encode_pattern  # noqa: E402
from gbsim.stream.sender import StreamSender  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--streams", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--kbps", type=int, default=1024)
    parser.add_argument("--codec", choices=("h264", "h265"), default="h264")
    args = parser.parse_args()

    start = time.process_time()
    clip = encode_pattern(args.codec, seconds=4.0, gop=50, kbps=args.kbps, audio=True)
    print(
        f"clip: {args.codec} {clip.width}x{clip.height}, {clip.seconds:.1f} s, "
        f"{sum(len(f.data) for f in clip.frames) * 8 / clip.seconds / 1000:.0f} kbit/s, "
        f"encoded in {time.process_time() - start:.2f} s CPU"
    )

    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    out.setblocking(False)
    target = sink.getsockname()
    senders = [StreamSender(clip, ssrc=n + 1, now=0.0) for n in range(args.streams)]
    packets = 0
    cpu0 = time.process_time()
    now = 0.0
    while now <= args.seconds:
        for sender in senders:
            for packet in sender.poll(now):
                packets += 1
                with contextlib.suppress(BlockingIOError):
                    out.sendto(packet, target)
        now += 0.04
    cpu = time.process_time() - cpu0
    stream_seconds = args.streams * args.seconds
    print(f"{args.streams} streams x {args.seconds:g} s of media: {packets} RTP packets, {cpu:.2f} s CPU")
    print(
        f"per real-time stream: {100 * cpu / stream_seconds:.2f} % of one core"
        f" -> about {int(stream_seconds / cpu)} streams per core"
    )


if __name__ == "__main__":
    main()
