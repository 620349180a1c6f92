"""The kept group of pictures: from the last video keyframe on, bounded, audio carried along."""

from __future__ import annotations

from media.gop import GopCache
from media.ps.frame import Frame


def _video(index: int, *, key: bool = False, size: int = 10) -> Frame:
    return Frame("video", "h264", index * 3600, index * 3600, bytes(size), key)


def _audio(index: int) -> Frame:
    return Frame("audio", "g711a", index * 3600, index * 3600, bytes(8))


def test_frames_before_the_first_keyframe_are_not_kept() -> None:
    gop = GopCache()
    gop.add(_video(0), 0, 0)
    assert gop.frames == [] and not gop


def test_the_group_restarts_at_each_video_keyframe_and_keeps_audio_in_between() -> None:
    gop = GopCache()
    for index in range(5):
        gop.add(_video(index, key=index % 3 == 0), index, index)
        gop.add(_audio(index), index, index)
    assert [(f.stream, f.keyframe, pts) for f, pts, _ in gop.frames] == [
        ("video", True, 3),
        ("audio", False, 3),
        ("video", False, 4),
        ("audio", False, 4),
    ]
    assert gop.nbytes == 10 + 8 + 10 + 8


def test_a_group_over_its_bounds_is_dropped_until_the_next_keyframe() -> None:
    gop = GopCache(max_bytes=35)
    for index in range(4):
        gop.add(_video(index, key=index == 0), index, index)
    assert gop.frames == [] and gop.overflows == 1
    gop.add(_video(4), 4, 4)
    assert gop.frames == []
    gop.add(_video(5, key=True), 5, 5)
    assert [pts for _, pts, _ in gop.frames] == [5]

    by_count = GopCache(max_frames=2)
    for index in range(3):
        by_count.add(_video(index, key=index == 0), index, index)
    assert len(by_count) == 0 and by_count.overflows == 1
