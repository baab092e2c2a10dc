"""Webhooks: body shape, every event, YooKassa's redelivery schedule, the delivery log, webhook faults."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest

from local.yookassa_sandbox import Sandbox, start_sandbox
from tests.sandbox.support import Api, Receiver, assert_error, parse_time, wait_until

OFFSETS = (10, 42, 84, 168, 672, 5376, 86016)


def money(value: str) -> dict[str, str]:
    return {"value": value, "currency": "RUB"}


def now(api: Api) -> datetime:
    return parse_time(api.helper("GET", "/sandbox/clock").json()["now"])


def log_count(api: Api, count: int, timeout: float = 5.0) -> list[dict]:
    return list(wait_until(lambda: (items := api.webhook_log()) and len(items) >= count and items, timeout))


def add_fault(api: Api, **fault: object) -> dict:
    response = api.helper("POST", "/sandbox/faults", {"route": "webhooks", **fault})
    assert response.status_code == 200, response.text
    return dict(response.json())


# ------------------------------------------------------------------------------------------ shape
def test_notification_body(api: Api, hooked: Receiver) -> None:
    payment = api.create(metadata={"orderId": "42"})
    api.succeed(payment["id"])
    hooked.wait_for(1)
    received = hooked.received[0]
    assert received["content_type"] == "application/json"
    assert received["path"] == "/webhooks/yookassa"
    body = received["body"]
    assert set(body) == {"type", "event", "object"}
    assert body["type"] == "notification"
    assert body["event"] == "payment.succeeded"
    assert body["object"] == api.payment(payment["id"])  # the object as GET returns it
    assert body["object"]["metadata"] == {"orderId": "42"}


def test_every_event_kind(api: Api, hooked: Receiver) -> None:
    held = api.create(capture=False)
    api.succeed(held["id"])
    api.post(f"/payments/{held['id']}/capture", {})
    refund = api.post("/refunds", {"payment_id": held["id"], "amount": money("10.00")}).json()
    canceled = api.create(capture=False)
    api.succeed(canceled["id"])
    api.post(f"/payments/{canceled['id']}/cancel", {})
    declined = api.create()
    api.succeed(declined["id"], card="4562265587712390")
    expired = api.create()
    api.helper("POST", f"/sandbox/payments/{expired['id']}/expire", {})
    hooked.wait_for(7)
    assert hooked.events() == [
        ("payment.waiting_for_capture", held["id"]),
        ("payment.succeeded", held["id"]),
        ("refund.succeeded", refund["id"]),
        ("payment.waiting_for_capture", canceled["id"]),
        ("payment.canceled", canceled["id"]),
        ("payment.canceled", declined["id"]),
        ("payment.canceled", expired["id"]),
    ]
    bodies = hooked.bodies()
    assert bodies[2]["object"] == refund
    assert bodies[0]["object"]["status"] == "waiting_for_capture"  # the object at the moment of the event
    assert bodies[5]["object"]["cancellation_details"] == {
        "party": "payment_network",
        "reason": "insufficient_funds",
    }
    assert bodies[6]["object"]["cancellation_details"] == {
        "party": "yoo_money",
        "reason": "expired_on_confirmation",
    }


def test_nothing_is_sent_without_a_url_and_url_changes_apply_at_once(
    api: Api, sandbox: Sandbox, receiver: Receiver
) -> None:
    first = api.create()
    api.succeed(first["id"])
    assert sandbox.dispatcher.wait_idle()
    assert receiver.received == []
    assert api.webhook_log() == []
    sandbox.webhook_urls.append(receiver.url)
    second = api.create()
    api.succeed(second["id"])
    receiver.wait_for(1)
    sandbox.webhook_urls = [receiver.url, receiver.url + "?copy=2"]
    third = api.create()
    api.succeed(third["id"])
    receiver.wait_for(3)
    paths = sorted(item["path"] for item in receiver.received[1:])
    assert paths == ["/webhooks/yookassa", "/webhooks/yookassa?copy=2"]
    assert [event[1] for event in receiver.events()] == [second["id"], third["id"], third["id"]]


def test_delivery_never_happens_inside_the_request(api: Api, hooked: Receiver) -> None:
    """GIVEN a receiver that answers nothing until released WHEN a payment succeeds THEN the request has
    answered while its notification is still unanswered: no attempt is in the log yet; released, it
    arrives."""
    hooked.block()
    payment = api.create()
    api.succeed(payment["id"])
    assert api.webhook_log() == []  # inside the request, the attempt would have ended (timed out) by now
    assert hooked.received == []
    hooked.release()
    hooked.wait_for(1)
    assert log_count(api, 1)[0]["ok"] is True


def test_delivery_log(api: Api, hooked: Receiver, sandbox: Sandbox) -> None:
    payment = api.create()
    api.succeed(payment["id"])
    [entry] = log_count(api, 1)
    assert entry["event"] == "payment.succeeded"
    assert entry["objectId"] == payment["id"]
    assert entry["url"] == hooked.url
    assert entry["attempt"] == 1
    assert entry["statusCode"] == 200
    assert entry["ok"] is True
    assert "error" not in entry
    parse_time(entry["at"])
    assert set(entry) >= {"id", "notificationId"}
    other = api.create()
    api.succeed(other["id"])
    log_count(api, 2)
    assert [e["objectId"] for e in api.webhook_log(objectId=other["id"])] == [other["id"]]
    assert api.webhook_log(event="payment.canceled") == []


def test_the_dispatcher_is_idle_only_once_every_due_delivery_was_tried(
    api: Api, hooked: Receiver, sandbox: Sandbox
) -> None:
    """GIVEN a receiver holding its answer THEN the dispatcher is busy (a bounded wait says so) until the
    attempt ends; once idle, the attempt is in the log. A retry due later on the emulator's clock does not
    count until the clock reaches it."""
    assert sandbox.dispatcher.idle()
    hooked.block()
    hooked.fail(1)
    payment = api.create()
    api.succeed(payment["id"])
    assert not sandbox.dispatcher.idle()
    assert sandbox.dispatcher.wait_idle(timeout=0.2) is False  # held by the receiver: still in flight
    hooked.release()
    assert sandbox.dispatcher.wait_idle()
    [failed] = api.webhook_log()
    assert failed["ok"] is False  # its retry is due in 10 s on the emulator's clock: idle until then
    api.advance(10)
    assert sandbox.dispatcher.wait_idle()
    assert [entry["ok"] for entry in api.webhook_log()] == [False, True]


# ------------------------------------------------------------------------------------------ redelivery
def test_redelivery_schedule_on_the_emulator_clock(api: Api, hooked: Receiver, sandbox: Sandbox) -> None:
    hooked.fail(1000)
    payment = api.create()
    event_at = parse_time(api.succeed(payment["id"])["captured_at"])
    log_count(api, 1)
    for attempt, offset in enumerate(OFFSETS, start=2):
        due = event_at + timedelta(seconds=offset)
        api.advance(max(0.0, (due - now(api)).total_seconds() - 1))
        assert sandbox.dispatcher.wait_idle()
        assert len(api.webhook_log()) == attempt - 1, f"attempt {attempt} came early"
        api.advance(1.1)
        log_count(api, attempt)
    api.advance(30 * 86400)
    assert sandbox.dispatcher.wait_idle()
    entries = api.webhook_log()
    assert [e["attempt"] for e in entries] == [1, 2, 3, 4, 5, 6, 7, 8]  # then YooKassa gives up
    assert all(e["ok"] is False and e["statusCode"] == 500 for e in entries)
    for entry, offset in zip(entries[1:], OFFSETS, strict=True):
        delay = (parse_time(entry["at"]) - event_at).total_seconds()
        assert offset <= delay < offset + 2, (entry, offset)
    bodies = hooked.bodies()
    assert len(bodies) == 8
    assert all(body == bodies[0] for body in bodies)  # the object as it was at the event


def test_redelivery_stops_at_the_first_200(api: Api, hooked: Receiver, sandbox: Sandbox) -> None:
    hooked.fail(2, status=503)
    payment = api.create()
    api.succeed(payment["id"])
    log_count(api, 1)
    api.advance(10)
    log_count(api, 2)
    api.advance(32)
    entries = log_count(api, 3)
    api.advance(2 * 86400)
    assert sandbox.dispatcher.wait_idle()
    entries = api.webhook_log()
    assert [(e["attempt"], e["statusCode"], e["ok"]) for e in entries] == [
        (1, 503, False),
        (2, 503, False),
        (3, 200, True),
    ]


def test_redelivery_in_real_time_with_a_time_scale(receiver: Receiver) -> None:
    """86016 s at time_scale 20000 is 4.3 real seconds."""
    receiver.fail(1000)
    with start_sandbox(time_scale=20000, webhook_urls=[receiver.url]) as sandbox:
        api = Api(sandbox)
        payment = api.create()
        event_at = parse_time(api.succeed(payment["id"])["captured_at"])
        log_count(api, 8, timeout=15)
        assert sandbox.dispatcher.wait_idle()
        entries = api.webhook_log()
        assert [e["attempt"] for e in entries] == list(range(1, 9))
        for entry, offset in zip(entries[1:], OFFSETS, strict=True):
            assert (parse_time(entry["at"]) - event_at).total_seconds() >= offset


def test_connection_errors_and_timeouts_are_failed_attempts(
    api: Api, sandbox: Sandbox, hooked: Receiver
) -> None:
    sandbox.dispatcher.timeout = 0.3
    hooked.stall_seconds = 1.0
    payment = api.create()
    api.succeed(payment["id"])
    [entry] = log_count(api, 1)
    assert entry["ok"] is False
    assert "statusCode" not in entry
    assert "timed out" in entry["error"].lower() or "timeout" in entry["error"].lower()
    hooked.stall_seconds = 0
    api.advance(10)
    second = log_count(api, 2)[1]
    assert (second["attempt"], second["ok"]) == (2, True)

    sandbox.webhook_urls = ["http://127.0.0.1:9/nobody-listens"]
    other = api.create()
    api.succeed(other["id"])
    refused = wait_until(lambda: api.webhook_log(objectId=other["id"]))[0]
    assert refused["ok"] is False
    assert "Connection" in refused["error"] or "refused" in refused["error"].lower()


# ------------------------------------------------------------------------------------------ helpers
def test_redeliver_one_object(api: Api, hooked: Receiver) -> None:
    first, second = api.create(), api.create()
    api.succeed(first["id"])
    api.succeed(second["id"])
    hooked.wait_for(2)
    result = api.helper("POST", "/sandbox/webhooks/redeliver", {"objectId": first["id"]}).json()
    assert result["redelivered"] == 1
    hooked.wait_for(3)
    assert hooked.events()[2] == ("payment.succeeded", first["id"])
    entry = log_count(api, 3)[2]
    assert entry["manual"] is True
    assert entry["attempt"] == 1


def test_redeliver_all_sends_the_latest_per_object(api: Api, hooked: Receiver) -> None:
    held = api.create(capture=False)
    api.succeed(held["id"])
    api.post(f"/payments/{held['id']}/capture", {})
    other = api.create()
    api.succeed(other["id"])
    hooked.wait_for(3)
    assert api.helper("POST", "/sandbox/webhooks/redeliver", {}).json()["redelivered"] == 2
    hooked.wait_for(5)
    assert sorted(hooked.events()[3:]) == sorted(
        [("payment.succeeded", held["id"]), ("payment.succeeded", other["id"])]
    )


def test_redeliver_unknown_object(api: Api) -> None:
    response = api.helper("POST", "/sandbox/webhooks/redeliver", {"objectId": "nope"})
    assert_error(response, 404, "not_found")


# ------------------------------------------------------------------------------------------ faults
def test_drop_loses_the_notification_for_good(api: Api, hooked: Receiver, sandbox: Sandbox) -> None:
    add_fault(api, fault="drop")
    lost = api.create()
    api.succeed(lost["id"])
    kept = api.create()
    api.succeed(kept["id"])
    hooked.wait_for(1)
    api.advance(2 * 86400)
    assert sandbox.dispatcher.wait_idle()
    assert hooked.events() == [("payment.succeeded", kept["id"])]
    [dropped] = api.webhook_log(objectId=lost["id"])
    assert dropped["fault"] == "drop"
    assert dropped["attempt"] == 0
    assert dropped["ok"] is False


def test_duplicate(api: Api, hooked: Receiver, sandbox: Sandbox) -> None:
    add_fault(api, fault="duplicate", times=2)
    payment = api.create()
    api.succeed(payment["id"])
    bodies = hooked.wait_for(3)
    assert sandbox.dispatcher.wait_idle()
    assert len(hooked.bodies()) == 3
    assert bodies[0] == bodies[1] == bodies[2]
    copies = sorted(e.get("copy", 0) for e in api.webhook_log())
    assert copies == [0, 1, 2]


def test_delay_lets_later_events_overtake(api: Api, hooked: Receiver) -> None:
    add_fault(api, fault="delay", delayMs=400)
    slow, fast = api.create(), api.create()
    started = time.monotonic()
    api.succeed(slow["id"])
    api.succeed(fast["id"])
    hooked.wait_for(2)
    assert hooked.events() == [("payment.succeeded", fast["id"]), ("payment.succeeded", slow["id"])], (
        hooked.events(),
        slow["id"],
        fast["id"],
        api.webhook_log(),
    )
    assert hooked.received[1]["at"] - started >= 0.4


def test_reorder_delivers_the_batch_in_reverse(api: Api, hooked: Receiver, sandbox: Sandbox) -> None:
    add_fault(api, fault="reorder", count=3)
    ids = [api.create()["id"] for _ in range(3)]
    api.succeed(ids[0])
    api.succeed(ids[1])
    assert sandbox.dispatcher.wait_idle()
    assert hooked.received == []  # held until the batch is complete
    api.succeed(ids[2])
    hooked.wait_for(3)
    assert [object_id for _, object_id in hooked.events()] == list(reversed(ids))
    assert api.helper("GET", "/sandbox/faults").json() == {"items": []}


def test_reorder_batch_is_released_by_redeliver(api: Api, hooked: Receiver, sandbox: Sandbox) -> None:
    add_fault(api, fault="reorder", count=5)
    first, second = api.create(), api.create()
    api.succeed(first["id"])
    api.succeed(second["id"])
    assert sandbox.dispatcher.wait_idle()
    assert hooked.received == []
    api.helper("POST", "/sandbox/webhooks/redeliver", {"objectId": first["id"]})
    hooked.wait_for(3)
    assert hooked.events()[:2] == [("payment.succeeded", second["id"]), ("payment.succeeded", first["id"])]
    assert hooked.events()[2] == ("payment.succeeded", first["id"])


@pytest.mark.parametrize(
    "fault",
    [
        {"fault": "500"},
        {"fault": "explode"},
        {"fault": "duplicate", "times": 0},
        {"fault": "delay", "delayMs": -5},
    ],
)
def test_webhook_fault_validation(api: Api, fault: dict) -> None:
    assert_error(api.helper("POST", "/sandbox/faults", {"route": "webhooks", **fault}), 400, "invalid_request")
