"""Subscription payments: price from the plan, ownership by first payer, one pending payment at a time."""

from dataclasses import replace
from datetime import UTC, datetime

from payments import runtime
from payments.services.sync import apply_provider_payment
from tests.conftest import Stack
from tests.integration.support import payment_of, subscription_of, succeed, yookassa_id_of

SUB = {"subscriptionId": "sub-1", "subscriptionType": "monthly", "planId": "basic", "amount": 100000}


def create(stack: Stack, sub: str = "alice", **changes: object) -> tuple[int, dict]:
    return stack.call("CreateSubscriptionPaymentFunction", body={**SUB, **changes}, sub=sub)


def test_a_subscription_payment_charges_the_plans_price(stack: Stack) -> None:
    stack.put_plan("basic", 100000, 1000000)

    status, created = create(stack)

    assert status == 200, created
    [provider] = stack.provider_payments()
    assert provider["amount"]["value"] == "1000.00"
    assert provider["metadata"]["subscriptionId"] == "sub-1"
    assert provider["metadata"]["userId"] == "alice"
    assert provider["confirmation"]["return_url"].endswith(
        f"paymentId={created['paymentId']}&type=subscription"
    )
    status, view = stack.status(created["paymentId"], function="SubscriptionPaymentStatusFunction")
    assert status == 200
    assert view["type"] == "subscription"
    assert view["subscriptionId"] == "sub-1"
    assert view["planId"] == "basic"
    assert view["subscriptionType"] == "monthly"
    assert stack.status(created["paymentId"], function="OrderPaymentStatusFunction")[0] == 404


def test_yearly_uses_the_yearly_price(stack: Stack) -> None:
    stack.put_plan("basic", 100000, 1000000)
    status, _ = create(stack, subscriptionType="yearly", amount=1000000)
    assert status == 200
    assert stack.provider_payments()[0]["amount"]["value"] == "10000.00"


def test_the_subscription_belongs_to_its_first_payer(stack: Stack) -> None:
    stack.put_plan("basic", 100000, 1000000)
    assert create(stack)[0] == 200
    status, body = create(stack, sub="bob")
    assert (status, body["error"]["code"]) == (404, "not_found")
    assert len(stack.provider_payments()) == 1


def test_a_second_create_reuses_the_pending_payment_unless_the_choice_changed(stack: Stack) -> None:
    stack.put_plan("basic", 100000, 1000000)
    first = create(stack)[1]
    assert create(stack)[1] == first
    yearly = create(stack, subscriptionType="yearly", amount=1000000)[1]
    assert yearly["paymentId"] != first["paymentId"]
    assert len(stack.provider_payments()) == 2


def test_settling_activates_then_extends_by_calendar_periods(stack: Stack) -> None:
    stack.put_plan("basic", 100000, 1000000)
    _, created = create(stack)
    settle_at(stack, created, datetime(2026, 1, 31, 9, 0, tzinfo=UTC))
    active = subscription_of("sub-1")
    assert active.status == "active"
    assert active.end_date == datetime(2026, 2, 28, 9, 0, tzinfo=UTC)

    _, renewal = create(stack)
    assert renewal["paymentId"] != created["paymentId"]
    settle_at(stack, renewal, datetime(2026, 2, 10, tzinfo=UTC))
    extended = subscription_of("sub-1")
    assert extended.end_date == datetime(2026, 3, 28, 9, 0, tzinfo=UTC)
    assert extended.start_date == datetime(2026, 1, 31, 9, 0, tzinfo=UTC)
    assert stack.status(renewal["paymentId"])[1]["status"] == "success"


def settle_at(stack: Stack, created: dict[str, str], moment: datetime) -> None:
    """YooKassa takes the money at ``moment`` (the sandbox's real capture time replaced by it, as a
    fact from another day); we apply what it says through the one sync path."""
    yookassa_id = yookassa_id_of(created["paymentUrl"])
    succeed(stack, yookassa_id)
    fetched = replace(runtime.yookassa().get_payment(yookassa_id), captured_at=moment)
    apply_provider_payment(
        runtime.store(), runtime.yookassa(), payment_of(created["paymentId"]), fetched, moment
    )
