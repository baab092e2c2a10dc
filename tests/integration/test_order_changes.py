"""When the price source changes under a pending payment: nobody pays the wrong price or order."""

from datetime import UTC, datetime

import pytest

from payments import runtime
from payments.domain import Changes
from payments.domain.payments import attach_provider_payment, new_payment, start_order_payment
from payments.domain.settlement import fail_before_provider
from payments.domain.subscriptions import add_months
from payments.errors import ConcurrentUpdate
from tests.conftest import Stack
from tests.integration.support import (
    notify,
    order_of,
    payment_of,
    subscription_of,
    succeed,
    yookassa_id_of,
)


def test_a_new_price_gets_a_new_payment_and_the_old_one_cannot_pay_the_order(stack: Stack) -> None:
    stack.put_order("o-1", "alice", 100000)
    _, first = stack.create_order_payment("o-1", 100000)
    stack.put_order("o-1", "alice", 80000)  # the app discounts the order

    status, second = stack.create_order_payment("o-1", 80000)

    assert status == 200, second
    assert second["paymentId"] != first["paymentId"]
    assert sorted(p["amount"]["value"] for p in stack.provider_payments()) == ["1000.00", "800.00"]
    # The customer still pays the old link: the order is not paid at 1000, and the 1000 go back at once.
    old = yookassa_id_of(first["paymentUrl"])
    succeed(stack, old)
    assert notify(stack, "payment.succeeded", old)[0] == 200
    assert payment_of(first["paymentId"]).status == "refunded"
    assert order_of("o-1").status == "new"
    # The new payment pays the order.
    new = yookassa_id_of(second["paymentUrl"])
    succeed(stack, new)
    notify(stack, "payment.succeeded", new)
    order = order_of("o-1")
    assert (order.status, order.paid_payment_id) == ("paid", second["paymentId"])


def test_a_reassigned_order_never_hands_the_old_owners_payment_to_the_new_one(stack: Stack) -> None:
    stack.put_order("o-2", "alice", 100000)
    _, alices = stack.create_order_payment("o-2", 100000, sub="alice")
    stack.put_order("o-2", "bob", 100000)

    status, bobs = stack.create_order_payment("o-2", 100000, sub="bob")

    assert status == 200, bobs
    assert bobs["paymentId"] != alices["paymentId"]
    assert stack.status(bobs["paymentId"], sub="bob")[0] == 200
    assert stack.create_order_payment("o-2", 100000, sub="alice")[0] == 404


def test_a_plan_switch_takes_effect_when_the_paid_period_ends(stack: Stack) -> None:
    stack.put_plan("premium", 300000, 3000000, name="Премиум")
    stack.put_plan("basic", 100000, 1000000, name="Базовый")
    body = {"subscriptionId": "sub-x", "subscriptionType": "monthly", "planId": "premium", "amount": 300000}
    _, premium = stack.call("CreateSubscriptionPaymentFunction", body=body)
    succeed(stack, yookassa_id_of(premium["paymentUrl"]))
    notify(stack, "payment.succeeded", yookassa_id_of(premium["paymentUrl"]))
    assert subscription_of("sub-x").plan_id == "premium"

    _, basic = stack.call(
        "CreateSubscriptionPaymentFunction", body={**body, "planId": "basic", "amount": 100000}
    )
    succeed(stack, yookassa_id_of(basic["paymentUrl"]))
    notify(stack, "payment.succeeded", yookassa_id_of(basic["paymentUrl"]))

    # The premium month runs out first; the basic month is appended after it, and basic starts then.
    subscription = subscription_of("sub-x")
    assert subscription.plan_id == "premium"
    assert subscription.scheduled_change is not None
    assert (subscription.scheduled_change.plan_id, subscription.end_date) == (
        "basic",
        add_months(subscription.scheduled_change.starts_at, 1),
    )


def test_a_payment_failed_meanwhile_is_never_given_a_payment_url(stack: Stack) -> None:
    """Two requests for one payment: one saw YooKassa refuse and failed it; the other's answer must not
    revive it with a URL the customer could pay."""
    stack.put_order("o-9", "alice", 100000)
    store, now = runtime.store(), datetime.now(UTC)
    started = new_payment("p-9", "alice", 100000, now, "d", order_id="o-9")
    store.commit(start_order_payment(order_of("o-9"), started))
    store.commit(fail_before_provider(started, order_of("o-9"), "invalid_request", now).changes)

    stale = attach_provider_payment(started, "329b0000-000f-5000-8000-000000000001", "https://pay/x", now)
    assert stale is not None
    with pytest.raises(ConcurrentUpdate):
        store.commit(Changes(updated=(stale,)))

    assert payment_of("p-9").payment_url is None
    assert order_of("o-9").active_payment_id is None
