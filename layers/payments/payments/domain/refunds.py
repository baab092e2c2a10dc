"""Refunds as pure decisions: hold an amount, learn YooKassa's refund, record it once, or give it back.

A refund request first holds its amount on the payment (``refund_reserved``), so two concurrent
requests that together exceed the payment cannot both reach YooKassa. The hold becomes
``refunded_amount`` when the refund succeeds, or is released when YooKassa refuses or cancels it.
"""

import hashlib
import json
from dataclasses import replace
from datetime import datetime

from payments.domain.model import (
    AppliedRefund,
    Changes,
    Order,
    OrderStatus,
    Payment,
    PaymentStatus,
    RefundRequest,
    RefundState,
    Subscription,
    Update,
)
from payments.domain.provider import ProviderRefund
from payments.domain.state_machine import REFUNDABLE_STATUSES
from payments.domain.subscriptions import take_back_period
from payments.errors import PaymentNotRefundable, RefundExceedsPayment
from payments.money import Kopecks

# Nobody learnt YooKassa's answer within its idempotence window: the hold was given back.
UNKNOWN_OUTCOME_EXPIRED = "unknown_outcome_expired"
CANCELED_BY_PROVIDER = "canceled_by_provider"


# The key of the refund that gives back money which could not buy its subject (domain.delivery).
AUTO_REFUND_KEY = "auto-refund"


def refund_request_id(payment_id: str, key: str) -> str:
    """One refund request per payment and key: every retry of the same request finds it again."""
    return hashlib.sha256(f"{payment_id}\n{key}".encode()).hexdigest()[:32]


def refund_request_hash(amount: Kopecks | None) -> str:
    """The fingerprint of what was asked (``{"amount":N}`` / ``{"amount":null}``, as first hashed): a key
    reused for another amount is refused. Stable across releases, so a request retried over a deploy
    is still the same request."""
    return hashlib.sha256(json.dumps({"amount": amount}, separators=(",", ":")).encode()).hexdigest()


class RefundExceedsRecord(Exception):
    """YooKassa refunded more than our record says is left: YooKassa never allows it, so our record is
    wrong. Never applied; alarmed."""


def reserve_refund(
    payment: Payment, request_id: str, request_hash: str, amount: Kopecks | None, now: datetime
) -> tuple[Payment, RefundRequest, Changes]:
    """A new request holding ``amount`` (or all that is left) of a paid payment: the payment with the
    hold, the request, and what to write."""
    if payment.status not in REFUNDABLE_STATUSES or payment.yookassa_id is None:
        raise PaymentNotRefundable(f"The payment is {payment.status}; only a paid payment can be refunded")
    available = payment.refund_available
    wanted = amount if amount is not None else available
    if wanted <= 0 or wanted > available:
        raise RefundExceedsPayment(f"At most {available} kopecks are left to refund")
    request = RefundRequest(
        payment_id=payment.payment_id,
        request_id=request_id,
        amount=wanted,
        request_hash=request_hash,
        state=RefundState.RESERVED,
        created_at=now,
        updated_at=now,
    )
    held = replace(
        payment, refund_reserved=payment.refund_reserved + wanted, updated_at=now, version=payment.version + 1
    )
    return held, request, Changes(created=(request,), updated=(Update(payment, held),))


def refund_accepted(
    request: RefundRequest, yookassa_refund_id: str, now: datetime
) -> Update[RefundRequest] | None:
    """YooKassa made the refund: remember its id (once) so its notification finds the request.
    ``None`` when there is nothing to write (remembered already, or the request moved on meanwhile)."""
    if request.yookassa_refund_id == yookassa_refund_id or request.state is not RefundState.RESERVED:
        return None
    accepted = replace(
        request, state=RefundState.PENDING, yookassa_refund_id=yookassa_refund_id, updated_at=now
    )
    return Update(request, accepted)


def takes_back(payment: Payment, refund: ProviderRefund, held: RefundRequest | None = None) -> bool:
    """Whether ``refund`` completes a full refund of money that bought its subject: then the subject
    gives back what it got (``record_refund`` needs it, as read now). The automatic refund of money that
    could not be delivered takes nothing back, also for payments settled before ``delivered`` was kept."""
    automatic = held is not None and held.request_id == refund_request_id(payment.payment_id, AUTO_REFUND_KEY)
    full = payment.refunded_amount + refund.amount == payment.amount
    return full and payment.delivered is not False and not automatic


def record_refund(
    payment: Payment,
    refund: ProviderRefund,
    held: RefundRequest | None,
    now: datetime,
    subject: Order | Subscription | None = None,
) -> tuple[Payment, Changes]:
    """Add one succeeded refund to the payment. With ``held`` (our open request behind it) the hold
    becomes the refund in the same write, so refunded + reserved never counts the same kopecks twice.
    A full refund of money that bought its subject takes it back, in the same write (``takes_back``):
    the order it paid becomes ``refunded``; the subscription loses the period it paid. A partial refund
    changes neither.

    The ``AppliedRefund`` item is created (never overwritten): a duplicate of this refund fails to write.
    """
    if held is not None and not held.is_open:
        held = None  # its hold ended already (released or recorded): never give it back twice
    total = payment.refunded_amount + refund.amount
    if total > payment.amount:
        raise RefundExceedsRecord()
    refunded = replace(
        payment,
        refunded_amount=total,
        status=PaymentStatus.REFUNDED if total == payment.amount else payment.status,
        refund_reserved=payment.refund_reserved - (held.amount if held is not None else 0),
        updated_at=now,
        version=payment.version + 1,
    )
    applied = AppliedRefund(payment.payment_id, refund.id, refund.amount, now)
    changes = Changes(created=(applied,), updated=(Update(payment, refunded),))
    if held is not None:
        done = replace(held, state=RefundState.SUCCEEDED, yookassa_refund_id=refund.id, updated_at=now)
        changes += Changes(updated=(Update(held, done),))
    if takes_back(payment, refund, held):
        changes += _given_back(subject, payment)
    return refunded, changes


def _given_back(subject: Order | Subscription | None, payment: Payment) -> Changes:
    if isinstance(subject, Order):
        if subject.paid_payment_id != payment.payment_id or subject.status is OrderStatus.REFUNDED:
            return Changes()  # another payment paid it: this one's refund takes nothing back
        refunded = replace(subject, status=OrderStatus.REFUNDED, version=subject.version + 1)
        return Changes(updated=(Update(subject, refunded),))
    if isinstance(subject, Subscription) and subject.end_date is not None:
        months_of = payment.subscription_type or subject.subscription_type
        taken = replace(take_back_period(subject, months_of), version=subject.version + 1)
        return Changes(updated=(Update(subject, taken),))
    return Changes()


def release_refund(
    payment: Payment, request: RefundRequest, state: RefundState, reason: str | None, now: datetime
) -> tuple[Payment, Changes]:
    """Close an open request and give its held amount back: YooKassa refused or canceled it, the refund
    was recorded without it (its notification won the race), or its outcome stayed unknown too long."""
    assert request.is_open and state not in (RefundState.RESERVED, RefundState.PENDING)
    closed = replace(request, state=state, failure_reason=reason or request.failure_reason, updated_at=now)
    released = replace(
        payment,
        refund_reserved=payment.refund_reserved - request.amount,
        updated_at=now,
        version=payment.version + 1,
    )
    return released, Changes(updated=(Update(request, closed), Update(payment, released)))
