"""Waiting, from a test's own thread, for something another thread or process brings about."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def eventually(
    check: Callable[[], Any], timeout: float = 10.0, what: str = "condition", *, interval: float = 0.02
) -> Any:
    """The first true result of `check`, called every `interval` seconds for up to `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)
