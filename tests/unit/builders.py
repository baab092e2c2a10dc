"""Valid domain entities for the unit tests: sensible defaults, any field overridable by keyword.

One order payment ``pay-1`` of 1 500,00 ₽ for order ``o1`` and one subscription payment ``pay-1`` of
499,00 ₽ for subscription ``s1`` (plan ``basic``, monthly, its first period), both alice's, both
one-stage (``capture=True``), both already attached to YooKassa's ``yk-1``; the order and the
subscription (no period paid yet) point at ``pay-1``. ``active_subscription`` is ``s1`` once its first
period was paid.
"""

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from payments.domain import (
    Changes,
    Entity,
    Order,
    OrderStatus,
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
from payments.domain.payments import provider_metadata
from payments.money import Kopecks

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
CREATED = NOW - timedelta(minutes=10)
ORDER_PRICE: Kopecks = 150_000
MONTHLY_PRICE: Kopecks = 49_900
# The period active_subscription() has paid: NOW is within it.
PAID_FROM = datetime(2026, 11, 10, 10, 0, tzinfo=UTC)
PAID_UNTIL = datetime(2026, 12, 10, 10, 0, tzinfo=UTC)


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
        period=1,
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
        periods_paid=0,
    )
    return replace(created, **fields)


def active_subscription(**fields: Any) -> Subscription:
    """``s1`` (``basic``, monthly) with its first period paid by ``pay-0``: active from PAID_FROM to
    PAID_UNTIL, pointing at no payment, nothing scheduled."""
    running = subscription(
        status=SubscriptionStatus.ACTIVE,
        start_date=PAID_FROM,
        end_date=PAID_UNTIL,
        last_payment_id="pay-0",
        active_payment_id=None,
        periods_paid=1,
        version=4,
    )
    return replace(running, **fields)


def subject_of(payment_type: PaymentType, **fields: Any) -> Order | Subscription:
    return order(**fields) if payment_type is PaymentType.ORDER else subscription(**fields)


def fetched(
    payment: Payment, status: ProviderStatus = ProviderStatus.SUCCEEDED, **fields: Any
) -> ProviderPayment:
    """YooKassa's payment object for ``payment``, agreeing with it in everything: its metadata is what we
    sent (``provider_metadata``), read back."""
    provider_payment = ProviderPayment(
        id=payment.yookassa_id or "yk-1",
        status=status,
        amount=payment.amount,
        currency="RUB",
        paid=status is ProviderStatus.SUCCEEDED,
        metadata=provider_metadata(payment),
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


def undeliverable_cases() -> dict[str, tuple[PaymentType, Order | Subscription | None, str]]:
    """Every way a pending ``pay-1`` (built above) can no longer buy its subject as read now: the
    payment's type, the subject, and the concern's value."""
    paid_by_another = {"status": OrderStatus.PAID, "paid_payment_id": "pay-2", "paid_at": CREATED}
    active = {"status": SubscriptionStatus.ACTIVE, "start_date": CREATED, "end_date": NOW + timedelta(days=20)}
    return {
        "the order is missing": (PaymentType.ORDER, None, "order_missing"),
        "a subscription stands where the order should": (
            PaymentType.ORDER,
            subscription(active_payment_id=None),
            "order_missing",
        ),
        "the order's price went up": (PaymentType.ORDER, order(amount=ORDER_PRICE + 100), "order_changed"),
        "the order's price went down": (PaymentType.ORDER, order(amount=ORDER_PRICE - 1), "order_changed"),
        "the order changed owner": (PaymentType.ORDER, order(user_id="bob"), "order_changed"),
        "the order changed price and owner": (
            PaymentType.ORDER,
            order(amount=1, user_id="bob"),
            "order_changed",
        ),
        "another payment paid the order": (
            PaymentType.ORDER,
            order(active_payment_id=None, **paid_by_another),
            "order_paid_by_another",
        ),
        "another payment paid the order, which still points at this one": (
            PaymentType.ORDER,
            order(active_payment_id="pay-1", **paid_by_another),
            "order_paid_by_another",
        ),
        "another payment paid the order, then it was repriced": (
            PaymentType.ORDER,
            order(amount=ORDER_PRICE + 1, active_payment_id="pay-3", **paid_by_another),
            "order_paid_by_another",
        ),
        "the subscription is missing": (PaymentType.SUBSCRIPTION, None, "subscription_missing"),
        "an order stands where the subscription should": (
            PaymentType.SUBSCRIPTION,
            order(order_id="s1", active_payment_id=None),
            "subscription_missing",
        ),
        "the subscription is another user's": (
            PaymentType.SUBSCRIPTION,
            subscription(user_id="bob"),
            "subscription_missing",
        ),
        "another payment paid this period": (
            PaymentType.SUBSCRIPTION,
            subscription(periods_paid=1, last_payment_id="pay-2", **active),
            "subscription_period_paid",
        ),
        "another payment paid this period and the subscription still points at this one": (
            PaymentType.SUBSCRIPTION,
            subscription(periods_paid=1, last_payment_id="pay-2", active_payment_id="pay-1", **active),
            "subscription_period_paid",
        ),
        "later periods were paid meanwhile": (
            PaymentType.SUBSCRIPTION,
            subscription(periods_paid=5, last_payment_id="pay-2", active_payment_id=None, **active),
            "subscription_period_paid",
        ),
    }
