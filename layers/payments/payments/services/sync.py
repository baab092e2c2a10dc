"""Applying what YooKassa says about a payment: the one code path of the webhook, the reconciler, stale
polls and creates.

The caller fetched the payment from YooKassa itself (never trusting a notification body). Here we check
that the fetched object really is our payment, let the domain decide (``settle``) and write what it
decided in one conditional write. Losing that write means someone moved the payment meanwhile: read
again and decide again, so duplicates racing each other end as no-ops.

Then what the decision asks of YooKassa: a held two-stage payment is captured (still deliverable) or
canceled (not); money that arrived for something that can no longer be delivered is refunded in full
(the refund was reserved in the same write as the payment, so the reconciler finishes it if this
attempt cannot).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from payments.domain import AuditEntry, Changes, Payment, PaymentStatus, ProviderPayment, ProviderStatus
from payments.domain.payments import attach_provider_payment
from payments.domain.settlement import Hold, Settlement, SyncOutcome, mismatch_reason, needs_subject, settle
from payments.errors import ConcurrentUpdate, ProviderError, ProviderNotFound, ProviderTimeout
from payments.observability import count, logger
from payments.ports import SyncStore, YooKassa
from payments.services.conflicts import retry_on_conflict
from payments.services.reads import report_receipt, reread, subject_of
from payments.services.refunds import submit_refund

__all__ = ["SyncOutcome", "SyncResult", "apply_provider_payment"]


@dataclass(frozen=True, slots=True)
class SyncResult:
    payment: Payment
    outcome: SyncOutcome
    reason: str = ""
    noted: bool = False  # the caller's audit entry was written with the decision


# Builds the audit entry of what was decided (the webhook's), to be written in the decision's own write.
Note = Callable[[SyncOutcome], AuditEntry]


def apply_provider_payment(
    store: SyncStore,
    yookassa: YooKassa,
    payment: Payment,
    fetched: ProviderPayment,
    now: datetime,
    note: Note | None = None,
) -> SyncResult:
    """Bring ``payment`` to what YooKassa's ``fetched`` object says, forward only, at most once. With
    ``note``, a final decision that writes something carries its audit entry in the same write
    (``SyncResult.noted``); otherwise the caller writes it."""
    reason = mismatch_reason(payment, fetched)
    if reason is not None:
        logger.warning(
            "provider payment does not match ours",
            extra={"paymentId": payment.payment_id, "yookassaId": fetched.id, "reason": reason},
        )
        return SyncResult(payment, SyncOutcome.MISMATCH, reason)
    first = [payment]  # the caller's read serves the first round; later rounds read afresh

    def attempt() -> Settlement:
        current = first.pop() if first else reread(store, payment.payment_id)
        attached = attach_provider_payment(current, fetched.id, fetched.confirmation_url, now)
        if attached is not None:  # our create never learnt YooKassa's answer; the object is ours
            store.commit(Changes(updated=(attached,)))
            current = attached.after
        subject = subject_of(store, current) if needs_subject(current, fetched) else None
        settlement = settle(current, subject, fetched, now)
        if settlement.changes:
            noting = note is not None and settlement.hold is None  # a hold's outcome comes later
            store.commit(
                settlement.changes + Changes(noted=(note(settlement.outcome),) if note and noting else ())
            )
            noted.append(noting)
        _report(settlement, fetched)
        return settlement

    noted: list[bool] = []
    try:
        settlement = retry_on_conflict(attempt)
    except ConcurrentUpdate:
        logger.warning("payment kept changing under us", extra={"paymentId": payment.payment_id})
        raise
    if settlement.hold is not None:
        return _finish_hold(store, yookassa, settlement, now, note)
    result = SyncResult(settlement.payment, settlement.outcome, settlement.why, noted=any(noted))
    if settlement.refund is not None:
        return _give_back(store, yookassa, settlement, now, result)
    return result


def _finish_hold(
    store: SyncStore, yookassa: YooKassa, held: Settlement, now: datetime, note: Note | None
) -> SyncResult:
    """Capture a held two-stage payment that can still be delivered, cancel one that cannot; then apply
    YooKassa's answer through the same path (paid, or canceled: nobody charged)."""
    payment = held.payment
    assert payment.yookassa_id is not None
    try:
        if held.hold is Hold.CAPTURE:
            answer = yookassa.capture_payment(payment)
        else:
            logger.info(
                "releasing a held payment",
                extra={"paymentId": payment.payment_id, "concern": str(held.concern)},
            )
            count("HoldCanceled", reason=str(held.concern))
            answer = yookassa.cancel_payment(payment)
    except ProviderNotFound:
        raise
    except ProviderError:
        # It moved on meanwhile (captured by a retry, expired): apply what it is now.
        answer = yookassa.get_payment(payment.yookassa_id)
    if answer.status is ProviderStatus.WAITING_FOR_CAPTURE:
        raise ProviderTimeout("YooKassa still holds the payment; the next notification or run finishes it")
    return apply_provider_payment(store, yookassa, payment, answer, now, note)


def _give_back(
    store: SyncStore, yookassa: YooKassa, paid: Settlement, now: datetime, decided: SyncResult
) -> SyncResult:
    """Refund money that could not buy its subject. The refund is already reserved (durably, with the
    payment), so a failure here is finished by the reconciler; only a refusal needs a human."""
    assert paid.refund is not None
    payment = paid.payment
    count("AutoRefund", reason=str(paid.concern))
    logger.warning(
        "refunding a payment that can no longer be delivered",
        extra={"paymentId": payment.payment_id, "concern": str(paid.concern)},
    )
    try:
        submit_refund(store, yookassa, payment, paid.refund, now)
    except ProviderTimeout:
        logger.warning(
            "automatic refund outcome unknown; the reconciler asks again",
            extra={"paymentId": payment.payment_id},
        )
    except ProviderError as exc:
        logger.error(
            "YooKassa refused an automatic refund: refund it by hand",
            extra={"paymentId": payment.payment_id, "provider_code": exc.provider_code},
        )
        count("AutoRefundFailed")
    return SyncResult(reread(store, payment.payment_id), paid.outcome, paid.why, noted=decided.noted)


def _ids(payment: Payment) -> dict[str, str]:
    return {"paymentId": payment.payment_id}


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
        report_receipt(payment.payment_id, fetched.receipt_registration)
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
