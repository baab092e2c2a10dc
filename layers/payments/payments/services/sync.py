"""Applying what YooKassa says about a payment: the one code path of the webhook, the reconciler, stale
polls and refused creates.

The caller fetched the payment from YooKassa itself (never trusting a notification body). Here we check
that the fetched object really is our payment, let the domain decide (``settle``) and write what it
decided in one conditional write. Losing that write means someone moved the payment meanwhile: read
again and decide again, so duplicates racing each other end as no-ops.
"""

from dataclasses import dataclass
from datetime import datetime

from payments.domain import Changes, Payment, PaymentStatus, PaymentType, ProviderPayment
from payments.domain.payments import Subject, attach_provider_payment
from payments.domain.settlement import Concern, Settlement, SyncOutcome, mismatch_reason, needs_subject, settle
from payments.errors import ConcurrentUpdate
from payments.observability import count, logger
from payments.ports import PaymentReader, SyncStore
from payments.services.conflicts import retry_on_conflict

__all__ = ["SyncOutcome", "SyncResult", "apply_provider_payment", "reread", "subject_of"]


@dataclass(frozen=True, slots=True)
class SyncResult:
    payment: Payment
    outcome: SyncOutcome
    reason: str = ""


def apply_provider_payment(
    store: SyncStore, payment: Payment, fetched: ProviderPayment, now: datetime
) -> SyncResult:
    """Bring ``payment`` to what YooKassa's ``fetched`` object says, forward only, at most once."""
    reason = mismatch_reason(payment, fetched)
    if reason is not None:
        logger.warning(
            "provider payment does not match ours",
            extra={"paymentId": payment.payment_id, "yookassaId": fetched.id, "reason": reason},
        )
        return SyncResult(payment, SyncOutcome.MISMATCH, reason)
    first = [payment]  # the caller's read serves the first round; later rounds read afresh

    def attempt() -> SyncResult:
        current = first.pop() if first else reread(store, payment.payment_id)
        attached = attach_provider_payment(current, fetched.id, fetched.confirmation_url, now)
        if attached is not None:  # our create never learnt YooKassa's answer; the object is ours
            store.commit(Changes(updated=(attached,)))
            current = attached.after
        subject = subject_of(store, current) if needs_subject(current, fetched) else None
        settlement = settle(current, subject, fetched, now)
        if settlement.changes:
            store.commit(settlement.changes)
        _report(settlement, fetched)
        return SyncResult(settlement.payment, settlement.outcome, settlement.why)

    try:
        return retry_on_conflict(attempt)
    except ConcurrentUpdate:
        logger.warning("payment kept changing under us", extra={"paymentId": payment.payment_id})
        raise


def subject_of(store: SyncStore, payment: Payment) -> Subject | None:
    """The payment's order or subscription as it is now (``None`` if it vanished: never expected)."""
    if payment.type is PaymentType.ORDER:
        return store.get_order(payment.subject_id)
    return store.get_subscription(payment.subject_id)


def reread(store: PaymentReader, payment_id: str) -> Payment:
    payment = store.get_payment(payment_id)
    assert payment is not None  # payments are never deleted
    return payment


def _report(settlement: Settlement, fetched: ProviderPayment) -> None:
    """Logs and metrics for what was decided (after it was written)."""
    payment = settlement.payment
    if settlement.outcome is SyncOutcome.CONFLICT:
        logger.warning(
            "provider state conflicts with ours; not applied",
            extra={
                "paymentId": payment.payment_id,
                "yookassaId": fetched.id,
                "status": str(payment.status),
                "providerStatus": str(fetched.status),
            },
        )
        count("ProviderStateConflict")
        return
    if settlement.outcome is not SyncOutcome.APPLIED:
        return
    if payment.status in (PaymentStatus.PAID, PaymentStatus.SUCCESS):
        count("PaymentSucceeded")
        logger.info("payment succeeded", extra={"paymentId": payment.payment_id, "yookassaId": fetched.id})
        if settlement.concern is not None:
            _report_concern(payment, settlement.concern)
        return
    count("PaymentFailed" if payment.status is PaymentStatus.FAILED else "PaymentCanceled")
    logger.info(
        "payment closed",
        extra={
            "paymentId": payment.payment_id,
            "status": str(payment.status),
            "reason": fetched.cancellation_reason,
        },
    )


def _report_concern(payment: Payment, concern: Concern) -> None:
    """Money that does not pay its subject as it stands: a human refunds or settles it."""
    extra = {"paymentId": payment.payment_id, "subjectId": payment.subject_id, "concern": str(concern)}
    if concern is Concern.ORDER_CHANGED:
        logger.error("paid payment no longer matches its order (price or owner changed)", extra=extra)
        count("DuplicateOrderPayment", reason="order_changed")
    elif concern is Concern.ORDER_PAID_BY_ANOTHER:
        logger.error("order already paid by another payment; this one needs a refund", extra=extra)
        count("DuplicateOrderPayment")
    else:
        logger.error("the paid payment's order or subscription is missing or already extended", extra=extra)
