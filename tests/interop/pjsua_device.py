"""A GB device played by PJSIP (pjsua2), an independent SIP stack: registers with digest auth
and sends a MANSCDP keepalive MESSAGE, then prints what happened as JSON.

Run in its own process (pjsua2 keeps process-wide state):
    python pjsua_device.py <udp|tcp> <gateway port> <device id> <password>
"""

from __future__ import annotations

import json
import sys
import time

import pjsua2 as pj

DOMAIN = "3402000000"
PLATFORM = "34020000002000000001"


class Account(pj.Account):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.reg_codes: list[int] = []
        self.message_codes: list[int] = []

    def onRegState(self, prm: pj.OnRegStateParam) -> None:
        self.reg_codes.append(int(prm.code))

    def onInstantMessageStatus(self, prm: pj.OnInstantMessageStatusParam) -> None:
        self.message_codes.append(int(prm.code))


def pump(endpoint: pj.Endpoint, until: object, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not until():  # type: ignore[operator]
        endpoint.libHandleEvents(20)


def main() -> None:
    transport, port, device_id, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    endpoint = pj.Endpoint()
    endpoint.libCreate()
    config = pj.EpConfig()
    config.uaConfig.threadCnt = 0
    config.uaConfig.mainThreadOnly = True
    config.uaConfig.userAgent = "pjsua2-interop"
    config.logConfig.level = 1
    config.logConfig.consoleLevel = 1
    config.medConfig.noVad = True
    endpoint.libInit(config)
    transport_config = pj.TransportConfig()
    transport_config.port = 0
    transport_config.boundAddress = "127.0.0.1"
    kind = pj.PJSIP_TRANSPORT_TCP if transport == "tcp" else pj.PJSIP_TRANSPORT_UDP
    endpoint.transportCreate(kind, transport_config)
    endpoint.audDevManager().setNullDev()
    endpoint.libStart()

    suffix = ";transport=tcp" if transport == "tcp" else ""
    account_config = pj.AccountConfig()
    account_config.idUri = f"sip:{device_id}@{DOMAIN}"
    account_config.regConfig.registrarUri = f"sip:{PLATFORM}@127.0.0.1:{port}{suffix}"
    account_config.regConfig.timeoutSec = 3600
    account_config.sipConfig.proxies.append(f"sip:127.0.0.1:{port}{suffix};lr")
    account_config.sipConfig.authCreds.append(pj.AuthCredInfo("digest", "*", device_id, 0, password))
    account_config.natConfig.contactRewriteUse = 0
    account = Account()
    account.create(account_config)
    pump(endpoint, lambda: any(code >= 200 for code in account.reg_codes), 10)

    buddy_config = pj.BuddyConfig()
    buddy_config.uri = f"sip:{PLATFORM}@{DOMAIN}"
    buddy = pj.Buddy()
    buddy.create(account, buddy_config)
    message = pj.SendInstantMessageParam()
    message.contentType = "Application/MANSCDP+xml"
    message.content = (
        '<?xml version="1.0" encoding="GB2312"?>\r\n<Notify>\r\n<CmdType>Keepalive</CmdType>\r\n'
        f"<SN>1</SN>\r\n<DeviceID>{device_id}</DeviceID>\r\n<Status>OK</Status>\r\n</Notify>\r\n"
    )
    if account.reg_codes and account.reg_codes[-1] == 200:
        buddy.sendInstantMessage(message)
        pump(endpoint, lambda: bool(account.message_codes), 10)
    print(json.dumps({"register": account.reg_codes, "message": account.message_codes}), flush=True)
    account.shutdown()
    endpoint.libDestroy()


if __name__ == "__main__":
    main()
