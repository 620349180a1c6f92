"""Sending channel streams over the network: UDP, TCP active (we connect) and TCP passive (we listen).

Ports are opened synchronously when the device answers the INVITE (the answer must carry
them); the stream starts at the ACK. Each stream is one `StreamSender` woken by one
`loop.call_at` per frame; RTP over TCP is framed with a 2-byte length (RFC 4571).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

from gbsim.mansrtsp import PlaybackCommand
from gbsim.session import MediaPlan
from gbsim.stream.clip import Clip
from gbsim.stream.sender import StreamSender
from sip_gateway.sdp import Transport

logger = logging.getLogger(__name__)

MAX_TCP_BUFFER = 4 * 1024 * 1024
FinishedCallback = Callable[[str], None]


@dataclass
class _Stream:
    call_id: str
    sock: socket.socket
    transport: Transport
    plan: MediaPlan | None = None
    sender: StreamSender | None = None
    writer: asyncio.StreamWriter | None = None
    handle: asyncio.TimerHandle | None = None
    server: asyncio.Server | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    closed: bool = False


class MediaOutputs:
    def __init__(self, clip: Clip, host: str, on_finished: FinishedCallback) -> None:
        self.clip = clip
        self.host = host
        self.on_finished = on_finished
        self.loop = asyncio.get_running_loop()
        self.streams: dict[str, _Stream] = {}
        self.rng = random.Random()
        self.started = 0
        self.packets = 0

    # -- called from the device core (synchronously) --------------------------------
    def allocate(self, call_id: str, transport: Transport) -> int:
        kind = socket.SOCK_DGRAM if transport is Transport.UDP else socket.SOCK_STREAM
        sock = socket.socket(socket.AF_INET, kind)
        sock.setblocking(False)
        sock.bind((self.host, 0))
        stream = _Stream(call_id, sock, transport)
        if transport is Transport.TCP_PASSIVE:
            sock.listen(1)
            stream.tasks.append(self.loop.create_task(self._serve(stream)))
        self.streams[call_id] = stream
        return int(sock.getsockname()[1])

    def start(self, plan: MediaPlan) -> None:
        stream = self.streams.get(plan.call_id)
        if stream is None:
            return
        now = self.loop.time()
        stream.plan = plan
        stream.sender = StreamSender(
            self.clip,
            ssrc=plan.ssrc,
            now=now,
            duration=plan.duration,
            scale=plan.speed,
            timestamp_base=self.rng.getrandbits(31),
            first_sequence=self.rng.getrandbits(16),
        )
        self.started += 1
        if plan.transport is Transport.TCP_ACTIVE:
            stream.tasks.append(self.loop.create_task(self._connect(stream, plan)))
        elif plan.transport is Transport.UDP:
            with contextlib.suppress(OSError):
                stream.sock.connect((plan.remote_host, plan.remote_port))
            stream.connected.set()
        self._tick(stream)

    def control(self, call_id: str, command: PlaybackCommand) -> None:
        stream = self.streams.get(call_id)
        if stream is None or stream.sender is None:
            return
        now = self.loop.time()
        if command.method == "PAUSE":
            stream.sender.pause(now)
        elif command.method == "PLAY":
            stream.sender.play(now, scale=command.scale, seek=command.seek)
        self._reschedule(stream)

    def stop(self, call_id: str) -> None:
        stream = self.streams.pop(call_id, None)
        if stream is None:
            return
        stream.closed = True
        if stream.handle is not None:
            stream.handle.cancel()
        for task in stream.tasks:
            task.cancel()
        if stream.writer is not None:
            stream.writer.close()
        if stream.server is not None:
            stream.server.close()
        stream.sock.close()

    def close(self) -> None:
        for call_id in list(self.streams):
            self.stop(call_id)

    # -- internals ----------------------------------------------------------------
    async def _serve(self, stream: _Stream) -> None:
        """TCP passive: the platform connects to the port in our answer."""
        conn, _ = await self.loop.sock_accept(stream.sock)
        _, stream.writer = await asyncio.open_connection(sock=conn)
        stream.connected.set()
        self._tick(stream)

    async def _connect(self, stream: _Stream, plan: MediaPlan) -> None:
        """TCP active: we connect to the platform's address from the port in our answer."""
        try:
            await asyncio.wait_for(
                self.loop.sock_connect(stream.sock, (plan.remote_host, plan.remote_port)), 5
            )
            _, stream.writer = await asyncio.open_connection(sock=stream.sock)
        except (OSError, TimeoutError) as exc:
            logger.warning("media connect to %s:%d failed: %s", plan.remote_host, plan.remote_port, exc)
            return
        stream.connected.set()
        self._tick(stream)

    def _tick(self, stream: _Stream) -> None:
        stream.handle = None
        sender = stream.sender
        if stream.closed or sender is None:
            return
        if stream.connected.is_set():
            packets = sender.poll(self.loop.time())
            if packets:
                self._write(stream, packets)
            if sender.finished:
                self.on_finished(stream.call_id)
                return
        self._reschedule(stream)

    def _reschedule(self, stream: _Stream) -> None:
        if stream.handle is not None:
            stream.handle.cancel()
            stream.handle = None
        due = stream.sender.next_due() if stream.sender is not None else None
        if due is not None and stream.connected.is_set() and not stream.closed:
            stream.handle = self.loop.call_at(due, self._tick, stream)

    def _write(self, stream: _Stream, packets: list[bytes]) -> None:
        self.packets += len(packets)
        if stream.writer is not None:
            transport = stream.writer.transport
            if transport.is_closing() or transport.get_write_buffer_size() > MAX_TCP_BUFFER:
                return  # the receiver is not keeping up (or left): drop, as a camera would
            stream.writer.write(b"".join(struct.pack("!H", len(p)) + p for p in packets))
            return
        for packet in packets:
            try:
                stream.sock.send(packet)
            except (BlockingIOError, ConnectionRefusedError):
                pass  # a full buffer or nobody listening yet: UDP media is lossy anyway
            except OSError as exc:
                logger.debug("UDP media send failed: %s", exc)
