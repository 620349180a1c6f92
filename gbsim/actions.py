"""What a device core asks its runner to do. Frozen values, drained from `DeviceCore.outbox`."""

from __future__ import annotations

from dataclasses import dataclass

from gbsim.mansrtsp import PlaybackCommand
from gbsim.session import MediaPlan
from sip_gateway.core.message import Request, Response


@dataclass(frozen=True, slots=True)
class SendRequest:
    """A request to the platform (out of dialog or inside one)."""

    request: Request


@dataclass(frozen=True, slots=True)
class SendResponse:
    response: Response


@dataclass(frozen=True, slots=True)
class StartMedia:
    plan: MediaPlan


@dataclass(frozen=True, slots=True)
class StopMedia:
    call_id: str


@dataclass(frozen=True, slots=True)
class ControlMedia:
    call_id: str
    command: PlaybackCommand


@dataclass(frozen=True, slots=True)
class RegistrationChanged:
    """For logs and statistics: the device registered, refreshed or lost its registration."""

    device_id: str
    registered: bool
    reason: str


Action = SendRequest | SendResponse | StartMedia | StopMedia | ControlMedia | RegistrationChanged
