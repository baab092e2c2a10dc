"""What YooKassa's word does to a payment, as pure decisions: settle it (paid, failed, canceled) or
close it, with its order or subscription, and what the service must report.

``settle`` takes the payment and its subject as read, YooKassa's object (already checked to be this
payment by ``mismatch_reason``) and ``now``; it returns the payment as it is now and ``Changes``.
"""

from dataclasses import dataclass, field, replace
from datetime import datetime
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
    Update,
)
from payments.domain.payments import Subject, fits_order, provider_metadata
from payments.domain.provider import ProviderPayment, ProviderStatus
from payments.domain.state_machine import Action, decide_transition
from payments.domain.subscriptions import extend_subscription
from payments.money import CURRENCY


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
    sent, metadata = provider_metadata(payment), fetched.metadata
    for key, reason in _METADATA_CHECKS:
        if key in sent and metadata.get(key) != sent[key]:
            return reason
    return None


# What we sent and must read back: a forged or foreign object differs in at least one of these.
_METADATA_CHECKS = (
    ("paymentId", "metadata_payment_id"),
    ("userId", "metadata_user_id"),
    ("orderId", "metadata_order_id"),
    ("subscriptionId", "metadata_subscription_id"),
)


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
