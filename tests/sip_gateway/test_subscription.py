"""SUBSCRIBE/NOTIFY for GB Catalog/Alarm/MobilePosition, subscriber and notifier, in time."""

from __future__ import annotations

import pytest

from sip_gateway.core.dialog import LocalAddress
from sip_gateway.core.header_values import NameAddress
from sip_gateway.core.message import Request, Response, parse_message
from sip_gateway.core.responses import make_response
from sip_gateway.core.subscription import (
    ACTIVE,
    PENDING,
    Notifier,
    Subscriber,
    event_id,
    event_type,
    parse_subscription_state,
    refresh_time,
)

PLATFORM = LocalAddress("10.0.0.1", 5060)
DEVICE = LocalAddress("10.0.0.2", 5060)
DEVICE_ID = "34020000001320000001"
QUERY = b'<?xml version="1.0"?>\r\n<Query><CmdType>Catalog</CmdType><SN>1</SN><DeviceID>34020000001320000001</DeviceID></Query>'


def wire(message: Request | Response) -> Request | Response:
    return parse_message(message.to_bytes())


def req(message: Request) -> Request:
    parsed = wire(message)
    assert isinstance(parsed, Request)
    return parsed


def resp(message: Response) -> Response:
    parsed = wire(message)
    assert isinstance(parsed, Response)
    return parsed


def subscriber(expires: int = 600, event: str = "Catalog;id=1") -> Subscriber:
    return Subscriber(
        event=event,
        target_uri=f"sip:{DEVICE_ID}@10.0.0.2:5060",
        from_addr=NameAddress("sip:34020000002000000001@3402000000"),
        to_addr=NameAddress(f"sip:{DEVICE_ID}@3402000000"),
        call_id="sub-call-1",
        local_tag="sub1",
        local=PLATFORM,
        contact="sip:34020000002000000001@10.0.0.1:5060",
        expires=expires,
    )


def established(now: float = 0.0, expires: int = 600) -> tuple[Subscriber, Notifier, Request]:
    sub = subscriber(expires)
    subscribe = req(sub.subscribe(branch="z9hG4bKs1", body=QUERY, content_type="Application/MANSCDP+xml"))
    notifier, ok = Notifier.accept(
        subscribe, now=now, local_tag="dev1", contact=f"sip:{DEVICE_ID}@10.0.0.2:5060", local=DEVICE
    )
    sub.on_response(resp(ok), now)
    return sub, notifier, subscribe


def test_subscribe_carries_event_expires_contact_and_query() -> None:
    sub = subscriber()
    subscribe = req(sub.subscribe(branch="z9hG4bKs1", body=QUERY, content_type="Application/MANSCDP+xml"))
    assert subscribe.method == "SUBSCRIBE" and str(subscribe.cseq) == "1 SUBSCRIBE"
    assert subscribe.headers.get("Event") == "Catalog;id=1" and subscribe.expires == 600
    assert subscribe.from_addr.tag == "sub1" and subscribe.to_addr.tag is None
    assert subscribe.contacts and subscribe.body == QUERY and sub.state == PENDING


def test_200_with_expires_sets_refresh_and_expiry_deadlines() -> None:
    sub, notifier, _ = established(now=100.0)
    assert sub.state == ACTIVE and sub.expires_at == 700.0 and sub.refresh_at == 640.0
    assert sub.dialog is not None and sub.dialog.remote_tag == "dev1"
    assert sub.next_deadline() == 640.0
    assert notifier.expires_at == 700.0 and notifier.next_deadline() == 700.0


def test_notify_is_answered_200_and_updates_state() -> None:
    sub, notifier, _ = established()
    notify = req(
        notifier.notify(
            branch="z9hG4bKn1", now=10.0, body=b"<Notify/>", content_type="Application/MANSCDP+xml"
        )
    )
    assert notify.headers.get("Subscription-State") == "active;expires=590"
    assert notify.headers.get("Event") == "Catalog;id=1" and str(notify.cseq) == "1 NOTIFY"
    assert notify.uri == "sip:34020000002000000001@10.0.0.1:5060"
    answer = sub.on_notify(notify, 10.0)
    assert answer.status == 200 and answer.to_addr.tag == "sub1" and sub.state == ACTIVE
    assert sub.expires_at == 600.0
    second = req(notifier.notify(branch="z9hG4bKn2", now=11.0))
    assert str(second.cseq) == "2 NOTIFY" and sub.on_notify(second, 11.0).status == 200


def test_refresh_at_90_percent_then_the_new_grant_moves_the_deadlines() -> None:
    sub, notifier, subscribe = established(expires=600)
    assert sub.check(539.9) is None
    assert sub.check(540.0) == "refresh"
    refresh = req(sub.refresh(branch="z9hG4bKs2", now=540.0))
    assert sub.check(541.0) is None  # no second refresh while one is pending
    assert str(refresh.cseq) == "2 SUBSCRIBE" and refresh.call_id == subscribe.call_id
    assert refresh.to_addr.tag == "dev1" and refresh.expires == 600
    assert refresh.uri == f"sip:{DEVICE_ID}@10.0.0.2:5060"
    answer = notifier.on_subscribe(refresh, 540.0)
    assert answer.status == 200 and answer.expires == 600
    sub.on_response(resp(answer), 540.0)
    assert (sub.refresh_at, sub.expires_at) == (1080.0, 1140.0)
    assert notifier.expires_at == 1140.0 and not notifier.expired(1139.0)


def test_expiry_without_refresh_is_reported_once_on_both_sides() -> None:
    sub, notifier, _ = established(expires=600)
    assert sub.check(600.0) == "expired"
    assert sub.state == "terminated" and sub.reason == "expired"
    assert sub.check(601.0) is None and sub.next_deadline() is None
    assert notifier.expired(600.0) and notifier.next_deadline() is None
    last = req(notifier.notify(branch="z9hG4bKlast", now=600.0))
    assert last.headers.get("Subscription-State") == "terminated;reason=timeout"


def test_unsubscribe_with_expires_0_and_final_notify() -> None:
    sub, notifier, _ = established()
    bye = req(sub.unsubscribe(branch="z9hG4bKu"))
    assert bye.expires == 0 and str(bye.cseq) == "2 SUBSCRIBE"
    answer = notifier.on_subscribe(bye, 100.0)
    assert answer.status == 200 and answer.expires == 0 and notifier.expired(100.0)
    sub.on_response(resp(answer), 100.0)
    assert sub.state == "terminated" and sub.reason == "unsubscribed"
    final = req(notifier.notify(branch="z9hG4bKf", now=100.0))
    assert final.headers.get("Subscription-State") == "terminated;reason=timeout"
    assert sub.on_notify(final, 100.0).status == 200
    # The notifier's dialog is over: a late refresh is refused.
    assert notifier.on_subscribe(bye, 101.0).status == 481


def test_notify_terminated_ends_the_subscription() -> None:
    sub, notifier, _ = established()
    notifier._terminate("noresource")
    notify = req(notifier.notify(branch="z9hG4bKt", now=5.0))
    assert sub.on_notify(notify, 5.0).status == 200
    assert sub.state == "terminated" and sub.reason == "noresource" and sub.check(1e9) is None


def test_notify_before_the_200_creates_the_dialog() -> None:
    sub = subscriber()
    subscribe = req(sub.subscribe(branch="z9hG4bKs1"))
    notifier, ok = Notifier.accept(
        subscribe, now=0.0, local_tag="dev1", contact="sip:d@10.0.0.2", local=DEVICE
    )
    notify = req(notifier.notify(branch="z9hG4bKearly", now=0.0))
    assert sub.on_notify(notify, 0.0).status == 200
    assert sub.state == ACTIVE and sub.dialog is not None and sub.dialog.remote_target == "sip:d@10.0.0.2"
    sub.on_response(resp(ok), 0.1)
    refresh = req(sub.refresh(branch="z9hG4bKr", now=540.0))
    assert str(refresh.cseq) == "2 SUBSCRIBE" and refresh.to_addr.tag == "dev1"


def test_notify_without_contact_before_the_200_is_accepted_and_the_200_makes_the_dialog() -> None:
    sub = subscriber()
    subscribe = req(sub.subscribe(branch="z9hG4bKs1"))
    notifier, ok = Notifier.accept(
        subscribe, now=0.0, local_tag="dev1", contact="sip:d@10.0.0.2", local=DEVICE
    )
    notify = req(notifier.notify(branch="z9hG4bKearly", now=0.0))
    notify.headers.remove("Contact")  # as many devices send it
    assert sub.on_notify(notify, 0.0).status == 200
    assert sub.dialog is None
    sub.on_response(resp(ok), 0.1)
    assert sub.dialog is not None and sub.state == ACTIVE


def test_notify_of_another_subscription_gets_481() -> None:
    sub, _, _ = established()
    other_sub, other_notifier, _ = established()
    other_notifier.event = "Catalog;id=2"
    notify = req(other_notifier.notify(branch="z9hG4bKo", now=1.0))
    assert sub.on_notify(notify, 1.0).status == 481
    alarm = subscriber(event="presence;id=3")
    alarm.subscribe(branch="z9hG4bKa")
    assert alarm.on_notify(req(other_notifier.notify(branch="z9hG4bKo2", now=1.0)), 1.0).status == 481


def test_refused_subscribe_ends_it() -> None:
    sub = subscriber()
    subscribe = req(sub.subscribe(branch="z9hG4bKs1"))
    sub.on_response(resp(make_response(subscribe, 100)), 0.0)
    assert sub.state == PENDING
    sub.on_response(resp(make_response(subscribe, 489, to_tag="x")), 0.0)
    assert sub.state == "terminated" and sub.reason == "489 Bad Event"
    with pytest.raises(ValueError):
        sub.refresh(branch="z9hG4bKr", now=1.0)


def test_subscribe_timeout_ends_it() -> None:
    sub = subscriber()
    sub.subscribe(branch="z9hG4bKs1")
    sub.on_transaction_failed()
    assert sub.state == "terminated" and sub.reason == "timeout"


def test_notifier_caps_expires_and_defaults_when_absent() -> None:
    sub = subscriber(expires=999_999)
    subscribe = req(sub.subscribe(branch="z9hG4bKs1"))
    notifier, ok = Notifier.accept(
        subscribe, now=0.0, local_tag="d", contact="sip:d@h", local=DEVICE, max_expires=3600
    )
    assert ok.expires == 3600 and notifier.expires_at == 3600.0 and ok.headers.get("Event") == "Catalog;id=1"
    subscribe.headers.remove("Expires")
    _, ok = Notifier.accept(
        subscribe, now=0.0, local_tag="d", contact="sip:d@h", local=DEVICE, default_expires=600
    )
    assert ok.expires == 600


def test_old_cseq_notify_is_refused() -> None:
    sub, notifier, _ = established()
    first = req(notifier.notify(branch="z9hG4bK1", now=1.0))
    second = req(notifier.notify(branch="z9hG4bK2", now=1.0))
    assert sub.on_notify(second, 1.0).status == 200
    assert sub.on_notify(first, 1.0).status == 500


@pytest.mark.parametrize(("expires", "at"), [(3600, 3540.0), (600, 540.0), (86400, 86340.0), (30, 27.0)])
def test_refresh_time_is_60s_or_10_percent_before_expiry(expires: int, at: float) -> None:
    assert refresh_time(0.0, expires) == at


def test_header_helpers() -> None:
    assert event_type("Catalog;id=5") == "catalog" and event_id("Catalog ; id = 5") == "5"
    assert event_id("presence") is None and event_id("x;;") is None
    assert parse_subscription_state("active;expires=3599") == ("active", 3599, None)
    assert parse_subscription_state("terminated;reason=timeout") == ("terminated", None, "timeout")
    assert parse_subscription_state(None) == ("", None, None)
