"""Valid domain entities for the unit tests: sensible defaults, any field overridable by keyword.

One order payment ``pay-1`` of 1 500,00 ₽ for order ``o1`` and one subscription payment ``pay-1`` of
499,00 ₽ for subscription ``s1`` (plan ``basic``, monthly), both alice's, both already attached to
YooKassa's ``yk-1``; the order and the subscription point at ``pay-1``.
"""

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from payments.domain import (
    Changes,
    Entity,
    Order,
    Payment,
    PaymentStatus,
    PaymentType,
    ProviderPayment,
    ProviderStatus,
    RefundRequest,
    RefundState,
    Subscription,
    SubscriptionStatus,
    SubscriptionType,
    Update,
)
from payments.money import Kopecks

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
CREATED = NOW - timedelta(minutes=10)
ORDER_PRICE: Kopecks = 150_000
MONTHLY_PRICE: Kopecks = 49_900


def order_payment(**fields: Any) -> Payment:
    payment = Payment(
        payment_id="pay-1",
        type=PaymentType.ORDER,
        user_id="alice",
        amount=ORDER_PRICE,
        status=PaymentStatus.PENDING,
        created_at=CREATED,
        updated_at=CREATED,
        description="Clean House, заказ o1: Уборка квартиры",
        order_id="o1",
        yookassa_id="yk-1",
        payment_url="https://yookassa.test/checkout/yk-1",
        version=2,
    )
    return replace(payment, **fields)


def subscription_payment(**fields: Any) -> Payment:
    payment = Payment(
        payment_id="pay-1",
        type=PaymentType.SUBSCRIPTION,
        user_id="alice",
        amount=MONTHLY_PRICE,
        status=PaymentStatus.PENDING,
        created_at=CREATED,
        updated_at=CREATED,
        description="Clean House, подписка «Базовый» на месяц",
        subscription_id="s1",
        plan_id="basic",
        subscription_type=SubscriptionType.MONTHLY,
        yookassa_id="yk-1",
        payment_url="https://yookassa.test/checkout/yk-1",
        version=2,
    )
    return replace(payment, **fields)


def payment_of(payment_type: PaymentType, **fields: Any) -> Payment:
    return order_payment(**fields) if payment_type is PaymentType.ORDER else subscription_payment(**fields)


def paid_payment(amount: Kopecks = ORDER_PRICE, **fields: Any) -> Payment:
    """A paid order payment, as a refund finds it."""
    defaults: dict[str, Any] = {
        "status": PaymentStatus.PAID,
        "paid_at": CREATED,
        "payment_url": None,
        "version": 3,
    }
    return order_payment(amount=amount, **(defaults | fields))


def order(**fields: Any) -> Order:
    return replace(
        Order("o1", "alice", ORDER_PRICE, "Уборка квартиры", active_payment_id="pay-1", version=3), **fields
    )


def subscription(**fields: Any) -> Subscription:
    created = Subscription(
        "s1",
        "alice",
        "basic",
        SubscriptionType.MONTHLY,
        status=SubscriptionStatus.PENDING,
        active_payment_id="pay-1",
        version=1,
    )
    return replace(created, **fields)


def subject_of(payment_type: PaymentType, **fields: Any) -> Order | Subscription:
    return order(**fields) if payment_type is PaymentType.ORDER else subscription(**fields)


def metadata_of(payment: Payment) -> dict[str, str]:
    """What we send YooKassa with a payment, and read back with it."""
    metadata = {"paymentId": payment.payment_id, "userId": payment.user_id}
    if payment.type is PaymentType.ORDER:
        metadata["orderId"] = payment.subject_id
    else:
        metadata["subscriptionId"] = payment.subject_id
        metadata["planId"] = payment.plan_id or ""
        metadata["subscriptionType"] = str(payment.subscription_type)
    return metadata


def fetched(
    payment: Payment, status: ProviderStatus = ProviderStatus.SUCCEEDED, **fields: Any
) -> ProviderPayment:
    """YooKassa's payment object for ``payment``, agreeing with it in everything."""
    provider_payment = ProviderPayment(
        id=payment.yookassa_id or "yk-1",
        status=status,
        amount=payment.amount,
        currency="RUB",
        paid=status is ProviderStatus.SUCCEEDED,
        metadata=metadata_of(payment),
        confirmation_url="https://yookassa.test/checkout/yk-1",
    )
    return replace(provider_payment, **fields)


def refund_request(**fields: Any) -> RefundRequest:
    request = RefundRequest(
        payment_id="pay-1",
        request_id="req-1",
        amount=40_000,
        request_hash="hash-1",
        state=RefundState.RESERVED,
        created_at=CREATED,
        updated_at=CREATED,
    )
    return replace(request, **fields)


def assert_writes(
    changes: Changes, *, created: list[Entity] | None = None, updated: list[Update[Any]] | None = None
) -> None:
    """``changes`` creates exactly ``created`` and updates exactly ``updated`` (in any order, each once)."""
    assert Counter(changes.created) == Counter(created or [])
    assert Counter(changes.updated) == Counter(updated or [])
