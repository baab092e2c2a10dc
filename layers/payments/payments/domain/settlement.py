"""What YooKassa's word does to a payment, as pure decisions: settle it (paid, failed, canceled) or
close it, with its order or subscription, and what the service must report.

``settle`` takes the payment and its subject as read, YooKassa's object (already checked to be this
payment by ``mismatch_reason``) and ``now``; it returns the payment as it is now and ``Changes``.
"""

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from payments.domain.delivery import Concern, Subject, delivered, undeliverable
from payments.domain.model import (
    MERCHANT,
    Changes,
    Order,
    OrderStatus,
    Payment,
    PaymentStatus,
    RefundRequest,
    Subscription,
    Update,
)
from payments.domain.payments import provider_metadata
from payments.domain.provider import ProviderMethod, ProviderPayment, ProviderStatus
from payments.domain.refunds import AUTO_REFUND_KEY, refund_request_hash, refund_request_id, reserve_refund
from payments.domain.state_machine import Action, decide_transition
from payments.domain.subscriptions import add_paid_period, method_saved, renewable, renewal_declined
from payments.money import CURRENCY


class SyncOutcome(StrEnum):
    APPLIED = "applied"  # the payment moved forward (and its order / subscription with it)
    UNCHANGED = "unchanged"  # YooKassa has not decided yet (pending, waiting_for_capture)
    DUPLICATE = "duplicate"  # we already knew: nothing to do
    CONFLICT = "conflict"  # YooKassa contradicts a final state of ours: not applied, alarmed
    MISMATCH = "mismatch"  # the fetched object is not this payment: never applied


class Hold(StrEnum):
    """What to do with a two-stage payment YooKassa holds (``waiting_for_capture``)."""

    CAPTURE = "capture"  # still deliverable: take the money
    CANCEL = "cancel"  # not any more: release it, nobody is charged


@dataclass(frozen=True, slots=True)
class Settlement:
    """The outcome of one fact about one payment: the payment as it is now and what to write."""

    payment: Payment
    outcome: SyncOutcome
    why: str = ""
    changes: Changes = field(default_factory=Changes)
    concern: Concern | None = None
    hold: Hold | None = None  # a held two-stage payment: capture or cancel it at YooKassa
    refund: RefundRequest | None = None  # the automatic refund of undeliverable money, reserved here


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
    """Whether ``settle`` will decide on the payment, and so needs its order or subscription as it is now."""
    held = fetched.status is ProviderStatus.WAITING_FOR_CAPTURE and not payment.capture
    return payment.status is PaymentStatus.PENDING and (fetched.status.is_final or held)


def settle(payment: Payment, subject: Subject | None, fetched: ProviderPayment, now: datetime) -> Settlement:
    """Bring ``payment`` to what YooKassa's ``fetched`` object says: forward only, at most once.

    ``fetched`` must be this payment (``mismatch_reason`` is None) and already attached to it;
    ``subject`` is the payment's order or subscription as read now (``needs_subject``).
    """
    if _held(payment, fetched):
        return _decide_hold(payment, subject)
    decision = decide_transition(payment.type, payment.status, fetched.status, fetched.cancellation_reason)
    if decision.action is Action.NOOP:
        outcome = SyncOutcome.DUPLICATE if fetched.status.is_final else SyncOutcome.UNCHANGED
        return Settlement(payment, outcome, decision.why)
    if decision.action is Action.CONFLICT:
        return Settlement(payment, SyncOutcome.CONFLICT, decision.why)
    assert decision.status is not None
    if fetched.status is ProviderStatus.SUCCEEDED:
        return _paid(payment, subject, decision.status, now, decision.why, fetched)
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
    if payment.renewal_attempt is not None and isinstance(subject, Subscription):
        changes = Changes(updated=(Update(payment, closed),)) + _declined(subject, payment, reason, now)
    else:
        changes = Changes(updated=(Update(payment, closed),)) + _release(subject, payment)
    return Settlement(closed, SyncOutcome.APPLIED, reason or str(status), changes)


def fail_before_provider(payment: Payment, subject: Subject | None, reason: str, now: datetime) -> Settlement:
    """YooKassa refused to create the payment: it failed, and the subject is free again."""
    return close_payment(payment, subject, PaymentStatus.FAILED, reason, MERCHANT, now)


def _decide_hold(payment: Payment, subject: Subject | None) -> Settlement:
    """Capture money held for a subject it can still buy, and claim the subject for it in the same
    decision (its pointer, version-checked), so of two held payments for one order only one is ever
    captured: the other finds the subject claimed (``SUPERSEDED``) and is released, nobody charged."""
    concern = undeliverable(payment, subject)
    if concern is None and subject is not None and subject.active_payment_id not in (None, payment.payment_id):
        concern = Concern.SUPERSEDED
    if concern is not None or subject is None:
        return Settlement(payment, SyncOutcome.UNCHANGED, "held: cancel", concern=concern, hold=Hold.CANCEL)
    if isinstance(subject, Order):  # (one branch per type: mypy does not split the union for us)
        claim = Changes(updated=(_claimed(subject, payment),))
    else:
        claim = Changes(updated=(_claimed(subject, payment),))
    return Settlement(payment, SyncOutcome.UNCHANGED, "held: capture", claim, hold=Hold.CAPTURE)


def _claimed[S: (Order, Subscription)](subject: S, payment: Payment) -> Update[S]:
    return Update(subject, replace(subject, active_payment_id=payment.payment_id, version=subject.version + 1))


def _held(payment: Payment, fetched: ProviderPayment) -> bool:
    """A two-stage payment of ours that YooKassa holds for us to capture or cancel."""
    return (
        fetched.status is ProviderStatus.WAITING_FOR_CAPTURE
        and not payment.capture
        and payment.status is PaymentStatus.PENDING
    )


def _paid(
    payment: Payment,
    subject: Subject | None,
    status: PaymentStatus,
    now: datetime,
    why: str,
    fetched: ProviderPayment,
) -> Settlement:
    """The money arrived. It buys its subject if it still can (a subscription's period from YooKassa's
    capture, not from when we learn of it); otherwise it is recorded and, in the same write, held for a
    full refund (``Settlement.refund``) that the service then asks YooKassa for."""
    concern = None if delivered(payment, subject) else undeliverable(payment, subject)
    paid = replace(
        payment,
        status=status,
        paid_at=now,
        updated_at=now,
        receipt_registration=fetched.receipt_registration or payment.receipt_registration,
        delivered=concern is None,
        version=payment.version + 1,
    )
    if delivered(payment, subject):
        return Settlement(paid, SyncOutcome.APPLIED, why, Changes(updated=(Update(payment, paid),)))
    if concern is None:
        delivery = _deliver(subject, payment, now, fetched.captured_at or now, fetched.payment_method)
        return Settlement(paid, SyncOutcome.APPLIED, why, Changes(updated=(Update(payment, paid),)) + delivery)
    key = AUTO_REFUND_KEY
    held, refund, _ = reserve_refund(
        paid, refund_request_id(payment.payment_id, key), refund_request_hash(None), None, now
    )
    changes = Changes(created=(refund,), updated=(Update(payment, held),)) + _release(subject, payment)
    return Settlement(held, SyncOutcome.APPLIED, why, changes, concern, refund=refund)


def _deliver(
    subject: Subject | None,
    payment: Payment,
    now: datetime,
    captured_at: datetime,
    method: ProviderMethod | None,
) -> Changes:
    if isinstance(subject, Order):
        order = replace(
            subject,
            status=OrderStatus.PAID,
            paid_payment_id=payment.payment_id,
            paid_at=now,
            active_payment_id=None,
            version=subject.version + 1,
        )
        return Changes(updated=(Update(subject, order),))
    assert isinstance(subject, Subscription)
    return _extend(subject, payment, captured_at, method)


def _extend(
    subscription: Subscription, payment: Payment, start: datetime, method: ProviderMethod | None
) -> Changes:
    """The period paid for is of the plan and type paid for (a change while paid time runs is
    scheduled, never underpriced: ``subscriptions.add_paid_period``); a card saved for renewals is kept."""
    extended = replace(
        add_paid_period(
            method_saved(subscription, payment, method),
            payment.plan_id or subscription.plan_id,
            payment.subscription_type or subscription.subscription_type,
            start,
            payment.payment_id,
        ),
        active_payment_id=None
        if subscription.active_payment_id == payment.payment_id
        else subscription.active_payment_id,
        periods_paid=subscription.periods_paid + 1,
        version=subscription.version + 1,
    )
    return Changes(updated=(Update(subscription, extended),))


def _declined(subscription: Subscription, payment: Payment, reason: str | None, now: datetime) -> Changes:
    """A renewal charge that did not go through: the subscription's dunning moves on (if it still waits
    on this very charge; a renewal it no longer waits on changes nothing)."""
    if subscription.active_payment_id != payment.payment_id:
        return Changes()
    if not renewable(subscription):  # renewal was turned off meanwhile: this charge was ours to drop
        return _release(subscription, payment)
    declined = replace(
        renewal_declined(subscription, payment, now, reason),
        active_payment_id=None,
        version=subscription.version + 1,
    )
    return Changes(updated=(Update(subscription, declined),))


def _release(subject: Subject | None, payment: Payment) -> Changes:
    """The subject stops pointing at ``payment`` (if it still does)."""
    if subject is None or subject.active_payment_id != payment.payment_id:
        return Changes()
    if isinstance(subject, Order):  # (one branch per type: mypy does not split the union for us)
        return Changes(updated=(_pointer_cleared(subject),))
    return Changes(updated=(_pointer_cleared(subject),))


def _pointer_cleared[S: (Order, Subscription)](subject: S) -> Update[S]:
    return Update(subject, replace(subject, active_payment_id=None, version=subject.version + 1))
