"""SUBSCRIBE/NOTIFY dialogs (RFC 6665) for GB/T 28181 Catalog, Alarm and MobilePosition
subscriptions (``Event: Catalog;id=N``), both sides, sans-IO: time is a ``now`` passed in.

Subscriber (the platform): ``Subscriber`` builds the SUBSCRIBE, learns the granted expiry from
the 2xx, answers NOTIFYs, says when to refresh (``refresh_at``: 60 s before expiry, or 10 % of
the period when that is shorter) and notices expiry without refresh.

Notifier (a device or the simulator): ``Notifier.accept`` answers a SUBSCRIBE, ``notify``
builds NOTIFYs carrying ``Subscription-State``, ``on_subscribe`` handles refreshes and
``Expires: 0``, and ``expired`` says when the subscription lapsed.
"""

from __future__ import annotations

from collections.abc import Iterable

from sip_gateway.core.dialog import TERMINATED, Dialog, LocalAddress, answer_invite, build_request
from sip_gateway.core.header_values import NameAddress
from sip_gateway.core.message import Request, Response
from sip_gateway.core.responses import make_response
from sip_gateway.core.uri import find_param, parse_params

PENDING = "pending"
ACTIVE = "active"
INIT = "init"
REFRESH_MARGIN = 60.0


def refresh_time(now: float, expires: int) -> float:
    """When to refresh a subscription granted for ``expires`` seconds at ``now``."""
    return now + expires - min(REFRESH_MARGIN, expires * 0.1)


def event_type(value: str | None) -> str:
    """The event package of an Event header (``Catalog;id=1`` -> ``catalog``)."""
    return (value or "").partition(";")[0].strip().lower()


def event_id(value: str | None) -> str | None:
    _, semi, params = (value or "").partition(";")
    if not semi:
        return None
    try:
        return find_param(parse_params(params, "Event"), "id")
    except ValueError:
        return None


def parse_subscription_state(value: str | None) -> tuple[str, int | None, str | None]:
    """(state, expires, reason) from ``active;expires=3599`` or ``terminated;reason=timeout``."""
    state, semi, rest = (value or "").partition(";")
    expires: int | None = None
    reason: str | None = None
    if semi:
        for item in rest.split(";"):
            name, _, val = item.partition("=")
            name, val = name.strip().lower(), val.strip()
            if name == "expires" and val.isdigit() and val.isascii():
                expires = int(val)
            elif name == "reason":
                reason = val
    return state.strip().lower(), expires, reason


class Subscriber:
    """One subscription we hold to a notifier's event package."""

    __slots__ = (
        "call_id",
        "contact",
        "dialog",
        "event",
        "expires",
        "expires_at",
        "from_addr",
        "local",
        "local_tag",
        "reason",
        "refresh_at",
        "state",
        "subscribe_request",
        "target_uri",
        "to_addr",
    )

    def __init__(
        self,
        *,
        event: str,
        target_uri: str,
        from_addr: NameAddress,
        to_addr: NameAddress,
        call_id: str,
        local_tag: str,
        local: LocalAddress,
        contact: str,
        expires: int = 3600,
    ) -> None:
        self.event = event
        self.target_uri = target_uri
        self.from_addr = from_addr.with_param("tag", local_tag)
        self.to_addr = to_addr
        self.call_id = call_id
        self.local_tag = local_tag
        self.local = local
        self.contact = contact
        self.expires = expires
        self.state = INIT
        self.dialog: Dialog | None = None
        self.subscribe_request: Request | None = None  # the first SUBSCRIBE, for the dialog
        self.expires_at: float | None = None
        self.refresh_at: float | None = None
        self.reason: str | None = None  # why it ended, when it did

    def subscribe(
        self, *, branch: str, body: bytes = b"", content_type: str | None = None, cseq: int = 1
    ) -> Request:
        """The initial SUBSCRIBE (out of dialog). GB puts a Query in the body."""
        request = build_request(
            "SUBSCRIBE",
            self.target_uri,
            from_addr=self.from_addr,
            to_addr=self.to_addr,
            call_id=self.call_id,
            cseq=cseq,
            via_host=self.local.host,
            via_port=self.local.port,
            transport=self.local.transport,
            branch=branch,
            contact=self.contact,
            body=body,
            content_type=content_type,
            extra_headers=self._headers(self.expires),
        )
        self.subscribe_request = request
        self.state = PENDING
        return request

    def _headers(self, expires: int) -> list[tuple[str, str]]:
        return [("Event", self.event), ("Expires", str(expires))]

    def refresh(
        self, *, branch: str, now: float, body: bytes = b"", content_type: str | None = None
    ) -> Request:
        """A SUBSCRIBE inside the dialog that asks for ``self.expires`` seconds more."""
        self.refresh_at = None  # until the answer sets a new one
        return self._in_dialog(branch, self.expires, body, content_type)

    def unsubscribe(self, *, branch: str) -> Request:
        """``Expires: 0``: the notifier ends the subscription (and may send a last NOTIFY)."""
        self.refresh_at = None
        self.expires_at = None
        self.state = TERMINATED
        self.reason = "unsubscribed"
        return self._in_dialog(branch, 0, b"", None)

    def _in_dialog(self, branch: str, expires: int, body: bytes, content_type: str | None) -> Request:
        if self.dialog is None:
            raise ValueError("no subscription dialog yet: wait for the 2xx or a NOTIFY")
        return self.dialog.request(
            "SUBSCRIBE",
            branch=branch,
            body=body,
            content_type=content_type,
            extra_headers=self._headers(expires),
        )

    def on_response(self, response: Response, now: float) -> None:
        """A response to one of our SUBSCRIBEs (initial, refresh or unsubscribe)."""
        if response.status < 200:
            return
        if response.status >= 300:
            # Any failure ends it: 481 means the notifier forgot it, 489 the event is unknown.
            self._terminate(f"{response.status} {response.reason}")
            return
        if self.dialog is None and self.subscribe_request is not None:
            self.dialog = Dialog.uac(self.subscribe_request, response, self.local)
        if self.state == TERMINATED:
            return  # the 2xx to our Expires: 0
        granted = response.expires if response.expires is not None else self.expires
        if granted == 0:
            self._terminate("expires 0")
            return
        if self.state != ACTIVE:
            self.state = ACTIVE
        self.expires_at = now + granted
        self.refresh_at = refresh_time(now, granted)

    def on_transaction_failed(self) -> None:
        """Our SUBSCRIBE timed out: the subscription is considered gone."""
        self._terminate("timeout")

    def matches(self, notify: Request) -> bool:
        return (
            notify.call_id == self.call_id
            and notify.to_addr.tag == self.local_tag
            and event_type(notify.headers.get("Event")) == event_type(self.event)
            and event_id(notify.headers.get("Event")) == event_id(self.event)
        )

    def on_notify(self, notify: Request, now: float) -> Response:
        """The answer to a NOTIFY for this subscription, after updating state from
        ``Subscription-State``. A NOTIFY may come before the 2xx (RFC 6665 4.1.2.4): it then
        creates the dialog."""
        if not self.matches(notify):
            return make_response(notify, 481)
        if self.dialog is None:
            if self.subscribe_request is None:
                return make_response(notify, 481)
            ours = answer_invite(notify, 200, local_tag=self.local_tag, contact=self.contact)
            try:
                self.dialog = Dialog.uas(notify, ours, self.local)
            except ValueError:
                # Devices often omit Contact on NOTIFY: the 2xx to our SUBSCRIBE, still on its
                # way, creates the dialog instead; the NOTIFY itself is still welcome.
                self.dialog = None
            else:
                # The dialog is ours as subscriber: our CSeq continues from the SUBSCRIBE.
                self.dialog.local_seq = self.subscribe_request.cseq.number
        else:
            refused = self.dialog.check_cseq(notify)
            if refused is not None:
                return refused
        state, expires, reason = parse_subscription_state(notify.headers.get("Subscription-State"))
        if state == "terminated":
            self._terminate(reason or "terminated")
        elif self.state != TERMINATED:
            self.state = ACTIVE if state == ACTIVE else PENDING
            if expires is not None:
                self.expires_at = now + expires
                if self.refresh_at is None or self.refresh_at > self.expires_at:
                    self.refresh_at = refresh_time(now, expires)
        return make_response(notify, 200)

    def _terminate(self, reason: str) -> None:
        self.state = TERMINATED
        self.reason = reason
        self.refresh_at = None
        self.expires_at = None

    def next_deadline(self) -> float | None:
        """The next instant ``check`` has something to say: refresh, then expiry."""
        if self.state == TERMINATED:
            return None
        return self.refresh_at if self.refresh_at is not None else self.expires_at

    def check(self, now: float) -> str | None:
        """ "refresh" when it is time to send ``refresh``, "expired" (once) when the
        subscription lapsed without one, else None."""
        if self.state == TERMINATED:
            return None
        if self.expires_at is not None and now >= self.expires_at:
            self._terminate("expired")
            return "expired"
        if self.refresh_at is not None and now >= self.refresh_at:
            return "refresh"
        return None


class Notifier:
    """A subscription we accepted: a device's side of ``Event: Catalog`` and the like."""

    __slots__ = ("dialog", "event", "expires_at", "reason", "state")

    def __init__(self, dialog: Dialog, event: str, expires_at: float) -> None:
        self.dialog = dialog
        self.event = event
        self.expires_at = expires_at
        self.state = ACTIVE
        self.reason: str | None = None

    @classmethod
    def accept(
        cls,
        subscribe: Request,
        *,
        now: float,
        local_tag: str,
        contact: str,
        local: LocalAddress,
        default_expires: int = 3600,
        max_expires: int = 86400,
    ) -> tuple[Notifier, Response]:
        """Accept a SUBSCRIBE: the 200 (with the granted Expires and our Contact) and the state.

        The caller should then send a first NOTIFY (RFC 6665 4.2.1.2).
        """
        granted = min(subscribe.expires if subscribe.expires is not None else default_expires, max_expires)
        event = subscribe.headers.get("Event") or ""
        response = answer_invite(
            subscribe,
            200,
            local_tag=local_tag,
            contact=contact,
            extra_headers=[("Expires", str(granted)), ("Event", event)],
        )
        notifier = cls(Dialog.uas(subscribe, response, local), event, now + granted)
        if granted == 0:
            notifier._terminate("timeout")
        return notifier, response

    def on_subscribe(self, subscribe: Request, now: float, *, max_expires: int = 86400) -> Response:
        """A refresh, or ``Expires: 0`` which ends it (send the final NOTIFY afterwards)."""
        if self.state == TERMINATED:
            return make_response(subscribe, 481)
        refused = self.dialog.check_cseq(subscribe)
        if refused is not None:
            return refused
        requested = subscribe.expires
        granted = min(requested if requested is not None else max_expires, max_expires)
        if granted == 0:
            self._terminate("timeout")
        else:
            self.state = ACTIVE
            self.reason = None
            self.expires_at = now + granted
        return make_response(subscribe, 200, headers=[("Expires", str(granted))])

    def _terminate(self, reason: str) -> None:
        self.state = TERMINATED
        self.reason = reason

    def notify(
        self,
        *,
        branch: str,
        now: float,
        body: bytes = b"",
        content_type: str | None = None,
        extra_headers: Iterable[tuple[str, str]] = (),
    ) -> Request:
        """A NOTIFY inside the subscription carrying its current ``Subscription-State``."""
        if self.state == ACTIVE and now >= self.expires_at:
            self._terminate("timeout")
        if self.state == ACTIVE:
            remaining = max(0, int(self.expires_at - now))
            state = f"active;expires={remaining}"
        else:
            state = f"terminated;reason={self.reason or 'noresource'}"
        headers = [("Event", self.event), ("Subscription-State", state), *extra_headers]
        return self.dialog.request(
            "NOTIFY", branch=branch, body=body, content_type=content_type, extra_headers=headers
        )

    def expired(self, now: float) -> bool:
        """True once the subscriber let the subscription lapse (or ended it)."""
        if self.state == ACTIVE and now >= self.expires_at:
            self._terminate("timeout")
        return self.state == TERMINATED

    def next_deadline(self) -> float | None:
        return self.expires_at if self.state == ACTIVE else None
