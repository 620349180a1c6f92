"""GB SDP: offers and answers from the captured session, our own offers and answers, SSRCs."""

from __future__ import annotations

import re

import pytest

from sip_gateway.sdp import (
    MediaFormat,
    Transport,
    build_answer,
    build_offer,
    make_ssrc,
    parse_answer,
    parse_media_format,
    parse_offer,
    parse_sdp,
    parse_ssrc,
    ssrc_to_rtp,
)
from tests.vectors import vector_path

CAPTURE = "sip/dahua_sd_hik_nvr"
PLATFORM = "34020000002000000001"
CHANNEL = "34020000001310000001"


def sdp_body(name: str) -> bytes:
    """The SDP after the header/body separator. The capture went through a blog, so the
    Content-Length is not trusted and one line (`a=password`) lost its CR; both are kept."""
    raw = vector_path(f"{CAPTURE}/{name}").read_bytes()
    return re.split(rb"\r?\n\r?\n", raw, maxsplit=1)[1]


@pytest.mark.parametrize(
    ("name", "session", "uri", "start", "end", "ssrc"),
    [
        ("19_platform_INVITE.sip", "Play", None, 0, 0, "0000001002"),
        (
            "38_platform_INVITE.sip",
            "Playback",
            "34020000001310000001:3",
            1714804996,
            1714806986,
            "0000002000",
        ),
        (
            "49_platform_INVITE.sip",
            "Download",
            "34020000001310000001:3",
            1714804996,
            1714806986,
            "0000003000",
        ),
    ],
)
def test_captured_platform_offers(
    name: str, session: str, uri: str | None, start: int, end: int, ssrc: str
) -> None:
    offer = parse_offer(sdp_body(name))
    assert (offer.session_name, offer.uri, offer.start_time, offer.end_time, offer.ssrc) == (
        session,
        uri,
        start,
        end,
        ssrc,
    )
    assert (offer.connection_address, offer.port, offer.transport) == ("192.168.6.106", 45056, Transport.UDP)
    assert offer.payload_types == (96, 98, 97) and offer.direction == "recvonly"
    assert (
        offer.payload_type_for("ps"),
        offer.payload_type_for("H264"),
        offer.payload_type_for("MPEG4"),
    ) == (96, 98, 97)
    assert offer.media_format is None  # `f=` is present but empty
    assert offer.is_history is (session != "Play")


def test_offer_channel_comes_from_u_for_history_and_from_o_otherwise() -> None:
    assert parse_offer(sdp_body("38_platform_INVITE.sip")).channel_id == CHANNEL
    assert parse_offer(sdp_body("19_platform_INVITE.sip")).channel_id == "34020000002000000010"


def test_captured_dahua_live_answer_with_f_line_and_streamprofile() -> None:
    answer = parse_answer(sdp_body("22_device_resp200-INVITE.sip"))
    assert (answer.connection_address, answer.port, answer.direction, answer.ssrc) == (
        "192.168.6.71",
        9712,
        "sendonly",
        "0000001002",
    )
    assert answer.rtpmap == {96: ("PS", 90000)} and answer.attribute("streamprofile") == "0"
    assert answer.media_format == MediaFormat(
        video_codec=0,
        video_resolution="0",
        video_fps=0,
        video_rate_type=0,
        video_kbps=0,
        audio_codec=0,
        audio_bitrate=0,
        audio_sample_rate=0,
    )


@pytest.mark.parametrize(
    ("name", "port"), [("39_device_resp200-INVITE.sip", 62000), ("50_device_resp200-INVITE.sip", 62002)]
)
def test_captured_hikvision_nvr_history_answers_with_filesize_and_a_bare_lf_line(
    name: str, port: int
) -> None:
    answer = parse_answer(sdp_body(name))
    assert (answer.port, answer.file_size, answer.session_name) == (
        port,
        2124794308,
        "Network Video Recorder",
    )
    assert (
        answer.attribute("username") == "34020000001110000001" and answer.attribute("password") == "REDACTED"
    )
    assert (answer.start_time, answer.end_time) == (1714833796, 1714835786)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("v/2/6/25/1/4096a/1/8/1", MediaFormat(2, "6", 25, 1, 4096, 1, 8, 1)),
        ("v/////a/1/8/1", MediaFormat(audio_codec=1, audio_bitrate=8, audio_sample_rate=1)),
        ("v/5/1920x1080/30/2/8192a///", MediaFormat(5, "1920x1080", 30, 2, 8192)),
        ("v/2/6", MediaFormat(video_codec=2, video_resolution="6")),
        ("", None),
        ("garbage", None),
    ],
)
def test_f_line_fields(text: str, expected: MediaFormat | None) -> None:
    assert parse_media_format(text) == expected


def test_f_line_codec_names_and_round_trip() -> None:
    fmt = MediaFormat(
        video_codec=5,
        video_resolution="6",
        video_fps=25,
        video_rate_type=1,
        video_kbps=2048,
        audio_codec=1,
        audio_bitrate=8,
        audio_sample_rate=1,
    )
    assert (fmt.video_codec_name, fmt.audio_codec_name) == ("H.265", "G.711")
    assert fmt.to_line() == "v/5/6/25/1/2048a/1/8/1"
    assert parse_media_format(fmt.to_line()) == fmt
    assert MediaFormat().to_line() == "v/////a///"


def test_lenient_answer_with_lf_only_tcp_setup_and_missing_lines() -> None:
    answer = parse_answer(
        "v=0\nc=IN IP4 10.1.1.1\nm=video 9000 TCP/RTP/AVP 96\na=setup:ACTIVE\na=connection:new\n"
        "a=rtpmap:96 PS/90000\ny=0100000001\nnonsense line\n=\n"
    )
    assert (answer.port, answer.is_tcp, answer.transport, answer.connection_new, answer.ssrc) == (
        9000,
        True,
        Transport.TCP_ACTIVE,
        True,
        "0100000001",
    )
    assert answer.origin_user is None and answer.session_name is None


def test_empty_and_minimal_sdp_do_not_raise() -> None:
    assert parse_sdp(b"").port is None
    assert parse_sdp("m=video").payload_types == ()


def test_media_level_connection_overrides_session_level() -> None:
    sdp = parse_sdp(
        "v=0\r\nc=IN IP4 1.1.1.1\r\nm=video 1 RTP/AVP 96\r\nc=IN IP4 2.2.2.2\r\nm=audio 2 RTP/AVP 8\r\n"
    )
    assert (sdp.connection_address, sdp.media_type, sdp.port) == ("2.2.2.2", "video", 1)


def test_live_udp_offer_is_canonical() -> None:
    offer = build_offer(session="Play", origin_id=PLATFORM, address="10.0.0.5", port=30000, ssrc="0200000001")
    assert offer == (
        "v=0\r\no=34020000002000000001 0 0 IN IP4 10.0.0.5\r\ns=Play\r\nc=IN IP4 10.0.0.5\r\nt=0 0\r\n"
        "m=video 30000 RTP/AVP 96 97 98 99\r\na=recvonly\r\na=rtpmap:96 PS/90000\r\na=rtpmap:97 MPEG4/90000\r\n"
        "a=rtpmap:98 H264/90000\r\na=rtpmap:99 H265/90000\r\ny=0200000001\r\n"
    )


@pytest.mark.parametrize("transport", [Transport.TCP_PASSIVE, Transport.TCP_ACTIVE])
def test_tcp_offers_carry_setup_and_connection_new(transport: Transport) -> None:
    offer = build_offer(
        session="Play",
        origin_id=PLATFORM,
        address="10.0.0.5",
        port=30000,
        ssrc="0200000001",
        transport=transport,
    )
    parsed = parse_offer(offer)
    assert (parsed.proto, parsed.transport, parsed.connection_new) == ("TCP/RTP/AVP", transport, True)


def test_download_offer_has_u_t_and_downloadspeed() -> None:
    offer = build_offer(
        session="Download",
        origin_id=PLATFORM,
        address="10.0.0.5",
        port=30002,
        ssrc=make_ssrc(PLATFORM, 7, history=True),
        channel_id=CHANNEL,
        start_time=1714804996,
        end_time=1714806986,
        download_speed=4,
        payload_types=(96, 98, 100),
    )
    parsed = parse_offer(offer)
    assert (parsed.uri, parsed.channel_id, parsed.start_time, parsed.end_time) == (
        f"{CHANNEL}:0",
        CHANNEL,
        1714804996,
        1714806986,
    )
    assert (parsed.download_speed, parsed.ssrc, parsed.payload_type_for("H265")) == (4, "1200000007", 100)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"session": "Playback", "channel_id": None, "start_time": 1, "end_time": 2},
        {"session": "Playback", "channel_id": CHANNEL, "start_time": 2, "end_time": 2},
        {"session": "Play", "start_time": 5, "end_time": 6},
        {"session": "Play", "port": 70000},
        {"session": "Play", "ssrc": "12345"},
        {"session": "Play", "payload_types": (96, 120)},
        {"session": "Play", "payload_types": ()},
    ],
)
def test_offer_builder_is_strict(kwargs: dict[str, object]) -> None:
    args: dict[str, object] = {
        "origin_id": PLATFORM,
        "address": "10.0.0.5",
        "port": 30000,
        "ssrc": "0200000001",
    }
    args.update(kwargs)
    with pytest.raises(ValueError):
        build_offer(**args)  # type: ignore[arg-type]


def test_answer_to_an_upper_platform_offer_uses_the_opposite_setup() -> None:
    offer = parse_offer(
        build_offer(
            session="Play",
            origin_id=PLATFORM,
            address="10.0.0.5",
            port=30000,
            ssrc="0200000001",
            transport=Transport.TCP_PASSIVE,
        )
    )
    answer_text = build_answer(
        origin_id=CHANNEL,
        address="10.0.0.9",
        port=40000,
        ssrc=offer.ssrc or "",
        transport=offer.transport.opposite(),
        media_format=MediaFormat(video_codec=2, audio_codec=1),
    )
    assert (
        "a=sendonly\r\na=rtpmap:96 PS/90000\r\na=setup:active\r\na=connection:new\r\ny=0200000001\r\n"
        in answer_text
    )
    assert answer_text.endswith("f=v/2////a/1//\r\n")
    answer = parse_answer(answer_text)
    assert (answer.origin_user, answer.transport, answer.port) == (CHANNEL, Transport.TCP_ACTIVE, 40000)


def test_broadcast_audio_answer() -> None:
    text = build_answer(
        origin_id=PLATFORM,
        address="10.0.0.5",
        port=30010,
        ssrc="0200000002",
        media="audio",
        payload_type=8,
        encoding="PCMA/8000/1",
        media_format=MediaFormat(audio_codec=1, audio_bitrate=8, audio_sample_rate=1),
    )
    answer = parse_answer(text)
    assert (answer.media_type, answer.payload_types, answer.rtpmap[8]) == ("audio", (8,), ("PCMA", 8000))
    assert "f=v/////a/1/8/1\r\n" in text


@pytest.mark.parametrize(
    ("domain", "sequence", "history", "expected"),
    [
        ("3402000000", 1, False, "0200000001"),
        ("34020000002000000001", 1, True, "1200000001"),
        ("4401020049", 9999, False, "0102009999"),
        ("3402000000.spvmn.cn", 2, False, "0200000002"),
    ],
)
def test_make_ssrc_follows_the_gb_layout(domain: str, sequence: int, history: bool, expected: str) -> None:
    assert make_ssrc(domain, sequence, history) == expected
    parsed = parse_ssrc(expected)
    assert parsed is not None and (parsed.history, parsed.sequence, parsed.text) == (
        history,
        sequence,
        expected,
    )
    assert parsed.rtp_ssrc == int(expected)


@pytest.mark.parametrize(
    ("domain", "sequence"), [("3402", 1), ("34020000ab", 1), ("3402000000", 10000), ("3402000000", -1)]
)
def test_make_ssrc_rejects_bad_input(domain: str, sequence: int) -> None:
    with pytest.raises(ValueError):
        make_ssrc(domain, sequence, False)


@pytest.mark.parametrize(
    ("value", "rtp"), [("0000001002", 1002), ("1999999999", 1999999999), ("12ab", None), ("", None)]
)
def test_ssrc_to_rtp(value: str, rtp: int | None) -> None:
    assert ssrc_to_rtp(value) == rtp


def test_gbk_session_name_in_bytes_is_decoded() -> None:
    body = "v=0\r\ns=网络录像机\r\nm=video 62000 RTP/AVP 96\r\n".encode("gb18030")
    assert parse_sdp(body).session_name == "网络录像机"
