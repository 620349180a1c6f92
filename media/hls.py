"""HLS output: keyframe-aligned segments and a rolling playlist.

MPEG-TS segments for H.264 (and audio-only streams), fMP4 segments (init.mp4 + .m4s) for H.265 so
it plays where the browser supports HEVC. With `audio=True` the segments also carry the AAC track
from media/audio.py (`write_audio`); a stream without video (`codec=None`) is audio-only MPEG-TS,
which hls.js and Safari play. A segment starts at the first keyframe after `segment_seconds`
(`HLS_INIT_TIME` for the first playlist's worth, so a writer started on demand has a playlist
after one group of pictures); the playlist keeps `list_size` segments (0 keeps all) and older
files are deleted. Segments and the playlist are written to a temporary name and renamed, so a
reader never sees half a file.

The MPEG-TS segments are cut here, each by its own short-lived mpegts muxer writing straight to
its file: FFmpeg's hls muxer builds every segment in memory before writing it out, a whole
segment (about 1 MB at 4 Mbit/s and 2 s) per stream. H.265 keeps FFmpeg's hls muxer for its
fMP4 segments and init segment.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

import av

from media.audio import AudioPacket
from media.packets import TIME_BASE, add_audio_stream, audio_packet, frame_packet
from media.ps.frame import Frame

logger = logging.getLogger(__name__)

PLAYLIST = "index.m3u8"
INIT = "init.mp4"
HLS_INIT_TIME = 0.5  # seconds: the first segments end at the next keyframe after this
_AV_CODECS = {"h264": "h264", "h265": "hevc"}
_MUX_ERRORS = (av.FFmpegError, OSError, ValueError)
DEFAULT_STEP = 3600  # 90 kHz: one frame at 25 fps, the last frame's duration before a second one


class HlsError(RuntimeError):
    """The stream cannot be written as HLS (an unsupported codec, an unwritable folder)."""


def segment_type(codec: str | None) -> str:
    return "fmp4" if codec == "h265" else "mpegts"


class HlsWriter:
    def __init__(
        self,
        directory: Path,
        codec: str | None,
        width: int | None,
        height: int | None,
        *,
        segment_seconds: float = 2.0,
        list_size: int = 6,
        audio: bool = False,
    ) -> None:
        name = _AV_CODECS.get(codec) if codec is not None else None
        if name is None and not (codec is None and audio):
            raise HlsError(f"no HLS output for {codec}")
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HlsError(f"cannot start HLS in {directory}: {exc}") from exc
        self.directory = directory
        self.segment_type = segment_type(codec)
        self.errors = 0
        self.frames = 0
        self.audio_frames = 0
        self._closed = False
        backend = _FfmpegHls if self.segment_type == "fmp4" else _TsSegments
        self._out: _TsSegments | _FfmpegHls = backend(
            directory, name, width, height, segment_seconds=segment_seconds, list_size=list_size, audio=audio
        )

    @property
    def playlist(self) -> Path:
        return self.directory / PLAYLIST

    def write(self, frame: Frame, pts: int, dts: int) -> None:
        """Mux one frame (90 kHz, increasing DTS); a frame the muxer rejects is dropped and counted."""
        if self._closed or not self._out.video:
            return
        try:
            self._out.write(frame, pts, dts)
            self.frames += 1
        except _MUX_ERRORS as exc:
            self.errors += 1
            logger.debug("hls %s: frame at dts %d dropped: %s", self.directory, dts, exc)

    def write_audio(self, audio: AudioPacket) -> None:
        """Mux one AAC frame (90 kHz, increasing); dropped and counted if the muxer rejects it."""
        if self._closed or not self._out.audio:
            return
        try:
            self._out.write_audio(audio)
            self.audio_frames += 1
        except _MUX_ERRORS as exc:
            self.errors += 1
            logger.debug("hls %s: audio at %d dropped: %s", self.directory, audio.pts, exc)

    def close(self) -> None:
        """Write the last segment and end the playlist."""
        if self._closed:
            return
        self._closed = True
        try:
            self._out.close()
        except _MUX_ERRORS as exc:
            logger.warning("hls %s: close failed: %s", self.directory, exc)


class _TsSegments:
    """MPEG-TS segments, one mpegts muxer per segment, and the playlist written here."""

    def __init__(
        self,
        directory: Path,
        name: str | None,
        width: int | None,
        height: int | None,
        *,
        segment_seconds: float,
        list_size: int,
        audio: bool,
    ) -> None:
        self.directory = directory
        self.video = name is not None
        self.audio = audio
        self._codec = name
        self._size = (width or 0, height or 0)
        self._segment_ticks = round(segment_seconds * 90_000)
        self._init_ticks = round(min(segment_seconds, HLS_INIT_TIME) * 90_000)
        self._list_size = list_size
        self._container: av.container.OutputContainer | None = None
        self._video_stream: av.stream.Stream | None = None
        self._audio_stream: av.stream.Stream | None = None
        self._number = 0  # of the segment being written
        self._start = 0  # its first timestamp (90 kHz)
        self._end = 0  # where what it holds ends: the last packet's time plus its duration
        self._last_dts: int | None = None
        self._first: int | None = None  # the first segment's start
        self._boundary = 0  # a keyframe this long after the first start ends the segment
        self._listed: list[tuple[str, float]] = []  # finished segments in the playlist
        self._first_listed = 0  # the media sequence number of _listed[0]
        self._on_disk: list[str] = []

    def write(self, frame: Frame, pts: int, dts: int) -> None:
        if frame.keyframe:
            self._cut_if_due(pts)
        if self._container is None:
            return  # nothing before the first keyframe: a segment starts with one
        assert self._video_stream is not None
        self._container.mux(frame_packet(frame, self._video_stream, pts, dts))
        step = dts - self._last_dts if self._last_dts is not None else DEFAULT_STEP
        self._last_dts = dts
        self._end = dts + max(step, 1)

    def write_audio(self, audio: AudioPacket) -> None:
        if not self.video:
            self._cut_if_due(audio.pts)
        if self._container is None:
            return
        assert self._audio_stream is not None
        self._container.mux(audio_packet(audio, self._audio_stream))
        if not self.video:
            self._end = audio.pts + audio.duration

    def close(self) -> None:
        self._finish_segment(self._end, ended=True)

    def _cut_if_due(self, at: int) -> None:
        if self._first is None:
            self._first = at
            self._boundary = self._target(0)
            self._open(at)
            return
        if at - self._first < self._boundary:
            return
        self._finish_segment(at, ended=False)
        self._number += 1
        elapsed = at - self._first
        self._boundary += self._target(self._number)
        if self._boundary <= elapsed:  # a long group of pictures: measure on from here
            self._boundary = elapsed + self._target(self._number)
        self._open(at)

    def _target(self, number: int) -> int:
        return self._init_ticks if self._list_size and number < self._list_size else self._segment_ticks

    def _name(self, number: int) -> str:
        return f"seg{number:06d}.ts"

    def _open(self, at: int) -> None:
        self._start = self._end = at
        path = self.directory / (self._name(self._number) + ".tmp")
        container = av.open(str(path), "w", format="mpegts")
        try:
            if self._codec is not None:
                width, height = self._size
                self._video_stream = container.add_mux_stream(self._codec, width=width, height=height)
                self._video_stream.time_base = TIME_BASE
            if self.audio:
                self._audio_stream = add_audio_stream(container)
        except BaseException:
            container.close()
            raise
        self._container = container

    def _finish_segment(self, end: int, *, ended: bool) -> None:
        container, self._container = self._container, None
        if container is None:
            if ended:
                self._write_playlist(ended=True)
            return
        container.close()
        name = self._name(self._number)
        os.replace(self.directory / (name + ".tmp"), self.directory / name)
        self._on_disk.append(name)
        self._listed.append((name, max(end - self._start, 0) / 90_000))
        if self._list_size and len(self._listed) > self._list_size:
            del self._listed[0]
            self._first_listed += 1
        self._write_playlist(ended=ended)
        # A player that read the previous playlist may still fetch one segment older than the list.
        while len(self._on_disk) > len(self._listed) + 1:
            with contextlib.suppress(OSError):
                (self.directory / self._on_disk.pop(0)).unlink()

    def _write_playlist(self, *, ended: bool) -> None:
        longest = max((duration for _, duration in self._listed), default=0.0)
        lines = [
            "#EXTM3U",
            "#EXT-X-VERSION:3",
            f"#EXT-X-TARGETDURATION:{max(int(longest + 0.5), 1)}",
            f"#EXT-X-MEDIA-SEQUENCE:{self._first_listed}",
            "#EXT-X-INDEPENDENT-SEGMENTS",
        ]
        for name, duration in self._listed:
            lines += [f"#EXTINF:{duration:.6f},", name]
        if ended:
            lines.append("#EXT-X-ENDLIST")
        path = self.directory / PLAYLIST
        temporary = path.with_name(PLAYLIST + ".tmp")
        temporary.write_text("\n".join(lines) + "\n")
        os.replace(temporary, path)


class _FfmpegHls:
    """FFmpeg's hls muxer: fMP4 segments and their init segment (H.265)."""

    def __init__(
        self,
        directory: Path,
        name: str | None,
        width: int | None,
        height: int | None,
        *,
        segment_seconds: float,
        list_size: int,
        audio: bool,
    ) -> None:
        options = {
            "hls_time": f"{segment_seconds:g}",
            # A writer starts on demand, primed with the current group of pictures: cut the first
            # segments at the next keyframe so the playlist exists after one group, not two.
            "hls_init_time": f"{min(segment_seconds, HLS_INIT_TIME):g}",
            "hls_list_size": str(list_size),
            "hls_segment_type": "fmp4",
            "hls_segment_filename": str(directory / "seg%06d.m4s"),
            "hls_flags": "independent_segments+temp_file" + ("+delete_segments" if list_size else ""),
            "hls_fmp4_init_filename": INIT,
        }
        try:
            self._container = av.open(str(directory / PLAYLIST), "w", format="hls", options=options)
            self._stream = (
                self._container.add_mux_stream(name, width=width or 0, height=height or 0) if name else None
            )
            self._audio = add_audio_stream(self._container) if audio else None
        except _MUX_ERRORS as exc:
            raise HlsError(f"cannot start HLS in {directory}: {exc}") from exc
        if self._stream is not None:
            self._stream.time_base = TIME_BASE
        self.video = self._stream is not None
        self.audio = self._audio is not None

    def write(self, frame: Frame, pts: int, dts: int) -> None:
        assert self._stream is not None
        self._container.mux(frame_packet(frame, self._stream, pts, dts))

    def write_audio(self, audio: AudioPacket) -> None:
        assert self._audio is not None
        self._container.mux(audio_packet(audio, self._audio))

    def close(self) -> None:
        self._container.close()
