"""One live stream inside the worker: a receive session feeding the outputs and the viewers.

`LiveStream.receive(datagram, now)` is called by whichever receiver (UDP, TCP) owns the stream.
Muxing is on demand: a stream nobody watches is received, demuxed and its current group of
pictures kept (media/gop.py), with the latest keyframe for snapshots. The fMP4 fragmenter starts
when the first WebSocket viewer joins, the HLS writer when the playlist is first requested; both
are primed from the kept group at once, so the viewer does not wait for the next keyframe. Each
stops again at a keyframe once nobody has watched it for its linger time. A failing output is
logged and switched off; it never takes the stream, or the worker, down with it.

With `OutputConfig.audio`, the camera's audio (G.711 or AAC, declared in the PSM or already
seen) is transcoded to AAC (media/audio.py) on the video's timeline and muxed beside it. The
group kept for priming holds the camera's audio frames too; the transcoder runs only while an
output does, and keeps its AAC since the last keyframe so an output started later gets it as well.
A stream proven audio only gets audio-only outputs at once (not on demand) instead of the "audio
only" refusal.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from media.audio import SOURCE_DECODERS, AudioPacket, AudioTranscoder
from media.fmp4 import Fmp4Fragmenter, content_type, mime_from_sps
from media.gop import GopCache
from media.hls import HlsWriter
from media.ps.frame import STREAM_TYPE_CODECS, Frame
from media.session import StreamSession, VideoInfo
from media.timestamps import Timeline
from media.viewers import Fanout, Viewer

logger = logging.getLogger(__name__)

_Output = TypeVar("_Output", HlsWriter, Fmp4Fragmenter)


@dataclass(frozen=True, slots=True)
class OutputConfig:
    hls: bool = True
    segment_seconds: float = 2.0
    list_size: int = 6
    fmp4: bool = True
    keep_files: bool = False
    audio: bool = False  # transcode the camera's audio to AAC and mux it (media/audio.py)
    hls_linger: float = 30.0
    """Seconds the HLS writer keeps running after the last playlist or segment request."""
    fmp4_linger: float = 10.0
    """Seconds the fMP4 fragmenter keeps running after the last WebSocket viewer left."""


class LiveStream:
    def __init__(self, session: StreamSession, *, directory: Path, config: OutputConfig) -> None:
        self.session = session
        self.directory = directory
        self.config = config
        self.ready = asyncio.Event()
        """Set at the first video keyframe (or once the stream proves audio only, or closes)."""
        self.hls_ready = asyncio.Event()
        """Set while the running HLS writer has a playlist with at least one segment."""
        self.closed = False
        self.hls: HlsWriter | None = None
        self.fmp4: Fmp4Fragmenter | None = None
        self.timeline = Timeline()
        self.keyframe: Frame | None = None
        self.gop = GopCache()
        self.fanout = Fanout()
        self.output_errors = 0
        self.datagrams = 0
        self.receive_errors = 0
        self.port: int | None = None
        self.transport_kind = "udp"
        self.close_reason: str | None = None
        self.http_requests = 0  # HLS and snapshot requests served: the gateway's idle stop reads it
        self.hls_requests = 0
        self.hls_starts = 0
        self.fmp4_starts = 0
        self._hls_requests_seen = 0
        self._hls_wanted = False  # requested while there was no group to prime a writer with
        self._hls_watched_at = 0.0
        self._fmp4_watched_at = 0.0
        self.audio: AudioTranscoder | None = None  # running while an output carrying audio runs
        self._aac: list[AudioPacket] = []  # the transcoder's output since the last video keyframe
        self._audio_clock: Timeline | None = None  # audio-only streams: the audio's own timeline

    @property
    def stream_id(self) -> str:
        return self.session.stream_id

    @property
    def viewers(self) -> set[Viewer]:
        return self.fanout.viewers

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
            self._deliver(frames, now)
        if not self.ready.is_set() and self.session.audio_only:
            self._start_audio_only()  # wake keyframe waiters: audio-only outputs, or "audio only"

    def _deliver(self, frames: list[Frame], now: float) -> None:
        for frame in frames:
            if frame.stream != "video":
                self._deliver_audio(frame)
                continue
            if self._audio_clock is not None:
                continue  # audio-only outputs started: they have no video track
            pts, dts = self.timeline.map(frame.pts, frame.dts)
            if frame.keyframe:
                self.keyframe = frame
                self._stop_unwatched(now)
                self._aac = []
            self.gop.add(frame, pts, dts)
            if self.hls is not None:
                self._write_hls(frame, pts, dts)
            if self.fmp4 is not None:
                self._write_fmp4(frame, pts, dts)
            if self.audio is not None:
                self._write_audio(self.audio.keep_up(dts))
            if frame.keyframe:
                self._start_wanted()
            if not self.ready.is_set():
                self.ready.set()

    # ---- outputs on demand ---------------------------------------------------------------
    def request_hls(self) -> None:
        """An HLS playlist or segment was requested: run the writer, starting it now if need be."""
        self.hls_requests += 1
        if self.hls is None:
            self._hls_wanted = True
            if self.gop:
                self._start_hls()

    def _start_wanted(self) -> None:
        """At a keyframe: start the outputs someone asked for before there was a group to prime."""
        if self.hls is None and self._hls_wanted:
            self._start_hls()
        if self.fmp4 is None and self.viewers:
            self._start_fmp4()

    def _stop_unwatched(self, now: float) -> None:
        """At a keyframe (before it is written): stop outputs nobody used for their linger time."""
        if self.hls_requests != self._hls_requests_seen:
            self._hls_requests_seen = self.hls_requests
            self._hls_watched_at = now
        if self.viewers:
            self._fmp4_watched_at = now
        config = self.config
        if self.hls is not None and now - self._hls_watched_at >= config.hls_linger:
            logger.info("stream %s: HLS stopped, not requested for %g s", self.stream_id, config.hls_linger)
            self._stop_hls()
        if self.fmp4 is not None and not self.viewers and now - self._fmp4_watched_at >= config.fmp4_linger:
            logger.info("stream %s: fMP4 stopped, no viewer for %g s", self.stream_id, config.fmp4_linger)
            self._stop_fmp4()

    def _now(self) -> float:
        session = self.session
        return session.last_packet_at if session.last_packet_at is not None else session.opened_at

    def _start_hls(self) -> None:
        config = self.config
        self._hls_wanted = False
        self._hls_requests_seen = self.hls_requests
        self._hls_watched_at = self._now()
        if not config.hls or not self.gop:
            return
        started = self._output_start(
            "HLS",
            lambda codec, width, height, audio: HlsWriter(
                self.directory,
                codec,
                width,
                height,
                segment_seconds=config.segment_seconds,
                list_size=config.list_size,
                audio=audio,
            ),
        )
        if started is None:
            return
        self.hls, primer = started
        self.hls_starts += 1
        self._prime(primer, hls=True)

    def _stop_hls(self) -> None:
        hls, self.hls = self.hls, None
        self.hls_ready.clear()
        if hls is not None:
            hls.close()
        if not self.config.keep_files:
            shutil.rmtree(self.directory, ignore_errors=True)
        self._stop_audio_if_unused()

    def _start_fmp4(self) -> None:
        self._fmp4_watched_at = self._now()
        if not self.config.fmp4 or not self.gop:
            return
        started = self._output_start(
            "fMP4", lambda codec, width, height, audio: Fmp4Fragmenter(codec, width, height, audio=audio)
        )
        if started is None:
            return
        self.fmp4, primer = started
        self.fmp4_starts += 1
        self.fanout.priming_start()
        self._prime(primer, hls=False)
        primed = self.fanout.priming_end()
        if primed and self.fmp4 is not None:
            self.fanout.offer(b"".join(primed))

    def _output_start(
        self, label: str, make: Callable[[str, int | None, int | None, bool], _Output]
    ) -> tuple[_Output, list[tuple[Frame | None, Any, int]]] | None:
        """An output made for the kept group (`make(codec, width, height, audio)`) and what to
        prime it with (see _interleave); None when it could not be made (counted and logged)."""
        group = self.gop.frames
        video = self.session.video
        aac = self._start_audio(group)
        width, height = (video.width, video.height) if video else (None, None)
        output = self._output_make(label, lambda: make(group[0][0].codec, width, height, aac is not None))
        if output is None:
            self._stop_audio_if_unused()
            return None
        return output, _interleave(group, aac or [])

    def _output_make(self, label: str, make: Callable[[], _Output]) -> _Output | None:
        """`make()`, or None when it raised: counted and logged, and the stream carries on without it."""
        try:
            return make()
        except Exception:
            self.output_errors += 1
            logger.exception("stream %s: %s output not started", self.stream_id, label)
            return None

    def _prime(self, primer: list[tuple[Frame | None, Any, int]], *, hls: bool) -> None:
        """Write the kept group, interleaved with its AAC, to the output just started."""
        write = self._write_hls if hls else self._write_fmp4
        for frame, pts, dts in primer:
            if (self.hls if hls else self.fmp4) is None:
                return  # a failed write switched the output off part-way through
            if frame is not None:
                write(frame, pts, dts)
            else:
                self._write_audio_to(pts, hls=hls)

    def _stop_fmp4(self) -> None:
        fmp4, self.fmp4 = self.fmp4, None
        self.fanout.init_sent = False
        if fmp4 is not None:
            fmp4.close()
        self._stop_audio_if_unused()

    # ---- audio ---------------------------------------------------------------------------
    def _audio_wanted(self) -> bool:
        """Audio is on and the camera declared or sent audio we can decode."""
        session = self.session
        declared = {STREAM_TYPE_CODECS.get(t) for t in session.demuxer.stream_types.values()}
        return self.config.audio and bool({session.audio_codec, *declared} & SOURCE_DECODERS.keys())

    def _start_audio(self, group: list[tuple[Frame, int, int]]) -> list[AudioPacket] | None:
        """The AAC an output starting now is primed with, or None when it carries no audio.

        The first output starts the transcoder and feeds it the kept group's audio; a later one
        gets the AAC the running transcoder made since the last keyframe.
        """
        if self.audio is not None:
            return list(self._aac)
        if not self._audio_wanted():
            return None
        try:
            self.audio = AudioTranscoder(self.stream_id)
        except Exception:
            self.output_errors += 1
            logger.exception("stream %s: audio not started", self.stream_id)
            return None
        self._aac = []
        for frame, pts, dts in group:
            self._aac += self.audio.push(frame.codec, frame.data, pts) if frame.stream == "audio" else []
            if frame.stream == "video":
                self._aac += self.audio.keep_up(dts)
        return list(self._aac)

    def _stop_audio_if_unused(self) -> None:
        if self.hls is None and self.fmp4 is None and self._audio_clock is None:
            self.audio = None
            self._aac = []

    def _start_audio_only(self) -> None:
        """Seconds of audio and no video: audio-only outputs when audio is on, else just wake waiters."""
        if self.config.audio and self.hls is None and self.fmp4 is None and self._audio_wanted():
            try:
                self.audio = AudioTranscoder(self.stream_id)
            except Exception:
                self.output_errors += 1
                logger.exception("stream %s: audio not started", self.stream_id)
            else:
                self._audio_clock = Timeline()
                self._start_audio_only_outputs()
        self.ready.set()

    def _start_audio_only_outputs(self) -> None:
        config = self.config
        if config.hls:
            self.hls = self._output_make(
                "HLS",
                lambda: HlsWriter(
                    self.directory,
                    None,
                    None,
                    None,
                    segment_seconds=config.segment_seconds,
                    list_size=config.list_size,
                    audio=True,
                ),
            )
        if config.fmp4:
            self.fmp4 = self._output_make("fMP4", lambda: Fmp4Fragmenter(None, None, None, audio=True))

    def _deliver_audio(self, frame: Frame) -> None:
        if self._audio_clock is not None:
            pts = self._audio_clock.map(frame.pts, frame.pts)[1]
        elif self.session.video is None:
            return  # before the first keyframe no output can start
        else:
            pts = self.timeline.follow(frame.pts)  # on the video's timeline: lip sync
            if self.config.audio:
                self.gop.add(frame, pts, pts)
        if self.audio is not None:
            self._write_audio(self.audio.push(frame.codec, frame.data, pts))

    def _write_audio(self, packets: list[AudioPacket]) -> None:
        for packet in packets:
            if self._audio_clock is None:
                self._aac.append(packet)
            if self.hls is not None:
                self._write_audio_to(packet, hls=True)
            if self.fmp4 is not None:
                self._write_audio_to(packet, hls=False)

    def _write_audio_to(self, packet: AudioPacket, *, hls: bool) -> None:
        if hls:
            assert self.hls is not None
            try:
                self.hls.write_audio(packet)
            except Exception:
                self.output_errors += 1
                logger.exception("stream %s: HLS output stopped", self.stream_id)
                self._stop_hls()
            return
        assert self.fmp4 is not None
        try:
            fragments = self.fmp4.push_audio(packet)
        except Exception:
            self.output_errors += 1
            logger.exception("stream %s: fMP4 output stopped", self.stream_id)
            self._stop_fmp4()
            return
        if fragments:
            self._publish(fragments)

    def _write_hls(self, frame: Frame, pts: int, dts: int) -> None:
        hls = self.hls
        assert hls is not None
        try:
            hls.write(frame, pts, dts)
        except Exception:
            self.output_errors += 1
            logger.exception("stream %s: HLS output stopped", self.stream_id)
            self._stop_hls()
            return
        # FFmpeg ends a segment, and rewrites the playlist, when a keyframe opens the next one.
        if frame.keyframe and not self.hls_ready.is_set() and hls.playlist.exists():
            self.hls_ready.set()

    def _write_fmp4(self, frame: Frame, pts: int, dts: int) -> None:
        assert self.fmp4 is not None
        try:
            fragments = self.fmp4.push(frame, pts, dts)
        except Exception:
            self.output_errors += 1
            logger.exception("stream %s: fMP4 output stopped", self.stream_id)
            self._stop_fmp4()
            return
        if fragments:
            self._publish(fragments)

    def _publish(self, fragments: list[bytes]) -> None:
        self.fanout.publish(self.fmp4.init if self.fmp4 is not None else None, fragments)

    # ---- viewers -------------------------------------------------------------------------
    def add_viewer(self) -> Viewer:
        """A new viewer, its queue starting with the init segment and the current GOP.

        The first viewer starts the fragmenter, primed with the kept group of pictures; a viewer
        that joins before the first keyframe gets the init segment as soon as it exists. A later
        viewer gets the kept group written out for it: no copy of the fragments is kept. The
        group goes as one message (MSE takes any run of whole fragments in one append): a long
        group with audio, a fragment per video and per AAC frame, would not fit the queue.
        """
        viewer = Viewer()
        self.fanout.viewers.add(viewer)
        if self.fmp4 is None:
            if not self.closed:
                self._start_fmp4()
        elif self.fanout.init_sent and self.fmp4.init is not None:
            viewer.offer(self.fmp4.init)
            group = self.fmp4.replay(self.gop.frames, self._aac)
            if group:
                viewer.offer(b"".join(group))
        return viewer

    def remove_viewer(self, viewer: Viewer) -> None:
        self.fanout.viewers.discard(viewer)

    @property
    def has_audio(self) -> bool:
        """Whether the outputs carry audio (running, or will when they start)."""
        if self.audio is not None:
            return True
        return self._audio_clock is None and self.session.video is not None and self._audio_wanted()

    @property
    def mime(self) -> str | None:
        """The MIME type of the WebSocket fMP4, known without running the fragmenter."""
        if self.fmp4 is not None and (self.fmp4.mime is not None or self.session.video is None):
            return self.fmp4.content_type
        video = self.session.video
        codecs = mime_from_sps(video.codec, self.session.demuxer.sps_nal) if video is not None else None
        return content_type(codecs, audio=self._audio_wanted()) if codecs is not None else None

    # ---- end -----------------------------------------------------------------------------
    def close(self, reason: str = "closed") -> None:
        if self.closed:
            return
        self.closed = True
        self.close_reason = reason
        with contextlib.suppress(Exception):
            self._deliver(self.session.finish(), self._now())
        if self.audio is not None:
            self._write_audio(self.audio.flush())
        if self.fmp4 is not None:
            self._publish(self.fmp4.close())
        if self.hls is not None:
            self.hls.close()
        self.fanout.end()
        self.gop.clear()
        self.ready.set()
        self.hls_ready.set()  # wake playlist requests: they find the files or a 404
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
            hls_active=self.hls is not None,
            fmp4_active=self.fmp4 is not None,
            hls_frames=self.hls.frames if self.hls else 0,
            gop_frames=len(self.gop),
            output_errors=self.output_errors
            + (self.hls.errors if self.hls else 0)
            + (self.fmp4.errors if self.fmp4 else 0),
            timestamps_fixed=self.timeline.fixed,
            mime=self.mime,
            audio=self.has_audio,
            aac_frames=self.audio.stats.packets if self.audio else 0,
        )
        return info


def _interleave(
    group: list[tuple[Frame, int, int]], aac: list[AudioPacket]
) -> list[tuple[Frame | None, Any, int]]:
    """The kept video frames and AAC packets in decode order, to prime a starting output.

    Entries are (frame, pts, dts) for video and (None, packet, pts) for AAC; the camera's own
    audio frames in the group are left out (they reach outputs only through the transcoder).
    """
    entries: list[tuple[int, int, tuple[Frame | None, Any, int]]] = []
    for index, (frame, pts, dts) in enumerate(group):
        if frame.stream == "video":
            entries.append((dts, index, (frame, pts, dts)))
    for index, packet in enumerate(aac):
        entries.append((packet.pts, len(group) + index, (None, packet, packet.pts)))
    entries.sort(key=lambda entry: (entry[0], entry[1]))
    return [entry[2] for entry in entries]
