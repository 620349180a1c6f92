"""Clips encoded once per test session (PyAV encoding is the slow part)."""

from __future__ import annotations

import pytest

from gbsim.stream.clip import Clip
from gbsim.stream.pattern import encode_pattern


@pytest.fixture(scope="session")
def h264_clip() -> Clip:
    return encode_pattern("h264", seconds=2.0, gop=25, audio=True)


@pytest.fixture(scope="session")
def h265_clip() -> Clip:
    return encode_pattern("h265", width=320, height=180, seconds=1.0, gop=25)
