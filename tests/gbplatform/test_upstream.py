"""One request to an upstream HTTP/1.1 server: the head arrives first, the body piece by piece, and
each way it can fail is one named error."""

from __future__ import annotations

import asyncio
import socket

import pytest

from gbplatform.upstream import UpstreamError, UpstreamTimeout, UpstreamUnreachable, upstream_request
from tests.gbplatform.fake_upstream import fake_upstream

OK_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: video/mp2t\r\ncontent-length: 6\r\n\r\n"


async def get(port: int, *, method: str = "GET", read_timeout: float = 5.0) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    async with upstream_request(
        host="127.0.0.1", port=port, method=method, target="/media/s/1.ab/seg1.ts", read_timeout=read_timeout
    ) as response:
        body = b"".join([chunk async for chunk in response.chunks()])
    return response.status, response.headers, body


async def test_the_request_names_the_host_and_closes_the_connection_and_the_answer_is_read_whole() -> None:
    async with fake_upstream([OK_HEAD, b"abc", b"def"]) as upstream:
        status, headers, body = await get(upstream.port)
    assert (status, body) == (200, b"abcdef")
    assert (b"content-type", b"video/mp2t") in headers
    head = upstream.requests[0].lower()
    assert head.startswith(b"get /media/s/1.ab/seg1.ts http/1.1\r\n")
    assert f"host: 127.0.0.1:{upstream.port}\r\n".encode() in head and b"connection: close\r\n" in head


async def test_a_chunked_body_is_decoded_and_an_informational_response_skipped() -> None:
    chunked = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    async with fake_upstream([chunked]) as upstream:
        assert (await get(upstream.port))[::2] == (200, b"abcde")


async def test_head_has_a_length_and_no_body() -> None:
    async with fake_upstream([OK_HEAD]) as upstream:
        status, headers, body = await get(upstream.port, method="HEAD")
    assert (status, body) == (200, b"") and (b"content-length", b"6") in headers


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_refused_connection_is_unreachable() -> None:
    with pytest.raises(UpstreamUnreachable):
        await get(_closed_port())


async def test_a_body_cut_short_is_an_error() -> None:
    async with fake_upstream([OK_HEAD, b"abc"]) as upstream:
        with pytest.raises(UpstreamError, match="invalid HTTP"):
            await get(upstream.port)


async def test_an_answer_that_is_not_http_is_an_error() -> None:
    async with fake_upstream([b"SSH-2.0-OpenSSH_9.2\r\n\r\n"]) as upstream:
        with pytest.raises(UpstreamError):
            await get(upstream.port)


async def test_a_connection_closed_without_an_answer_is_an_error() -> None:
    async with fake_upstream([]) as upstream:
        with pytest.raises(UpstreamError):
            await get(upstream.port)


async def test_an_upstream_silent_past_the_read_timeout_is_a_timeout() -> None:
    never = asyncio.Event()
    async with fake_upstream([OK_HEAD[:10], never]) as upstream:
        with pytest.raises(UpstreamTimeout):
            await get(upstream.port, read_timeout=0.1)
        never.set()
