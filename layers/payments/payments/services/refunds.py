"""Admin refunds, and applying YooKassa's succeeded refunds exactly once.

A refund request first *reserves* its amount on the payment (a version-checked write), then asks
YooKassa. Two concurrent requests that together exceed the payment cannot both reserve, so they cannot
both reach YooKassa. The hold is released when YooKassa refuses, and turned into ``refundedAmount`` when
the refund succeeds (from the create answer or from ``refund.succeeded``, whichever comes first: both
go through ``apply_refund``, which records each YooKassa refund id once).

Each YooKassa refund carries ``metadata.refundRequestId`` (and ``paymentId``): its notification finds our
request even when our create never learnt YooKassa's answer (a 500, a timeout), so the hold always
becomes the recorded refund in the same write, or is given back when YooKassa cancels the refund.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from payments.domain import (
    Payment,
    PaymentStatus,
    RefundReservation,
    RefundState,
    utc_now,
)
from payments.errors import (
    ConcurrentUpdate,
    IdempotencyKeyReused,
    NotFound,
    PaymentNotRefundable,
    ProviderError,
    ProviderTimeout,
    RefundExceedsPayment,
    ValidationFailed,
)
from payments.money import kopecks_to_amount
from payments.observability import count, logger
from payments.schemas import RefundAccepted, RefundRequest
from payments.services.idempotency import KEY_PATTERN
from payments.services.sync import CURRENCY, RACE_ROUNDS, SyncOutcome
from payments.store import PaymentStore
from payments.yookassa import ProviderRefund, YooKassaClient

REFUNDABLE_STATUSES = frozenset({PaymentStatus.PAID, PaymentStatus.SUCCESS})
# YooKassa keeps an Idempotence-Key for 24 hours; after that the same key would make a second refund.
IDEMPOTENCE_WINDOW = timedelta(hours=23)
UNKNOWN_OUTCOME_EXPIRED = "unknown_outcome_expired"


@dataclass(frozen=True, slots=True)
class RefundResult:
    payment: Payment
    outcome: SyncOutcome


def refund_payment(
    store: PaymentStore,
    yookassa: YooKassaClient,
    payment_id: str,
    request: RefundRequest,
    idempotency_key: str | None,
    *,
    requested_by: str,
    now: datetime | None = None,
) -> RefundAccepted:
    """Refund ``request.amount`` (or all that is left) of a paid payment, once per request key.

    Without an ``Idempotency-Key`` the key is derived from the amount asked for, so a repeated click
    or a retry after a timeout reaches the same refund; a second refund of the same amount needs its
    own key.
    """
    moment = now or utc_now()
    key = idempotency_key if idempotency_key is not None else _derived_key(request)
    if not KEY_PATTERN.fullmatch(key):
        raise ValidationFailed(
            details=[{"field": "Idempotency-Key", "problem": "1-64 characters: letters, digits, _ . : -"}]
        )
    request_id = hashlib.sha256(f"{payment_id}\n{key}".encode()).hexdigest()[:32]
    request_hash = hashlib.sha256(request.model_dump_json().encode()).hexdigest()
    logger.info("refund requested", extra={"paymentId": payment_id, "requestedBy": requested_by})
    payment, reservation = _reserve(store, payment_id, request_id, request_hash, request, moment)
    return _submit(store, yookassa, payment, reservation, moment)


def apply_refund(store: PaymentStore, payment: Payment, refund: ProviderRefund, now: datetime) -> RefundResult:
    """Record one succeeded YooKassa refund on ``payment``, once per refund id; duplicates are no-ops.

    Our request behind it, if any, is settled in the same write (its hold becomes the refund); a
    canceled refund gives its request's hold back.
    """
    if refund.status not in ("succeeded", "canceled"):
        return RefundResult(payment, SyncOutcome.UNCHANGED)
    if refund.currency != CURRENCY or payment.yookassa_id != refund.payment_id:
        logger.warning("refund does not match the payment", extra={"paymentId": payment.payment_id})
        return RefundResult(payment, SyncOutcome.MISMATCH)
    if refund.status == "canceled":
        return _canceled(store, payment, refund, now)
    current = payment
    for _ in range(RACE_ROUNDS):
        reservation = _request_behind(store, current, refund)
        held = reservation if reservation is not None and reservation.is_open else None
        try:
            updated = store.record_refund(current, refund.id, refund.amount, now, reservation=held)
            if updated is None:  # applied before; only a hold may be left (the webhook won the race)
                if held is not None:
                    current = store.release_refund(current, held, RefundState.SUCCEEDED, None, now)
                return RefundResult(current, SyncOutcome.DUPLICATE)
        except ConcurrentUpdate:
            current = _reread(store, current.payment_id)
            continue
        except ValueError:
            # More refunded than paid: YooKassa never allows it, so our record is wrong. Alarm.
            logger.error(
                "refund exceeds what our record says is left",
                extra={"paymentId": current.payment_id, "refundId": refund.id},
            )
            count("ProviderStateConflict")
            return RefundResult(current, SyncOutcome.CONFLICT)
        count("RefundSucceeded")
        logger.info(
            "refund succeeded",
            extra={"paymentId": current.payment_id, "refundId": refund.id, "amount": refund.amount},
        )
        return RefundResult(updated, SyncOutcome.APPLIED)
    raise ConcurrentUpdate()


def settle_held_refund(
    store: PaymentStore, yookassa: YooKassaClient, held: RefundReservation, now: datetime
) -> SyncOutcome:
    """The reconciler's turn on a request that still holds money long after it was made (its answer and
    its notification were both lost, and nobody retried it): learn YooKassa's refund and apply it through
    ``apply_refund``, so a succeeded refund is recorded once and a canceled one gives the hold back.

    ``APPLIED`` when the hold ended here; ``UNCHANGED`` while YooKassa's refund is still pending.
    """
    reservation = store.get_refund_reservation(held.payment_id, held.request_id)  # the index lags
    payment = store.get_payment(held.payment_id)
    if reservation is None or not reservation.is_open or payment is None:
        return SyncOutcome.UNCHANGED
    if reservation.yookassa_refund_id is not None:
        refund = yookassa.get_refund(reservation.yookassa_refund_id)
    elif now - reservation.created_at > IDEMPOTENCE_WINDOW:
        # Asking again would make a second refund under a forgotten key. Give the hold back, loudly.
        logger.error(
            "refund outcome unknown past the idempotence window; hold released, check YooKassa",
            extra={"paymentId": payment.payment_id, "refundRequestId": reservation.request_id},
        )
        count("RefundOutcomeUnknown")
        _release(store, payment, reservation, UNKNOWN_OUTCOME_EXPIRED, now, RefundState.FAILED)
        return SyncOutcome.APPLIED
    else:
        try:
            # The same key and body as the admin's request: YooKassa answers with the refund it made
            # then (or makes it now, if the first request never reached it).
            refund = _create_refund(store, yookassa, payment, reservation, now)
        except ProviderTimeout:
            raise  # still unknown: the next run asks again
        except ProviderError:
            fresh = store.get_refund_reservation(reservation.payment_id, reservation.request_id)
            if fresh is not None and not fresh.is_open:
                return SyncOutcome.APPLIED  # YooKassa refused it: the hold was given back
            raise
    # Remembered: the next run reads it by id, and apply_refund finds the request even without metadata.
    store.mark_refund_pending(reservation, refund.id, now)
    outcome = apply_refund(store, payment, refund, now).outcome
    if outcome is SyncOutcome.DUPLICATE:  # recorded before (without this request): only the hold was left
        fresh = store.get_refund_reservation(reservation.payment_id, reservation.request_id)
        return SyncOutcome.APPLIED if fresh is not None and not fresh.is_open else outcome
    return outcome


def _request_behind(store: PaymentStore, payment: Payment, refund: ProviderRefund) -> RefundReservation | None:
    """Our refund request behind YooKassa's ``refund``: by the metadata we sent with it (known even when
    our create never got an answer), else by the refund id remembered on the request."""
    request_id = refund.metadata.get("refundRequestId")
    if request_id and refund.metadata.get("paymentId") == payment.payment_id:
        found = store.get_refund_reservation(payment.payment_id, request_id)
        # One request is one YooKassa refund of its amount (one Idempotence-Key, never re-sent after a day).
        same_refund = found is not None and found.yookassa_refund_id in (None, refund.id)
        if found is not None and same_refund and found.amount == refund.amount:
            return found
    return store.find_refund_reservation(payment.payment_id, refund.id)


def _canceled(store: PaymentStore, payment: Payment, refund: ProviderRefund, now: datetime) -> RefundResult:
    """YooKassa canceled the refund: no money moved, and our request's hold (if still held) is free."""
    reservation = _request_behind(store, payment, refund)
    if reservation is None:
        return RefundResult(payment, SyncOutcome.UNCHANGED)  # not ours (the dashboard's): nothing held
    if not reservation.is_open:
        return RefundResult(payment, SyncOutcome.DUPLICATE)
    _release(store, payment, reservation, "canceled_by_provider", now)
    return RefundResult(_reread(store, payment.payment_id), SyncOutcome.APPLIED)


def _derived_key(request: RefundRequest) -> str:
    return f"amount-{request.amount}" if request.amount is not None else "amount-rest"


def _reserve(
    store: PaymentStore,
    payment_id: str,
    request_id: str,
    request_hash: str,
    request: RefundRequest,
    now: datetime,
) -> tuple[Payment, RefundReservation]:
    for _ in range(RACE_ROUNDS):
        payment = store.get_payment(payment_id)
        if payment is None:
            raise NotFound("Payment not found")
        existing = store.get_refund_reservation(payment_id, request_id)
        if existing is not None:
            if existing.request_hash != request_hash:
                raise IdempotencyKeyReused()
            return payment, existing  # the same request again: continue it, never a second refund
        if payment.status not in REFUNDABLE_STATUSES or payment.yookassa_id is None:
            raise PaymentNotRefundable(f"The payment is {payment.status}; only a paid payment can be refunded")
        available = payment.refund_available
        amount = request.amount if request.amount is not None else available
        if amount <= 0 or amount > available:
            raise RefundExceedsPayment(f"At most {available} kopecks are left to refund")
        reservation = RefundReservation(
            payment_id=payment_id,
            request_id=request_id,
            amount=amount,
            request_hash=request_hash,
            state=RefundState.RESERVED,
            created_at=now,
        )
        try:
            return store.reserve_refund(payment, reservation), reservation
        except ConcurrentUpdate:
            continue  # the payment changed (another refund, a webhook): decide again on fresh data
    raise ConcurrentUpdate()


def _submit(
    store: PaymentStore,
    yookassa: YooKassaClient,
    payment: Payment,
    reservation: RefundReservation,
    now: datetime,
) -> RefundAccepted:
    if reservation.state is RefundState.FAILED:
        raise ProviderTimeout("This refund's outcome is unknown; check it in YooKassa's dashboard")
    if reservation.state is RefundState.CANCELED:
        raise ProviderError(
            f"YooKassa refused this refund ({reservation.failure_reason})",
            provider_code=reservation.failure_reason,
        )
    if reservation.yookassa_refund_id is not None:
        # YooKassa's refund exists: read it rather than POST again (a key older than 24 h would
        # create a second refund).
        refund = yookassa.get_refund(reservation.yookassa_refund_id)
    else:
        if now - reservation.created_at > IDEMPOTENCE_WINDOW:
            logger.error("refund outcome unknown for a day", extra={"paymentId": payment.payment_id})
            raise ProviderTimeout("This refund's outcome is unknown; check it in YooKassa's dashboard")
        refund = _create_refund(store, yookassa, payment, reservation, now)
    if refund.status == "canceled":
        _release(store, payment, reservation, "canceled_by_provider", now)
        raise ProviderError("YooKassa canceled the refund", provider_code="canceled")
    reservation = store.mark_refund_pending(reservation, refund.id, now)
    if refund.status == "succeeded":
        # Shown to the admin at once; refund.succeeded arriving later finds it applied.
        applied = apply_refund(store, payment, refund, now)
        payment = applied.payment
        if applied.outcome is not SyncOutcome.APPLIED:  # the notification came first: show what it left
            payment = _reread(store, payment.payment_id)
    else:
        payment = _reread(store, payment.payment_id)
    logger.info(
        "refund accepted",
        extra={"paymentId": payment.payment_id, "refundId": refund.id, "refundStatus": refund.status},
    )
    return RefundAccepted(
        paymentId=payment.payment_id,
        refundId=refund.id,
        amount=refund.amount,
        status=refund.status,
        refundedAmount=payment.refunded_amount,
        paymentStatus=payment.status,
    )


def _create_refund(
    store: PaymentStore,
    yookassa: YooKassaClient,
    payment: Payment,
    reservation: RefundReservation,
    now: datetime,
) -> ProviderRefund:
    body: dict[str, object] = {
        "payment_id": payment.yookassa_id,
        "amount": {"value": kopecks_to_amount(reservation.amount), "currency": CURRENCY},
        # Echoed on every read of the refund: refund.succeeded finds this request even if this answer is lost.
        "metadata": {"refundRequestId": reservation.request_id, "paymentId": payment.payment_id},
    }
    try:
        refund = yookassa.create_refund(body, reservation.idempotence_key())
    except ProviderTimeout:
        # Outcome unknown: the hold stays, and a retry of the same request asks again with the same key.
        logger.warning("refund outcome unknown", extra={"paymentId": payment.payment_id})
        raise
    except ProviderError as exc:
        _release(store, payment, reservation, exc.provider_code or "provider_error", now)
        raise
    if refund.payment_id != payment.yookassa_id or refund.amount != reservation.amount:
        logger.error("YooKassa answered with another refund", extra={"paymentId": payment.payment_id})
        raise ProviderError("YooKassa answered with another refund")
    return refund


def _release(
    store: PaymentStore,
    payment: Payment,
    reservation: RefundReservation,
    reason: str,
    now: datetime,
    state: RefundState = RefundState.CANCELED,
) -> None:
    """YooKassa said no (or, ``FAILED``, we gave up asking): the held amount is free again."""
    current = payment
    for _ in range(RACE_ROUNDS):
        try:
            store.release_refund(current, reservation, state, reason, now)
            logger.info("refund refused", extra={"paymentId": payment.payment_id, "reason": reason})
            return
        except ConcurrentUpdate:
            fresh = store.get_refund_reservation(reservation.payment_id, reservation.request_id)
            if fresh is None or not fresh.is_open:
                return
            current = _reread(store, payment.payment_id)
    raise ConcurrentUpdate()


def _reread(store: PaymentStore, payment_id: str) -> Payment:
    payment = store.get_payment(payment_id)
    assert payment is not None  # payments are never deleted
    return payment
