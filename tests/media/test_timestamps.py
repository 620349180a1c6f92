"""Timeline: what muxers receive starts at 0 and its DTS always moves forward."""

from __future__ import annotations

import pytest

from media.timestamps import WRAP, Timeline


def _run(dts_values: list[int], step_cts: int = 0) -> tuple[list[int], Timeline]:
    timeline = Timeline()
    out = [timeline.map(dts + step_cts, dts)[1] for dts in dts_values]
    return out, timeline


def test_timestamps_are_rebased_to_zero_and_keep_their_spacing() -> None:
    out, timeline = _run([900_000, 903_600, 907_200])
    assert out == [0, 3600, 7200]
    assert timeline.fixed == 0


def test_the_33_bit_wrap_is_crossed_without_a_jump() -> None:
    out, _ = _run([WRAP - 3600, 0, 3600])
    assert out == [0, 3600, 7200]


@pytest.mark.parametrize(
    ("dts_values", "expected"),
    [
        ([0, 3600, 3600, 7200], [0, 3600, 7200, 10800]),  # repeated DTS
        ([0, 3600, 1800, 5400], [0, 3600, 7200, 10800]),  # DTS steps back
        ([0, 3600, 3600 + 90000 * 60, 3600 + 90000 * 60 + 3600], [0, 3600, 7200, 10800]),  # new time base
    ],
    ids=["repeat", "step-back", "jump"],
)
def test_a_dts_that_does_not_move_forward_is_replaced_by_the_last_frame_interval(
    dts_values: list[int], expected: list[int]
) -> None:
    out, timeline = _run(dts_values)
    assert out == expected
    assert timeline.fixed == 1


def test_pts_keeps_its_offset_from_dts_for_b_frames() -> None:
    timeline = Timeline()
    assert timeline.map(1000 + 7200, 1000) == (7200, 0)
    assert timeline.map(1000 + 3600, 1000 + 3600) == (3600, 3600)


def test_audio_follows_the_video_timeline_across_the_wrap_and_a_fixed_jump() -> None:
    timeline = Timeline()
    assert timeline.follow(123) == 0  # nothing mapped yet
    timeline.map(WRAP - 3600, WRAP - 3600)
    assert timeline.follow(WRAP - 1800) == 1800  # audio 20 ms after the frame
    timeline.map(0, 0)  # the 33-bit clock wrapped
    assert timeline.follow(1800) == 3600 + 1800
    timeline.map(500 * 90_000, 500 * 90_000)  # a camera restart: the video is mended to one frame
    assert timeline.follow(500 * 90_000 - 900) == 2 * 3600 - 900  # and its audio moves with it
