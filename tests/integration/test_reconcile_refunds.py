"""The reconciler settles admin refund requests that still hold money long after they were made.

An admin refund whose YooKassa answer was lost (timeout, 500), whose ``refund.succeeded`` was lost too,
and that nobody retried, would otherwise hold its amount forever. The reconciler finds such requests in
the pending index (shards ``REFUND#<n>``), learns YooKassa's refund (by id, or by repeating the create
with the same Idempotence-Key within 23 h) and applies it once; past 23 h it gives the hold back.

The service runs in-process against moto's DynamoDB and the YooKassa sandbox over HTTP.
"""

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import requests

from payments import runtime
from payments.domain import Changes, Payment, ProviderRefund, ProviderRefundStatus, RefundRequest, RefundState
from payments.domain.refunds import refund_accepted, reserve_refund
from payments.services.reconcile import ReconcileSummary, reconcile
from payments.yookassa import YooKassaClient
from tests.conftest import Stack
from tests.integration.support import (
    environment,
    notify,
    order_payment,
    payment_of,
    provider_post,
    provider_refunds,
    refund,
    store,
    succeed,
)
from tests.integration.test_refunds import paid_order

HOUR = timedelta(hours=1)


@pytest.fixture(autouse=True)
def webhooks_lost(stack: Stack) -> Iterator[None]:
    """Every notification is lost: only the reconciler can settle what the admin request left."""
    stack.sandbox_post("/sandbox/faults", {"route": "webhooks", "fault": "drop", "count": 1000})
    yield


def run_reconciler(later: timedelta) -> ReconcileSummary:
    return reconcile(
        runtime.store(), runtime.yookassa(), runtime.settings(), datetime.now(UTC) + later, lambda: 600_000
    )


def held_by_timeout(stack: Stack, payment_id: str, amount: int, key: str, fault: str) -> RefundRequest:
    """The admin's refund gets no answer from YooKassa (``500_applied``: it made the refund; ``500``: it
    never did): a 504, the amount held, and the request in the reconciler's shards."""
    stack.sandbox_post("/sandbox/faults", {"route": "POST /v3/refunds", "fault": fault, "count": 50})
    with environment(YOOKASSA_BUDGET_SECONDS="1"):
        status, body = refund(stack, payment_id, amount, key=key)
    assert (status, body["error"]["code"]) == (504, "provider_timeout")
    clear_refund_faults(stack)
    [held] = list(store().held_refund_requests(older_than=datetime.now(UTC) + HOUR))
    assert (held.payment_id, held.amount, held.state) == (payment_id, amount, RefundState.RESERVED)
    assert payment_of(payment_id).refund_reserved == amount
    return held


def clear_refund_faults(stack: Stack) -> None:
    requests.delete(f"{stack.sandbox.base_url}/sandbox/faults", timeout=5).raise_for_status()
    stack.sandbox_post("/sandbox/faults", {"route": "webhooks", "fault": "drop", "count": 1000})


def amounts(payment: Payment) -> tuple[int, int, str]:
    return payment.refunded_amount, payment.refund_reserved, str(payment.status)


def test_a_held_refund_yookassa_made_is_recorded_and_the_rest_stays_refundable(stack: Stack) -> None:
    payment_id, yookassa_id = paid_order(stack)
    held = held_by_timeout(stack, payment_id, 70000, "lost-answer", "500_applied")
    [made] = provider_refunds(stack, yookassa_id)

    summary = run_reconciler(HOUR)

    assert summary.as_dict() == {
        "checked": 1,
        "fixed": 1,
        "conflicts": 0,
        "errors": 0,
        "unfinished": False,
        "refundsChecked": 1,
    }
    assert amounts(payment_of(payment_id)) == (70000, 0, "paid")
    request = store().get_refund_request(payment_id, held.request_id)
    assert request is not None
    assert (request.state, request.yookassa_refund_id) == (RefundState.SUCCEEDED, made["id"])
    assert len(provider_refunds(stack, yookassa_id)) == 1  # the repeated create made nothing new
    assert list(store().held_refund_requests(older_than=datetime.now(UTC) + HOUR)) == []
    rest = refund(stack, payment_id, 30000, key="the-rest")
    assert (rest[0], rest[1]["refundedAmount"], rest[1]["paymentStatus"]) == (200, 100000, "refunded")


def test_a_held_refund_that_never_reached_yookassa_is_released_after_23_hours(stack: Stack) -> None:
    payment_id, yookassa_id = paid_order(stack)
    held = held_by_timeout(stack, payment_id, 70000, "never-reached", "500")
    assert provider_refunds(stack, yookassa_id) == []

    summary = run_reconciler(timedelta(hours=24))

    assert (summary.checked, summary.fixed, summary.errors, summary.refunds_checked) == (1, 1, 0, 1)
    assert amounts(payment_of(payment_id)) == (0, 0, "paid")
    request = store().get_refund_request(payment_id, held.request_id)
    assert request is not None
    assert (request.state, request.failure_reason) == (RefundState.FAILED, "unknown_outcome_expired")
    assert provider_refunds(stack, yookassa_id) == []  # never asked again under a forgotten key
    # The admin retrying that request learns its outcome is unknown; never a second refund.
    again = refund(stack, payment_id, 70000, key="never-reached")
    assert (again[0], again[1]["error"]["code"]) == (504, "provider_timeout")
    assert provider_refunds(stack, yookassa_id) == []
    whole = refund(stack, payment_id, key="whole")
    assert (whole[0], whole[1]["refundedAmount"], whole[1]["paymentStatus"]) == (200, 100000, "refunded")


def test_a_second_run_changes_nothing(stack: Stack) -> None:
    recorded_id, recorded_yookassa_id = paid_order(stack)
    held_by_timeout(stack, recorded_id, 70000, "lost-answer", "500_applied")
    assert run_reconciler(HOUR).fixed == 1
    released_id, _ = paid_order_of(stack, "order-2")
    held_by_timeout(stack, released_id, 40000, "never-reached", "500")
    assert run_reconciler(timedelta(hours=24)).fixed == 1
    before = (payment_of(recorded_id), payment_of(released_id))

    for later in (HOUR, timedelta(hours=24), timedelta(hours=48)):
        summary = run_reconciler(later)
        assert (summary.checked, summary.fixed, summary.refunds_checked) == (0, 0, 0)

    assert (payment_of(recorded_id), payment_of(released_id)) == before  # the same versions too
    assert amounts(before[0]) == (70000, 0, "paid")
    assert amounts(before[1]) == (0, 0, "paid")
    assert len(provider_refunds(stack, recorded_yookassa_id)) == 1


def test_a_young_held_refund_waits_for_its_answer(stack: Stack) -> None:
    payment_id, _ = paid_order(stack)
    held_by_timeout(stack, payment_id, 70000, "lost-answer", "500_applied")

    summary = run_reconciler(timedelta(0))  # younger than reconcile_after_seconds

    assert summary.refunds_checked == 0
    assert amounts(payment_of(payment_id)) == (0, 70000, "paid")


@pytest.mark.parametrize(("status", "expected"), [("succeeded", (50000, 0)), ("canceled", (0, 0))])
def test_a_request_with_a_known_refund_id_is_read_by_id(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, status: str, expected: tuple[int, int]
) -> None:
    """YooKassa accepted it as pending (we kept its id), and its final notification was lost."""
    payment_id, yookassa_id = paid_order(stack)
    payment = payment_of(payment_id)
    _, reservation, held = reserve_refund(payment, "known-id-request", "hash", 50000, datetime.now(UTC))
    store().commit(held)
    made = provider_post(
        stack,
        "/refunds",
        {
            "payment_id": yookassa_id,
            "amount": {"value": "500.00", "currency": "RUB"},
            "metadata": {"refundRequestId": reservation.request_id, "paymentId": payment_id},
        },
        key=reservation.idempotence_key(),
    )
    accepted = refund_accepted(reservation, made["id"], datetime.now(UTC))
    assert accepted is not None
    store().commit(Changes(updated=(accepted,)))
    get_refund = YooKassaClient.get_refund
    asked: list[str] = []

    def as_yookassa_says(self: YooKassaClient, refund_id: str) -> ProviderRefund:
        asked.append(refund_id)
        return replace(get_refund(self, refund_id), status=ProviderRefundStatus(status))

    monkeypatch.setattr(YooKassaClient, "get_refund", as_yookassa_says)
    create_refund = YooKassaClient.create_refund
    monkeypatch.setattr(YooKassaClient, "create_refund", lambda *a: pytest.fail(f"created again: {a}"))

    summary = run_reconciler(HOUR)

    monkeypatch.setattr(YooKassaClient, "create_refund", create_refund)
    assert (summary.checked, summary.fixed, summary.refunds_checked) == (1, 1, 1)
    assert asked == [made["id"]]
    after = payment_of(payment_id)
    assert (after.refunded_amount, after.refund_reserved) == expected
    request = store().get_refund_request(payment_id, reservation.request_id)
    assert request is not None and not request.is_open
    assert run_reconciler(HOUR).checked == 0


def paid_order_of(stack: Stack, order_id: str) -> tuple[str, str]:
    """A second paid payment in the same test (``paid_order`` always pays ``order-1``)."""
    payment_id, yookassa_id = order_payment(stack, order_id, 100000)
    succeed(stack, yookassa_id)
    # Webhooks are dropped by the sandbox, but this one is delivered by hand, as paid_order does.
    assert notify(stack, "payment.succeeded", yookassa_id) == (200, {"outcome": "applied"})
    return payment_id, yookassa_id
