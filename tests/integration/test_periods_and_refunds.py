"""Paid time is sold at its price: plan changes never underprice, periods start at capture, and a full
refund takes back what the payment bought (an order becomes refunded, a subscription loses the period).

Handlers in-process with real events, DynamoDB on moto's server, YooKassa = the sandbox over HTTP.
"""

from datetime import datetime

from payments.domain.subscriptions import add_months
from tests.conftest import Stack
from tests.integration.support import (
    notify,
    order_of,
    order_payment,
    provider_get,
    refund,
    subscription_of,
    succeed,
    yookassa_id_of,
)


def pay_subscription(stack: Stack, plan_id: str, period: str, amount: int) -> tuple[str, datetime]:
    """One paid period of ``sub-1``: (our payment id, when YooKassa captured it)."""
    body = {"subscriptionId": "sub-1", "subscriptionType": period, "planId": plan_id, "amount": amount}
    status, created = stack.call("CreateSubscriptionPaymentFunction", body=body)
    assert status == 200, created
    yookassa_id = yookassa_id_of(created["paymentUrl"])
    succeed(stack, yookassa_id)
    assert notify(stack, "payment.succeeded", yookassa_id)[1]["outcome"] == "applied"
    captured = provider_get(stack, f"/payments/{yookassa_id}")["captured_at"]  # type: ignore[index]
    return created["paymentId"], datetime.fromisoformat(captured.replace("Z", "+00:00"))


def test_premium_monthly_paid_during_a_basic_year_starts_when_the_year_ends(stack: Stack) -> None:
    """The review's pricing hole: basic yearly (10 000 ₽), then premium monthly (2 500 ₽) used to give
    premium from that day until the end of the year plus a month: 13 months of premium for 12 500 ₽."""
    stack.put_plan("basic", 100_000, 1_000_000, name="Базовый")
    stack.put_plan("premium", 250_000, 2_500_000, name="Премиум")
    _, captured = pay_subscription(stack, "basic", "yearly", 1_000_000)
    year_end = add_months(captured, 12)

    pay_subscription(stack, "premium", "monthly", 250_000)

    subscription = subscription_of("sub-1")
    assert (subscription.plan_id, subscription.subscription_type) == ("basic", "yearly")  # the paid year
    assert subscription.scheduled_change is not None
    change = subscription.scheduled_change
    assert (change.plan_id, change.subscription_type, change.starts_at) == ("premium", "monthly", year_end)
    assert subscription.end_date == add_months(year_end, 1)  # the premium month, appended


def test_a_full_refund_of_a_subscription_payment_takes_back_its_period(stack: Stack) -> None:
    stack.put_plan("basic", 100_000, 1_000_000)
    _, captured = pay_subscription(stack, "basic", "monthly", 100_000)
    second, _ = pay_subscription(stack, "basic", "monthly", 100_000)
    assert subscription_of("sub-1").end_date == add_months(captured, 2)

    status, body = refund(stack, second, 50_000, key="half")  # a partial refund changes no dates
    assert status == 200, body
    assert subscription_of("sub-1").end_date == add_months(captured, 2)
    status, body = refund(stack, second)  # the rest: the payment is refunded in full
    assert (status, body["paymentStatus"]) == (200, "refunded")

    subscription = subscription_of("sub-1")
    assert (subscription.status, subscription.end_date, subscription.periods_paid) == (
        "active",
        add_months(captured, 1),
        1,
    )


def test_a_subscription_left_with_no_paid_time_is_canceled(stack: Stack) -> None:
    stack.put_plan("basic", 100_000, 1_000_000)
    only, _ = pay_subscription(stack, "basic", "monthly", 100_000)

    assert refund(stack, only)[0] == 200

    subscription = subscription_of("sub-1")
    assert subscription.status == "canceled"
    assert subscription.end_date == subscription.start_date


def test_a_fully_refunded_order_is_refunded_and_payable_again_only_once_set_up_anew(stack: Stack) -> None:
    payment_id, yookassa_id = order_payment(stack, "order-1", 150_000)
    succeed(stack, yookassa_id)
    assert notify(stack, "payment.succeeded", yookassa_id)[0] == 200

    assert refund(stack, payment_id)[0] == 200

    assert order_of("order-1").status == "refunded"
    status, body = stack.create_order_payment("order-1", 150_000)
    assert (status, body["error"]["code"]) == (409, "order_refunded")
    stack.put_order("order-1", "alice", 150_000)  # the app sets it up anew
    order = order_of("order-1")
    assert (order.status, order.paid_payment_id) == ("new", None)
    assert stack.create_order_payment("order-1", 150_000)[0] == 200


def test_a_partial_refund_of_an_order_leaves_it_paid(stack: Stack) -> None:
    payment_id, yookassa_id = order_payment(stack, "order-1", 150_000)
    succeed(stack, yookassa_id)
    assert notify(stack, "payment.succeeded", yookassa_id)[0] == 200

    assert refund(stack, payment_id, 50_000)[0] == 200

    assert order_of("order-1").status == "paid"
