"""HLS output: keyframe-aligned segments and a rolling playlist, written by FFmpeg's hls muxer.

Codec copy through PyAV: MPEG-TS segments for H.264, fMP4 segments (init.mp4 + .m4s) for H.265
so it plays where the browser supports HEVC. With `audio=True` the segments also carry the AAC
track from media/audio.py (`write_audio`); a stream without video (`codec=None`) is audio-only
MPEG-TS, which hls.js and Safari play. A segment starts at the first keyframe after
`segment_seconds`; the playlist keeps `list_size` segments (0 keeps all) and older files are
deleted. Segments are written to a temporary name and renamed, so a reader never sees half a file.
"""

from __future__ import annotations

import logging
from pathlib import Path

import av

from media.audio import AudioPacket
from media.packets import TIME_BASE, add_audio_stream, audio_packet, frame_packet
from media.ps.frame import Frame

logger = logging.getLogger(__name__)

PLAYLIST = "index.m3u8"
INIT = "init.mp4"
_AV_CODECS = {"h264": "h264", "h265": "hevc"}


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
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.segment_type = segment_type(codec)
        extension = "m4s" if self.segment_type == "fmp4" else "ts"
        options = {
            "hls_time": f"{segment_seconds:g}",
            # A writer starts on demand, primed with the current group of pictures: cut the first
            # segments at the next keyframe so the playlist exists after one group, not two.
            "hls_init_time": f"{min(segment_seconds, 0.5):g}",
            "hls_list_size": str(list_size),
            "hls_segment_type": self.segment_type,
            "hls_segment_filename": str(directory / f"seg%06d.{extension}"),
            "hls_flags": "independent_segments+temp_file" + ("+delete_segments" if list_size else ""),
        }
        if self.segment_type == "fmp4":
            options["hls_fmp4_init_filename"] = INIT
        try:
            self._container = av.open(str(directory / PLAYLIST), "w", format="hls", options=options)
            self._stream = (
                self._container.add_mux_stream(name, width=width or 0, height=height or 0) if name else None
            )
            self._audio = add_audio_stream(self._container) if audio else None
        except (av.FFmpegError, OSError, ValueError) as exc:
            raise HlsError(f"cannot start HLS in {directory}: {exc}") from exc
        if self._stream is not None:
            self._stream.time_base = TIME_BASE
        self.errors = 0
        self.frames = 0
        self.audio_frames = 0
        self._closed = False

    @property
    def playlist(self) -> Path:
        return self.directory / PLAYLIST

    def write(self, frame: Frame, pts: int, dts: int) -> None:
        """Mux one frame (90 kHz, increasing DTS); a frame the muxer rejects is dropped and counted."""
        if self._closed or self._stream is None:
            return
        packet = frame_packet(frame, self._stream, pts, dts)
        try:
            self._container.mux(packet)
            self.frames += 1
        except (av.FFmpegError, OSError, ValueError) as exc:
            self.errors += 1
            logger.debug("hls %s: frame at dts %d dropped: %s", self.directory, dts, exc)

    def write_audio(self, audio: AudioPacket) -> None:
        """Mux one AAC frame (90 kHz, increasing); dropped and counted if the muxer rejects it."""
        if self._closed or self._audio is None:
            return
        try:
            self._container.mux(audio_packet(audio, self._audio))
            self.audio_frames += 1
        except (av.FFmpegError, OSError, ValueError) as exc:
            self.errors += 1
            logger.debug("hls %s: audio at %d dropped: %s", self.directory, audio.pts, exc)

    def close(self) -> None:
        """Write the last segment and end the playlist."""
        if self._closed:
            return
        self._closed = True
        try:
            self._container.close()
        except (av.FFmpegError, OSError, ValueError) as exc:
            logger.warning("hls %s: close failed: %s", self.directory, exc)
