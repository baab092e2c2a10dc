"""Duplicates, reordering and our own failures: every delivery pattern ends in exactly the right state,
with exactly one order / subscription side effect.

Some tests deliver in-process (Function URL events); the end-to-end ones let the sandbox deliver over
HTTP to ``WebhookBridge`` (peer 127.0.0.1, so the allow-list is set to loopback for them).
"""

from datetime import datetime
from typing import Any

from payments.domain.subscriptions import add_months
from tests.conftest import Stack
from tests.integration.support import (
    WebhookBridge,
    audit_of,
    decline,
    environment,
    notify,
    one_month_long,
    order_of,
    order_payment,
    payment_of,
    provider_get,
    provider_post,
    provider_refunds,
    refund,
    subscription_of,
    subscription_payment,
    succeed,
    wait_for,
    yookassa_id_of,
)

LOOPBACK = {"WEBHOOK_ALLOWED_NETWORKS": "127.0.0.1/32"}


def dashboard_refund(stack: Stack, yookassa_id: str, amount: str) -> dict[str, Any]:
    """A refund made outside our service (YooKassa's merchant dashboard)."""
    return provider_post(
        stack, "/refunds", {"payment_id": yookassa_id, "amount": {"value": amount, "currency": "RUB"}}
    )


def test_five_succeeded_deliveries_and_a_late_canceled_pay_the_order_once(stack: Stack) -> None:
    payment_id, yookassa_id = order_payment(stack)
    succeed(stack, yookassa_id)

    outcomes = [notify(stack, "payment.succeeded", yookassa_id) for _ in range(5)]
    paid_order = order_of("order-1")
    late = notify(stack, "payment.canceled", yookassa_id)  # a canceled body: the fetched object says succeeded

    assert outcomes == [(200, {"outcome": "applied"})] + [(200, {"outcome": "duplicate"})] * 4
    assert late == (200, {"outcome": "duplicate"})
    payment = payment_of(payment_id)
    order = order_of("order-1")
    assert payment.status == "paid" and payment.paid_at is not None
    assert (order.status, order.paid_payment_id, order.active_payment_id) == ("paid", payment_id, None)
    assert order.version == paid_order.version  # nothing touched the order after the first delivery
    assert len(audit_of(yookassa_id)) == 6


def test_a_declined_payment_fails_once_and_a_later_succeeded_body_cannot_revive_it(stack: Stack) -> None:
    payment_id, yookassa_id = order_payment(stack)
    decline(stack, yookassa_id, "insufficient_funds")

    first = [notify(stack, "payment.canceled", yookassa_id) for _ in range(5)]
    late = notify(stack, "payment.succeeded", yookassa_id)

    assert first == [(200, {"outcome": "applied"})] + [(200, {"outcome": "duplicate"})] * 4
    assert late == (200, {"outcome": "duplicate"})
    payment = payment_of(payment_id)
    assert (payment.status, payment.cancellation_reason, payment.cancellation_party) == (
        "failed",
        "insufficient_funds",
        "payment_network",
    )
    _, view = stack.status(payment_id)
    assert (view["status"], view["cancellationReason"]) == ("failed", "insufficient_funds")
    assert order_of("order-1").active_payment_id is None  # the order may be paid afresh


def test_an_expired_order_payment_is_canceled_not_failed(stack: Stack) -> None:
    payment_id, yookassa_id = order_payment(stack)
    stack.sandbox_post(f"/sandbox/payments/{yookassa_id}/expire", {})

    assert notify(stack, "payment.canceled", yookassa_id) == (200, {"outcome": "applied"})

    payment = payment_of(payment_id)
    assert (payment.status, payment.cancellation_reason) == ("canceled", "expired_on_confirmation")


def test_five_deliveries_extend_the_subscription_exactly_once(stack: Stack) -> None:
    payment_id, yookassa_id = subscription_payment(stack, period="monthly")
    succeed(stack, yookassa_id)
    captured = provider_get(stack, f"/payments/{yookassa_id}")["captured_at"]  # type: ignore[index]

    outcomes = [notify(stack, "payment.succeeded", yookassa_id)[1]["outcome"] for _ in range(5)]

    assert outcomes == ["applied"] + ["duplicate"] * 4
    payment = payment_of(payment_id)
    subscription = subscription_of("sub-1")
    assert payment.status == "success"
    assert (subscription.status, subscription.last_payment_id, subscription.active_payment_id) == (
        "active",
        payment_id,
        None,
    )
    assert subscription.start_date is not None
    # the period starts when YooKassa took the money, not when we learnt of it
    assert subscription.start_date == datetime.fromisoformat(captured.replace("Z", "+00:00"))
    assert one_month_long(subscription)  # one month, not five


def test_a_second_period_extends_from_the_current_end(stack: Stack) -> None:
    first_id, first_yk = subscription_payment(stack, period="monthly")
    succeed(stack, first_yk)
    notify(stack, "payment.succeeded", first_yk)
    end_after_first = subscription_of("sub-1").end_date
    assert end_after_first is not None

    second_id, second_yk = subscription_payment(stack, period="yearly")
    succeed(stack, second_yk)
    for _ in range(3):
        notify(stack, "payment.succeeded", second_yk)

    subscription = subscription_of("sub-1")
    assert subscription.last_payment_id == second_id
    assert subscription.end_date == add_months(end_after_first, 12)
    assert payment_of(first_id).status == "success"


def test_refund_and_payment_notifications_in_any_order_end_refunded_with_one_side_effect(stack: Stack) -> None:
    """payment.succeeded lost; refund.succeeded first; then the late payment.succeeded, five times each."""
    payment_id, yookassa_id = order_payment(stack)
    succeed(stack, yookassa_id)
    status, accepted = notify(stack, "payment.succeeded", yookassa_id)
    assert status == 200
    paid_version = order_of("order-1").version
    status, accepted = refund(stack, payment_id)
    assert status == 200, accepted
    refund_id = accepted["refundId"]

    refunds = [notify(stack, "refund.succeeded", refund_id)[1]["outcome"] for _ in range(5)]
    late = [notify(stack, "payment.succeeded", yookassa_id)[1]["outcome"] for _ in range(5)]

    assert refunds == ["duplicate"] * 5  # the refund's own answer already applied it
    assert late == ["duplicate"] * 5
    payment = payment_of(payment_id)
    assert (payment.status, payment.refunded_amount, payment.refund_reserved) == ("refunded", 150000, 0)
    order = order_of("order-1")  # taken back once: paid, then refunded, nothing more
    assert (order.status, order.version) == ("refunded", paid_version + 1)


def test_a_refund_notification_overtaking_the_payments_own_settles_the_payment_first(stack: Stack) -> None:
    payment_id, yookassa_id = order_payment(stack)
    succeed(stack, yookassa_id)
    # refunded in YooKassa's dashboard while our payment.succeeded notification is still on its way
    refund_id = dashboard_refund(stack, yookassa_id, "500.00")["id"]

    assert notify(stack, "refund.succeeded", refund_id) == (200, {"outcome": "applied"})
    assert notify(stack, "payment.succeeded", yookassa_id) == (200, {"outcome": "duplicate"})

    payment = payment_of(payment_id)
    order = order_of("order-1")
    assert (payment.status, payment.refunded_amount) == ("paid", 50000)
    assert (order.status, order.paid_payment_id) == ("paid", payment_id)


def test_a_second_paid_payment_of_a_paid_order_is_refunded_without_touching_the_order(stack: Stack) -> None:
    """Two checkouts of one order, both paid (an old tab): the second money cannot buy anything, so it
    goes back to the customer in full, at once (CAPTURE_MODE=auto), and the order stays the first's."""
    stack.put_order("order-1", "alice", 150000)
    with environment(PAYMENT_TERM_SECONDS="60", REUSE_MARGIN_SECONDS="60"):  # never reuse: a new payment
        first = stack.create_order_payment("order-1", 150000)[1]
        second = stack.create_order_payment("order-1", 150000)[1]
    assert first["paymentId"] != second["paymentId"]
    first_yk, second_yk = (yookassa_id_of(p["paymentUrl"]) for p in (first, second))
    succeed(stack, first_yk)
    succeed(stack, second_yk)

    assert notify(stack, "payment.succeeded", first_yk) == (200, {"outcome": "applied"})
    paid = order_of("order-1")
    assert notify(stack, "payment.succeeded", second_yk) == (200, {"outcome": "applied"})
    assert notify(stack, "payment.succeeded", second_yk) == (200, {"outcome": "duplicate"})

    assert payment_of(first["paymentId"]).status == "paid"
    refunded = payment_of(second["paymentId"])
    assert (refunded.status, refunded.refunded_amount, refunded.refund_reserved) == ("refunded", 150000, 0)
    [refund] = provider_refunds(stack, second_yk)
    assert (refund["status"], refund["amount"]["value"]) == ("succeeded", "1500.00")
    assert provider_refunds(stack, first_yk) == []
    order = order_of("order-1")
    assert (order.paid_payment_id, order.version) == (first["paymentId"], paid.version)


def test_a_dynamodb_outage_answers_non_200_and_the_redelivery_converges(stack: Stack) -> None:
    payment_id, yookassa_id = order_payment(stack)
    with environment(**LOOPBACK), WebhookBridge() as bridge:
        stack.sandbox.webhook_urls[:] = [bridge.url]
        with environment(AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:9"):  # nothing listens there
            succeed(stack, yookassa_id)
            wait_for(lambda: bridge.answers, what="the first delivery")
        assert bridge.answers[0] == 503
        assert payment_of(payment_id).status == "pending"

        stack.sandbox_post("/sandbox/webhooks/redeliver", {"objectId": yookassa_id})

        wait_for(lambda: 200 in bridge.answers, what="a successful redelivery")
        stack.sandbox.webhook_urls.clear()
    payment = payment_of(payment_id)
    assert payment.status == "paid"
    assert order_of("order-1").paid_payment_id == payment_id
    deliveries = stack.sandbox_get(f"/sandbox/webhooks?objectId={yookassa_id}")["items"]
    assert any(d.get("statusCode") == 503 for d in deliveries)
    assert any(d.get("statusCode") == 200 for d in deliveries)


def test_the_sandbox_delivering_everything_five_times_ends_right(stack: Stack) -> None:
    """Real deliveries over HTTP, each notification five times."""
    paid_id, paid_yk = order_payment(stack, "order-1")
    declined_id, declined_yk = order_payment(stack, "order-2", 5000)
    sub_id, sub_yk = subscription_payment(stack)
    with environment(**LOOPBACK), WebhookBridge() as bridge:
        stack.sandbox.webhook_urls[:] = [bridge.url]
        stack.sandbox_post(
            "/sandbox/faults", {"route": "webhooks", "fault": "duplicate", "times": 4, "count": 3}
        )
        succeed(stack, paid_yk)
        decline(stack, declined_yk)
        succeed(stack, sub_yk)
        wait_for(lambda: len(bridge.answers) >= 15, what="fifteen deliveries")
        stack.sandbox.webhook_urls.clear()

    assert bridge.answers == [200] * 15
    assert payment_of(paid_id).status == "paid"
    assert payment_of(declined_id).status == "failed"
    assert payment_of(sub_id).status == "success"
    assert order_of("order-1").paid_payment_id == paid_id
    assert order_of("order-2").paid_payment_id is None
    subscription = subscription_of("sub-1")
    assert one_month_long(subscription)


def test_the_sandbox_delivering_the_refund_before_the_payment_ends_right(stack: Stack) -> None:
    """Real deliveries over HTTP, out of order: refund.succeeded arrives before payment.succeeded."""
    payment_id, yookassa_id = order_payment(stack)
    with environment(**LOOPBACK), WebhookBridge() as bridge:
        stack.sandbox.webhook_urls[:] = [bridge.url]
        stack.sandbox_post("/sandbox/faults", {"route": "webhooks", "fault": "reorder", "count": 2})
        succeed(stack, yookassa_id)
        dashboard_refund(stack, yookassa_id, "1500.00")
        wait_for(lambda: len(bridge.answers) >= 2, what="both deliveries")
        stack.sandbox.webhook_urls.clear()

    events = [d["event"] for d in stack.sandbox_get("/sandbox/webhooks")["items"] if d.get("statusCode")]
    assert events == ["refund.succeeded", "payment.succeeded"]
    assert bridge.answers == [200, 200]
    payment = payment_of(payment_id)
    assert (payment.status, payment.refunded_amount) == ("refunded", 150000)
    assert order_of("order-1").paid_payment_id == payment_id
