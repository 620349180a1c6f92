"""The current group of pictures, kept so an output can start at once instead of at the next keyframe.

A stream nobody watches is only received and demuxed; when a viewer or an HLS request arrives the
muxer starts and is primed with these frames (the last video keyframe and everything after it),
so the first picture is there immediately. Sans-IO: frames in, frames out.
"""

from __future__ import annotations

from media.ps.frame import Frame

DEFAULT_MAX_BYTES = 8 * 1024 * 1024
DEFAULT_MAX_FRAMES = 600  # 24 s at 25 fps: a camera with a longer GOP is not primed, only started


class GopCache:
    """Frames with their output (pts, dts) since the last video keyframe, bounded.

    Frames of any kind may be added (video and audio); the group restarts at every video keyframe.
    A group that grows past the bounds is dropped, and the cache stays empty until the next
    keyframe: an output primed from half a group would start with undecodable pictures.
    """

    def __init__(self, *, max_bytes: int = DEFAULT_MAX_BYTES, max_frames: int = DEFAULT_MAX_FRAMES) -> None:
        self.max_bytes = max_bytes
        self.max_frames = max_frames
        self._frames: list[tuple[Frame, int, int]] = []
        self._bytes = 0
        self._open = False  # a group has started and has not overflowed
        self.overflows = 0

    def add(self, frame: Frame, pts: int, dts: int) -> None:
        if frame.keyframe and frame.stream == "video":
            self._frames = [(frame, pts, dts)]
            self._bytes = len(frame.data)
            self._open = True
            return
        if not self._open:
            return
        self._bytes += len(frame.data)
        self._frames.append((frame, pts, dts))
        if self._bytes > self.max_bytes or len(self._frames) > self.max_frames:
            self.overflows += 1
            self.clear()

    def clear(self) -> None:
        self._frames = []
        self._bytes = 0
        self._open = False

    @property
    def frames(self) -> list[tuple[Frame, int, int]]:
        """The group in arrival order, starting with a video keyframe; empty when there is none."""
        return list(self._frames)

    @property
    def nbytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._frames)
