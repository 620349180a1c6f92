"""Stream URL tokens: signed for one stream, valid until their expiry, useless elsewhere."""

from __future__ import annotations

import pytest

from media.tokens import StreamPath, stream_path_parse, stream_urls, token_sign, token_verify

SECRET = "test-secret"


def test_a_signed_token_is_valid_for_its_stream_until_it_expires() -> None:
    token = token_sign(secret=SECRET, stream_id="cam-1", expires=1_000)
    assert token_verify(token, secret=SECRET, stream_id="cam-1", now=999.5)
    assert token_verify(token, secret=SECRET, stream_id="cam-1", now=1_000)
    assert not token_verify(token, secret=SECRET, stream_id="cam-1", now=1_000.01)


@pytest.mark.parametrize(
    ("stream_id", "secret"),
    [("cam-2", SECRET), ("cam-1", "another-secret")],
    ids=["other-stream", "other-secret"],
)
def test_a_token_does_not_open_another_stream_or_verify_under_another_key(
    stream_id: str, secret: str
) -> None:
    token = token_sign(secret=SECRET, stream_id="cam-1", expires=1_000)
    assert not token_verify(token, secret=secret, stream_id=stream_id, now=0)


@pytest.mark.parametrize(
    "token",
    ["", "1000", "1000.", "abc.0123456789abcdef0123456789abcdef", "2000.0123456789abcdef0123456789abcdef"],
)
def test_malformed_or_forged_tokens_are_refused(token: str) -> None:
    assert not token_verify(token, secret=SECRET, stream_id="cam-1", now=0)


def test_moving_the_expiry_invalidates_the_signature() -> None:
    token = token_sign(secret=SECRET, stream_id="cam-1", expires=1_000)
    forged = "9999" + token[token.index(".") :]
    assert not token_verify(forged, secret=SECRET, stream_id="cam-1", now=0)


def test_stream_urls_put_the_token_in_the_path_so_relative_segment_uris_keep_it() -> None:
    urls = stream_urls(http_base="http://10.0.0.5:8081/", stream_id="cam-1", token="1000.abc")
    assert urls == {
        "hls": "http://10.0.0.5:8081/media/cam-1/1000.abc/index.m3u8",
        "ws_fmp4": "ws://10.0.0.5:8081/media/cam-1/1000.abc/live.mp4",
        "snapshot": "http://10.0.0.5:8081/media/cam-1/1000.abc/snapshot.jpg",
    }
    assert stream_urls(http_base="https://media.example", stream_id="s", token="t")["ws_fmp4"].startswith(
        "wss://"
    )


def test_a_stream_url_path_parses_into_stream_token_and_file() -> None:
    path = "/media/cam-1/1000.0123456789abcdef0123456789abcdef/seg12.ts"
    assert stream_path_parse(path) == StreamPath("cam-1", "1000.0123456789abcdef0123456789abcdef", "seg12.ts")


@pytest.mark.parametrize(
    "path",
    [
        "/media/cam-1/index.m3u8",
        "/media/cam-1/1000.abc/index.m3u8",
        "/media/cam 1/1000.0123456789abcdef0123456789abcdef/index.m3u8",
        "/media/cam-1/1000.0123456789abcdef0123456789abcdef/../secret",
        "/api/media/cam-1/1000.0123456789abcdef0123456789abcdef/index.m3u8",
    ],
)
def test_paths_that_are_not_stream_urls_do_not_parse(path: str) -> None:
    assert stream_path_parse(path) is None
