"""A payment's life as pure decisions: start it, attach YooKassa's payment, settle it, close it.

Each function takes the entities as read, the fact (what YooKassa says, a refusal) and ``now``, and
returns the entities as they must become, as ``Changes`` for the store to write in one transaction.
"""

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from payments.domain.model import (
    MERCHANT,
    Changes,
    Order,
    OrderStatus,
    Payment,
    PaymentStatus,
    PaymentType,
    Subscription,
    SubscriptionStatus,
    SubscriptionType,
    Update,
)
from payments.domain.provider import ProviderPayment, ProviderStatus
from payments.domain.state_machine import Action, decide_transition
from payments.domain.subscriptions import extend_subscription
from payments.errors import OrderAlreadyPaid, ProviderError
from payments.money import CURRENCY, Kopecks

DESCRIPTION_LIMIT = 128  # YooKassa's limit for a payment's description
Subject = Order | Subscription


# ---------------------------------------------------------------- starting a payment
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
) -> Payment:
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


def fits_order(payment: Payment, order: Order) -> bool:
    """A payment pays the order as it stands: the same price, the same owner."""
    return (payment.amount, payment.user_id) == (order.amount, order.user_id)


def start_order_payment(order: Order, payment: Payment) -> Changes:
    """The new payment becomes the order's active one."""
    if order.paid_payment_id is not None:
        raise OrderAlreadyPaid()
    pointed = replace(order, active_payment_id=payment.payment_id, version=order.version + 1)
    return Changes(created=(payment,), updated=(Update(order, pointed),))


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


# ---------------------------------------------------------------- what YooKassa says
class SyncOutcome(StrEnum):
    APPLIED = "applied"  # the payment moved forward (and its order / subscription with it)
    UNCHANGED = "unchanged"  # YooKassa has not decided yet (pending, waiting_for_capture)
    DUPLICATE = "duplicate"  # we already knew: nothing to do
    CONFLICT = "conflict"  # YooKassa contradicts a final state of ours: not applied, alarmed
    MISMATCH = "mismatch"  # the fetched object is not this payment: never applied


class Concern(StrEnum):
    """Money that arrived but does not pay its subject as it stands: the payment is recorded as paid
    and the subject is left as it is, for a human (or an automatic refund) to settle."""

    ORDER_MISSING = "order_missing"
    ORDER_CHANGED = "order_changed"  # the price or owner changed after the payment started
    ORDER_PAID_BY_ANOTHER = "order_paid_by_another"  # two tabs, two checkouts
    SUBSCRIPTION_NOT_EXTENDED = "subscription_not_extended"  # missing, or this payment extended it


@dataclass(frozen=True, slots=True)
class Settlement:
    """The outcome of one fact about one payment: the payment as it is now and what to write."""

    payment: Payment
    outcome: SyncOutcome
    why: str = ""
    changes: Changes = field(default_factory=Changes)
    concern: Concern | None = None


def mismatch_reason(payment: Payment, fetched: ProviderPayment) -> str | None:
    """Why the fetched YooKassa payment cannot be ``payment``; ``None`` when everything agrees.

    The metadata is what we sent when creating the payment, read back with our own credentials, so a
    forged notification cannot make another payment (another amount, user or order) count as ours.
    """
    if payment.yookassa_id is not None and fetched.id != payment.yookassa_id:
        return "yookassa_id"
    if fetched.currency != CURRENCY:
        return "currency"
    if fetched.amount != payment.amount:
        return "amount"
    metadata = fetched.metadata
    if metadata.get("paymentId") != payment.payment_id:
        return "metadata_payment_id"
    if metadata.get("userId") != payment.user_id:
        return "metadata_user_id"
    if payment.type is PaymentType.ORDER:
        return None if metadata.get("orderId") == payment.subject_id else "metadata_order_id"
    return None if metadata.get("subscriptionId") == payment.subject_id else "metadata_subscription_id"


def needs_subject(payment: Payment, fetched: ProviderPayment) -> bool:
    """Whether ``settle`` will move the payment, and so needs its order or subscription as it is now."""
    return payment.status is PaymentStatus.PENDING and fetched.status.is_final


def settle(payment: Payment, subject: Subject | None, fetched: ProviderPayment, now: datetime) -> Settlement:
    """Bring ``payment`` to what YooKassa's ``fetched`` object says: forward only, at most once.

    ``fetched`` must be this payment (``mismatch_reason`` is None) and already attached to it;
    ``subject`` is the payment's order or subscription as read now (``needs_subject``).
    """
    decision = decide_transition(payment.type, payment.status, fetched.status, fetched.cancellation_reason)
    if decision.action is Action.NOOP:
        outcome = SyncOutcome.DUPLICATE if fetched.status.is_final else SyncOutcome.UNCHANGED
        return Settlement(payment, outcome, decision.why)
    if decision.action is Action.CONFLICT:
        return Settlement(payment, SyncOutcome.CONFLICT, decision.why)
    assert decision.status is not None
    if fetched.status is ProviderStatus.SUCCEEDED:
        return _paid(payment, subject, decision.status, now, decision.why)
    closed = close_payment(
        payment, subject, decision.status, fetched.cancellation_reason, fetched.cancellation_party, now
    )
    return Settlement(closed.payment, SyncOutcome.APPLIED, decision.why, closed.changes)


def close_payment(
    payment: Payment,
    subject: Subject | None,
    status: PaymentStatus,
    reason: str | None,
    party: str | None,
    now: datetime,
) -> Settlement:
    """pending -> failed / canceled; the subject stops pointing at it, so a new payment can start."""
    closed = replace(
        payment,
        status=status,
        cancellation_reason=reason or payment.cancellation_reason,
        cancellation_party=party or payment.cancellation_party,
        updated_at=now,
        version=payment.version + 1,
    )
    changes = Changes(updated=(Update(payment, closed),)) + _release(subject, payment)
    return Settlement(closed, SyncOutcome.APPLIED, reason or str(status), changes)


def fail_before_provider(payment: Payment, subject: Subject | None, reason: str, now: datetime) -> Settlement:
    """YooKassa refused to create the payment: it failed, and the subject is free again."""
    return close_payment(payment, subject, PaymentStatus.FAILED, reason, MERCHANT, now)


def _paid(
    payment: Payment, subject: Subject | None, status: PaymentStatus, now: datetime, why: str
) -> Settlement:
    paid = replace(payment, status=status, paid_at=now, updated_at=now, version=payment.version + 1)
    own = Changes(updated=(Update(payment, paid),))
    if isinstance(subject, Order) and payment.type is PaymentType.ORDER:
        concern = _order_concern(payment, subject)
        if concern is None:
            order = replace(
                subject,
                status=OrderStatus.PAID,
                paid_payment_id=payment.payment_id,
                paid_at=now,
                active_payment_id=None,
                version=subject.version + 1,
            )
            return Settlement(paid, SyncOutcome.APPLIED, why, own + Changes(updated=(Update(subject, order),)))
        if subject.paid_payment_id == payment.payment_id:
            concern = None  # the order already says so
        return Settlement(paid, SyncOutcome.APPLIED, why, own + _release(subject, payment), concern)
    paid_for = payment.type is PaymentType.SUBSCRIPTION and isinstance(subject, Subscription)
    if paid_for and isinstance(subject, Subscription) and subject.last_payment_id != payment.payment_id:
        return Settlement(paid, SyncOutcome.APPLIED, why, own + _extend(subject, payment, now))
    concern = Concern.ORDER_MISSING if payment.type is PaymentType.ORDER else Concern.SUBSCRIPTION_NOT_EXTENDED
    return Settlement(paid, SyncOutcome.APPLIED, why, own + _release(subject, payment), concern)


def _order_concern(payment: Payment, order: Order) -> Concern | None:
    if order.paid_payment_id is None:
        return None if fits_order(payment, order) else Concern.ORDER_CHANGED
    return Concern.ORDER_PAID_BY_ANOTHER


def _extend(subscription: Subscription, payment: Payment, now: datetime) -> Changes:
    """The period paid for is of the plan and type paid for: a monthly subscription paid yearly gets a
    year (and becomes yearly); a switch of plan takes effect with it."""
    paid_for = replace(
        subscription,
        subscription_type=payment.subscription_type or subscription.subscription_type,
        plan_id=payment.plan_id or subscription.plan_id,
    )
    extended = replace(
        extend_subscription(paid_for, now, payment.payment_id),
        active_payment_id=None
        if subscription.active_payment_id == payment.payment_id
        else subscription.active_payment_id,
        version=subscription.version + 1,
    )
    return Changes(updated=(Update(subscription, extended),))


def _release(subject: Subject | None, payment: Payment) -> Changes:
    """The subject stops pointing at ``payment`` (if it still does)."""
    if subject is None or subject.active_payment_id != payment.payment_id:
        return Changes()
    if isinstance(subject, Order):  # (one branch per type: mypy does not split the union for us)
        return Changes(updated=(_pointer_cleared(subject),))
    return Changes(updated=(_pointer_cleared(subject),))


def _pointer_cleared[S: (Order, Subscription)](subject: S) -> Update[S]:
    return Update(subject, replace(subject, active_payment_id=None, version=subject.version + 1))
