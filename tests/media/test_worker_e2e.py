"""The media worker end to end: commands over the real Redis bus, RTP over real loopback sockets,
then what a browser would get (HLS that ffprobe reads, fMP4 over WebSocket that PyAV decodes,
a JPEG snapshot) and what the gateway would get (keyframe facts, statistics, timeout events)."""

from __future__ import annotations

import asyncio
import io
import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import av
import pytest
import websockets
from django.conf import settings

from gbplatform.bus import CommandFailed, bus_request_async
from gbplatform.redis_client import get_async_redis
from media.fragment import starts_with_sync_sample as _starts_with_sync_sample
from media.live import OutputConfig
from media.ps.frame import Frame
from media.ps.mux import PsMuxer
from media.rtp.packetizer import Packetizer
from media.service import MediaWorkerService, bus_target, events_channel
from media.tokens import stream_urls, token_sign
from media.worker import WorkerConfig
from tests.media.conftest import AUDIO_PS, D1_LEN16, D1_RTP, av_sync, encode_frames, g711_frames, ps_rtp
from tests.media.replay import (
    d1_rtp_packets,
    ffprobe,
    ffprobe_video_packets,
    len16_frames,
    ps_to_rtp,
    send_tcp,
    send_udp,
    wait_for,
)
from tests.vectors import vector_files, vector_path

D1_SSRC = 0x05F5ED76
D1_FRAMES = 1400  # distinct RTP timestamps in the capture, one frame each, 25 fps


class Worker:
    """A media worker service running in this event loop, and a client to command it."""

    def __init__(self, service: MediaWorkerService, client: Any) -> None:
        self.service = service
        self.client = client

    async def command(
        self, name: str, args: dict[str, Any] | None = None, timeout: float = 15.0
    ) -> dict[str, Any]:
        return await bus_request_async(
            self.client, bus_target(self.service.instance), name, args, timeout=timeout
        )

    def received(self, stream_id: str) -> int:
        live = self.service.worker.streams.get(stream_id)
        return live.datagrams if live is not None else 0

    def urls(self, stream_id: str) -> dict[str, str]:
        token = token_sign(secret=settings.SECRET_KEY, stream_id=stream_id, expires=int(time.time()) + 60)
        return stream_urls(http_base=f"http://{self.service.http_address}", stream_id=stream_id, token=token)


@pytest.fixture
async def worker(tmp_path: Path) -> AsyncIterator[Worker]:
    config = WorkerConfig(
        output_dir=tmp_path,
        bind_host="127.0.0.1",
        advertised_host="127.0.0.1",
        outputs=OutputConfig(list_size=0, keep_files=True),
    )
    service = MediaWorkerService(
        f"test-{uuid.uuid4().hex[:8]}", ports=(47300, 47339), config=config, http_bind="127.0.0.1:0"
    )
    service.bus_wait = 0.1
    client = get_async_redis()
    await service.start()
    try:
        yield Worker(service, client)
    finally:
        await service.stop()
        await service.redis.aclose()
        await client.aclose()


def _probe_hls(playlist: Path) -> tuple[str, int, int, int, float]:
    probe = ffprobe(playlist)
    (stream,) = probe["streams"]
    return (
        stream["codec_name"],
        stream["width"],
        stream["height"],
        int(stream["nb_read_frames"]),
        float(probe["format"]["duration"]),
    )


async def _http_get(url: str) -> tuple[int, bytes]:
    def get() -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    return await asyncio.to_thread(get)


async def _want_hls(worker: Worker, stream_id: str) -> None:
    """A player opens the HLS URL right after the play: before the first keyframe it is a 404,
    and the writer starts at that keyframe, so the playlist holds the whole stream."""
    assert (await _http_get(worker.urls(stream_id)["hls"]))[0] == 404


async def _collect_ws(url: str) -> tuple[dict[str, Any], list[bytes]]:
    async with websockets.connect(url, max_size=None) as ws:
        info = json.loads(await ws.recv())
        chunks = [message async for message in ws]
    return info, [c for c in chunks if isinstance(c, bytes)]


async def test_d1_rtp_over_udp_plays_as_hls_and_answers_the_keyframe_wait(
    worker: Worker, tmp_path: Path
) -> None:
    opened = await worker.command("stream.open", {"stream_id": "udp-d1", "ssrc": D1_SSRC, "transport": "udp"})
    await _want_hls(worker, "udp-d1")
    assert (opened["transport"], opened["host"]) == ("udp", "127.0.0.1")
    waiting = asyncio.ensure_future(
        worker.command("stream.wait_keyframe", {"stream_id": "udp-d1", "timeout": 10})
    )
    packets = d1_rtp_packets(vector_path(D1_RTP))
    await send_udp(packets, opened["port"], lambda: worker.received("udp-d1"))
    assert await waiting == {
        "stream_id": "udp-d1",
        "codec": "h264",
        "width": 704,
        "height": 576,
        "mime": 'video/mp4; codecs="avc1.4D001E"',
        "audio": False,
    }

    (stats,) = (await worker.command("stream.list"))["streams"]
    assert (stats["packets"], stats["lost"], stats["video_frames"], stats["transport"]) == (
        3096,
        0,
        D1_FRAMES,
        "udp",
    )
    assert worker.service.heartbeat_info()["streams"] == 1

    status, jpeg = await _http_get(worker.urls("udp-d1")["snapshot"])
    assert (status, jpeg[:2]) == (200, b"\xff\xd8")
    with av.open(io.BytesIO(jpeg)) as picture:
        assert (picture.streams.video[0].width, picture.streams.video[0].height) == (704, 576)

    await worker.command("stream.close", {"stream_id": "udp-d1"})
    codec, width, height, frames, duration = _probe_hls(tmp_path / "udp-d1" / "index.m3u8")
    assert (codec, width, height, frames) == ("h264", 704, 576, D1_FRAMES)
    assert duration == pytest.approx(D1_FRAMES / 25, abs=1 / 25)
    assert (await worker.command("stream.list"))["streams"] == []


async def test_len16_rtp_over_tcp_passive_plays_as_hls_and_as_websocket_fmp4(
    worker: Worker, tmp_path: Path
) -> None:
    opened = await worker.command(
        "stream.open", {"stream_id": "tcp-p", "ssrc": D1_SSRC, "transport": "tcp-passive"}
    )
    await _want_hls(worker, "tcp-p")
    viewer = asyncio.ensure_future(_collect_ws(worker.urls("tcp-p")["ws_fmp4"]))
    await wait_for(lambda: bool(worker.service.worker.streams["tcp-p"].viewers), what="the viewer to join")
    packets = len16_frames(vector_path(D1_LEN16).read_bytes())
    _, writer = await asyncio.open_connection("127.0.0.1", opened["port"])
    live = worker.service.worker.streams["tcp-p"]
    # 56 s of video arrives in a fraction of a second: let the viewer keep up, as it would live.
    await send_tcp(
        writer,
        packets,
        lambda: worker.received("tcp-p"),
        lambda: all(v.queue.qsize() < 64 for v in live.viewers),
    )
    await worker.command("stream.close", {"stream_id": "tcp-p"})
    writer.close()

    info, chunks = await asyncio.wait_for(viewer, timeout=10)
    assert info == {
        "mime": 'video/mp4; codecs="avc1.4D001E"',
        "codec": "h264",
        "width": 704,
        "height": 576,
        "audio": False,
    }
    init, fragments = chunks[0], chunks[1:]
    assert init[4:8] == b"ftyp" and _starts_with_sync_sample(fragments[0])
    with av.open(io.BytesIO(b"".join(chunks))) as container:
        assert len(list(container.decode(video=0))) == D1_FRAMES

    assert _probe_hls(tmp_path / "tcp-p" / "index.m3u8")[:4] == ("h264", 704, 576, D1_FRAMES)


async def test_len16_rtp_over_tcp_active_reaches_the_device_and_plays_as_hls(
    worker: Worker, tmp_path: Path
) -> None:
    packets = len16_frames(vector_path(D1_LEN16).read_bytes())

    hls_wanted = asyncio.Event()

    async def device(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        streams = worker.service.worker.streams
        await hls_wanted.wait()
        await send_tcp(
            writer, packets, lambda: worker.received("tcp-a") if "tcp-a" in streams else len(packets)
        )
        await reader.read()  # until the platform hangs up
        writer.close()

    server = await asyncio.start_server(device, "127.0.0.1", 0)
    device_port = server.sockets[0].getsockname()[1]
    try:
        await worker.command(
            "stream.open",
            {
                "stream_id": "tcp-a",
                "ssrc": D1_SSRC,
                "transport": "tcp-active",
                "remote_host": "127.0.0.1",
                "remote_port": device_port,
            },
        )
        await _want_hls(worker, "tcp-a")
        hls_wanted.set()
        await wait_for(lambda: worker.received("tcp-a") == len(packets), what="all packets")
        await worker.command("stream.close", {"stream_id": "tcp-a"})
    finally:
        server.close()
    assert _probe_hls(tmp_path / "tcp-a" / "index.m3u8")[:4] == ("h264", 704, 576, D1_FRAMES)


@pytest.mark.parametrize("ps_file", vector_files("ps", "*.ps"), ids=lambda p: p.name)
async def test_ps_captures_packetized_as_cameras_do_play_as_hls_with_every_frame(
    worker: Worker, tmp_path: Path, ps_file: Path
) -> None:
    # The reference is ffprobe reading the PS file itself: its frame count and picture size.
    keyframes = ffprobe_video_packets(ps_file)
    expected_frames = len(keyframes) - keyframes.index(True)
    (source,) = [s for s in ffprobe(ps_file)["streams"] if s["codec_type"] == "video"]

    opened = await worker.command("stream.open", {"stream_id": "ps", "ssrc": 77})
    await _want_hls(worker, "ps")
    await send_udp(ps_to_rtp(ps_file.read_bytes(), ssrc=77), opened["port"], lambda: worker.received("ps"))
    await worker.command("stream.close", {"stream_id": "ps"})

    codec, width, height, frames, _ = _probe_hls(tmp_path / "ps" / "index.m3u8")
    assert (codec, width, height, frames) == ("h264", source["width"], source["height"], expected_frames)


async def test_the_audio_only_sample_gives_a_clear_audio_only_answer(worker: Worker) -> None:
    opened = await worker.command("stream.open", {"stream_id": "audio", "ssrc": 5})
    waiting = asyncio.ensure_future(
        worker.command("stream.wait_keyframe", {"stream_id": "audio", "timeout": 10})
    )
    packets = ps_to_rtp(vector_path(AUDIO_PS).read_bytes(), ssrc=5, limit=150_000)
    await send_udp(packets, opened["port"], lambda: worker.received("audio"))
    with pytest.raises(CommandFailed, match=r"audio only \(g711a\)") as refused:
        await waiting
    assert refused.value.status == 415
    (stats,) = (await worker.command("stream.list"))["streams"]
    assert (stats["audio_only"], stats["codec"], stats["audio_codec"]) == (True, None, "g711a")
    status, _ = await _http_get(worker.urls("audio")["snapshot"])
    assert status == 404


async def test_h264_with_g711_over_udp_plays_with_aac_in_hls_and_in_websocket_fmp4(
    worker: Worker, tmp_path: Path, d1_frames: list[Frame], g711a: bytes
) -> None:
    video = [f for f in d1_frames if f.stream == "video"][:500]  # 20 s of the D1 camera
    packets = ps_rtp(av_sync(video, g711_frames(g711a)), ssrc=711)  # and the real G.711 beside it
    opened = await worker.command("stream.open", {"stream_id": "av", "ssrc": 711, "audio": True})
    await _want_hls(worker, "av")
    assert opened["audio"] is True
    viewer = asyncio.ensure_future(_collect_ws(worker.urls("av")["ws_fmp4"]))
    await wait_for(lambda: bool(worker.service.worker.streams["av"].viewers), what="the viewer to join")
    waiting = asyncio.ensure_future(worker.command("stream.wait_keyframe", {"stream_id": "av", "timeout": 10}))
    live = worker.service.worker.streams["av"]
    await send_udp(
        packets, opened["port"], lambda: worker.received("av") if all(v.queue.qsize() < 64 for v in live.viewers) else 0
    )
    answer = await waiting
    assert (answer["codec"], answer["audio"]) == ("h264", True)
    assert answer["mime"] == 'video/mp4; codecs="avc1.4D001E,mp4a.40.2"'
    await worker.command("stream.close", {"stream_id": "av"})

    streams = ffprobe(tmp_path / "av" / "index.m3u8")["streams"]
    assert [(s["codec_name"], s.get("sample_rate")) for s in streams] == [("h264", None), ("aac", "16000")]
    assert int(streams[0]["nb_read_frames"]) == 500
    assert int(streams[1]["nb_read_frames"]) * 1024 / 16000 == pytest.approx(20.0, abs=0.2)

    info, chunks = await asyncio.wait_for(viewer, timeout=10)
    assert (info["mime"], info["audio"]) == (answer["mime"], True)
    with av.open(io.BytesIO(b"".join(chunks))) as container:
        assert [s.type for s in container.streams] == ["video", "audio"]
        frames = list(container.decode())
    pictures = [f for f in frames if isinstance(f, av.VideoFrame)]
    sound = sum(f.samples for f in frames if isinstance(f, av.AudioFrame))
    assert len(pictures) == 500 and sound / 16000 == pytest.approx(20.0, abs=0.2)


async def test_with_audio_on_the_audio_only_sample_plays_as_audio_only_hls(worker: Worker, tmp_path: Path) -> None:
    opened = await worker.command("stream.open", {"stream_id": "radio", "ssrc": 5, "audio": True})
    waiting = asyncio.ensure_future(worker.command("stream.wait_keyframe", {"stream_id": "radio", "timeout": 10}))
    packets = ps_to_rtp(vector_path(AUDIO_PS).read_bytes(), ssrc=5, limit=400_000)
    await send_udp(packets, opened["port"], lambda: worker.received("radio"))
    assert await waiting == {
        "stream_id": "radio",
        "codec": None,
        "width": None,
        "height": None,
        "mime": 'audio/mp4; codecs="mp4a.40.2"',
        "audio": True,
    }
    await worker.command("stream.close", {"stream_id": "radio"})
    (stream,) = ffprobe(tmp_path / "radio" / "index.m3u8")["streams"]
    assert (stream["codec_name"], stream["sample_rate"], stream["channels"]) == ("aac", "16000", 1)


async def test_a_stream_whose_rtp_stops_is_closed_and_announced_on_the_events_channel(worker: Worker) -> None:
    pubsub = worker.client.pubsub()
    await pubsub.subscribe(events_channel())
    try:
        opened = await worker.command(
            "stream.open", {"stream_id": "stops", "ssrc": D1_SSRC, "rtp_timeout": 0.3}
        )
        await send_udp(
            d1_rtp_packets(vector_path(D1_RTP))[:100], opened["port"], lambda: worker.received("stops")
        )
        event = None
        deadline = asyncio.get_running_loop().time() + 5
        while event is None and asyncio.get_running_loop().time() < deadline:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is not None:
                event = json.loads(message["data"])
    finally:
        await pubsub.aclose()
    assert event is not None, "no timeout event within 5 s"
    assert (event["event"], event["stream_id"], event["instance"], event["packets"]) == (
        "stream.timeout",
        "stops",
        worker.service.instance,
        100,
    )
    assert (await worker.command("stream.list"))["streams"] == []
    assert worker.service.heartbeat_info()["ports_free"] == 20


async def test_hls_starts_on_the_first_request_and_that_request_waits_for_its_first_segment(
    worker: Worker, tmp_path: Path
) -> None:
    opened = await worker.command("stream.open", {"stream_id": "on-demand", "ssrc": D1_SSRC})
    packets = d1_rtp_packets(vector_path(D1_RTP))
    await send_udp(packets[:700], opened["port"], lambda: worker.received("on-demand"))
    live = worker.service.worker.streams["on-demand"]
    assert live.hls is None and live.fmp4 is None and not (tmp_path / "on-demand").exists()

    # A player's first playlist request while RTP keeps coming: answered with a segment, not a 404.
    first = asyncio.ensure_future(_http_get(worker.urls("on-demand")["hls"]))
    await wait_for(lambda: live.hls is not None, what="the request to start the HLS writer")
    await send_udp(packets[700:1000], opened["port"], lambda: worker.received("on-demand") - 700)
    status, playlist = await first
    assert status == 200 and b"#EXTINF" in playlist
    segment = next(line for line in playlist.decode().splitlines() if line.endswith(".ts"))
    status, data = await _http_get(worker.urls("on-demand")["hls"].replace("index.m3u8", segment))
    assert status == 200
    with av.open(io.BytesIO(data), format="mpegts") as container:
        keyframes = [packet.is_keyframe for packet in container.demux(video=0) if packet.size]
    assert keyframes[0]  # primed from the kept GOP: the segment starts at a keyframe

    # The snapshot needs no muxer either.
    status, jpeg = await _http_get(worker.urls("on-demand")["snapshot"])
    assert (status, jpeg[:2]) == (200, b"\xff\xd8")


async def test_stream_urls_refuse_a_bad_or_expired_token(worker: Worker) -> None:
    await worker.command("stream.open", {"stream_id": "guarded", "ssrc": 1})
    good = worker.urls("guarded")["hls"]
    expired = token_sign(secret=settings.SECRET_KEY, stream_id="guarded", expires=int(time.time()) - 1)
    other = token_sign(secret=settings.SECRET_KEY, stream_id="another", expires=int(time.time()) + 60)
    prefix = good.rsplit("/", 2)[0]
    assert (await _http_get(prefix + f"/{expired}/index.m3u8"))[0] == 403
    assert (await _http_get(prefix + f"/{other}/index.m3u8"))[0] == 403
    assert (await _http_get(good))[0] == 404  # valid token, no segment yet
    with pytest.raises(websockets.InvalidStatus, match="HTTP 403"):
        async with websockets.connect((prefix + f"/{expired}/live.mp4").replace("http", "ws", 1)):
            pass


async def test_h265_in_ps_plays_as_fmp4_hls_with_an_hevc_codecs_string(
    worker: Worker, tmp_path: Path
) -> None:
    frames = encode_frames("libx265", count=30)  # no public H.265 PS capture: our muxer makes one
    muxer = PsMuxer(video_codec="h265")
    packetizer = Packetizer(ssrc=265)
    packets = [p for f in frames for p in packetizer.packetize(muxer.mux(f), f.pts)]
    opened = await worker.command("stream.open", {"stream_id": "hevc", "ssrc": 265})
    await _want_hls(worker, "hevc")
    waiting = asyncio.ensure_future(
        worker.command("stream.wait_keyframe", {"stream_id": "hevc", "timeout": 10})
    )
    await send_udp(packets, opened["port"], lambda: worker.received("hevc"))
    answer = await waiting
    assert (answer["codec"], answer["width"], answer["height"]) == ("h265", 320, 180)
    assert answer["mime"].startswith('video/mp4; codecs="hev1.1.') or answer["mime"].startswith(
        'video/mp4; codecs="hvc1.1.'
    )
    await worker.command("stream.close", {"stream_id": "hevc"})
    assert '#EXT-X-MAP:URI="init.mp4"' in (tmp_path / "hevc" / "index.m3u8").read_text()
    assert _probe_hls(tmp_path / "hevc" / "index.m3u8")[:4] == ("hevc", 320, 180, 30)
