"""Applying YooKassa's word about a refund: a succeeded refund is recorded exactly once (its hold, if
ours, becomes it in the same write); a canceled one gives its hold back. The webhook, the admin's own
request and the reconciler all come through here.
"""

from dataclasses import dataclass
from datetime import datetime

from payments.domain import Payment, ProviderRefund, ProviderRefundStatus, RefundRequest, RefundState
from payments.domain.refunds import (
    CANCELED_BY_PROVIDER,
    RefundExceedsRecord,
    record_refund,
    release_refund,
    takes_back,
)
from payments.domain.settlement import SyncOutcome
from payments.errors import ConcurrentUpdate
from payments.money import CURRENCY
from payments.observability import count, logger
from payments.ports import RefundStore
from payments.services.conflicts import retry_on_conflict
from payments.services.reads import report_receipt, reread, subject_of


@dataclass(frozen=True, slots=True)
class RefundResult:
    payment: Payment
    outcome: SyncOutcome


def apply_refund(store: RefundStore, payment: Payment, refund: ProviderRefund, now: datetime) -> RefundResult:
    """Record one succeeded YooKassa refund on ``payment``, once per refund id; duplicates are no-ops.
    A canceled refund gives its request's hold back."""
    if not refund.status.is_final:
        return RefundResult(payment, SyncOutcome.UNCHANGED)
    if refund.currency != CURRENCY or payment.yookassa_id != refund.payment_id:
        logger.warning("refund does not match the payment", extra={"paymentId": payment.payment_id})
        return RefundResult(payment, SyncOutcome.MISMATCH)
    if refund.status is ProviderRefundStatus.CANCELED:
        return _canceled(store, payment, refund, now)
    first = [payment]  # the caller's read serves the first round; later rounds read afresh

    def attempt() -> RefundResult:
        current = first.pop() if first else reread(store, payment.payment_id)
        request = _request_behind(store, current, refund)
        held = request if request is not None and request.is_open else None
        subject = subject_of(store, current) if takes_back(current, refund, held) else None
        try:
            refunded, changes = record_refund(current, refund, held, now, subject)
            store.commit(changes)
        except (RefundExceedsRecord, ConcurrentUpdate) as exc:
            if store.refund_recorded(current.payment_id, refund.id):
                return _duplicate(store, current, held, now)
            if isinstance(exc, ConcurrentUpdate):
                raise
            # More refunded than paid: YooKassa never allows it, so our record is wrong. Alarm.
            logger.error(
                "refund exceeds what our record says is left",
                extra={"paymentId": current.payment_id, "refundId": refund.id},
            )
            count("ProviderStateConflict")
            return RefundResult(current, SyncOutcome.CONFLICT)
        count("RefundSucceeded")
        report_receipt(current.payment_id, refund.receipt_registration)
        logger.info(
            "refund succeeded",
            extra={"paymentId": current.payment_id, "refundId": refund.id, "amount": refund.amount},
        )
        return RefundResult(refunded, SyncOutcome.APPLIED)

    return retry_on_conflict(attempt)


def release_hold(
    store: RefundStore, request: RefundRequest, state: RefundState, reason: str | None, now: datetime
) -> Payment | None:
    """End an open request without a refund of its own and give its amount back; ``None`` when it had
    ended already (another writer got there first)."""

    def attempt() -> Payment | None:
        fresh = store.get_refund_request(request.payment_id, request.request_id)
        if fresh is None or not fresh.is_open:
            return None
        released, changes = release_refund(reread(store, request.payment_id), fresh, state, reason, now)
        store.commit(changes)
        logger.info("refund hold released", extra={"paymentId": request.payment_id, "reason": reason})
        return released

    return retry_on_conflict(attempt)


def _duplicate(store: RefundStore, payment: Payment, held: RefundRequest | None, now: datetime) -> RefundResult:
    """Applied before: only the hold of our request may be left (the notification won the race)."""
    released = release_hold(store, held, RefundState.SUCCEEDED, None, now) if held is not None else None
    return RefundResult(released or payment, SyncOutcome.DUPLICATE)


def _request_behind(store: RefundStore, payment: Payment, refund: ProviderRefund) -> RefundRequest | None:
    """Our refund request behind YooKassa's ``refund``: by the metadata we sent with it (known even when
    our create never got an answer), else by the refund id remembered on the request."""
    request_id = refund.metadata.get("refundRequestId")
    if request_id and refund.metadata.get("paymentId") == payment.payment_id:
        found = store.get_refund_request(payment.payment_id, request_id)
        # One request is one YooKassa refund of its amount (one Idempotence-Key, never re-sent after a day).
        same_refund = found is not None and found.yookassa_refund_id in (None, refund.id)
        if found is not None and same_refund and found.amount == refund.amount:
            return found
    return store.find_refund_request(payment.payment_id, refund.id)


def _canceled(store: RefundStore, payment: Payment, refund: ProviderRefund, now: datetime) -> RefundResult:
    """YooKassa canceled the refund: no money moved, and our request's hold (if still held) is free."""
    request = _request_behind(store, payment, refund)
    if request is None:
        return RefundResult(payment, SyncOutcome.UNCHANGED)  # not ours (the dashboard's): nothing held
    if not request.is_open:
        return RefundResult(payment, SyncOutcome.DUPLICATE)
    released = release_hold(store, request, RefundState.CANCELED, CANCELED_BY_PROVIDER, now)
    return RefundResult(released or reread(store, payment.payment_id), SyncOutcome.APPLIED)
