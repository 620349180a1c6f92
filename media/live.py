"""One live stream inside the worker: a receive session feeding the outputs and the viewers.

`LiveStream.receive(datagram, now)` is called by whichever receiver (UDP, TCP) owns the stream.
Outputs start on the first keyframe: HLS files, fMP4 fragments for WebSocket viewers, and the
latest keyframe kept for snapshots. A failing output is logged and switched off; it never takes
the stream, or the worker, down with it.

With `OutputConfig.audio`, the camera's audio (G.711 or AAC, declared in the PSM or already
seen) is transcoded to AAC (media/audio.py) on the video's timeline and muxed beside it; a
stream proven audio only gets audio-only outputs instead of the "audio only" refusal.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from media.audio import SOURCE_DECODERS, AudioPacket, AudioTranscoder
from media.fmp4 import Fmp4Fragmenter
from media.hls import HlsWriter
from media.ps.frame import STREAM_TYPE_CODECS, Frame
from media.session import StreamSession, VideoInfo
from media.timestamps import Timeline

logger = logging.getLogger(__name__)

VIEWER_QUEUE = 512  # fragments; a viewer further behind than this is disconnected


@dataclass(frozen=True, slots=True)
class OutputConfig:
    hls: bool = True
    segment_seconds: float = 2.0
    list_size: int = 6
    fmp4: bool = True
    fmp4_per_frame: bool = True
    keep_files: bool = False
    audio: bool = False  # transcode the camera's audio to AAC and mux it (media/audio.py)


class Viewer:
    """A WebSocket client's queue of fMP4 fragments; None means the stream ended."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue(VIEWER_QUEUE)
        self.dropped = False

    def offer(self, fragment: bytes | None) -> None:
        if self.dropped:
            return
        try:
            self.queue.put_nowait(fragment)
        except asyncio.QueueFull:
            # Too slow to keep up: end it rather than buffer without bound or skip frames silently.
            self.dropped = True
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(None)


class LiveStream:
    def __init__(self, session: StreamSession, *, directory: Path, config: OutputConfig) -> None:
        self.session = session
        self.directory = directory
        self.config = config
        self.ready = asyncio.Event()
        self.closed = False
        self.hls: HlsWriter | None = None
        self.fmp4: Fmp4Fragmenter | None = None
        self.timeline = Timeline()
        self.keyframe: Frame | None = None
        self.gop: list[bytes] = []
        self.viewers: set[Viewer] = set()
        self.output_errors = 0
        self.datagrams = 0
        self.receive_errors = 0
        self._init_published = False
        self._outputs_started = False
        self.port: int | None = None
        self.transport_kind = "udp"
        self.close_reason: str | None = None
        self.http_requests = 0  # HLS and snapshot requests served: the gateway's idle stop reads it
        self.audio: AudioTranscoder | None = None  # running when the outputs carry audio
        self._audio_clock: Timeline | None = None  # audio-only streams: the audio's own timeline

    @property
    def stream_id(self) -> str:
        return self.session.stream_id

    @property
    def video(self) -> VideoInfo | None:
        return self.session.video

    def receive(self, datagram: bytes | bytearray | memoryview, now: float) -> None:
        if self.closed:
            return
        self.datagrams += 1
        try:
            frames = self.session.receive(datagram, now)
        except Exception:
            # A parser bug on one odd packet must not close the TCP connection or the stream.
            self.receive_errors += 1
            if self.receive_errors == 1:
                logger.exception("stream %s: packet dropped by an internal error", self.stream_id)
            return
        if frames:
            self._deliver(frames)
        if not self.ready.is_set() and self.session.audio_only:
            self._start_audio_only()  # wake keyframe waiters: audio-only outputs, or "audio only"

    def _deliver(self, frames: list[Frame]) -> None:
        for frame in frames:
            if frame.stream != "video":
                if self.audio is not None:
                    self._deliver_audio(frame)
                continue
            if self._audio_clock is not None:
                continue  # audio-only outputs started: they have no video track
            if not self._outputs_started:
                self._start_outputs(frame)
            pts, dts = self.timeline.map(frame.pts, frame.dts)
            if frame.keyframe:
                self.keyframe = frame
            self._write(frame, pts, dts)
            if self.audio is not None:
                self._write_audio(self.audio.keep_up(dts))

    def _start_outputs(self, frame: Frame | None) -> None:
        """Start the outputs at the first keyframe (`frame`), or audio-only ones (None)."""
        self._outputs_started = True
        video = self.session.video if frame is not None else None
        codec = frame.codec if frame is not None else None
        width = video.width if video else None
        height = video.height if video else None
        config = self.config
        audio = self.audio is not None or self._start_audio()
        if config.hls:
            try:
                self.hls = HlsWriter(
                    self.directory,
                    codec,
                    width,
                    height,
                    segment_seconds=config.segment_seconds,
                    list_size=config.list_size,
                    audio=audio,
                )
            except Exception:
                self.output_errors += 1
                logger.exception("stream %s: HLS output not started", self.stream_id)
        if config.fmp4:
            try:
                self.fmp4 = Fmp4Fragmenter(codec, width, height, per_frame=config.fmp4_per_frame, audio=audio)
            except Exception:
                self.output_errors += 1
                logger.exception("stream %s: fMP4 output not started", self.stream_id)
        self.ready.set()

    def _write(self, frame: Frame, pts: int, dts: int) -> None:
        if self.hls is not None:
            try:
                self.hls.write(frame, pts, dts)
            except Exception:
                self.output_errors += 1
                logger.exception("stream %s: HLS output stopped", self.stream_id)
                self.hls = None
        if self.fmp4 is not None:
            try:
                fragments = self.fmp4.push(frame, pts, dts)
            except Exception:
                self.output_errors += 1
                logger.exception("stream %s: fMP4 output stopped", self.stream_id)
                self.fmp4 = None
                return
            self._publish(fragments)

    # ---- audio ---------------------------------------------------------------------------
    def _start_audio(self) -> bool:
        """Whether the outputs carry audio: enabled, and the camera declared or sent audio we read."""
        session = self.session
        declared = {STREAM_TYPE_CODECS.get(t) for t in session.demuxer.stream_types.values()}
        if not self.config.audio or not ({session.audio_codec, *declared} & SOURCE_DECODERS.keys()):
            return False
        try:
            self.audio = AudioTranscoder(self.stream_id)
        except Exception:
            self.output_errors += 1
            logger.exception("stream %s: audio not started", self.stream_id)
            return False
        return True

    def _start_audio_only(self) -> None:
        """Seconds of audio and no video: audio-only outputs when audio is on, else just wake waiters."""
        if self.config.audio and not self._outputs_started and self._start_audio():
            self._audio_clock = Timeline()
            self._start_outputs(None)
        self.ready.set()

    def _deliver_audio(self, frame: Frame) -> None:
        assert self.audio is not None
        if self._audio_clock is not None:
            pts = self._audio_clock.map(frame.pts, frame.pts)[1]
        else:
            pts = self.timeline.follow(frame.pts)  # on the video's timeline: lip sync
        self._write_audio(self.audio.push(frame.codec, frame.data, pts))

    def _write_audio(self, packets: list[AudioPacket]) -> None:
        for packet in packets:
            if self.hls is not None:
                try:
                    self.hls.write_audio(packet)
                except Exception:
                    self.output_errors += 1
                    logger.exception("stream %s: HLS output stopped", self.stream_id)
                    self.hls = None
            if self.fmp4 is not None:
                try:
                    fragments = self.fmp4.push_audio(packet)
                except Exception:
                    self.output_errors += 1
                    logger.exception("stream %s: fMP4 output stopped", self.stream_id)
                    self.fmp4 = None
                    continue
                self._publish(fragments)

    def _publish(self, fragments: list[bytes]) -> None:
        if not self._init_published and self.fmp4 is not None and self.fmp4.init is not None:
            self._init_published = True
            for viewer in self.viewers:
                viewer.offer(self.fmp4.init)
        for fragment in fragments:
            # A fragment that starts at a keyframe begins a new GOP: late joiners start there.
            if _starts_with_sync_sample(fragment):
                self.gop = []
            self.gop.append(fragment)
            for viewer in self.viewers:
                viewer.offer(fragment)

    # ---- viewers -------------------------------------------------------------------------
    def add_viewer(self) -> Viewer:
        """A new viewer, its queue starting with the init segment and the current GOP.

        A viewer that joins before the first keyframe gets the init segment as soon as it exists.
        """
        viewer = Viewer()
        self.viewers.add(viewer)
        if self._init_published and self.fmp4 is not None and self.fmp4.init is not None:
            for chunk in (self.fmp4.init, *self.gop):
                viewer.offer(chunk)
        return viewer

    def remove_viewer(self, viewer: Viewer) -> None:
        self.viewers.discard(viewer)

    @property
    def mime(self) -> str | None:
        return self.fmp4.content_type if self.fmp4 is not None else None

    # ---- end -----------------------------------------------------------------------------
    def close(self, reason: str = "closed") -> None:
        if self.closed:
            return
        self.closed = True
        self.close_reason = reason
        with contextlib.suppress(Exception):
            self._deliver(self.session.finish())
        if self.audio is not None:
            self._write_audio(self.audio.flush())
        if self.fmp4 is not None:
            self._publish(self.fmp4.close())
        if self.hls is not None:
            self.hls.close()
        for viewer in self.viewers:
            viewer.offer(None)
        self.viewers.clear()
        self.ready.set()
        if not self.config.keep_files:
            shutil.rmtree(self.directory, ignore_errors=True)

    def snapshot(self, now: float) -> dict[str, Any]:
        info = self.session.snapshot(now)
        info.update(
            port=self.port,
            transport=self.transport_kind,
            viewers=len(self.viewers),
            http_requests=self.http_requests,
            datagrams=self.datagrams,
            receive_errors=self.receive_errors,
            hls_frames=self.hls.frames if self.hls else 0,
            output_errors=self.output_errors
            + (self.hls.errors if self.hls else 0)
            + (self.fmp4.errors if self.fmp4 else 0),
            timestamps_fixed=self.timeline.fixed,
            mime=self.mime,
            audio=self.audio is not None,
            aac_frames=self.audio.stats.packets if self.audio else 0,
        )
        return info


def _starts_with_sync_sample(fragment: bytes) -> bool:
    """Whether the first sample of a moof+mdat fragment is a sync sample (a keyframe).

    Reads the trun's first-sample flags, else the tfhd's default flags; bit 0x00010000 of the
    sample flags is sample_is_non_sync_sample (ISO/IEC 14496-12 section 8.8.3). Only track 1
    counts (the video, or an audio-only stream's audio): every audio frame is a sync sample, and
    a fragment of audio beside video must not start a group of pictures.
    """
    tfhd = fragment.find(b"tfhd")
    trun = fragment.find(b"trun")
    if trun == -1 or (tfhd != -1 and fragment[tfhd + 8 : tfhd + 12] != b"\x00\x00\x00\x01"):
        return False
    flags = int.from_bytes(fragment[trun + 5 : trun + 8], "big")
    at = trun + 12  # version/flags, sample_count
    if flags & 0x1:
        at += 4  # data_offset
    if flags & 0x4:
        sample_flags = int.from_bytes(fragment[at : at + 4], "big")
        return not sample_flags & 0x10000
    if flags & 0x400:
        # Per-sample flags: skip the first sample's duration and size if present.
        skip = 4 * bool(flags & 0x100) + 4 * bool(flags & 0x200)
        sample_flags = int.from_bytes(fragment[at + skip : at + skip + 4], "big")
        return not sample_flags & 0x10000
    if tfhd != -1:
        tf_flags = int.from_bytes(fragment[tfhd + 5 : tfhd + 8], "big")
        at = tfhd + 12  # version/flags, track_ID
        for bit, size in ((0x1, 8), (0x2, 4), (0x8, 4), (0x10, 4)):
            if tf_flags & bit:
                at += size
        if tf_flags & 0x20:
            return not int.from_bytes(fragment[at : at + 4], "big") & 0x10000
    return False
