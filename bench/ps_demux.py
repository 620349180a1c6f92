"""Throughput of the receive path on one core: RTP packets -> reorder -> PS demuxer -> frames.

Usage: .venv/bin/python bench/ps_demux.py [--repeat N]

PS captures are cut into 1,400-byte RTP payloads first (as cameras send them); the headerless
RTP capture is split by header scanning. Only the receive path is timed, not the preparation.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from media.ps.demux import PsDemuxer  # noqa: E402
from media.rtp.framing import split_headerless  # noqa: E402
from media.rtp.packet import build_rtp, parse_rtp  # noqa: E402
from media.rtp.reorder import ReorderBuffer  # noqa: E402
from tests.vectors import vectors_root  # noqa: E402

STREAM_BITRATE = 4_000_000  # bits/s of one typical camera stream


def rtp_from_ps(data: bytes, payload_size: int = 1400) -> list[bytes]:
    return [
        build_rtp(payload_type=96, sequence=i, timestamp=0, ssrc=1, payload=data[off : off + payload_size])
        for i, off in enumerate(range(0, len(data), payload_size))
    ]


def receive(packets: list[bytes]) -> int:
    reorder = ReorderBuffer(depth=16)
    demuxer = PsDemuxer()
    frames = 0
    for raw in packets:
        for released in reorder.push(parse_rtp(raw)):
            frames += len(demuxer.feed(released.packet.payload))
    for released in reorder.flush():
        frames += len(demuxer.feed(released.packet.payload))
    return frames + len(demuxer.flush())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    root = vectors_root()
    inputs: list[tuple[str, list[bytes]]] = []
    for name in (
        "ps/hik_d1_h264_private_bd.ps",
        "ps/hik_1080p_h264_midstart.ps",
        "ps/fri_g711a_audio_only_bad_psm.mpg",
    ):
        path = root / name
        if path.is_file():
            inputs.append((name, rtp_from_ps(path.read_bytes())))
    rtp_path = root / "rtp/hik_d1_h264.rtp"
    if rtp_path.is_file():
        inputs.append(("rtp/hik_d1_h264.rtp", split_headerless(rtp_path.read_bytes())))
    if not inputs:
        sys.exit(f"no vectors under {root}")
    print(
        f"{'input':40} {'packets':>8} {'frames':>7} {'MB/s':>8} {'frames/s':>10} {'pkts/s':>10} {'4Mb/s streams':>14}"
    )
    for name, packets in inputs:
        size = sum(len(p) for p in packets)
        best = float("inf")
        frames = 0
        for _ in range(args.repeat):
            start = time.perf_counter()
            frames = receive(packets)
            best = min(best, time.perf_counter() - start)
        rate = size / best
        print(
            f"{name:40} {len(packets):8d} {frames:7d} {rate / 1e6:8.1f} {frames / best:10.0f}"
            f" {len(packets) / best:10.0f} {rate * 8 / STREAM_BITRATE:14.0f}"
        )


if __name__ == "__main__":
    main()
