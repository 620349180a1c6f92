"""INVITE handling for one channel: read the platform's offer, choose our side, write the answer.

GB semantics (fact sheet section 3): the offer's `a=setup:passive` means the platform listens
and we connect to its `c=`/`m=` address (we are TCP active); `a=setup:active` means the
platform connects to the port we put in our answer (we listen, TCP passive). UDP: we send to
the offer's address from the port in our answer.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

from gbsim.sipmsg import DialogRef, request_user
from sip_gateway.core.message import Request
from sip_gateway.sdp import MediaFormat, Transport, build_answer, parse_offer, ssrc_to_rtp
from sip_gateway.sdp.model import GbSdp

# (call_id, our transport) -> a local port; the runner opens the socket before we answer.
PortAllocator = Callable[[str, Transport], int]


class OfferError(ValueError):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True, slots=True)
class MediaPlan:
    """Everything the media layer needs to send one stream."""

    call_id: str
    channel_id: str
    session: str  # Play, Playback or Download
    transport: Transport  # our side
    remote_host: str
    remote_port: int
    local_port: int
    ssrc: int
    start_time: int = 0
    end_time: int = 0
    speed: float = 1.0

    @property
    def is_history(self) -> bool:
        return self.session.lower() in ("playback", "download")

    @property
    def duration(self) -> float | None:
        """Seconds of recording to send; None for live."""
        if not self.is_history or self.end_time <= self.start_time:
            return None
        return float(self.end_time - self.start_time)


@dataclass(slots=True)
class MediaSession:
    plan: MediaPlan
    dialog: DialogRef
    acked: bool = False
    ended: bool = False


@dataclass(frozen=True, slots=True)
class Answer:
    plan: MediaPlan
    sdp: bytes


def make_answer(
    offer_body: bytes,
    *,
    call_id: str,
    channel_id: str,
    local_host: str,
    allocate: PortAllocator,
    fallback_ssrc: str,
    video_codec: str = "h264",
    stream_profile_attr: bool = False,
    own_ssrc: bool = False,
) -> Answer:
    """Parse the offer and build our answer; raises OfferError(488) for what we cannot serve."""
    offer = parse_offer(offer_body)
    _check_offer(offer)
    assert offer.port is not None and offer.connection_address is not None
    usable = offer.ssrc and ssrc_to_rtp(offer.ssrc) is not None and not own_ssrc
    ssrc_text = offer.ssrc if usable and offer.ssrc else fallback_ssrc
    ssrc = ssrc_to_rtp(ssrc_text)
    assert ssrc is not None
    ours = offer.transport.opposite()
    session = offer.session_name or "Play"
    speed = float(offer.download_speed or 1) if session.lower() == "download" else 1.0
    local_port = allocate(call_id, ours)
    plan = MediaPlan(
        call_id=call_id,
        channel_id=channel_id,
        session=session,
        transport=ours,
        remote_host=offer.connection_address,
        remote_port=offer.port,
        local_port=local_port,
        ssrc=ssrc,
        start_time=offer.start_time,
        end_time=offer.end_time,
        speed=max(speed, 1.0),
    )
    pt = offer.payload_type_for("PS") or 96
    sdp = build_answer(
        origin_id=channel_id,
        address=local_host,
        port=local_port,
        ssrc=ssrc_text,
        transport=ours,
        session=session,
        start_time=offer.start_time,
        end_time=offer.end_time,
        payload_type=pt,
        media_format=MediaFormat(
            video_codec=5 if video_codec == "h265" else 2,
            video_resolution="6",
            video_fps=25,
            video_rate_type=1,
            video_kbps=1024,
        ),
    )
    if stream_profile_attr:
        sdp = sdp.replace("\r\ny=", "\r\na=streamprofile:0\r\ny=", 1)
    return Answer(plan, sdp.encode())


def _check_offer(offer: GbSdp) -> None:
    if offer.media_type not in (None, "video"):
        raise OfferError(488, f"media {offer.media_type!r} not offered by this channel")
    if offer.port is None or offer.connection_address is None:
        raise OfferError(488, "offer without a connection address or port")
    if offer.payload_types and offer.payload_type_for("PS") is None:
        raise OfferError(488, "offer does not accept PS")
    session = (offer.session_name or "Play").lower()
    if session not in ("play", "playback", "download"):
        raise OfferError(488, f"unknown session {offer.session_name!r}")
    if session != "play" and offer.end_time <= offer.start_time:
        raise OfferError(488, "history session without a time span")


def invited_channel(request: Request, device_id: str, channels: Collection[str]) -> str | None:
    """The channel an INVITE asks for: the Request-URI user, else the Subject's sender ID.

    An INVITE to the device ID itself (single-channel IPCs are often addressed so) gets the
    first channel.
    """
    user = request_user(request)
    if user in channels:
        return user
    subject = (request.headers.get("Subject") or "").split(":", 1)[0].strip()
    if subject in channels:
        return subject
    if user == device_id:
        return next(iter(channels), None)
    return None
