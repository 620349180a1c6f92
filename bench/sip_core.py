"""Throughput of the SIP core on one core: parse + serialize, and whole REGISTER transactions.

Run: .venv/bin/python bench/sip_core.py [seconds] [registrations]. Parsing uses the captured
Dahua/Hikvision session (REGISTER, MESSAGE with MANSCDP XML, INVITE, responses); the goal is
>= 30,000/s. Then the gateway process itself (``manage.py run_sip_gateway``, needing Redis)
answers REGISTER, 401 challenge, REGISTER with digest, 200 over a real UDP socket on loopback
(bench/register_load.py does the driving); the goal is >= 5,000 per gateway CPU-second.
Registrations 0 skips that part.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from sip_gateway.core.message import parse_message, serialize  # noqa: E402

VECTORS = PROJECT_ROOT.parent / "shared" / "vectors" / "sip" / "dahua_sd_hik_nvr"


def load_messages() -> list[bytes]:
    """The captured messages, with the blog's damage repaired (blank line, Content-Length)."""
    messages: list[bytes] = []
    for path in sorted(VECTORS.glob("*.sip")):
        data = path.read_bytes()
        head, sep, body = data.partition(b"\r\n\r\n")
        if not sep:
            head, body = data.rstrip(b"\r\n"), b""
        head = re.sub(rb"(?im)^Content-Length:.*$", b"Content-Length: %d" % len(body), head)
        messages.append(head + b"\r\n\r\n" + body)
    return messages


def measure(messages: list[bytes], seconds: float) -> tuple[float, float, float]:
    """Messages per second for parse only, serialize only, and parse + serialize."""
    parsed = [parse_message(m) for m in messages]

    def rate(step: object) -> float:
        count = 0
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            step()  # type: ignore[operator]
            count += len(messages)
        return count / (time.perf_counter() - start)

    def parse_all() -> None:
        for m in messages:
            parse_message(m)

    def serialize_all() -> None:
        for p in parsed:
            serialize(p)

    def both() -> None:
        for m in messages:
            serialize(parse_message(m))

    return rate(parse_all), rate(serialize_all), rate(both)


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    if not VECTORS.is_dir():
        sys.exit(f"vectors not found at {VECTORS}")
    messages = load_messages()
    parse_rate, serialize_rate, both_rate = measure(messages, seconds)
    print(f"{len(messages)} captured GB messages, avg {sum(map(len, messages)) // len(messages)} bytes")
    print(f"parse:             {parse_rate:10,.0f} msg/s")
    print(f"serialize:         {serialize_rate:10,.0f} msg/s")
    print(f"parse + serialize: {both_rate:10,.0f} msg/s  (goal >= 30,000)")
    subsets = {
        "REGISTER": [m for m in messages if m.startswith(b"REGISTER ")],
        "MESSAGE + XML": [m for m in messages if m.startswith(b"MESSAGE ") and b"<?xml" in m],
    }
    for name, subset in subsets.items():
        print(f"  {name:<15} parse + serialize: {measure(subset, seconds / 2)[2]:10,.0f} msg/s")
    registrations = int(sys.argv[2]) if len(sys.argv) > 2 else 20_000
    if registrations:
        import register_load

        result = register_load.run(registrations)
        register_load.report(result, "REGISTER + 401 + REGISTER + 200 over UDP")
        print(
            f"REGISTER with challenge:  {result.cpu_rate:10,.0f} transactions per gateway CPU-second, "
            f"{result.rate:,.0f}/s wall  (goal >= 5,000)"
        )


if __name__ == "__main__":
    main()
