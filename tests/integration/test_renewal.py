"""Automatic renewal against the sandbox: a saved card is charged once per period by the hourly
``RenewalFunction`` (re-runs, duplicated notifications and a charge whose answer was lost included),
declines go past due and expire, a revoked card stops at once, cancel and resume, expiry.

Handlers in-process with real events, DynamoDB on moto's server, YooKassa = the sandbox over HTTP.
"""

from datetime import datetime, timedelta
from typing import Any

import pytest
import requests

from local import lambda_runtime
from payments.domain.subscriptions import add_months
from payments.errors import RenewalFailed
from tests.conftest import Stack
from tests.integration.support import (
    notify,
    payments_of_user,
    provider_get,
    subscription_of,
    yookassa_id_of,
)
from tests.support import load_event


def subscribe(stack: Stack, auto_renew: bool = True, subscription_id: str = "sub-1") -> tuple[str, datetime]:
    """Alice pays a month of ``basic`` with a card (saved with ``auto_renew``): (the card's method id,
    when the period ends)."""
    body = {
        "subscriptionId": subscription_id,
        "subscriptionType": "monthly",
        "planId": "basic",
        "amount": 99_000,
        "autoRenew": auto_renew,
    }
    status, created = stack.call("CreateSubscriptionPaymentFunction", body=body)
    assert status == 200, created
    yookassa_id = yookassa_id_of(created["paymentUrl"])
    stack.sandbox_post(f"/sandbox/payments/{yookassa_id}/succeed", {"card": "5555555555554444"})
    assert notify(stack, "payment.succeeded", yookassa_id)[1]["outcome"] == "applied"
    paid = provider_get(stack, f"/payments/{yookassa_id}")
    assert paid is not None
    captured = datetime.fromisoformat(paid["captured_at"].replace("Z", "+00:00"))
    return paid["payment_method"]["id"], add_months(captured, 1)


def renewal_run(at: datetime) -> dict[str, Any]:
    event = {**load_event("RenewalFunction"), "time": at.isoformat().replace("+00:00", "Z")}
    summary: dict[str, Any] = lambda_runtime.invoke("RenewalFunction", event)
    return summary


def view(stack: Stack, subscription_id: str = "sub-1", sub: str = "alice") -> tuple[int, Any]:
    return stack.call("SubscriptionsFunction", path_params={"subscriptionId": subscription_id}, sub=sub)


def renewal_action(
    stack: Stack, action: str, subscription_id: str = "sub-1", sub: str = "alice"
) -> tuple[int, Any]:
    return stack.call(
        "AutoRenewFunction",
        route=f"POST /subscriptions/{{subscriptionId}}/{action}",
        path_params={"subscriptionId": subscription_id},
        sub=sub,
    )


def charges(stack: Stack, method_id: str) -> list[dict[str, Any]]:
    """The sandbox's payments made with the saved card (renewals), oldest first."""
    made = [p for p in stack.provider_payments() if p.get("payment_method", {}).get("id") == method_id]
    return sorted((p for p in made if p["id"] != method_id), key=lambda p: p["created_at"])


def next_charge(stack: Stack, method_id: str, outcome: str) -> None:
    stack.sandbox_post(f"/sandbox/payment_methods/{method_id}/next_charge", {"outcome": outcome})


def test_a_subscription_with_auto_renew_renews_exactly_once_per_period(stack: Stack) -> None:
    stack.put_plan("basic", 99_000, 990_000)
    method_id, end = subscribe(stack)
    status, shown = view(stack)
    assert status == 200, shown
    assert (shown["status"], shown["autoRenew"], shown["paymentMethod"]) == (
        "active",
        True,
        {"cardLast4": "4444", "cardType": "MasterCard"},
    )
    assert datetime.fromisoformat(shown["nextChargeAt"]) == end - timedelta(hours=24)

    assert renewal_run(end - timedelta(hours=25))["charged"] == 0
    assert renewal_run(end - timedelta(hours=2))["renewed"] == 1
    for _ in range(2):  # the schedule's retries, a re-run for the same time
        assert renewal_run(end - timedelta(hours=2))["charged"] == 0
    [charge] = charges(stack, method_id)
    assert (charge["status"], charge["amount"]["value"]) == ("succeeded", "990.00")
    assert {"paymentId", "userId", "subscriptionId", "planId", "subscriptionType"} <= set(charge["metadata"])
    for _ in range(2):  # YooKassa's notification, twice
        assert notify(stack, "payment.succeeded", charge["id"])[0] == 200
    subscription = subscription_of("sub-1")
    assert (subscription.periods_paid, subscription.end_date) == (2, add_months(end, 1))
    renewal_id = charge["metadata"]["paymentId"]
    status, polled = stack.status(renewal_id, function="SubscriptionPaymentStatusFunction")
    assert (status, polled["status"], polled["subscriptionId"]) == (200, "success", "sub-1")


def test_a_charge_whose_answer_was_lost_is_not_charged_twice(stack: Stack) -> None:
    stack.put_plan("basic", 99_000, 990_000)
    method_id, end = subscribe(stack)
    stack.sandbox_post("/sandbox/faults", {"route": "POST /v3/payments", "fault": "500_applied", "count": 10})
    due = end - timedelta(hours=3)
    with pytest.raises(RenewalFailed):  # YooKassa charged the card, we heard a 500 every time: retried
        renewal_run(due)
    requests.delete(f"{stack.sandbox.base_url}/sandbox/faults", timeout=10).raise_for_status()
    [charge] = charges(stack, method_id)
    assert renewal_run(due)["renewed"] == 1
    assert renewal_run(due + timedelta(hours=1))["charged"] == 0
    assert [c["id"] for c in charges(stack, method_id)] == [charge["id"]]
    assert subscription_of("sub-1").periods_paid == 2


def test_a_declined_renewal_goes_past_due_is_retried_then_expires(stack: Stack) -> None:
    stack.put_plan("basic", 99_000, 990_000)
    method_id, end = subscribe(stack)
    first = end - timedelta(hours=1)
    next_charge(stack, method_id, "insufficient_funds")
    assert renewal_run(first)["declined"] == 1
    shown = view(stack)[1]
    assert (shown["status"], shown["autoRenew"]) == ("past_due", True)
    assert datetime.fromisoformat(shown["nextChargeAt"]) == first + timedelta(days=1)
    for days, expected in ((1, "past_due"), (3, "past_due"), (5, "expired")):
        next_charge(stack, method_id, "insufficient_funds")
        assert renewal_run(first + timedelta(days=days))["declined"] == 1
        assert view(stack)[1]["status"] == expected
    shown = view(stack)[1]
    assert (shown["autoRenew"], "paymentMethod" in shown, "nextChargeAt" in shown) == (False, False, False)
    assert [c["status"] for c in charges(stack, method_id)] == ["canceled"] * 4
    assert renewal_run(first + timedelta(days=9))["charged"] == 0


def test_a_revoked_card_stops_retries_at_once(stack: Stack) -> None:
    stack.put_plan("basic", 99_000, 990_000)
    method_id, end = subscribe(stack)
    next_charge(stack, method_id, "permission_revoked")
    assert renewal_run(end - timedelta(hours=1))["declined"] == 1
    assert view(stack)[1]["status"] == "expired"
    for days in (1, 3, 5):
        assert renewal_run(end + timedelta(days=days))["charged"] == 0
    assert len(charges(stack, method_id)) == 1


def test_cancel_means_no_charge_and_canceled_at_the_end_resume_undoes_it(stack: Stack) -> None:
    stack.put_plan("basic", 99_000, 990_000)
    method_id, end = subscribe(stack)
    status, canceled = renewal_action(stack, "cancel")
    assert (status, canceled["status"], canceled["autoRenew"]) == (200, "active", False), canceled
    assert renewal_action(stack, "cancel")[1] == canceled  # again: the same
    assert renewal_action(stack, "cancel", sub="bob")[0] == 404
    status, resumed = renewal_action(stack, "resume")
    assert (status, resumed["autoRenew"]) == (200, True), resumed
    renewal_action(stack, "cancel")
    assert renewal_run(end - timedelta(hours=1))["charged"] == 0
    assert renewal_run(end + timedelta(minutes=1))["ended"] == 1
    assert view(stack)[1]["status"] == "canceled"
    assert charges(stack, method_id) == []
    status, refused = renewal_action(stack, "resume")
    assert (status, refused["error"]["code"]) == (409, "subscription_not_resumable"), refused


def test_a_subscription_without_renewal_expires_and_lists_with_the_users_others(stack: Stack) -> None:
    stack.put_plan("basic", 99_000, 990_000)
    _, end = subscribe(stack, auto_renew=False)
    subscribe(stack, subscription_id="sub-2")
    status, listed = stack.call("SubscriptionsFunction", route="GET /subscriptions")
    assert status == 200 and {s["subscriptionId"] for s in listed["subscriptions"]} == {"sub-1", "sub-2"}
    assert stack.call("SubscriptionsFunction", route="GET /subscriptions", sub="bob")[1] == {
        "subscriptions": []
    }
    assert view(stack, sub="bob")[0] == 404
    assert renewal_run(end + timedelta(seconds=1))["ended"] >= 1
    assert view(stack)[1]["status"] == "expired"


def test_an_orders_latest_payment_is_found_without_its_id(stack: Stack) -> None:
    stack.put_order("ord-1", "alice", 150_000)
    assert stack.call("OrderPaymentFunction", path_params={"orderId": "ord-1"})[0] == 404
    status, created = stack.create_order_payment("ord-1", 150_000)
    assert status == 200, created
    status, latest = stack.call("OrderPaymentFunction", path_params={"orderId": "ord-1"})
    assert (status, latest["paymentId"], latest["status"]) == (200, created["paymentId"], "pending")
    assert stack.call("OrderPaymentFunction", path_params={"orderId": "ord-1"}, sub="bob")[0] == 404
    assert [p.payment_id for p in payments_of_user("alice")] == [created["paymentId"]]
