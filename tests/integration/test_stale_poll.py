"""A status poll of a payment pending too long asks YooKassa itself: no reconciler run, no webhook.

The status handlers run in-process with API Gateway events; no webhook URL is configured, so only the
poll can learn what happened at the sandbox. ``STALE_PENDING_SECONDS=0`` stands in for "15 s later".
"""

import time

import requests

from tests.conftest import Stack
from tests.integration.support import (
    decline,
    environment,
    order_of,
    order_payment,
    payment_of,
    subscription_of,
    subscription_payment,
    succeed,
)

STALE = {"STALE_PENDING_SECONDS": "0"}


def test_a_poll_of_a_young_payment_is_one_read_and_shows_what_we_know(stack: Stack) -> None:
    payment_id, yookassa_id = order_payment(stack)
    succeed(stack, yookassa_id)

    status, view = stack.status(payment_id)  # default: 15 s have not passed yet

    assert (status, view["status"]) == (200, "pending")
    assert payment_of(payment_id).provider_checked_at is None


def test_a_poll_after_the_threshold_shows_the_real_status(stack: Stack) -> None:
    payment_id, yookassa_id = order_payment(stack)
    succeed(stack, yookassa_id)

    with environment(**STALE):
        status, view = stack.status(payment_id)

    assert (status, view["status"]) == (200, "paid")
    assert view["paidAt"]
    order = order_of("order-1")
    assert (order.status, order.paid_payment_id) == ("paid", payment_id)


def test_every_status_route_pulls_through_and_a_decline_shows_its_reason(stack: Stack) -> None:
    order_id, order_yk = order_payment(stack)
    decline(stack, order_yk, "3d_secure_failed")
    sub_id, sub_yk = subscription_payment(stack)
    succeed(stack, sub_yk)

    with environment(**STALE):
        _, order_view = stack.status(order_id, function="OrderPaymentStatusFunction")
        _, sub_view = stack.status(sub_id, function="SubscriptionPaymentStatusFunction")

    assert (order_view["status"], order_view["cancellationReason"]) == ("failed", "3d_secure_failed")
    assert sub_view["status"] == "success"
    assert subscription_of("sub-1").status == "active"


def test_polls_ask_yookassa_at_most_once_per_interval(stack: Stack) -> None:
    payment_id, yookassa_id = order_payment(stack)
    with environment(**STALE):
        assert stack.status(payment_id)[1]["status"] == "pending"  # asked: still pending at YooKassa
        succeed(stack, yookassa_id)
        assert stack.status(payment_id)[1]["status"] == "pending"  # within the interval: not asked again
    with environment(**STALE, PROVIDER_REFRESH_INTERVAL_SECONDS="0"):
        assert stack.status(payment_id)[1]["status"] == "paid"


def test_a_slow_yookassa_never_fails_the_poll(stack: Stack) -> None:
    payment_id, yookassa_id = order_payment(stack)
    succeed(stack, yookassa_id)
    stack.sandbox_post(
        "/sandbox/faults", {"route": "GET /v3/payments/{id}", "fault": "delay", "delayMs": 20000, "count": 1}
    )

    with environment(**STALE):
        started = time.monotonic()
        status, view = stack.status(payment_id)
        elapsed = time.monotonic() - started

    assert (status, view["status"]) == (200, "pending")  # what we know, in time
    # Bounded by the poll's 3 s YooKassa budget, not by YooKassa's 20 s stall (wide margin for a loaded
    # machine: this checks the bound, not a speed).
    assert elapsed < 12


def test_an_unreachable_yookassa_never_fails_the_poll(stack: Stack) -> None:
    payment_id, _ = order_payment(stack)
    stack.sandbox_post("/sandbox/faults", {"route": "GET /v3/payments/{id}", "fault": "500", "count": 100})

    with environment(**STALE, YOOKASSA_BUDGET_SECONDS="1"):
        status, view = stack.status(payment_id)

    assert (status, view["status"]) == (200, "pending")
    requests.delete(f"{stack.sandbox.base_url}/sandbox/faults", timeout=5).raise_for_status()
