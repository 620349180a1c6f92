"""The gateway's book of live streams, sans-IO: who plays what, where, and who is watching.

Nothing here sends or waits; `sip_gateway/play.py` does the SIP and bus I/O and records the
outcome here. Times are the caller's monotonic `now`.

What counts as watching (idle stop): a play request (each one also counts as a viewer in
`plays`), a WebSocket fMP4 viewer connected to the media worker, and any HLS playlist, segment
or snapshot request the media worker served since the last look. A stream with none of these for
`idle_seconds` is stopped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sip_gateway.core.dialog import Dialog
from sip_gateway.sdp.ssrc import MAX_SEQUENCE
from sip_gateway.transport import Peer


@dataclass(slots=True)
class LiveSession:
    """One live stream: a device channel, its INVITE dialog and the media worker receiving it."""

    stream_id: str
    device_id: str
    channel_id: str
    transport: str
    ssrc: str
    sequence: int
    worker: str  # the media worker's bus target
    http_base: str  # where browsers fetch it, e.g. http://10.0.0.5:8081
    peer: Peer
    started_at: float  # wall clock, for listings
    last_activity: float  # monotonic
    media_port: int = 0
    dialog: Dialog | None = None
    call_id: str = ""
    codec: str | None = None
    width: int | None = None
    height: int | None = None
    audio: bool = False  # the outputs carry an AAC track
    plays: int = 1
    ws_viewers: int = 0
    http_requests: int = 0
    stats: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The JSON the gateway replies with and keeps in Redis for the web tier."""
        return {
            "stream_id": self.stream_id,
            "device_id": self.device_id,
            "channel_id": self.channel_id,
            "transport": self.transport,
            "ssrc": self.ssrc,
            "worker": self.worker,
            "http": self.http_base,
            "codec": self.codec,
            "width": self.width,
            "height": self.height,
            "audio": self.audio,
            "viewers": self.plays,
            "ws_viewers": self.ws_viewers,
            "started_at": self.started_at,
        }


class StreamTable:
    """Live streams by id and by (device, channel), and the SSRC sequences they hold."""

    def __init__(self) -> None:
        self._streams: dict[str, LiveSession] = {}
        self._by_channel: dict[tuple[str, str], str] = {}
        self._sequences: set[int] = set()
        self._next = 1

    def __len__(self) -> int:
        return len(self._streams)

    def __iter__(self) -> Any:
        return iter(list(self._streams.values()))

    def reserve_sequence(self) -> int:
        """The next SSRC sequence (the y= line's last four digits) not held by a live stream.

        Raises LookupError when all of them are taken."""
        for _ in range(MAX_SEQUENCE):
            sequence = self._next
            self._next = self._next % MAX_SEQUENCE + 1  # 1..9999; 0 is left unused
            if sequence not in self._sequences:
                self._sequences.add(sequence)
                return sequence
        raise LookupError("every SSRC sequence is in use")

    def release_sequence(self, sequence: int) -> None:
        self._sequences.discard(sequence)

    def add(self, session: LiveSession) -> None:
        self._streams[session.stream_id] = session
        self._by_channel[(session.device_id, session.channel_id)] = session.stream_id
        self._sequences.add(session.sequence)

    def get(self, stream_id: str) -> LiveSession | None:
        return self._streams.get(stream_id)

    def for_channel(self, device_id: str, channel_id: str) -> LiveSession | None:
        stream_id = self._by_channel.get((device_id, channel_id))
        return self._streams.get(stream_id) if stream_id is not None else None

    def for_call(self, call_id: str) -> LiveSession | None:
        return next((s for s in self._streams.values() if s.call_id == call_id), None)

    def remove(self, stream_id: str) -> LiveSession | None:
        session = self._streams.pop(stream_id, None)
        if session is None:
            return None
        if self._by_channel.get((session.device_id, session.channel_id)) == stream_id:
            del self._by_channel[(session.device_id, session.channel_id)]
        self._sequences.discard(session.sequence)
        return session

    def play_again(self, stream_id: str, now: float) -> LiveSession | None:
        """Another viewer asked for a stream already live."""
        session = self._streams.get(stream_id)
        if session is not None:
            session.plays += 1
            session.last_activity = now
        return session

    def note_worker(self, stream_id: str, stats: dict[str, Any], now: float) -> None:
        """Statistics from the media worker's stream.list: connected WebSocket viewers and a
        count of HTTP requests; either one, or a change of the count, is activity."""
        session = self._streams.get(stream_id)
        if session is None:
            return
        viewers = int(stats.get("viewers") or 0)
        requests = int(stats.get("http_requests") or 0)
        if viewers > 0 or requests != session.http_requests:
            session.last_activity = now
        session.ws_viewers = viewers
        session.http_requests = requests
        session.stats = stats

    def idle(self, now: float, idle_seconds: float) -> list[str]:
        """Streams nobody asked for or watched for `idle_seconds`."""
        return [s.stream_id for s in self._streams.values() if now - s.last_activity >= idle_seconds]
