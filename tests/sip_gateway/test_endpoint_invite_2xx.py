"""A 2xx to our INVITE that the device sends again (our ACK was lost) reaches the caller, which
answers it with the dialog's stored ACK; the device then stops retransmitting."""

from __future__ import annotations

import asyncio

from sip_gateway.core.dialog import Dialog, LocalAddress, answer_invite
from sip_gateway.core.message import Response
from sip_gateway.core.transaction import RequestReceived
from sip_gateway.endpoint import SipEndpoint
from sip_gateway.outbound import LocalIdentity, RequestFactory


async def test_a_retransmitted_2xx_goes_to_the_callback_which_resends_the_ack() -> None:
    acks: list[str] = []
    device: SipEndpoint

    def device_answers(event: RequestReceived) -> None:
        if event.request.method == "ACK":
            acks.append(event.request.call_id)
            return
        device.send_response(answer_invite(event.request, 200, local_tag="dev1", contact="sip:cam@127.0.0.1"))

    device = SipEndpoint(device_answers, t1=0.05)
    platform = SipEndpoint(lambda event: None, t1=0.05)
    device_port = await device.start("127.0.0.1", 0)
    platform_port = await platform.start("127.0.0.1", 0)
    try:
        peer = ("udp", "127.0.0.1", device_port)
        factory = RequestFactory(LocalIdentity("34020000002000000001", "3402000000", "127.0.0.1", platform_port))
        invite = factory.out_of_dialog("INVITE", device_id="34020000001310000001", peer=peer, body=b"v=0\r\n")
        again: list[Response] = []
        dialog: Dialog | None = None

        def on_again(response: Response) -> None:
            again.append(response)
            assert dialog is not None and dialog.is_2xx_retransmission(response)
            assert dialog.ack is not None
            platform.send_stateless(dialog.ack, peer)

        response = await platform.request(invite, peer, on_2xx_retransmission=on_again)
        assert response.status == 200
        dialog = Dialog.uac(invite, response, LocalAddress("127.0.0.1", platform_port))
        dialog.on_invite_response(response, branch="z9hG4bKack1")  # builds the ACK, not sent: "lost"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5
        while not acks and loop.time() < deadline:
            await asyncio.sleep(0.01)
        assert acks == [invite.call_id]
        assert len(again) >= 1 and all(r.status == 200 for r in again)
        settled = len(again)
        await asyncio.sleep(0.3)  # several T1 intervals: the ACK stopped the retransmissions
        assert len(again) == settled
    finally:
        await platform.close()
        await device.close()
