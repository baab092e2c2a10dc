"""Nobody pays for what they cannot get: two-stage capture, the per-user limit of payable payments, a
refused keyless refund that can be asked again, and a 404 that never closes a payment.

Handlers in-process with real events, DynamoDB on moto's server, YooKassa = the sandbox over HTTP.
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from local.yookassa_sandbox import start_sandbox
from payments import runtime
from payments.services.reconcile import reconcile
from tests.conftest import Stack
from tests.integration.support import (
    environment,
    notify,
    order_of,
    order_payment,
    payment_of,
    provider_get,
    provider_post,
    provider_refunds,
    refund,
    succeed,
)

TWO_STAGE = {"CAPTURE_MODE": "two_stage"}


@pytest.fixture
def two_stage() -> Iterator[None]:
    with environment(**TWO_STAGE):
        yield


def held(stack: Stack, order_id: str = "order-1", amount: int = 150000) -> tuple[str, str]:
    """A two-stage order payment the customer has paid: YooKassa holds the money for us."""
    payment_id, yookassa_id = order_payment(stack, order_id, amount)
    succeed(stack, yookassa_id)
    assert provider_get(stack, f"/payments/{yookassa_id}")["status"] == "waiting_for_capture"  # type: ignore[index]
    return payment_id, yookassa_id


def test_a_held_payment_for_an_order_that_still_stands_is_captured_and_pays_it(
    stack: Stack, two_stage: None
) -> None:
    payment_id, yookassa_id = held(stack)

    assert notify(stack, "payment.waiting_for_capture", yookassa_id) == (200, {"outcome": "applied"})

    assert provider_get(stack, f"/payments/{yookassa_id}")["status"] == "succeeded"  # type: ignore[index]
    assert payment_of(payment_id).status == "paid"
    assert (order_of("order-1").status, order_of("order-1").paid_payment_id) == ("paid", payment_id)
    # YooKassa's own payment.succeeded (and redeliveries) then change nothing
    assert notify(stack, "payment.succeeded", yookassa_id) == (200, {"outcome": "duplicate"})
    assert notify(stack, "payment.waiting_for_capture", yookassa_id)[0] == 200


def test_a_held_payment_for_an_order_whose_price_changed_is_released_and_nobody_is_charged(
    stack: Stack, two_stage: None
) -> None:
    payment_id, yookassa_id = held(stack)
    stack.put_order("order-1", "alice", 120000)  # the app changed the price while the money was held

    assert notify(stack, "payment.waiting_for_capture", yookassa_id)[0] == 200

    provider = provider_get(stack, f"/payments/{yookassa_id}")
    assert provider is not None
    assert (provider["status"], provider["cancellation_details"]["reason"]) == (
        "canceled",
        "canceled_by_merchant",
    )
    assert payment_of(payment_id).status == "canceled"
    assert provider_refunds(stack, yookassa_id) == []  # nothing was taken, so nothing to give back
    assert order_of("order-1").status == "new"
    status, again = stack.create_order_payment("order-1", 120000)  # the customer pays the new price
    assert status == 200 and again["paymentId"] != payment_id


def test_the_reconciler_finishes_a_held_payment_whose_notification_was_lost(
    stack: Stack, two_stage: None
) -> None:
    payment_id, yookassa_id = held(stack)

    summary = reconcile(
        runtime.store(),
        runtime.yookassa(),
        runtime.settings(),
        datetime.now(UTC) + timedelta(minutes=10),
        lambda: 600_000,
    )

    assert (summary.checked, summary.fixed) == (1, 1)
    assert provider_get(stack, f"/payments/{yookassa_id}")["status"] == "succeeded"  # type: ignore[index]
    assert payment_of(payment_id).status == "paid"


def test_a_shop_without_two_stage_payments_gets_an_error_that_names_the_setting(stack: Stack) -> None:
    stack.put_order("order-1", "alice", 150000)
    with (
        start_sandbox(two_stage=False) as single_stage,
        environment(**TWO_STAGE, YOOKASSA_API_URL=single_stage.api_url),
    ):
        status, body = stack.create_order_payment("order-1", 150000)

    assert (status, body["error"]["code"]) == (502, "provider_error")
    assert "CAPTURE_MODE" in body["error"]["message"]
    assert order_of("order-1").active_payment_id is None  # the refused payment does not block the order


def test_money_for_an_order_paid_meanwhile_by_another_link_is_refunded_at_once(stack: Stack) -> None:
    stack.put_order("order-1", "alice", 150000)
    with environment(PAYMENT_TERM_SECONDS="60", REUSE_MARGIN_SECONDS="60"):  # never reuse: two links
        first = stack.create_order_payment("order-1", 150000)[1]
        second = stack.create_order_payment("order-1", 150000)[1]
    for created in (first, second):
        yookassa_id = created["paymentUrl"].rsplit("=", 1)[-1]
        succeed(stack, yookassa_id)
        assert notify(stack, "payment.succeeded", yookassa_id)[0] == 200

    assert order_of("order-1").paid_payment_id == first["paymentId"]
    second_payment = payment_of(second["paymentId"])
    assert (second_payment.status, second_payment.refunded_amount) == ("refunded", 150000)
    assert stack.status(second["paymentId"])[1]["refundedAmount"] == 150000


def test_the_sixth_payable_payment_of_a_customer_gets_429(stack: Stack) -> None:
    for n in range(5):
        order_payment(stack, f"order-{n}", 10000 + n)
    stack.put_order("order-5", "alice", 10005)

    status, body = stack.create_order_payment("order-5", 10005)

    assert (status, body["error"]["code"]) == (429, "too_many_pending_payments")
    assert len(stack.provider_payments()) == 5  # refused before YooKassa
    # another customer is not limited by alice's payments
    assert order_payment(stack, "bobs-order", 10000, sub="bob")[0]


def test_a_keyless_refund_refused_by_yookassa_can_be_asked_again(stack: Stack) -> None:
    payment_id, yookassa_id = order_payment(stack, "order-1", 100000)
    succeed(stack, yookassa_id)
    assert notify(stack, "payment.succeeded", yookassa_id)[0] == 200
    # Someone refunds 300 RUB in YooKassa's dashboard; our record does not know yet.
    dashboard = provider_post(stack, "/refunds", refund_body(yookassa_id, "300.00"), key="dashboard-refund")

    status, refused = refund(stack, payment_id)  # {}: all that is left, as far as we know
    assert (status, refused["error"]["code"]) == (502, "provider_error")
    assert notify(stack, "refund.succeeded", dashboard["id"])[0] == 200  # now we know

    status, accepted = refund(stack, payment_id)  # the same {} again: a new attempt, not the refusal
    assert status == 200, accepted
    assert (accepted["amount"], accepted["refundedAmount"], accepted["paymentStatus"]) == (
        70000,
        100000,
        "refunded",
    )
    assert refund(stack, payment_id)[1]["refundId"] == accepted["refundId"]  # replayed, not a third refund
    assert len(provider_refunds(stack, yookassa_id)) == 2


def test_a_payment_yookassa_answers_404_for_is_left_pending_never_closed(stack: Stack) -> None:
    payment_id, yookassa_id = order_payment(stack)
    succeed(stack, yookassa_id)  # paid: closing it on a 404 would lose the customer's money
    later = datetime.now(UTC) + timedelta(days=1)
    with start_sandbox() as other_shop, environment(YOOKASSA_API_URL=other_shop.api_url):
        summary = reconcile(runtime.store(), runtime.yookassa(), runtime.settings(), later, lambda: 600_000)

    assert (summary.checked, summary.fixed, summary.conflicts) == (1, 0, 1)
    assert payment_of(payment_id).status == "pending"
    # with the right shop again, the next run settles it
    summary = reconcile(runtime.store(), runtime.yookassa(), runtime.settings(), later, lambda: 600_000)
    assert (summary.fixed, payment_of(payment_id).status) == (1, "paid")


def refund_body(yookassa_id: str, value: str) -> dict[str, Any]:
    return {"payment_id": yookassa_id, "amount": {"value": value, "currency": "RUB"}}
