"""The API models (payments/schemas.py): snake_case in Python, camelCase on the wire, both ways."""

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from payments.domain import Order, OrderStatus, Payment, PaymentStatus, PaymentType, Plan, SubscriptionType
from payments.fields import UserId, is_user_id
from payments.schemas import (
    CreateOrderPaymentRequest,
    CreateSubscriptionPaymentRequest,
    HealthView,
    OrderView,
    PaymentCreated,
    PaymentView,
    PlanView,
    PutOrderRequest,
    PutPlanRequest,
    RefundAccepted,
)

CREATED = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def wire(model: BaseModel) -> dict[str, Any]:
    """What ``api.json_response`` sends."""
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


def test_requests_are_read_from_camel_case_into_snake_case() -> None:
    order = CreateOrderPaymentRequest.model_validate({"orderId": "o1", "amount": 150_000})
    period = CreateSubscriptionPaymentRequest.model_validate(
        {"subscriptionId": "s1", "subscriptionType": "yearly", "planId": "basic", "amount": 100}
    )
    owner = PutOrderRequest.model_validate({"userId": "alice", "amount": 100, "description": " Уборка "})
    plan = PutPlanRequest.model_validate({"name": "Basic", "prices": {"monthly": 1, "yearly": 10}})

    assert (order.order_id, order.amount) == ("o1", 150_000)
    assert (period.subscription_id, period.subscription_type, period.plan_id) == ("s1", "yearly", "basic")
    assert (owner.user_id, owner.description) == ("alice", "Уборка")
    assert (plan.prices.monthly, plan.prices.yearly) == (1, 10)


@pytest.mark.parametrize(
    "body",
    [{"order_id": "o1", "amount": 100}, {"orderId": "o1", "order_id": "o1", "amount": 100}],
    ids=["snake-case-only", "both"],
)
def test_the_wire_never_accepts_snake_case_keys(body: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        CreateOrderPaymentRequest.model_validate(body)


def test_a_request_dumps_as_it_came_so_its_idempotency_hash_is_stable() -> None:
    """The Idempotency-Key hash (services/idempotency.py) dumps absent optional fields out, so a body
    hashes as it did before ``customer`` existed."""
    request = CreateOrderPaymentRequest.model_validate({"orderId": "o1", "amount": 100})

    assert request.model_dump_json(exclude_none=True) == '{"orderId":"o1","amount":100}'


def payment(**fields: Any) -> Payment:
    subscription_payment = Payment(
        payment_id="pay-1",
        type=PaymentType.SUBSCRIPTION,
        user_id="alice",
        amount=49_900,
        status=PaymentStatus.PENDING,
        created_at=CREATED,
        description="d",
        subscription_id="s1",
        plan_id="basic",
        subscription_type=SubscriptionType.MONTHLY,
        yookassa_id="yk-1",
        payment_url="https://yookassa.test/checkout/yk-1",
    )
    return replace(subscription_payment, **fields)


def test_a_payment_view_is_the_payments_own_attributes_in_camel_case() -> None:
    assert wire(PaymentView.of(payment())) == {
        "paymentId": "pay-1",
        "type": "subscription",
        "status": "pending",
        "amount": 49_900,
        "refundedAmount": 0,
        "createdAt": "2026-11-27T10:00:00Z",
        "subscriptionId": "s1",
        "planId": "basic",
        "subscriptionType": "monthly",
        "paymentUrl": "https://yookassa.test/checkout/yk-1",
    }


def test_the_checkout_url_is_shown_only_while_the_payment_can_be_paid() -> None:
    paid = payment(status=PaymentStatus.SUCCESS, paid_at=CREATED)

    assert "paymentUrl" not in wire(PaymentView.of(paid))
    assert wire(PaymentView.of(paid))["paidAt"] == "2026-11-27T10:00:00Z"


def test_order_and_plan_views_come_from_the_entities() -> None:
    order = Order("o1", "alice", 150_000, "Уборка", OrderStatus.PAID, paid_payment_id="pay-1")
    plan = Plan("basic", "Basic", {SubscriptionType.MONTHLY: 49_900, SubscriptionType.YEARLY: 499_000})

    assert wire(OrderView.of(order)) == {
        "orderId": "o1",
        "userId": "alice",
        "amount": 150_000,
        "description": "Уборка",
        "status": "paid",
        "paidPaymentId": "pay-1",
    }
    assert wire(PlanView.of(plan)) == {
        "planId": "basic",
        "name": "Basic",
        "prices": {"monthly": 49_900, "yearly": 499_000},
    }


def test_answers_are_built_by_field_name_and_read_back_from_the_wire() -> None:
    created = PaymentCreated(payment_url="https://yookassa.test/checkout/yk-1", payment_id="pay-1")
    accepted = RefundAccepted(
        payment_id="pay-1",
        refund_id="rf-1",
        amount=100,
        status="pending",
        refunded_amount=0,
        payment_status=PaymentStatus.PAID,
    )
    health = HealthView(
        status="ok",
        table="reachable",
        yookassa_credentials="configured",
        yookassa_api_url="u",
        receipts="off",
        shop_fiscalization="unknown",
    )

    assert wire(created) == {
        "paymentUrl": "https://yookassa.test/checkout/yk-1",
        "paymentId": "pay-1",
        "status": "pending",
    }
    assert PaymentCreated.model_validate_json(created.model_dump_json()) == created  # an idempotent replay
    assert wire(accepted) == {
        "paymentId": "pay-1",
        "refundId": "rf-1",
        "amount": 100,
        "status": "pending",
        "refundedAmount": 0,
        "paymentStatus": "paid",
    }
    assert wire(health) == {
        "status": "ok",
        "table": "reachable",
        "yookassaCredentials": "configured",
        "yookassaApiUrl": "u",
        "receipts": "off",
        "shopFiscalization": "unknown",
    }


USER_IDS = TypeAdapter(UserId)


@pytest.mark.parametrize(
    "user_id",
    [
        "alice",
        "auth0|5f7c1b2e9a8d4c0012345678",
        "google-oauth2|109876543210987654321",
        "a1b2c3d4-0000-4000-8000-000000000000",  # Cognito
        "alice@example.com",
        "CN=Alice Smith,O=Example",  # an inner space is printable
        "яндекс|Алиса",
        "x" * 255,
    ],
)
def test_a_user_id_is_whatever_printable_sub_the_provider_sends(user_id: str) -> None:
    assert USER_IDS.validate_python(user_id) == user_id
    assert is_user_id(user_id)
    assert (
        PutOrderRequest.model_validate({"userId": user_id, "amount": 100, "description": "d"}).user_id
        == user_id
    )


@pytest.mark.parametrize(
    "value",
    [
        "",
        "x" * 256,
        "alice\n",
        "ali\x00ce",
        "alice\x1b[31m",
        "\u202ealice",  # a bidi override: reverses how a log line reads
        "ali\u200bce",  # a zero-width space
        " alice",
        "alice ",
        "alice\u00a0",
        42,
        None,
        b"alice",
    ],
    ids=repr,
)
def test_anything_else_is_no_user_id(value: object) -> None:
    assert not is_user_id(value)
    with pytest.raises(ValidationError):
        PutOrderRequest.model_validate({"userId": value, "amount": 100, "description": "d"})


def test_the_user_id_schema_tells_clients_its_limits() -> None:
    schema = PutOrderRequest.model_json_schema(by_alias=True)["properties"]["userId"]

    assert (schema["type"], schema["minLength"], schema["maxLength"]) == ("string", 1, 255)
    assert "pattern" not in schema  # opaque: no alphabet of ours
    assert "printable" in schema["description"]
