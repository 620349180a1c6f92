"""Vendor profiles: the quirks real devices show on the wire, selectable per run.

Each quirk is documented in ../shared/docs/gb28181.md (the fact sheet) or seen in the captures
under ../shared/vectors/sip/.
"""

from __future__ import annotations

from dataclasses import dataclass

from sip_gateway.manscdp.xml_encode import Charset


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    manufacturer: str
    model: str
    firmware: str
    user_agent: str
    charset: Charset = "GB2312"
    # Write `encoding="gb2312"` (Hikvision NVR RecordInfo capture) instead of "GB2312".
    lowercase_charset: bool = False
    # Leave `algorithm=MD5` out of Authorization (some Hikvision/Dahua cameras).
    digest_algorithm: bool = True
    # Send a "101 Dialog Establishment" with a To tag before the 200 to an INVITE (Dahua dome).
    provisional_101: bool = False
    # Catalog items per MESSAGE; None keeps the run's setting. Hikvision NVRs send one.
    catalog_per_message: int | None = None
    # Leave out the `Num` attribute of DeviceList/RecordList.
    omit_num: bool = False
    # `a=streamprofile:0` in the INVITE answer (Dahua capture).
    stream_profile_attr: bool = False
    # Answer an INVITE with its own `y=` SSRC instead of the offer's (cross-domain devices, GB G.2).
    own_ssrc: bool = False
    # `X-GB-Ver` on REGISTER (2022 annex I: 3.0 = GB/T 28181-2022); 2016-era devices send none.
    gb_version: str | None = None


PROFILES: dict[str, Profile] = {
    "standard": Profile(
        name="standard",
        manufacturer="gbsim",
        model="gbsim-nvr",
        firmware="1.0",
        user_agent="gbsim/1.0",
        gb_version="3.0",
    ),
    "hikvision": Profile(
        name="hikvision",
        manufacturer="Hikvision",
        model="DS-7808N-K1",
        firmware="V4.30.085",
        user_agent="Embedded Net DVR/NVR/DVS",
        lowercase_charset=True,
        digest_algorithm=False,
        catalog_per_message=1,
        omit_num=True,
    ),
    "dahua": Profile(
        name="dahua",
        manufacturer="Dahua",
        model="SD-6C3230U",
        firmware="2.800.0000000.8.R",
        user_agent="SIP UAS V3.0.0.675168",
        provisional_101=True,
        stream_profile_attr=True,
    ),
}


def apply_body_quirks(body: bytes, profile: Profile) -> bytes:
    """Rewrite a rendered MANSCDP body the way the profile's devices write it."""
    if profile.lowercase_charset:
        head, sep, rest = body.partition(b"?>")
        body = head.replace(b'encoding="GB2312"', b'encoding="gb2312"') + sep + rest
    if profile.omit_num:
        for tag in (b"<DeviceList", b"<RecordList"):
            start = body.find(tag + b' Num="')
            if start >= 0:
                end = body.find(b'"', start + len(tag) + 6)
                body = body[: start + len(tag)] + body[end + 1 :]
    return body
