"""What we send YooKassa and how we read its answers (payments/yookassa/wire.py): pure, no network.

The bodies are exactly those the services built before the client spoke domain values: a create
retried under its Idempotence-Key must match the first one.
"""

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from payments.domain import (
    Payment,
    PaymentStatus,
    PaymentType,
    ProviderRefundStatus,
    ProviderStatus,
    RefundRequest,
    RefundState,
    SubscriptionType,
)
from payments.errors import ProviderError
from payments.yookassa.wire import payment_body, read_payment, read_refund, refund_body
from tests.support import load_event

CREATED = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
RETURN_URL = "http://127.0.0.1:3000/payment/result?paymentId=pay-1&type=order"


def order_payment() -> Payment:
    return Payment(
        payment_id="pay-1",
        type=PaymentType.ORDER,
        user_id="alice",
        amount=150_000,
        status=PaymentStatus.PENDING,
        created_at=CREATED,
        description="Clean House, заказ o1: Уборка квартиры",
        order_id="o1",
        yookassa_id="yk-1",
    )


def subscription_payment() -> Payment:
    return Payment(
        payment_id="pay-2",
        type=PaymentType.SUBSCRIPTION,
        user_id="bob",
        amount=49_905,
        status=PaymentStatus.PENDING,
        created_at=CREATED,
        description="Clean House, подписка Basic (monthly)",
        subscription_id="s1",
        plan_id="basic",
        subscription_type=SubscriptionType.MONTHLY,
    )


def test_an_order_payment_body_is_byte_for_byte_what_we_always_sent() -> None:
    body = payment_body(order_payment(), RETURN_URL)

    assert json.dumps(body) == (
        '{"amount": {"value": "1500.00", "currency": "RUB"}, "capture": true, '
        '"confirmation": {"type": "redirect", "return_url": '
        '"http://127.0.0.1:3000/payment/result?paymentId=pay-1&type=order"}, '
        '"description": "Clean House, \\u0437\\u0430\\u043a\\u0430\\u0437 o1: '
        '\\u0423\\u0431\\u043e\\u0440\\u043a\\u0430 \\u043a\\u0432\\u0430\\u0440\\u0442\\u0438\\u0440\\u044b", '
        '"metadata": {"paymentId": "pay-1", "userId": "alice", "orderId": "o1"}}'
    )


def test_a_subscription_payment_names_its_subscription_plan_and_period() -> None:
    body = payment_body(subscription_payment(), "https://app.example/payment/result?paymentId=pay-2")

    assert body["amount"] == {"value": "499.05", "currency": "RUB"}
    assert list(body["metadata"].items()) == [
        ("paymentId", "pay-2"),
        ("userId", "bob"),
        ("subscriptionId", "s1"),
        ("planId", "basic"),
        ("subscriptionType", "monthly"),
    ]


def test_a_refund_body_names_yookassas_payment_and_our_request() -> None:
    request = RefundRequest("pay-1", "req-1", 70_000, "hash", RefundState.RESERVED, CREATED)

    assert json.dumps(refund_body(order_payment(), request)) == (
        '{"payment_id": "yk-1", "amount": {"value": "700.00", "currency": "RUB"}, '
        '"metadata": {"refundRequestId": "req-1", "paymentId": "pay-1"}}'
    )


def notified_payment() -> dict[str, Any]:
    """The committed webhook event's payment object: YooKassa's own shape, card data included."""
    body: dict[str, Any] = json.loads(load_event("YooKassaWebhookFunction")["body"])["object"]
    return body


def test_a_payment_is_read_into_what_we_act_on() -> None:
    payment = read_payment(notified_payment())

    assert (payment.id, payment.status, payment.amount, payment.currency, payment.paid) == (
        "30f1d2a4-000f-5000-8000-1b7c3a9e5f21",
        ProviderStatus.SUCCEEDED,
        150_000,
        "RUB",
        True,
    )
    assert payment.metadata == {
        "paymentId": "0b0e4bde-4a3c-4b8f-9d5e-2d1f3c4b5a69",
        "userId": "alice",
        "orderId": "order-1",
    }
    assert (payment.refunded_amount, payment.account_id, payment.confirmation_url) == (0, "123456", None)


def test_a_canceled_payment_carries_its_reason_and_party() -> None:
    body = {
        **notified_payment(),
        "status": "canceled",
        "paid": False,
        "cancellation_details": {"party": "payment_network", "reason": "insufficient_funds"},
    }

    payment = read_payment(body)

    assert (payment.status, payment.cancellation_reason, payment.cancellation_party) == (
        ProviderStatus.CANCELED,
        "insufficient_funds",
        "payment_network",
    )


@pytest.mark.parametrize(
    "change",
    [
        {"id": None},
        {"status": "refunded"},
        {"amount": {"value": "15.000", "currency": "RUB"}},
        {"amount": {"value": 1500, "currency": "RUB"}},
        {"amount": None},
        {"cancellation_details": "card"},
    ],
    ids=["no-id", "unknown-status", "three-decimals", "number", "no-amount", "odd-details"],
)
def test_a_payment_we_cannot_read_is_a_provider_error(change: dict[str, Any]) -> None:
    body = {key: value for key, value in {**notified_payment(), **change}.items() if value is not None}

    with pytest.raises(ProviderError):
        read_payment(body)


def refund_object(**change: Any) -> dict[str, Any]:
    return {
        "id": "rf-1",
        "payment_id": "yk-1",
        "status": "succeeded",
        "amount": {"value": "700.00", "currency": "RUB"},
        "created_at": "2026-11-27T10:00:00.000Z",
        "metadata": {"refundRequestId": "req-1", "paymentId": "pay-1"},
        **change,
    }


@pytest.mark.parametrize("status", list(ProviderRefundStatus))
def test_a_refunds_status_is_one_of_yookassas(status: ProviderRefundStatus) -> None:
    refund = read_refund(refund_object(status=str(status)))

    assert (refund.id, refund.payment_id, refund.status, refund.amount, refund.currency) == (
        "rf-1",
        "yk-1",
        status,
        70_000,
        "RUB",
    )
    assert refund.metadata == {"refundRequestId": "req-1", "paymentId": "pay-1"}


@pytest.mark.parametrize(
    "change",
    [{"status": "waiting"}, {"payment_id": None}, {"amount": {"currency": "RUB"}}, {"metadata": ["x"]}],
    ids=["unknown-status", "no-payment", "no-value", "odd-metadata"],
)
def test_a_refund_we_cannot_read_is_a_provider_error(change: dict[str, Any]) -> None:
    body = {key: value for key, value in refund_object(**change).items() if value is not None}

    with pytest.raises(ProviderError):
        read_refund(body)
