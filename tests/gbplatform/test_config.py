"""MEDIA_PUBLIC_URL is read once at start and refused there when it cannot be a base URL."""

from __future__ import annotations

import pytest

from gbplatform.config import public_media_url


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("", ""),
        ("direct", "direct"),
        ("DIRECT", "direct"),
        ("https://video.example.com/", "https://video.example.com"),
        ("http://10.0.0.2:8000/gb", "http://10.0.0.2:8000/gb"),
    ],
)
def test_public_media_url_is_empty_direct_or_a_base_url(monkeypatch: pytest.MonkeyPatch, raw: str, value: str) -> None:
    monkeypatch.setenv("MEDIA_PUBLIC_URL", raw)
    assert public_media_url("MEDIA_PUBLIC_URL") == value


@pytest.mark.parametrize("raw", ["video.example.com", "ftp://video.example.com", "https://", "https://v.example/?a=1", "web"])
def test_anything_else_stops_the_start_with_the_reason(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("MEDIA_PUBLIC_URL", raw)
    with pytest.raises(ValueError, match="MEDIA_PUBLIC_URL must be empty, 'direct' or a base URL"):
        public_media_url("MEDIA_PUBLIC_URL")
