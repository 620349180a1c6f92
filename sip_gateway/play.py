"""Live video: INVITE a device channel into a media worker, keep the stream, end it.

`Player.play` is the whole flow of one play request: choose the least-loaded media worker from
the heartbeats, open an RTP port there, INVITE the channel with a GB SDP offer, ACK the 2xx,
follow the device's `y=` SSRC when it differs, connect for TCP active, wait for the first
keyframe. A second play of the same channel joins the live stream. Streams end with
`Player.stop` (REST DELETE, idle, gateway shutdown), a BYE from the device, or the media
worker's RTP timeout; each end sends what is still owed (BYE, stream.close) and is announced as
a `stream.stopped` event with its reason.

Failures are `CommandFailed` with the status the REST API answers: 409 device not registered,
502 INVITE refused (the SIP status in the message), 504 no answer or no video in time, 503 no
media worker or no free port, 415 an audio-only stream played without audio.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from gbplatform.bus import CommandFailed
from gbplatform.redis_client import key
from sip_gateway.core.dialog import TERMINATED, Dialog, LocalAddress
from sip_gateway.core.message import Request, Response
from sip_gateway.core.responses import make_response
from sip_gateway.endpoint import SipEndpoint, SipTimeout
from sip_gateway.media_workers import MediaWorkers, pick_worker, worker_http_base
from sip_gateway.outbound import RequestFactory, new_branch
from sip_gateway.registrar import Registrar
from sip_gateway.sdp import Transport, build_offer, make_ssrc, parse_answer, ssrc_to_rtp
from sip_gateway.streams import LiveSession, StreamTable

logger = logging.getLogger(__name__)

EventPublisher = Callable[..., Awaitable[None]]
SDP = "APPLICATION/SDP"
BYE_TIMEOUT = 5.0


def live_streams_key() -> str:
    """Redis hash stream_id -> JSON of each live stream, for the web tier to list."""
    return key("stream", "live")


@dataclass(frozen=True, slots=True)
class PlayConfig:
    sip_id: str
    domain: str
    idle_seconds: float = 30.0
    keyframe_timeout: float = 10.0
    invite_timeout: float = 10.0
    rtp_timeout: float | None = None  # None: the media worker's own setting
    bus_timeout: float = 5.0


class Player:
    def __init__(
        self,
        *,
        endpoint: SipEndpoint,
        registrar: Registrar,
        requests: RequestFactory,
        redis: aioredis.Redis,
        publish: EventPublisher,
        config: PlayConfig,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.endpoint = endpoint
        self.registrar = registrar
        self.requests = requests
        self.redis = redis
        self.publish = publish
        self.config = config
        self.wall_clock = wall_clock
        self.table = StreamTable()
        self.workers = MediaWorkers(redis, bus_timeout=config.bus_timeout)
        self._pending: dict[tuple[str, str], asyncio.Future[LiveSession]] = {}
        self._starting: dict[str, LiveSession] = {}  # by Call-ID, until the first keyframe
        self._background: set[asyncio.Task[Any]] = set()

    # --- play ------------------------------------------------------------------------------
    async def play(
        self, device_id: str, channel_id: str, transport: str, audio: bool | None = None
    ) -> dict[str, Any]:
        """Start the channel's stream, or join it when it is live or starting.

        `audio` asks the media worker to carry the camera's audio (None: the worker's setting); a
        play that joins a live stream gets it as it is, and the answer's `audio` says which.
        """
        channel = (device_id, channel_id)
        live = self.table.for_channel(*channel)
        if live is None and channel in self._pending:
            await asyncio.shield(self._pending[channel])  # raises what the first request got
            live = self.table.for_channel(*channel)
        if live is not None:
            self.table.play_again(live.stream_id, self.endpoint.now())
            await self._save(live)
            return live.as_dict()
        future: asyncio.Future[LiveSession] = asyncio.get_running_loop().create_future()
        self._pending[channel] = future
        try:
            session = await self._start(device_id, channel_id, transport, audio)
        except BaseException as exc:
            if isinstance(exc, Exception):
                future.set_exception(exc)
                future.exception()  # retrieved: joiners re-raise it, nobody else needs to
            else:
                future.cancel()
            raise
        finally:
            self._pending.pop(channel, None)
        future.set_result(session)
        return session.as_dict()

    async def _start(
        self, device_id: str, channel_id: str, transport_name: str, audio: bool | None = None
    ) -> LiveSession:
        registration = self.registrar.get(device_id)
        if registration is None:
            raise CommandFailed(f"device {device_id} is not registered (offline)", status=409)
        try:
            transport = Transport(transport_name or "udp")
        except ValueError:
            raise CommandFailed(f"unknown transport {transport_name!r}", status=400) from None
        placed = Counter(s.worker for s in self.table)
        beat = pick_worker(await self.workers.heartbeats(), placed)
        if beat is None:
            raise CommandFailed("no media worker with a free RTP port is running", status=503)
        try:
            sequence = self.table.reserve_sequence()
        except LookupError as exc:
            raise CommandFailed(str(exc), status=503) from exc
        ssrc = make_ssrc(self.config.domain, sequence, history=False)
        session = LiveSession(
            stream_id=f"{channel_id}-{secrets.token_hex(4)}",
            device_id=device_id,
            channel_id=channel_id,
            transport=transport.value,
            ssrc=ssrc,
            sequence=sequence,
            worker=str(beat["target"]),
            http_base=worker_http_base(beat),
            peer=registration.peer,
            started_at=self.wall_clock(),
            last_activity=self.endpoint.now(),
        )
        args: dict[str, Any] = {"stream_id": session.stream_id, "ssrc": ssrc_to_rtp(ssrc), "transport": transport.value}
        if self.config.rtp_timeout:
            args["rtp_timeout"] = self.config.rtp_timeout
        if audio is not None:
            args["audio"] = audio
        try:
            opened = await self.workers.command(session.worker, "stream.open", args)
        except BaseException:
            self.table.release_sequence(sequence)
            raise
        session.media_port = int(opened["port"])
        try:
            await self._invite(session, transport, str(opened["host"]))
            timeout = self.config.keyframe_timeout
            video = await self.workers.command(
                session.worker,
                "stream.wait_keyframe",
                {"stream_id": session.stream_id, "timeout": timeout},
                timeout=timeout + self.config.bus_timeout,
            )
        except BaseException as exc:
            self._starting.pop(session.call_id, None)
            reason = f"play failed: {exc}" if isinstance(exc, Exception) else "cancelled"
            self._spawn(self._end(session, reason, announce=False))
            raise
        self._starting.pop(session.call_id, None)
        session.codec, session.width, session.height = video.get("codec"), video.get("width"), video.get("height")
        session.audio = bool(video.get("audio"))
        if session.dialog is None or session.dialog.state == TERMINATED:
            self._spawn(self._end(session, "device_bye", announce=False))
            raise CommandFailed(f"device {device_id} ended the stream at once", status=502)
        session.last_activity = self.endpoint.now()  # the idle time runs from the answer
        self.table.add(session)
        await self._save(session)
        logger.info(
            "stream %s: %s/%s live over %s on %s (%s %sx%s)",
            session.stream_id, device_id, channel_id, transport.value, session.worker,
            session.codec, session.width, session.height,
        )  # fmt: skip
        return session

    async def _invite(self, session: LiveSession, transport: Transport, media_host: str) -> None:
        me = self.requests.identity
        sdp = build_offer(
            session="Play",
            origin_id=me.sip_id,
            address=media_host,
            port=session.media_port,
            ssrc=session.ssrc,
            transport=transport,
        )
        subject = f"{session.channel_id}:{session.ssrc},{me.sip_id}:0"
        request = self.requests.out_of_dialog(
            "INVITE",
            device_id=session.channel_id,
            peer=session.peer,
            body=sdp.encode(),
            content_type=SDP,
            extra=(("Subject", subject),),
        )
        session.call_id = request.call_id
        self._starting[session.call_id] = session

        def provisional(response: Response) -> None:
            logger.debug("stream %s: %d %s", session.stream_id, response.status, response.reason)

        try:
            response = await asyncio.wait_for(
                self.endpoint.request(
                    request,
                    session.peer,
                    on_provisional=provisional,
                    on_2xx_retransmission=lambda again: self._ack_again(session, again),
                ),
                self.config.invite_timeout,
            )
        except (TimeoutError, SipTimeout) as exc:
            raise CommandFailed(
                f"device {session.device_id} did not answer the INVITE for {session.channel_id}", status=504
            ) from exc
        if response.status >= 300:
            raise CommandFailed(
                f"device {session.device_id} refused the INVITE for {session.channel_id}: "
                f"SIP {response.status} {response.reason}",
                status=502,
            )
        local = LocalAddress(me.host, me.port, "TCP" if session.peer[0] == "tcp" else "UDP")
        try:
            dialog = Dialog.uac(request, response, local)
        except ValueError as exc:
            raise CommandFailed(f"unusable 2xx to the INVITE: {exc}", status=502) from exc
        ack = dialog.on_invite_response(response, branch=new_branch())
        session.dialog = dialog
        answer = parse_answer(response.body)
        if answer.ssrc and answer.ssrc != session.ssrc:
            # Cross-domain devices choose the SSRC (GB/T 28181 G.2): receive what they send.
            rtp = ssrc_to_rtp(answer.ssrc)
            await self.workers.command(
                session.worker,
                "stream.update",
                {"stream_id": session.stream_id, "ssrc": rtp, "tolerant_ssrc": rtp is None},
            )
            session.ssrc = answer.ssrc
        if ack is not None:
            self.endpoint.send_stateless(ack, session.peer)
        if transport is Transport.TCP_ACTIVE:
            if not answer.port:
                raise CommandFailed("the device's answer has no port to connect to (tcp-active)", status=502)
            await self.workers.command(
                session.worker,
                "stream.connect",
                {
                    "stream_id": session.stream_id,
                    "remote_host": answer.connection_address or session.peer[1],
                    "remote_port": answer.port,
                },
            )

    def _ack_again(self, session: LiveSession, response: Response) -> None:
        dialog = session.dialog
        if dialog is not None and dialog.ack is not None and dialog.is_2xx_retransmission(response):
            self.endpoint.send_stateless(dialog.ack, session.peer)

    # --- end ---------------------------------------------------------------------------------
    async def stop(self, stream_id: str, reason: str = "stopped") -> dict[str, Any]:
        session = self.table.remove(stream_id)
        if session is None:
            raise CommandFailed(f"no live stream {stream_id!r}", status=404)
        await self._end(session, reason)
        return {"stream_id": stream_id, "stopped": True, "reason": reason}

    async def _end(self, session: LiveSession, reason: str, *, announce: bool = True, media_open: bool = True) -> None:
        """Send the BYE still owed, close the worker's stream, forget it, and announce it."""
        self.table.release_sequence(session.sequence)
        dialog = session.dialog
        if dialog is not None and dialog.state != TERMINATED:
            bye = dialog.request("BYE", branch=new_branch())
            self._spawn(self._send_bye(session, bye))
        if media_open:
            try:
                await self.workers.command(session.worker, "stream.close", {"stream_id": session.stream_id})
            except CommandFailed as exc:
                if exc.status != 404:
                    logger.warning("stream %s: close on %s failed: %s", session.stream_id, session.worker, exc)
        try:
            await self.redis.hdel(live_streams_key(), session.stream_id)
        except Exception as exc:
            logger.warning("stream %s: not removed from Redis: %s", session.stream_id, exc)
        if announce:
            logger.info("stream %s stopped: %s", session.stream_id, reason)
            await self.publish(
                "stream.stopped",
                stream_id=session.stream_id,
                device_id=session.device_id,
                channel_id=session.channel_id,
                reason=reason,
            )

    async def _send_bye(self, session: LiveSession, bye: Request) -> None:
        try:
            response = await asyncio.wait_for(self.endpoint.request(bye, session.peer), BYE_TIMEOUT)
        except (TimeoutError, SipTimeout):
            logger.info("stream %s: no answer to BYE", session.stream_id)
            return
        if response.status >= 300:
            logger.info("stream %s: BYE answered %d", session.stream_id, response.status)

    def on_bye(self, request: Request) -> bool:
        """A BYE from a device: answer it if it ends one of our streams. False when it does not."""
        session = self.table.for_call(request.call_id) or self._starting.get(request.call_id)
        dialog = session.dialog if session is not None else None
        if session is None or dialog is None or not dialog.matches(request):
            return False
        response = dialog.receive_request(request) or make_response(request, 200)
        self.endpoint.send_response(response)
        if self.table.remove(session.stream_id) is not None:
            self._spawn(self._end(session, "device_bye"))
        else:  # still starting: closing the worker's stream ends its keyframe wait
            self._spawn(self.workers.command_quietly(session.worker, "stream.close", {"stream_id": session.stream_id}))
        return True

    async def on_media_event(self, event: dict[str, Any]) -> None:
        """An event from a media worker: an RTP timeout ends the stream (the worker closed it)."""
        if event.get("event") != "stream.timeout":
            return
        session = self.table.remove(str(event.get("stream_id")))
        if session is not None:
            await self._end(session, "rtp_timeout", media_open=False)

    async def check_idle(self) -> None:
        """Refresh viewer activity from the workers, then stop what nobody watches."""
        if not len(self.table):
            return
        await self._poll_workers()
        for stream_id in self.table.idle(self.endpoint.now(), self.config.idle_seconds):
            session = self.table.remove(stream_id)
            if session is not None:
                await self._end(session, "idle")

    async def list_streams(self) -> dict[str, Any]:
        await self._poll_workers()
        return {"streams": [{**s.as_dict(), "stats": s.stats} for s in self.table]}

    async def close_all(self) -> None:
        """Gateway shutdown: BYE every stream and close it on its worker. The workers are often
        stopping at the same moment, so nobody waits long for them."""
        self.workers.bus_timeout = min(self.workers.bus_timeout, 1.0)
        sessions = [s for s in list(self.table) if self.table.remove(s.stream_id) is not None]
        await asyncio.gather(*(self._end(s, "shutdown") for s in sessions), return_exceptions=True)
        if self._background:
            await asyncio.wait(list(self._background), timeout=BYE_TIMEOUT)

    # --- helpers -----------------------------------------------------------------------------
    async def _poll_workers(self) -> None:
        now = self.endpoint.now()
        for worker in {s.worker for s in self.table}:
            try:
                listed = await self.workers.command(worker, "stream.list", {})
            except CommandFailed as exc:
                logger.warning("media worker %s: stream.list failed: %s", worker, exc)
                continue
            for stats in listed.get("streams") or []:
                self.table.note_worker(str(stats.get("stream_id")), stats, now)

    async def _save(self, session: LiveSession) -> None:
        try:
            await self.redis.hset(live_streams_key(), session.stream_id, json.dumps(session.as_dict()))
        except Exception as exc:
            logger.warning("stream %s: not recorded in Redis: %s", session.stream_id, exc)

    def _spawn(self, coroutine: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
