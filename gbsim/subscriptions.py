"""Subscriptions a device accepted (catalog, alarm, position) and the NOTIFYs they get."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from gbsim.answers import catalog_notifies
from gbsim.sipmsg import DialogRef, in_dialog_request
from gbsim.state import DeviceState
from sip_gateway.core.message import Request
from sip_gateway.core.subscription import event_type


@dataclass(slots=True)
class Subscription:
    dialog: DialogRef
    until: float
    event_header: str  # as the subscriber wrote it, e.g. "Catalog;id=1": NOTIFYs echo it

    @property
    def is_catalog(self) -> bool:
        return event_type(self.event_header) == "catalog"


class Subscriptions:
    __slots__ = ("_by_call_id",)

    def __init__(self) -> None:
        self._by_call_id: dict[str, Subscription] = {}

    def get(self, call_id: str) -> Subscription | None:
        return self._by_call_id.get(call_id)

    def put(self, call_id: str, subscription: Subscription) -> None:
        self._by_call_id[call_id] = subscription

    def remove(self, call_id: str) -> None:
        self._by_call_id.pop(call_id, None)

    def live_catalog(self, now: float) -> Iterator[Subscription]:
        """Catalog subscriptions still in force; expired ones are forgotten on the way."""
        for call_id, sub in list(self._by_call_id.items()):
            if sub.until <= now:
                del self._by_call_id[call_id]
            elif sub.is_catalog:
                yield sub


def catalog_notify_requests(
    sub: Subscription,
    state: DeviceState,
    *,
    sn: int,
    now: float,
    event: str,
    only: set[str] | None,
    via: Callable[[], str],
) -> Iterator[Request]:
    """NOTIFYs in the subscription dialog carrying the channels (all, or `only`) with `event`,
    each built when it is taken (in-dialog CSeqs are numbered in sending order)."""
    subscription_state = f"active;expires={max(int(sub.until - now), 0)}"
    return (
        in_dialog_request(
            sub.dialog,
            "NOTIFY",
            via=via(),
            user_agent=state.config.profile.user_agent,
            extra=[("Event", sub.event_header), ("Subscription-State", subscription_state)],
            body=body,
        )
        for body in catalog_notifies(state, sn, event, only=only)
    )
