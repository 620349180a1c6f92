"""GB SDP bodies we write: INVITE offers to devices and 200 OK answers to upper platforms.

Output is canonical: CRLF line endings, lines in the order GB devices expect, `y=` after
the media attributes and `f=` last.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from .model import STANDARD_RTPMAP, MediaFormat, Transport

SessionName = Literal["Play", "Playback", "Download"]
DEFAULT_PAYLOAD_TYPES: tuple[int, ...] = (96, 97, 98, 99)
EOL = "\r\n"


def _check_port(port: int) -> None:
    if not 0 <= port <= 65535:
        raise ValueError(f"port must be 0..65535, got {port}")


def _check_ssrc(ssrc: str) -> None:
    if not (ssrc.isascii() and ssrc.isdigit() and len(ssrc) == 10):
        raise ValueError(f"y= SSRC must be 10 digits, got {ssrc!r}")


def _transport_lines(transport: Transport) -> list[str]:
    if not transport.is_tcp:
        return []
    return [f"a=setup:{transport.setup}", "a=connection:new"]


def build_offer(
    *,
    session: SessionName,
    origin_id: str,
    address: str,
    port: int,
    ssrc: str,
    transport: Transport = Transport.UDP,
    channel_id: str | None = None,
    start_time: int = 0,
    end_time: int = 0,
    payload_types: Sequence[int] = DEFAULT_PAYLOAD_TYPES,
    download_speed: int | None = None,
    stream_number: int | None = None,
) -> str:
    """The SDP of an INVITE to a device: we receive (`a=recvonly`) on `address:port`.

    Playback and Download need `channel_id` (written as `u=<channel>:0`) and a time span;
    `download_speed` is only written for Download.
    """
    _check_port(port)
    _check_ssrc(ssrc)
    history = session in ("Playback", "Download")
    if history and (channel_id is None or end_time <= start_time):
        raise ValueError(f"{session} needs channel_id and end_time > start_time")
    if not history and (start_time or end_time):
        raise ValueError("Play is live: start_time and end_time must be 0")
    unknown = [pt for pt in payload_types if pt not in STANDARD_RTPMAP]
    if not payload_types or unknown:
        raise ValueError(f"payload types must be among {sorted(STANDARD_RTPMAP)}, got {list(payload_types)}")
    lines = ["v=0", f"o={origin_id} 0 0 IN IP4 {address}", f"s={session}"]
    if history:
        lines.append(f"u={channel_id}:0")
    lines += [
        f"c=IN IP4 {address}",
        f"t={start_time} {end_time}",
        f"m=video {port} {transport.proto} {' '.join(str(pt) for pt in payload_types)}",
        "a=recvonly",
    ]
    lines += [f"a=rtpmap:{pt} {STANDARD_RTPMAP[pt][0]}/{STANDARD_RTPMAP[pt][1]}" for pt in payload_types]
    lines += _transport_lines(transport)
    if session == "Download" and download_speed is not None:
        lines.append(f"a=downloadspeed:{download_speed}")
    if stream_number is not None:
        lines.append(f"a=streamnumber:{stream_number}")
    lines.append(f"y={ssrc}")
    return EOL.join(lines) + EOL


def build_answer(
    *,
    origin_id: str,
    address: str,
    port: int,
    ssrc: str,
    transport: Transport = Transport.UDP,
    session: str = "Play",
    start_time: int = 0,
    end_time: int = 0,
    media: Literal["video", "audio"] = "video",
    payload_type: int = 96,
    encoding: str = "PS/90000",
    media_format: MediaFormat | None = None,
) -> str:
    """Our 200 OK SDP when we send media (cascade, device simulator, broadcast audio).

    `transport` is our own side: answer a `setup:passive` offer with TCP_ACTIVE
    (`Transport.opposite()` gives it).
    """
    _check_port(port)
    _check_ssrc(ssrc)
    lines = [
        "v=0",
        f"o={origin_id} 0 0 IN IP4 {address}",
        f"s={session}",
        f"c=IN IP4 {address}",
        f"t={start_time} {end_time}",
        f"m={media} {port} {transport.proto} {payload_type}",
        "a=sendonly",
        f"a=rtpmap:{payload_type} {encoding}",
    ]
    lines += _transport_lines(transport)
    lines.append(f"y={ssrc}")
    fmt = media_format if media_format is not None else MediaFormat()
    lines.append(f"f={fmt.to_line()}")
    return EOL.join(lines) + EOL
