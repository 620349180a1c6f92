"""Snapshots: one keyframe decoded and encoded as a JPEG thumbnail."""

from __future__ import annotations

import io

import av
import pytest

from media.ps.frame import Frame
from media.snapshot import SnapshotError, keyframe_to_jpeg


def test_a_d1_keyframe_becomes_a_704x576_jpeg(d1_frames: list[Frame]) -> None:
    keyframe = next(f for f in d1_frames if f.keyframe)
    jpeg = keyframe_to_jpeg("h264", keyframe.data)
    assert jpeg[:2] == b"\xff\xd8" and jpeg[-2:] == b"\xff\xd9"
    with av.open(io.BytesIO(jpeg)) as container:
        picture = next(container.decode(video=0))
    assert (picture.width, picture.height) == (704, 576)


def test_bytes_that_are_not_a_keyframe_give_a_clear_error() -> None:
    with pytest.raises(SnapshotError, match="keyframe"):
        keyframe_to_jpeg("h264", b"\x00\x00\x00\x01\x09\xf0")


def test_audio_has_no_picture() -> None:
    with pytest.raises(SnapshotError, match="no decoder for g711a"):
        keyframe_to_jpeg("g711a", b"\xd5" * 160)
