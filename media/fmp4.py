"""Fragmented MP4 for live view over WebSocket (MSE): an init segment, then moof+mdat fragments.

The init segment (ftyp+moov: avcC/hvcC, the AAC esds, mvex) comes from PyAV's mp4 muxer, run
once on the first keyframe and closed; the tracks' IDs and timescales are read back from it.
Every frame then becomes its own fragment (media/fragment.py) the moment it is pushed: FFmpeg's
muxer held each frame until the next arrived, because it wanted the sample's duration. Here the
duration is estimated from the last DTS step (see DURATION_SLACK) and the next fragment's tfdt
carries the true time, so an estimate that was off never accumulates. With `audio=True` the init
segment declares a second track, AAC-LC from media/audio.py (`push_audio`), whose packets become
fragments of their own; `codec=None` makes an audio-only stream.
"""

from __future__ import annotations

import io
import logging
import struct
from collections.abc import Callable
from functools import partial

import av

from media.audio import MIME_CODEC as AAC_MIME_CODEC
from media.audio import AudioPacket
from media.fragment import (
    NON_SYNC_SAMPLE,
    SYNC_SAMPLE,
    FragmentError,
    Sample,
    Track,
    fragment,
    length_prefixed_parts,
    read_tracks,
    single_fragment,
)
from media.packets import TIME_BASE, add_audio_stream, frame_packet
from media.ps.frame import Frame
from media.ps.h26x import inspect_access_unit, unescape_rbsp

logger = logging.getLogger(__name__)

_AV_CODECS = {"h264": "h264", "h265": "hevc"}
_INIT_FLAGS = "empty_moov+default_base_moof+frag_every_frame"  # a moov with mvex, no samples
DEFAULT_STEP = 3600  # 90 kHz: the first frame's duration estimate, one frame at 25 fps
# A live frame's duration is declared as this many times the last DTS step. MSE (coded frame
# processing, step 6) treats a DTS more than twice the previous frame's duration ahead as a
# discontinuity and drops everything up to the next keyframe, leaving a hole in the buffer where
# the video stalls: with the step itself, two frames a camera skipped (or a frame rate falling
# from 25 to 8 fps) would do that. Declared longer, a frame's end overlaps the next frame, which
# MSE accepts; the next tfdt still carries the true time.
DURATION_SLACK = 2


class Fmp4Error(RuntimeError):
    """The stream cannot be written as fragmented MP4 (an unsupported codec)."""


def split_boxes(buf: bytearray) -> list[tuple[bytes, bytes]]:
    """Remove complete top-level ISO BMFF boxes from the front of `buf`; return (type, box)."""
    out: list[tuple[bytes, bytes]] = []
    pos = 0
    size_all = len(buf)
    while size_all - pos >= 8:
        size = struct.unpack_from("!I", buf, pos)[0]
        header = 8
        if size == 1:
            if size_all - pos < 16:
                break
            size = struct.unpack_from("!Q", buf, pos + 8)[0]
            header = 16
        if size < header:
            raise Fmp4Error(f"box of size {size} in the muxer's output")
        if size_all - pos < size:
            break
        out.append((bytes(buf[pos + 4 : pos + 8]), bytes(buf[pos : pos + size])))
        pos += size
    del buf[:pos]
    return out


def mime_codec(init: bytes) -> str | None:
    """The RFC 6381 codecs parameter MSE needs (e.g. avc1.4D401E), read from the init segment."""
    at = init.find(b"avcC")
    if at != -1 and len(init) >= at + 8:
        profile, compat, level = init[at + 5], init[at + 6], init[at + 7]
        return f"avc1.{profile:02X}{compat:02X}{level:02X}"
    at = init.find(b"hvcC")
    if at == -1 or len(init) < at + 4 + 13:
        return None
    return _hevc_codecs("hvc1" if b"hvc1" in init else "hev1", init[at + 4 : at + 4 + 13])


def mime_from_sps(codec: str, sps: bytes | None) -> str | None:
    """The same codecs parameter as `mime_codec`, from the SPS alone: no muxer needs to run.

    H.264: profile, constraint flags and level are the SPS's first three bytes, as avcC copies
    them. H.265: the general profile_tier_level is the 12 bytes after the SPS's first RBSP byte,
    as hvcC copies it; FFmpeg's mp4 muxer tags HEVC `hev1`.
    """
    if not sps:
        return None
    if codec == "h264":
        if len(sps) < 4:
            return None
        return f"avc1.{sps[1]:02X}{sps[2]:02X}{sps[3]:02X}"
    if codec == "h265":
        rbsp = unescape_rbsp(sps[2:24])  # 13 RBSP bytes, plus room for emulation bytes
        if len(rbsp) < 13:
            return None
        return _hevc_codecs("hev1", b"\x01" + rbsp[1:13])
    return None


def _hevc_codecs(tag: str, c: bytes) -> str:
    """RFC 6381 / ISO 14496-15 annex E string from hvcC's first 13 bytes."""
    space = ("", "A", "B", "C")[c[1] >> 6]
    tier = "H" if c[1] & 0x20 else "L"
    profile = c[1] & 0x1F
    compat = int.from_bytes(c[2:6], "big")
    compat_reversed = int(f"{compat:032b}"[::-1], 2)
    constraints = list(c[6:12])
    while constraints and constraints[-1] == 0:
        constraints.pop()
    parts = [tag, f"{space}{profile}", f"{compat_reversed:X}", f"{tier}{c[12]}"]
    parts += [f"{b:X}" for b in constraints]
    return ".".join(parts)


def content_type(video_codecs: str | None, *, audio: bool) -> str | None:
    """The MIME type MSE's addSourceBuffer takes: video/mp4 with the video's codecs parameter,
    plus AAC-LC when the stream carries audio; audio/mp4 for an audio-only stream."""
    if video_codecs is None:
        return f'audio/mp4; codecs="{AAC_MIME_CODEC}"' if audio else None
    codecs = f"{video_codecs},{AAC_MIME_CODEC}" if audio else video_codecs
    return f'video/mp4; codecs="{codecs}"'


class _Sink(io.RawIOBase):
    def __init__(self) -> None:
        self.buf = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self.buf += data
        return len(data)


def init_segment(
    codec: str | None, width: int | None, height: int | None, *, audio: bool, keyframe: Frame | None
) -> bytes:
    """ftyp+moov from PyAV's mp4 muxer: video from `keyframe` (its parameter sets), audio AAC-LC."""
    sink = _Sink()
    container = av.open(sink, "w", format="mp4", options={"movflags": _INIT_FLAGS})
    try:
        if codec is not None:
            stream = container.add_mux_stream(_AV_CODECS[codec], width=width or 0, height=height or 0)
            stream.time_base = TIME_BASE
        if audio:
            add_audio_stream(container)
        if codec is not None and keyframe is not None:
            container.mux(frame_packet(keyframe, stream, 0, 0))
        else:
            container.start_encoding()
    finally:
        container.close()
    head: list[bytes] = []
    for kind, box in split_boxes(sink.buf):
        head.append(box)
        if kind == b"moov":
            return b"".join(head)
    raise Fmp4Error("the muxer wrote no moov")


class _Clock:
    """90 kHz output time on a track's timescale: whole times are converted, never durations
    alone, so rounding does not drift."""

    def __init__(self, track: Track) -> None:
        self.track_id = track.track_id
        self.timescale = track.timescale

    def __call__(self, ticks: int) -> int:
        return ticks * self.timescale // 90_000


class Fmp4Fragmenter:
    """Frames in (Annex B, 90 kHz, increasing DTS), fMP4 bytes out: one fragment per frame, at once.

    Frames before the first keyframe are skipped (the init segment is made from it, and a decoder
    could not start there). A frame that cannot be written (no NAL unit, a DTS not after the last
    one) is dropped and counted in `errors`; nothing raises to the caller after construction.
    """

    def __init__(
        self, codec: str | None, width: int | None, height: int | None, *, audio: bool = False
    ) -> None:
        if codec not in _AV_CODECS and not (codec is None and audio):
            raise Fmp4Error(f"no fMP4 output for {codec}")
        self.codec = codec
        self.width = width
        self.height = height
        self.audio = audio
        self.init: bytes | None = None
        self.mime: str | None = None
        self.errors = 0
        self._video: _Clock | None = None
        self._sound: _Clock | None = None
        self._sequence = 0
        self._last_dts: int | None = None
        self._step = DEFAULT_STEP
        self._last_audio: int | None = None
        self._closed = False
        if codec is None:
            self._start(None)

    def _start(self, keyframe: Frame | None) -> None:
        if self.codec is not None and (
            keyframe is None or not inspect_access_unit(keyframe.data, self.codec).sps
        ):
            raise Fmp4Error("a keyframe without parameter sets cannot start the stream")
        init = init_segment(self.codec, self.width, self.height, audio=self.audio, keyframe=keyframe)
        tracks = {track.handler: track for track in read_tracks(init)}
        mime = mime_codec(init)
        if self.codec is not None:
            if mime is None:
                raise Fmp4Error("the init segment has no decoder configuration")
            self._video = _Clock(tracks[b"vide"])
        if self.audio:
            self._sound = _Clock(tracks[b"soun"])
        self.init = init
        self.mime = mime

    def push(self, frame: Frame, pts: int, dts: int) -> list[bytes]:
        """One frame's fragment (none while waiting for the first keyframe, or for a bad frame)."""
        if self._closed or self.codec is None:
            return []
        try:
            if self.init is None:
                if not frame.keyframe:
                    return []
                self._start(frame)
            if self._last_dts is not None:
                if dts <= self._last_dts:
                    raise FragmentError(f"DTS {dts} not after {self._last_dts}")
                step = dts - self._last_dts
            else:
                step = self._step
            data = self._video_fragment(self._sequence + 1, frame, pts, dts, step * DURATION_SLACK)
        except (FragmentError, Fmp4Error, KeyError, av.FFmpegError, ValueError) as exc:
            self._error(f"frame at dts {dts} dropped", exc)
            return []
        self._sequence += 1
        self._last_dts = dts
        self._step = step
        return [data]

    def push_audio(self, audio: AudioPacket) -> list[bytes]:
        """One AAC frame's fragment (none before the init segment exists)."""
        if self._closed or self._sound is None:
            return []
        if self._last_audio is not None and audio.pts <= self._last_audio:
            self._error(f"audio at {audio.pts} dropped", FragmentError("not after the last"))
            return []
        data = self._audio_fragment(self._sequence + 1, audio)
        self._sequence += 1
        self._last_audio = audio.pts
        return [data]

    def replay(self, group: list[tuple[Frame, int, int]], aac: list[AudioPacket]) -> list[bytes]:
        """The fragments of a kept group of pictures (media/gop.py) and its AAC, in decode order,
        for a viewer joining late; the live fragments go on from where they end.

        A frame's duration is the step to the next one; the last frame's is estimated as live.
        """
        if self.init is None or self._closed:
            return []
        video = [(frame, pts, dts) for frame, pts, dts in group if frame.stream == "video"]
        if self._video is not None and not (video and video[0][0].keyframe):
            return []  # no picture to start from: the viewer waits for the next keyframe
        # (decode time, arrival order, the fragment given its sequence number)
        entries: list[tuple[int, int, Callable[[int], bytes]]] = []
        last: int | None = None
        for index, (frame, pts, dts) in enumerate(video):
            if last is not None and dts <= last:
                continue  # dropped live as well
            following = next((d for _, _, d in video[index + 1 :] if d > dts), None)
            step = following - dts if following is not None else self._step * DURATION_SLACK
            entries.append(
                (dts, index, partial(self._video_fragment, frame=frame, pts=pts, dts=dts, step=step))
            )
            last = dts
        if self._sound is not None:
            entries += [
                (packet.pts, len(video) + i, partial(self._audio_fragment, audio=packet))
                for i, packet in enumerate(aac)
            ]
        entries.sort(key=lambda entry: (entry[0], entry[1]))
        out: list[bytes] = []
        for _, _, make in entries:
            try:
                out.append(make(len(out) + 1))
            except ValueError:
                continue  # a frame that could not be written live either (counted then)
        return out

    def _video_fragment(self, sequence: int, frame: Frame, pts: int, dts: int, step: int) -> bytes:
        clock = self._video
        assert clock is not None and self.codec is not None
        base = clock(dts)
        parts, size = length_prefixed_parts(frame.data, self.codec)
        return single_fragment(
            sequence,
            clock.track_id,
            base,
            parts,
            size,
            duration=max(clock(dts + step) - base, 1),
            flags=SYNC_SAMPLE if frame.keyframe else NON_SYNC_SAMPLE,
            composition_offset=clock(pts) - base,
        )

    def _audio_fragment(self, sequence: int, audio: AudioPacket) -> bytes:
        clock = self._sound
        assert clock is not None
        base = clock(audio.pts)
        sample = Sample(data=audio.data, duration=max(clock(audio.pts + audio.duration) - base, 1))
        return fragment(sequence, clock.track_id, base, [sample])

    def _error(self, what: str, exc: Exception) -> None:
        self.errors += 1
        log = logger.warning if self.errors == 1 else logger.debug
        log("fmp4: %s: %s", what, exc)

    @property
    def content_type(self) -> str | None:
        """The full MIME type for MSE: audio-only at once, with video once the init segment exists."""
        if self.codec is not None and self.mime is None:
            return None
        return content_type(self.mime, audio=self.audio)

    def close(self) -> list[bytes]:
        """Nothing is held back: every fragment went out when its frame came in."""
        self._closed = True
        return []
