"""Starting a payment as pure decisions: a new payment for an order or a subscription, whether a
pending one can be reused, and attaching YooKassa's payment (``settlement`` decides what follows).

Each function takes the entities as read and ``now``, and returns the entities as they must become,
as ``Changes`` for the store to write in one transaction.
"""

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from payments.domain.model import (
    Changes,
    Order,
    Payment,
    PaymentStatus,
    PaymentType,
    Plan,
    Subscription,
    SubscriptionStatus,
    SubscriptionType,
    Update,
)
from payments.domain.receipts import Receipt
from payments.domain.subscriptions import current_choice
from payments.errors import OrderAlreadyPaid, PlanPriceMissing, ProviderError
from payments.money import Kopecks

DESCRIPTION_LIMIT = 128  # YooKassa's limit for a payment's description


def new_payment(
    payment_id: str,
    user_id: str,
    amount: Kopecks,
    now: datetime,
    description: str,
    *,
    order_id: str | None = None,
    subscription_id: str | None = None,
    plan_id: str | None = None,
    subscription_type: SubscriptionType | None = None,
    period: int | None = None,
    capture: bool = True,
    receipt: Receipt | None = None,
    save_method: bool = False,
) -> Payment:
    """A pending payment of ours, before YooKassa knows it. ``capture=False`` makes it two-stage."""
    return Payment(
        payment_id=payment_id,
        type=PaymentType.ORDER if order_id is not None else PaymentType.SUBSCRIPTION,
        user_id=user_id,
        amount=amount,
        status=PaymentStatus.PENDING,
        created_at=now,
        updated_at=now,
        description=description[:DESCRIPTION_LIMIT],
        order_id=order_id,
        subscription_id=subscription_id,
        plan_id=plan_id,
        subscription_type=subscription_type,
        period=period,
        capture=capture,
        receipt=receipt,
        save_method=save_method,
        version=1,
    )


def order_payment_description(order: Order) -> str:
    return f"Clean House, заказ {order.order_id}: {order.description}"


def subscription_payment_description(plan_name: str, subscription_type: SubscriptionType) -> str:
    period = "месяц" if subscription_type is SubscriptionType.MONTHLY else "год"
    return f"Clean House, подписка «{plan_name}» на {period}"


def reusable(payment: Payment | None, now: datetime, usable_for: timedelta) -> Payment | None:
    """The subject's active payment, if the customer can still pay it: pending and young enough that
    YooKassa keeps it payable for a while yet."""
    if payment is None or payment.status is not PaymentStatus.PENDING:
        return None
    return payment if now < payment.created_at + usable_for else None


def start_order_payment(order: Order, payment: Payment) -> Changes:
    """The new payment becomes the order's active one."""
    if order.paid_payment_id is not None:
        raise OrderAlreadyPaid()
    pointed = replace(
        order,
        active_payment_id=payment.payment_id,
        last_payment_id=payment.payment_id,
        version=order.version + 1,
    )
    return Changes(created=(payment,), updated=(Update(order, pointed),))


def next_period(subscription: Subscription | None) -> int:
    """The period a new payment of ``subscription`` pays: the one after those already paid."""
    return (subscription.periods_paid if subscription is not None else 0) + 1


def start_subscription_payment(subscription: Subscription | None, payment: Payment) -> Changes:
    """The new payment becomes the subscription's active one; a first payment creates the subscription
    (``pending`` until it is paid)."""
    if subscription is None:
        assert payment.subscription_id and payment.plan_id and payment.subscription_type
        created = Subscription(
            subscription_id=payment.subscription_id,
            user_id=payment.user_id,
            plan_id=payment.plan_id,
            subscription_type=payment.subscription_type,
            status=SubscriptionStatus.PENDING,
            active_payment_id=payment.payment_id,
            version=1,
        )
        return Changes(created=(payment, created))
    pointed = replace(subscription, active_payment_id=payment.payment_id, version=subscription.version + 1)
    return Changes(created=(payment,), updated=(Update(subscription, pointed),))


# Renewal payment ids are derived, never random: one subscription, one period start, one try (at one
# version of the subscription) -> one id, so one Idempotence-Key (``Payment.idempotence_key``).
_RENEWAL_IDS = uuid.UUID("6f1b7c52-9a4e-4d4f-8a57-3c0b1e2d9f10")


def renewal_payment_id(subscription_id: str, period_start: datetime, attempt: int, version: int) -> str:
    """The id of the ``attempt``-th charge of the period starting at ``period_start``, decided at the
    subscription's ``version``: a re-run that finds no charge recorded derives the same id again, and a
    period charged anew after its first charge was refunded in full (the version moved on) a new one."""
    basis = f"{subscription_id}|{period_start.isoformat()}|{attempt}|{version}"
    return str(uuid.uuid5(_RENEWAL_IDS, basis))


def start_renewal(
    subscription: Subscription,
    plan: Plan,
    now: datetime,
    attempt: int,
    final: bool,
    *,
    capture: bool,
    receipt_for: Callable[[Plan, SubscriptionType, Kopecks], Receipt | None],
) -> Changes:
    """The charge of the period that follows the paid time, to the saved card: the plan and type the
    subscription has when that period starts (a scheduled change then applies), at the plan's price now.
    The payment is written (and the subscription points at it) before YooKassa is asked."""
    assert subscription.end_date is not None and subscription.payment_method is not None
    plan_id, subscription_type = current_choice(subscription, subscription.end_date)
    assert plan_id == plan.plan_id
    price = plan.prices.get(subscription_type)
    if price is None:
        raise PlanPriceMissing(f"The plan {plan_id} has no {subscription_type} price to renew at")
    payment = replace(
        new_payment(
            renewal_payment_id(
                subscription.subscription_id, subscription.end_date, attempt, subscription.version
            ),
            subscription.user_id,
            price,
            now,
            subscription_payment_description(plan.name, subscription_type),
            subscription_id=subscription.subscription_id,
            plan_id=plan_id,
            subscription_type=subscription_type,
            period=next_period(subscription),
            capture=capture,
            receipt=receipt_for(plan, subscription_type, price),
        ),
        payment_method_id=subscription.payment_method.method_id,
        renewal_attempt=attempt,
        final_attempt=final,
    )
    return start_subscription_payment(subscription, payment)


def attach_provider_payment(
    payment: Payment, yookassa_id: str, payment_url: str | None, now: datetime
) -> Update[Payment] | None:
    """Remember YooKassa's id (and the URL to pay it) once; ``None`` when it is remembered already.

    A URL is only kept for a payment that can still be paid: one learnt for a payment we already closed
    (a create answer that came after a webhook) is dropped.
    """
    if payment.yookassa_id == yookassa_id:
        return None
    if payment.yookassa_id is not None:
        raise ProviderError("YooKassa answered with another payment than the one we created")
    url = payment_url if payment.status is PaymentStatus.PENDING else None
    attached = replace(
        payment,
        yookassa_id=yookassa_id,
        payment_url=url or payment.payment_url,
        updated_at=now,
        version=payment.version + 1,
    )
    return Update(payment, attached)


def provider_metadata(payment: Payment) -> dict[str, str]:
    """The metadata YooKassa keeps with the payment and echoes on every read: how a notification or a
    re-fetched object is matched to ours. Within YooKassa's limits (16 keys of at most 32 characters,
    values of at most 512): a longer value is replaced by a stable digest, and matching compares what
    is sent, so the same digest."""
    metadata = {"paymentId": payment.payment_id, "userId": payment.user_id}
    if payment.type is PaymentType.ORDER:
        metadata["orderId"] = payment.subject_id
    else:
        metadata["subscriptionId"] = payment.subject_id
        metadata["planId"] = payment.plan_id or ""
        metadata["subscriptionType"] = str(payment.subscription_type)
    return {key: _within_limit(value) for key, value in metadata.items()}


METADATA_VALUE_LIMIT = 512


def _within_limit(value: str) -> str:
    if len(value) <= METADATA_VALUE_LIMIT:
        return value
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()
