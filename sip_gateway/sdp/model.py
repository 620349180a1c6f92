"""GB SDP as values: transports, the `f=` media format line, and a parsed session."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

# Payload types GB platforms offer (W's set; H.265 is 100 in the 2022 spec, 99 in ZLMediaKit).
STANDARD_RTPMAP: Mapping[int, tuple[str, int]] = {
    96: ("PS", 90000),
    97: ("MPEG4", 90000),
    98: ("H264", 90000),
    99: ("H265", 90000),
    100: ("H265", 90000),
}

VIDEO_CODECS: Mapping[int, str] = {1: "MPEG-4", 2: "H.264", 3: "SVAC", 4: "3GP", 5: "H.265"}
AUDIO_CODECS: Mapping[int, str] = {1: "G.711", 2: "G.723.1", 3: "G.729", 4: "G.722.1", 5: "SVAC", 6: "AAC"}


class Transport(enum.Enum):
    """How RTP flows; for TCP, whose side opens the connection (`a=setup` of the offerer)."""

    UDP = "udp"
    TCP_PASSIVE = "tcp-passive"  # the offerer listens, the other side connects
    TCP_ACTIVE = "tcp-active"  # the offerer connects to the port in the answer

    @property
    def is_tcp(self) -> bool:
        return self is not Transport.UDP

    @property
    def proto(self) -> str:
        return "TCP/RTP/AVP" if self.is_tcp else "RTP/AVP"

    @property
    def setup(self) -> str | None:
        return {Transport.TCP_PASSIVE: "passive", Transport.TCP_ACTIVE: "active"}.get(self)

    def opposite(self) -> Transport:
        """The answerer's transport for this offer (passive ↔ active)."""
        if self is Transport.TCP_PASSIVE:
            return Transport.TCP_ACTIVE
        if self is Transport.TCP_ACTIVE:
            return Transport.TCP_PASSIVE
        return self


@dataclass(frozen=True, slots=True)
class MediaFormat:
    """The GB `f=` line: `v/codec/res/fps/ratetype/kbps` + `a/codec/bitrate/samplerate`.

    Empty fields keep their slashes (`v/////a/1/8/1`) and parse to None.
    """

    video_codec: int | None = None
    video_resolution: str | None = None
    video_fps: int | None = None
    video_rate_type: int | None = None  # 1 CBR, 2 VBR
    video_kbps: int | None = None
    audio_codec: int | None = None
    audio_bitrate: int | None = None
    audio_sample_rate: int | None = None

    @property
    def video_codec_name(self) -> str | None:
        return VIDEO_CODECS.get(self.video_codec) if self.video_codec is not None else None

    @property
    def audio_codec_name(self) -> str | None:
        return AUDIO_CODECS.get(self.audio_codec) if self.audio_codec is not None else None

    def to_line(self) -> str:
        def part(value: object) -> str:
            return "" if value is None else str(value)

        video = "/".join(
            part(v)
            for v in (
                self.video_codec,
                self.video_resolution,
                self.video_fps,
                self.video_rate_type,
                self.video_kbps,
            )
        )
        audio = "/".join(part(v) for v in (self.audio_codec, self.audio_bitrate, self.audio_sample_rate))
        return f"v/{video}a/{audio}"


def _int(text: str) -> int | None:
    stripped = text.strip()
    return int(stripped) if stripped.isascii() and stripped.isdigit() and len(stripped) <= 9 else None


def parse_media_format(value: str) -> MediaFormat | None:
    """Parse an `f=` value leniently; None when it is empty or has no `v/` part."""
    text = value.strip()
    if not text:
        return None
    video_text, _, audio_text = text.partition("a/")
    video_fields: list[str] = []
    if video_text.startswith("v/"):
        video_fields = video_text[2:].split("/")
    elif video_text:
        return None
    video_fields += [""] * (5 - len(video_fields))
    audio_fields = audio_text.split("/") + [""] * 3
    return MediaFormat(
        video_codec=_int(video_fields[0]),
        video_resolution=video_fields[1].strip() or None,
        video_fps=_int(video_fields[2]),
        video_rate_type=_int(video_fields[3]),
        video_kbps=_int(video_fields[4]),
        audio_codec=_int(audio_fields[0]),
        audio_bitrate=_int(audio_fields[1]),
        audio_sample_rate=_int(audio_fields[2]),
    )


@dataclass(frozen=True, slots=True)
class GbSdp:
    """One parsed GB SDP (offer or answer); the first `m=` line is the media described."""

    origin_user: str | None = None
    origin_address: str | None = None
    session_name: str | None = None
    uri: str | None = None
    connection_address: str | None = None
    start_time: int = 0
    end_time: int = 0
    media_type: str | None = None
    port: int | None = None
    proto: str | None = None
    payload_types: tuple[int, ...] = ()
    rtpmap: Mapping[int, tuple[str, int | None]] = field(default_factory=dict, compare=False)
    direction: str | None = None
    setup: str | None = None
    connection_new: bool = False
    ssrc: str | None = None
    media_format: MediaFormat | None = None
    download_speed: int | None = None
    file_size: int | None = None
    stream_number: int | None = None
    attributes: tuple[tuple[str, str], ...] = ()

    @property
    def is_tcp(self) -> bool:
        return self.proto is not None and "TCP" in self.proto.upper()

    @property
    def transport(self) -> Transport:
        """The transport as seen from the side that wrote this SDP."""
        if not self.is_tcp:
            return Transport.UDP
        return Transport.TCP_ACTIVE if self.setup == "active" else Transport.TCP_PASSIVE

    @property
    def channel_id(self) -> str | None:
        """The channel being requested: `u=<channel>:n` for history, else the `o=` user."""
        if self.uri:
            head = self.uri.split(":", 1)[0].strip()
            if head:
                return head
        return self.origin_user

    @property
    def is_history(self) -> bool:
        return (self.session_name or "").lower() in ("playback", "download")

    def payload_type_for(self, encoding: str) -> int | None:
        """The payload type whose rtpmap names `encoding` (PS, H264, H265…), case-insensitive."""
        wanted = encoding.upper()
        for pt in self.payload_types or tuple(self.rtpmap):
            name = self.rtpmap.get(pt, STANDARD_RTPMAP.get(pt, ("", None)))[0]
            if name.upper() == wanted:
                return pt
        return None

    def attribute(self, name: str) -> str | None:
        wanted = name.lower()
        for key, value in self.attributes:
            if key.lower() == wanted:
                return value
        return None
