"""The media worker's streams and the commands that manage them (served over the Redis bus).

Commands (BusServer target `media:<instance>`), arguments and replies are plain JSON:
- `stream.open` {stream_id, ssrc, transport: udp|tcp-passive|tcp-active, remote_host?, remote_port?,
  tolerant_ssrc?, audio?} -> {stream_id, port, transport, host, audio} (audio: transcode the camera's
  audio to AAC and mux it; absent: the worker's MEDIA_AUDIO setting)
- `stream.connect` {stream_id, remote_host, remote_port} -> {stream_id} (tcp-active, once the device's
  200 OK gives its port)
- `stream.update` {stream_id, ssrc?, tolerant_ssrc?} -> {stream_id, ssrc, tolerant_ssrc} (the device's
  200 OK chose another SSRC; sent before the ACK, so before its first packet)
- `stream.wait_keyframe` {stream_id, timeout} -> {codec, width, height, mime, audio} (an audio-only
  stream opened with audio answers codec/width/height null and an audio/mp4 mime)
- `stream.close` {stream_id} -> {stream_id, closed}
- `stream.list` {} -> {streams: [...statistics...]}
Errors are CommandFailed with an HTTP-like status: 404 unknown stream, 409 duplicate, 400 bad
arguments, 503 no free port, 504 no keyframe in time, 415 audio-only stream opened without audio.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gbplatform.bus import CommandFailed, Handler
from media.live import LiveStream, OutputConfig
from media.ports import NoFreePort, PortAllocator
from media.receivers import Receiver, tcp_active_receive, tcp_passive_receive, udp_receive
from media.session import DEFAULT_RTP_TIMEOUT, StreamSession

logger = logging.getLogger(__name__)

TRANSPORTS = ("udp", "tcp-passive", "tcp-active")
_STREAM_ID = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")

Publish = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    output_dir: Path
    bind_host: str = "0.0.0.0"
    advertised_host: str = "127.0.0.1"
    rtp_timeout: float = DEFAULT_RTP_TIMEOUT
    connect_timeout: float = 10.0
    outputs: OutputConfig = field(default_factory=OutputConfig)


class MediaWorker:
    def __init__(
        self,
        *,
        ports: PortAllocator,
        config: WorkerConfig,
        publish: Publish | None = None,
        clock: Callable[[], float] = time.monotonic,
        instance: str = "",
    ) -> None:
        self.ports = ports
        self.config = config
        self.publish = publish
        self.clock = clock
        self.instance = instance
        self.streams: dict[str, LiveStream] = {}
        self._receivers: dict[str, Receiver] = {}

    def handlers(self) -> dict[str, Handler]:
        return {
            "stream.open": self.cmd_open,
            "stream.connect": self.cmd_connect,
            "stream.update": self.cmd_update,
            "stream.wait_keyframe": self.cmd_wait_keyframe,
            "stream.close": self.cmd_close,
            "stream.list": self.cmd_list,
        }

    # ---- commands ------------------------------------------------------------------------
    async def cmd_open(self, args: dict[str, Any]) -> dict[str, Any]:
        stream_id = str(args.get("stream_id") or "")
        if not _STREAM_ID.match(stream_id):
            raise CommandFailed(f"bad stream_id {stream_id!r}", status=400)
        if stream_id in self.streams:
            raise CommandFailed(f"stream {stream_id} is already open", status=409)
        transport = str(args.get("transport") or "udp")
        if transport not in TRANSPORTS:
            raise CommandFailed(f"transport must be one of {', '.join(TRANSPORTS)}", status=400)
        ssrc = _optional_int(args.get("ssrc"), "ssrc")
        session = StreamSession(
            stream_id,
            ssrc=ssrc,
            tolerant_ssrc=bool(args.get("tolerant_ssrc")),
            rtp_timeout=float(args.get("rtp_timeout") or self.config.rtp_timeout),
            now=self.clock(),
        )
        outputs = self.config.outputs
        audio = args.get("audio")
        if audio is not None:
            if not isinstance(audio, bool):
                raise CommandFailed("audio must be true or false", status=400)
            outputs = replace(outputs, audio=audio)
        live = LiveStream(session, directory=self.config.output_dir / stream_id, config=outputs)
        live.transport_kind = transport
        try:
            port, receiver = await self._bind(transport, live)
        except NoFreePort as exc:
            raise CommandFailed(str(exc), status=503) from exc
        live.port = port
        self.streams[stream_id] = live
        self._receivers[stream_id] = receiver
        if transport == "tcp-active" and args.get("remote_host") and args.get("remote_port"):
            await self.cmd_connect(args)
        logger.info("stream %s: open on %s port %d", stream_id, transport, port)
        return {
            "stream_id": stream_id,
            "port": port,
            "transport": transport,
            "host": self.config.advertised_host,
            "audio": outputs.audio,
        }

    async def _bind(self, transport: str, live: LiveStream) -> tuple[int, Receiver]:
        """Reserve a port and bind it; a port another process holds is skipped."""
        host = self.config.bind_host
        for _ in range(self.ports.capacity):
            port = self.ports.reserve()
            try:
                receiver: Receiver
                if transport == "udp":
                    receiver = await udp_receive(host, port, live.receive, clock=self.clock)
                elif transport == "tcp-passive":
                    receiver = await tcp_passive_receive(host, port, live.receive, clock=self.clock)
                else:
                    receiver = _Pending()
                return port, receiver
            except OSError as exc:
                logger.warning("RTP port %d unusable (%s), trying the next one", port, exc)
                self.ports.release(port)
        raise NoFreePort(f"no bindable RTP port in {self.ports.low}-{self.ports.high}")

    async def cmd_connect(self, args: dict[str, Any]) -> dict[str, Any]:
        live = self._get(args)
        if live.transport_kind != "tcp-active":
            raise CommandFailed(f"stream {live.stream_id} is not tcp-active", status=400)
        host = str(args.get("remote_host") or "")
        port = _optional_int(args.get("remote_port"), "remote_port")
        if not host or not port:
            raise CommandFailed("remote_host and remote_port are required", status=400)
        self._receivers[live.stream_id].close()
        self._receivers[live.stream_id] = tcp_active_receive(
            host, port, live.receive, clock=self.clock, timeout=self.config.connect_timeout
        )
        return {"stream_id": live.stream_id}

    async def cmd_update(self, args: dict[str, Any]) -> dict[str, Any]:
        live = self._get(args)
        session = live.session
        if "ssrc" in args:
            session.ssrc = _optional_int(args.get("ssrc"), "ssrc")
        if "tolerant_ssrc" in args:
            session.tolerant_ssrc = bool(args.get("tolerant_ssrc"))
        session.tolerant_ssrc = session.tolerant_ssrc or session.ssrc is None
        return {"stream_id": live.stream_id, "ssrc": session.ssrc, "tolerant_ssrc": session.tolerant_ssrc}

    async def cmd_wait_keyframe(self, args: dict[str, Any]) -> dict[str, Any]:
        live = self._get(args)
        timeout = float(args.get("timeout") or 10.0)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(live.ready.wait(), timeout=timeout)
        video = live.video
        if video is None and live.audio is not None:
            return {
                "stream_id": live.stream_id,
                "codec": None,
                "width": None,
                "height": None,
                "mime": live.mime,
                "audio": True,
            }
        if video is None:
            session = live.session
            if session.audio_only:
                raise CommandFailed(
                    f"stream {live.stream_id} is audio only ({session.audio_codec}): no video to show",
                    status=415,
                )
            if live.closed:
                raise CommandFailed(
                    f"stream {live.stream_id} closed ({live.close_reason}) before a keyframe", status=504
                )
            if session.stats.packets:
                detail = f"{session.stats.packets} packets, no keyframe"
            elif session.ssrc_mismatches:
                detail = (
                    f"{session.ssrc_mismatches} packets dropped: SSRC {session.ssrc_foreign} instead of "
                    f"{session.ssrc} (tolerant_ssrc accepts it)"
                )
            else:
                detail = "no RTP received"
            raise CommandFailed(
                f"stream {live.stream_id}: no keyframe within {timeout:g} s ({detail})", status=504
            )
        return {
            "stream_id": live.stream_id,
            "codec": video.codec,
            "width": video.width,
            "height": video.height,
            "mime": live.mime,
            "audio": live.has_audio,
        }

    async def cmd_close(self, args: dict[str, Any]) -> dict[str, Any]:
        live = self._get(args)
        self.close_stream(live.stream_id, "closed")
        await asyncio.sleep(0)  # let the socket close and the port return before answering
        return {"stream_id": live.stream_id, "closed": True}

    async def cmd_list(self, args: dict[str, Any]) -> dict[str, Any]:
        now = self.clock()
        return {"streams": [live.snapshot(now) for live in self.streams.values()]}

    # ---- lifecycle -----------------------------------------------------------------------
    def _get(self, args: dict[str, Any]) -> LiveStream:
        stream_id = str(args.get("stream_id") or "")
        live = self.streams.get(stream_id)
        if live is None:
            raise CommandFailed(f"no stream {stream_id!r} on this worker", status=404)
        return live

    def close_stream(self, stream_id: str, reason: str) -> LiveStream | None:
        live = self.streams.pop(stream_id, None)
        if live is None:
            return None
        receiver = self._receivers.pop(stream_id, None)
        if receiver is not None:
            receiver.close()
        live.close(reason)
        if live.port is not None:
            try:
                # asyncio closes a transport's socket on the next loop turn: free the port after it.
                asyncio.get_running_loop().call_soon(self.ports.release, live.port)
            except RuntimeError:
                self.ports.release(live.port)
        logger.info("stream %s: closed (%s)", stream_id, reason)
        return live

    def expired(self, now: float) -> list[str]:
        """Streams whose RTP stopped for longer than their timeout (sans-IO: `now` is given)."""
        return [sid for sid, live in self.streams.items() if live.session.timed_out(now)]

    def next_deadline(self) -> float | None:
        return min((live.session.deadline() for live in self.streams.values()), default=None)

    async def sweep(self, now: float | None = None) -> list[str]:
        """Close timed-out streams and announce each on the events channel."""
        now = self.clock() if now is None else now
        closed = self.expired(now)
        for stream_id in closed:
            live = self.close_stream(stream_id, "rtp_timeout")
            if live is None or self.publish is None:
                continue
            event = {
                "event": "stream.timeout",
                "stream_id": stream_id,
                "instance": self.instance,
                "idle_seconds": round(now - (live.session.last_packet_at or live.session.opened_at), 3),
                "packets": live.session.stats.packets,
            }
            try:
                await self.publish(event)
            except Exception as exc:  # Redis down: the stream is closed anyway
                logger.warning("stream %s: timeout event not published: %s", stream_id, exc)
        return closed

    def close_all(self) -> None:
        for stream_id in list(self.streams):
            self.close_stream(stream_id, "shutdown")


class _Pending(Receiver):
    """tcp-active before `stream.connect`: the port is reserved for the SDP, nothing is open."""

    def close(self) -> None:
        return None


def _optional_int(value: Any, name: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise CommandFailed(f"{name} must be an integer", status=400) from None
