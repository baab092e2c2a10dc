"""The reconciler: with every webhook lost, one run brings every payment to YooKassa's state.

The handler runs in-process with the EventBridge Scheduler event from ``events/``; YooKassa is the
sandbox over HTTP (its clock moved to expire payments), DynamoDB is moto's server.
"""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from local import lambda_runtime
from payments import runtime
from payments.domain import Changes, Update
from payments.errors import ReconcileFailed, StoreUnavailable
from payments.services.reconcile import reconcile
from tests.conftest import Stack
from tests.integration.support import (
    decline,
    environment,
    order_of,
    order_payment,
    payment_of,
    payments_of_user,
    store,
    subscription_of,
    subscription_payment,
    succeed,
)
from tests.support import load_event

RECONCILER = "ReconcilerFunction"
NOW = {"RECONCILE_AFTER_SECONDS": "0"}  # every pending payment is "old enough" for the test


def run_reconciler() -> dict[str, Any]:
    result: dict[str, Any] = lambda_runtime.invoke(RECONCILER, load_event(RECONCILER))
    return result


def test_one_run_brings_fifty_payments_to_their_true_state_with_every_webhook_lost(stack: Stack) -> None:
    stack.sandbox.webhook_urls[:] = ["http://127.0.0.1:9/never-reached"]
    stack.sandbox_post("/sandbox/faults", {"route": "webhooks", "fault": "drop", "count": 1000})
    expected: dict[str, str] = {}

    # 10 left unpaid until YooKassa's payment term runs out (the sandbox clock moves an hour)
    # (one customer each: a customer may have only a few payable payments at once)
    expiring = [order_payment(stack, f"exp-{i}", 10000 + i, sub=f"c-exp-{i}") for i in range(10)]
    stack.sandbox_post("/sandbox/clock", {"advanceSeconds": 3700})
    expected |= {pid: "canceled" for pid, _ in expiring}
    # 15 paid, 10 declined, 10 still pending, 5 subscriptions paid
    for i in range(15):
        pid, yk = order_payment(stack, f"paid-{i}", 20000 + i, sub=f"c-paid-{i}")
        succeed(stack, yk)
        expected[pid] = "paid"
    for i in range(10):
        pid, yk = order_payment(stack, f"declined-{i}", 30000 + i, sub=f"c-declined-{i}")
        decline(stack, yk, "card_expired")
        expected[pid] = "failed"
    for i in range(10):
        pid, _ = order_payment(stack, f"pending-{i}", 40000 + i, sub=f"c-pending-{i}")
        expected[pid] = "pending"
    for i in range(5):
        pid, yk = subscription_payment(stack, f"sub-{i}", f"plan-{i}")
        succeed(stack, yk)
        expected[pid] = "success"
    assert len(expected) == 50
    assert all(payment_of(pid).status == "pending" for pid in expected)  # nothing was delivered

    with environment(**NOW):
        summary = run_reconciler()

    assert summary == {"checked": 50, "fixed": 40, "conflicts": 0, "errors": 0, "unfinished": False}
    assert {pid: payment_of(pid).status for pid in expected} == expected
    for i in range(15):
        assert order_of(f"paid-{i}").status == "paid"
    for i in range(5):
        assert subscription_of(f"sub-{i}").status == "active"
    canceled = payment_of(expiring[0][0])
    assert canceled.cancellation_reason == "expired_on_confirmation"
    # a second run finds only the ten truly pending ones, and changes nothing
    with environment(**NOW):
        assert run_reconciler() == {"checked": 10, "fixed": 0, "conflicts": 0, "errors": 0, "unfinished": False}


def test_a_payment_whose_create_answer_was_lost_is_found_with_the_same_idempotence_key(stack: Stack) -> None:
    """YooKassa made the payment but our create never heard back (HTTP 500 after applying): we have no
    YooKassa id. The reconciler repeats the create with the same key, learns the id and settles it."""
    stack.put_order("order-1", "alice", 150000)
    stack.sandbox_post("/sandbox/faults", {"route": "POST /v3/payments", "fault": "500_applied", "count": 100})
    with environment(YOOKASSA_BUDGET_SECONDS="0.5"):
        status, _ = stack.create_order_payment("order-1", 150000)
    assert status == 504
    requests.delete(f"{stack.sandbox.base_url}/sandbox/faults", timeout=5).raise_for_status()
    [ours] = payments_of_user("alice")
    assert ours.yookassa_id is None
    [provider] = stack.provider_payments()
    succeed(stack, provider["id"])

    with environment(**NOW):
        summary = run_reconciler()

    assert (summary["checked"], summary["fixed"]) == (1, 1)
    payment = payment_of(ours.payment_id)
    assert (payment.status, payment.yookassa_id) == ("paid", provider["id"])
    assert store().find_payment_by_yookassa_id(provider["id"]) == payment
    assert len(stack.provider_payments()) == 1  # the repeated create made nothing new


def test_a_lost_create_re_sent_after_our_record_changed_still_reaches_the_one_yookassa_payment(
    stack: Stack,
) -> None:
    """The test above, with our record updated between the lost create and the reconciler's re-send
    (a new version and a check time, as another run or a poll writes): the re-sent create still carries
    ``create-<paymentId>`` (tests/unit/test_yookassa_client.py pins the header), so YooKassa answers with
    the payment it made, never a second one, however often the reconciler runs."""
    stack.put_order("order-1", "alice", 150000)
    stack.sandbox_post("/sandbox/faults", {"route": "POST /v3/payments", "fault": "500_applied", "count": 100})
    with environment(YOOKASSA_BUDGET_SECONDS="0.5"):
        status, _ = stack.create_order_payment("order-1", 150000)
    assert status == 504
    requests.delete(f"{stack.sandbox.base_url}/sandbox/faults", timeout=5).raise_for_status()
    [lost] = payments_of_user("alice")
    touched = replace(
        lost, provider_checked_at=lost.created_at, updated_at=lost.created_at, version=lost.version + 1
    )
    store().commit(Changes(updated=(Update(lost, touched),)))
    [provider] = stack.provider_payments()

    now = datetime.now(UTC) + timedelta(minutes=10)
    for _ in range(2):
        reconcile(runtime.store(), runtime.yookassa(), runtime.settings(), now, lambda: 600_000)

    payment = payment_of(lost.payment_id)
    assert payment.yookassa_id == provider["id"]
    assert payment.version > touched.version
    assert [p["id"] for p in stack.provider_payments()] == [provider["id"]]  # exactly one YooKassa payment


def test_young_pending_payments_wait_for_their_webhook(stack: Stack) -> None:
    _, yookassa_id = order_payment(stack)
    succeed(stack, yookassa_id)
    summary = run_reconciler()  # the default threshold (120 s) is far away
    assert summary["checked"] == 0


def test_a_run_that_fails_every_check_raises_for_the_dead_letter_queue(stack: Stack) -> None:
    for i in range(2):
        order_payment(stack, f"order-{i}", 10000)
    unreachable = {"YOOKASSA_API_URL": "http://127.0.0.1:9/v3", "YOOKASSA_BUDGET_SECONDS": "0.5"}
    with environment(**NOW, **unreachable), pytest.raises(ReconcileFailed):
        run_reconciler()
    with environment(**NOW, AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:9"), pytest.raises(StoreUnavailable):
        run_reconciler()
    with environment(**NOW):  # YooKassa and DynamoDB back: the next run succeeds
        assert run_reconciler()["checked"] == 2


def test_a_run_stops_while_time_is_left_and_the_next_one_continues(stack: Stack) -> None:
    order_payment(stack)
    with environment(**NOW):
        summary = reconcile(
            runtime.store(), runtime.yookassa(), runtime.settings(), datetime.now(UTC), lambda: 1_000
        )
    assert (summary.checked, summary.unfinished) == (0, True)
