"""Branch, tag, Call-ID and cnonce generation from an injected random source.

Production passes ``random.SystemRandom()``; tests pass a seeded ``random.Random`` so every
generated message is reproducible byte for byte. Nothing here reads the clock.
"""

from __future__ import annotations

import random

MAGIC_COOKIE = "z9hG4bK"


class IdSource:
    __slots__ = ("_rng",)

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def branch(self) -> str:
        """A Via branch, unique in space and time (RFC 3261 8.1.1.7), with the magic cookie."""
        return f"{MAGIC_COOKIE}{self._rng.getrandbits(64):016x}"

    def tag(self) -> str:
        """A From/To tag. Digits only: several GB devices mishandle letters in tags."""
        return str(self._rng.randrange(10**9, 10**10))

    def call_id(self, host: str | None = None) -> str:
        value = f"{self._rng.getrandbits(96):024x}"
        return f"{value}@{host}" if host else value

    def cnonce(self) -> str:
        return f"{self._rng.getrandbits(64):016x}"
