"""INVITE dialogs from both sides: creation, ACK for 2xx, provisional 101/183, in-dialog
requests and answers, re-INVITE refusal, and the captured Dahua dome session."""

from __future__ import annotations

import random

import pytest

from sip_gateway.core.dialog import (
    CONFIRMED,
    EARLY,
    TERMINATED,
    Dialog,
    DialogTable,
    LocalAddress,
    answer_invite,
    build_request,
)
from sip_gateway.core.ids import IdSource
from sip_gateway.core.message import Request, Response, parse_message
from sip_gateway.core.responses import make_response
from tests.vectors import vector_path

CAPTURE = "sip/dahua_sd_hik_nvr"
PLATFORM = LocalAddress("192.168.6.106", 5062)
DEVICE = LocalAddress("192.168.6.71", 5060)
PLATFORM_URI = "sip:34020000002000000001@3402000000"
CAMERA_URI = "sip:34020000001320000001@192.168.6.71:5060"


def capture(name: str) -> Request | Response:
    return parse_message(vector_path(f"{CAPTURE}/{name}").read_bytes())


def invite(*, record_route: tuple[str, ...] = (), cseq: int = 20) -> Request:
    return build_request(
        "INVITE",
        CAMERA_URI,
        from_addr=f"<{PLATFORM_URI}>;tag=ptag",
        to_addr=f"<{CAMERA_URI}>",
        call_id="call-1",
        cseq=cseq,
        via_host="192.168.6.106",
        via_port=5062,
        transport="udp",
        branch="z9hG4bKinv",
        contact="sip:34020000002000000001@192.168.6.106:5062",
        body=b"v=0\r\n",
        content_type="application/sdp",
        extra_headers=[("Record-Route", rr) for rr in record_route]
        + [("Subject", "34020000001320000001:0100000001,34020000002000000001:0")],
    )


def received(request: Request) -> Request:
    """The request as the other side parses it off the wire."""
    parsed = parse_message(request.to_bytes())
    assert isinstance(parsed, Request)
    return parsed


def test_build_request_writes_every_mandatory_header() -> None:
    request = invite()
    parsed = received(request)
    assert parsed.start_line == f"INVITE {CAMERA_URI} SIP/2.0"
    assert str(parsed.top_via) == "SIP/2.0/UDP 192.168.6.106:5062;rport;branch=z9hG4bKinv"
    assert parsed.from_addr.tag == "ptag" and parsed.to_addr.tag is None
    assert (parsed.call_id, str(parsed.cseq)) == ("call-1", "20 INVITE")
    assert parsed.contacts[0].uri == "sip:34020000002000000001@192.168.6.106:5062"
    assert parsed.headers.get("Max-Forwards") == "70"
    assert parsed.content_type == "application/sdp" and parsed.body == b"v=0\r\n"
    assert parsed.headers.get("Subject", "").startswith("34020000001320000001:")


def test_uac_dialog_from_the_dome_capture_builds_ack_and_bye_like_the_platform_did() -> None:
    sent_invite = capture("19_platform_INVITE.sip")
    r101 = capture("21_device_resp101-INVITE.sip")
    r200 = capture("22_device_resp200-INVITE.sip")
    expected_ack = capture("23_platform_ACK.sip")
    expected_bye = capture("24_platform_BYE.sip")
    assert isinstance(sent_invite, Request) and isinstance(r101, Response) and isinstance(r200, Response)
    assert isinstance(expected_ack, Request) and isinstance(expected_bye, Request)
    dialog = Dialog.uac(sent_invite, r101, PLATFORM)  # Dahua's 101 carries a To tag: early dialog
    assert dialog.state == EARLY and dialog.id == ("1316183468", "4086715875", "1504032660")
    ack = dialog.on_invite_response(r200, branch="z9hG4bK1703481534")
    assert ack is not None and dialog.state == CONFIRMED
    assert (ack.method, ack.uri, str(ack.cseq), ack.call_id) == (
        expected_ack.method,
        expected_ack.uri,
        str(expected_ack.cseq),
        expected_ack.call_id,
    )
    assert ack.from_addr.tag == expected_ack.from_addr.tag and ack.to_addr.tag == expected_ack.to_addr.tag
    assert ack.top_via.branch == expected_ack.top_via.branch
    # A retransmitted 200 gets the very same ACK.
    assert dialog.is_2xx_retransmission(r200)
    assert dialog.on_invite_response(r200, branch="z9hG4bKignored") is ack
    bye = dialog.request("BYE", branch="z9hG4bK3131645526")
    assert (bye.uri, str(bye.cseq)) == (expected_bye.uri, str(expected_bye.cseq))  # 21 BYE
    assert bye.to_addr.tag == "1504032660" and bye.from_addr.tag == "4086715875"
    assert dialog.state == TERMINATED


def test_uac_dialog_keeps_the_reversed_record_route_and_targets_the_contact() -> None:
    sent = invite(record_route=("<sip:p1.example;lr>", "<sip:p2.example;lr>"))
    request = received(sent)
    ok = answer_invite(request, 200, local_tag="dtag", contact="sip:cam@10.1.1.1:5060")
    dialog = Dialog.uac(sent, received_response(ok), PLATFORM)
    assert dialog.route_set == ("<sip:p2.example;lr>", "<sip:p1.example;lr>")
    info = dialog.request(
        "INFO", branch="z9hG4bKi", body=b"PLAY RTSP/1.0\r\n", content_type="Application/MANSRTSP"
    )
    assert info.uri == "sip:cam@10.1.1.1:5060"
    assert info.headers.get_all("Route") == ["<sip:p2.example;lr>", "<sip:p1.example;lr>"]
    assert str(info.cseq) == "21 INFO" and info.body == b"PLAY RTSP/1.0\r\n"
    message = dialog.request("MESSAGE", branch="z9hG4bKm")
    assert str(message.cseq) == "22 MESSAGE"


def received_response(response: Response) -> Response:
    parsed = parse_message(response.to_bytes())
    assert isinstance(parsed, Response)
    return parsed


def test_183_early_dialog_is_confirmed_by_200_and_ended_by_a_final_error() -> None:
    sent = invite()
    request = received(sent)
    r183 = received_response(answer_invite(request, 183, local_tag="e1", contact="sip:a@10.0.0.1"))
    dialog = Dialog.uac(sent, r183, PLATFORM)
    assert dialog.state == EARLY and dialog.remote_target == "sip:a@10.0.0.1"
    r180 = received_response(answer_invite(request, 180, local_tag="e1", contact="sip:b@10.0.0.2"))
    assert dialog.on_invite_response(r180, branch="z9hG4bKx") is None
    assert dialog.remote_target == "sip:b@10.0.0.2"
    r486 = received_response(answer_invite(request, 486, local_tag="e1"))
    assert dialog.on_invite_response(r486, branch="z9hG4bKx") is None
    assert dialog.state == TERMINATED


def test_responses_without_to_tag_or_final_errors_do_not_create_dialogs() -> None:
    sent = invite()
    request = received(sent)
    with pytest.raises(ValueError):
        Dialog.uac(sent, received_response(make_response(request, 100)), PLATFORM)
    with pytest.raises(ValueError):
        Dialog.uac(sent, received_response(answer_invite(request, 486, local_tag="x")), PLATFORM)


def test_response_of_another_dialog_or_cseq_is_ignored() -> None:
    sent = invite()
    request = received(sent)
    dialog = Dialog.uac(
        sent, received_response(answer_invite(request, 200, local_tag="a", contact="sip:c@h")), PLATFORM
    )
    other = received_response(answer_invite(request, 200, local_tag="b", contact="sip:c@h"))
    assert dialog.on_invite_response(other, branch="z9hG4bKb") is None
    assert not dialog.is_2xx_retransmission(other)


# ------------------------------------------------------------------------ UAS side
def uas_dialog() -> tuple[Dialog, Request]:
    request = received(invite())
    ok = answer_invite(
        request,
        200,
        local_tag="dev1",
        contact=f"<{CAMERA_URI}>",
        body=b"v=0\r\n",
        content_type="application/sdp",
    )
    assert ok.contacts[0].uri == CAMERA_URI and ok.to_addr.tag == "dev1"
    return Dialog.uas(request, ok, DEVICE), request


def test_uas_dialog_answers_info_message_and_bye_inside_the_dialog() -> None:
    dialog, request = uas_dialog()
    assert dialog.id == ("call-1", "dev1", "ptag") and dialog.state == CONFIRMED
    assert dialog.remote_target == "sip:34020000002000000001@192.168.6.106:5062"
    platform = Dialog.uac(
        invite(),
        received_response(answer_invite(request, 200, local_tag="dev1", contact=CAMERA_URI)),
        PLATFORM,
    )
    for method in ("INFO", "MESSAGE"):
        incoming = received(platform.request(method, branch=f"z9hG4bK{method}"))
        assert dialog.matches(incoming)
        answer = dialog.receive_request(incoming)
        assert answer is not None and answer.status == 200 and answer.to_addr.tag == "dev1"
    bye = received(platform.request("BYE", branch="z9hG4bKbye"))
    answer = dialog.receive_request(bye)
    assert answer is not None and answer.status == 200 and str(answer.cseq) == "23 BYE"
    assert dialog.state == TERMINATED


def test_uas_refuses_reinvite_with_488_and_keeps_the_dialog() -> None:
    dialog, request = uas_dialog()
    reinvite = received(
        build_request(
            "INVITE",
            CAMERA_URI,
            from_addr=request.headers.get("From") or "",
            to_addr=f"<{CAMERA_URI}>;tag=dev1",
            call_id="call-1",
            cseq=21,
            via_host="192.168.6.106",
            via_port=5062,
            transport="UDP",
            branch="z9hG4bKre",
        )
    )
    answer = dialog.receive_request(reinvite)
    assert answer is not None and answer.status == 488 and answer.headers.get("Warning")
    assert dialog.state == CONFIRMED


def test_uas_rejects_an_old_cseq_with_500_and_unknown_methods_with_405() -> None:
    dialog, request = uas_dialog()

    def in_dialog(method: str, cseq: int) -> Request:
        return received(
            build_request(
                method,
                CAMERA_URI,
                from_addr=request.headers.get("From") or "",
                to_addr=f"<{CAMERA_URI}>;tag=dev1",
                call_id="call-1",
                cseq=cseq,
                via_host="h",
                via_port=1,
                transport="UDP",
                branch=f"z9hG4bK{cseq}",
            )
        )

    old = dialog.receive_request(in_dialog("INFO", 5))
    assert old is not None and old.status == 500
    refer = dialog.receive_request(in_dialog("REFER", 30))
    assert refer is not None and refer.status == 405 and "BYE" in (refer.headers.get("Allow") or "")
    assert dialog.receive_request(in_dialog("ACK", 20)) is None


def test_uas_sends_bye_with_its_own_cseq_space_and_swapped_addresses() -> None:
    dialog, _ = uas_dialog()
    bye = dialog.request("BYE", branch="z9hG4bKdevbye")
    assert str(bye.cseq) == "1 BYE" and bye.uri == "sip:34020000002000000001@192.168.6.106:5062"
    assert bye.from_addr.tag == "dev1" and bye.to_addr.tag == "ptag"
    assert bye.top_via.host == "192.168.6.71"


def test_uas_dialog_needs_a_contact() -> None:
    request = received(invite())
    request.headers.remove("Contact")
    with pytest.raises(ValueError, match="Contact"):
        Dialog.uas(request, answer_invite(request, 200, local_tag="t"), DEVICE)


def test_dialog_table_finds_dialogs_from_both_directions() -> None:
    table = DialogTable()
    dialog, request = uas_dialog()
    table.add(dialog)
    platform = Dialog.uac(
        invite(),
        received_response(answer_invite(request, 200, local_tag="dev1", contact=CAMERA_URI)),
        PLATFORM,
    )
    info = received(platform.request("INFO", branch="z9hG4bKt"))
    assert table.for_request(info) is dialog
    answer = dialog.receive_request(info)
    assert answer is not None
    mine = DialogTable()
    mine.add(platform)
    assert mine.for_response(received_response(answer)) is platform
    assert table.for_request(received(invite())) is None
    table.remove(dialog)
    assert len(table) == 0 and table.for_request(info) is None


def test_id_source_is_reproducible_and_well_formed() -> None:
    a, b = IdSource(random.Random(7)), IdSource(random.Random(7))
    assert [a.branch(), a.tag(), a.call_id("h"), a.cnonce()] == [
        b.branch(),
        b.tag(),
        b.call_id("h"),
        b.cnonce(),
    ]
    branch = a.branch()
    assert branch.startswith("z9hG4bK") and len(branch) == 23
    assert a.tag().isdigit() and a.call_id().isalnum() and a.call_id("10.0.0.1").endswith("@10.0.0.1")
    assert len({a.branch() for _ in range(1000)}) == 1000
