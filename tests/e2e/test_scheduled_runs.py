"""The scheduled functions against `python -m local dev`, over HTTP only: a payment whose webhook was
lost is settled by ``POST /_local/run/ReconcilerFunction`` with a ``time`` ten minutes ahead, and a
subscription is renewed once by ``POST /_local/run/RenewalFunction``."""

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from tests.e2e.conftest import POLL_TIMEOUT, Client, DevStack, yookassa_id

pytestmark = pytest.mark.e2e


@pytest.fixture
def webhooks_dropped(dev_stack: DevStack) -> Iterator[None]:
    """The sandbox loses the next notifications; the other tests of the session get theirs again after."""
    faults = f"{dev_stack.sandbox}/sandbox/faults"
    response = requests.post(faults, json={"route": "webhooks", "fault": "drop", "count": 100}, timeout=10)
    assert response.ok, response.text
    yield
    requests.delete(faults, timeout=10).raise_for_status()


def dropped_notification(stack: DevStack, provider_id: str) -> dict[str, Any]:
    """Wait (bounded) until the sandbox's delivery log shows the payment's notification was dropped."""
    deadline = time.monotonic() + POLL_TIMEOUT
    while True:
        log = requests.get(
            f"{stack.sandbox}/sandbox/webhooks",
            params={"objectId": provider_id, "event": "payment.succeeded"},
            timeout=10,
        ).json()["items"]
        if log:
            entry: dict[str, Any] = log[0]
            return entry
        assert time.monotonic() < deadline, f"no payment.succeeded notification after {POLL_TIMEOUT:.0f} s"
        time.sleep(0.2)


def test_a_run_on_request_settles_a_payment_whose_webhook_was_lost(
    dev_stack: DevStack, client: Client, webhooks_dropped: None
) -> None:
    order_id = client.put_order("alice", 73_000)
    created = client.create_order_payment(order_id, 73_000)
    provider_id = yookassa_id(created["paymentUrl"])

    client.sandbox(f"/sandbox/payments/{provider_id}/succeed", {})
    notification = dropped_notification(dev_stack, provider_id)
    assert notification.get("fault") == "drop" and not notification.get("ok"), notification

    # Ten minutes on, the payment is past the reconciler's threshold (RECONCILE_AFTER_SECONDS, 120 s).
    later = (datetime.now(UTC) + timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    run = requests.post(f"{dev_stack.api}/_local/run/ReconcilerFunction", json={"time": later}, timeout=60)

    assert run.status_code == 200, run.text
    summary = run.json()
    assert summary["fixed"] >= 1, summary
    status = client.call("GET", f"/payment-status/{created['paymentId']}")
    assert (status.status_code, status.json()["status"]) == (200, "paid"), status.text
    orders = {o["orderId"]: o for o in client.demo_data("alice")["orders"]}
    assert orders[order_id]["status"] == "paid"


def test_a_run_on_request_refuses_what_is_not_scheduled(dev_stack: DevStack) -> None:
    unknown = requests.post(f"{dev_stack.api}/_local/run/HealthFunction", json={}, timeout=10)
    bad_time = requests.post(
        f"{dev_stack.api}/_local/run/ReconcilerFunction", json={"time": "in ten minutes"}, timeout=10
    )

    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "not_found")
    assert (bad_time.status_code, bad_time.json()["error"]["code"]) == (400, "bad_request")


def test_the_stack_announces_its_schedules(dev_stack: DevStack) -> None:
    output = dev_stack.output()

    assert "scheduled ReconcilerFunction (ScheduleV2 rate(5 minutes)), every 300 s" in output
    assert "scheduled RenewalFunction (ScheduleV2 rate(1 hour)), every 3600 s" in output
    assert "/_local/run/" in output


def test_a_run_on_request_renews_a_subscription_once(dev_stack: DevStack, client: Client) -> None:
    """Over HTTP only: subscribe with automatic renewal, pay, then ``RenewalFunction`` a day before the
    period ends charges the saved card once, however often it is run for that time."""
    subscription_id = f"e2e-{uuid.uuid4().hex[:12]}"
    body = {
        "subscriptionId": subscription_id,
        "subscriptionType": "monthly",
        "planId": "basic",
        "amount": client.plan_price("basic", "monthly"),
        "autoRenew": True,
    }
    created = client.call("POST", "/subscriptions/payment/create", json=body)
    assert created.status_code == 200, created.text
    client.sandbox(f"/sandbox/payments/{yookassa_id(created.json()['paymentUrl'])}/succeed", {})
    client.wait_for_status(created.json()["paymentId"], {"success"})
    shown = client.call("GET", f"/subscriptions/{subscription_id}").json()
    assert shown["autoRenew"] and shown["paymentMethod"]["cardLast4"], shown

    due = shown["nextChargeAt"]
    runs = [
        requests.post(f"{dev_stack.api}/_local/run/RenewalFunction", json={"time": due}, timeout=60)
        for _ in range(2)
    ]
    assert [r.status_code for r in runs] == [200, 200], [r.text for r in runs]
    assert runs[0].json()["renewed"] >= 1 and runs[1].json()["charged"] == 0, [r.json() for r in runs]
    renewed = client.call("GET", f"/subscriptions/{subscription_id}").json()
    assert renewed["status"] == "active" and renewed["endDate"] > shown["endDate"], renewed
