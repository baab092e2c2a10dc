"""Admin refunds: hold the amount, ask YooKassa under the request's own key, settle what it answers.

A refund request first holds its amount on the payment (``domain.refunds.reserve_refund``, one
version-checked write), then asks YooKassa. Two concurrent requests that together exceed the payment
cannot both hold, so they cannot both reach YooKassa. Each YooKassa refund carries
``metadata.refundRequestId`` (and ``paymentId``), so its notification finds our request even when our
create never learnt YooKassa's answer: the hold becomes the recorded refund (``refund_settlement``) or
is given back.
"""

from datetime import datetime

from payments.domain import (
    PROVIDER_IDEMPOTENCE_WINDOW,
    Changes,
    Payment,
    ProviderRefund,
    ProviderRefundStatus,
    RefundRequest,
    RefundState,
    utc_now,
)
from payments.domain.refunds import (
    CANCELED_BY_PROVIDER,
    refund_accepted,
    refund_request_hash,
    refund_request_id,
    reserve_refund,
)
from payments.domain.settlement import SyncOutcome
from payments.errors import (
    ConcurrentUpdate,
    IdempotencyKeyReused,
    NotFound,
    ProviderError,
    ProviderTimeout,
    ValidationFailed,
)
from payments.money import Kopecks
from payments.observability import count, logger
from payments.ports import RefundStore, YooKassa
from payments.schemas import RefundAccepted
from payments.services.conflicts import retry_on_conflict
from payments.services.idempotency import KEY_PATTERN
from payments.services.reads import reread
from payments.services.refund_settlement import apply_refund, release_hold

__all__ = ["apply_refund", "refund_payment", "settle_held_refund", "submit_refund"]

# A keyless request that YooKassa refused may be asked again: each new attempt is a new request (with
# its own Idempotence-Key), at most this many times per amount.
KEYLESS_ATTEMPTS = 20


def refund_payment(
    store: RefundStore,
    yookassa: YooKassa,
    payment_id: str,
    amount: Kopecks | None,
    idempotency_key: str | None,
    *,
    requested_by: str,
    now: datetime | None = None,
) -> RefundAccepted:
    """Refund ``amount`` kopecks (or all that is left) of a paid payment, once per request key.

    Without an ``Idempotency-Key`` the key is derived from the amount asked for, so a repeated click
    or a retry after a timeout reaches the same refund; a second refund of the same amount needs its
    own key. A keyless request that YooKassa refused is not replayed as that refusal: asking again is
    a new attempt (the refusal may have been passing, e.g. the amount left changed meanwhile).
    """
    moment = now or utc_now()
    key = idempotency_key if idempotency_key is not None else _derived_key(amount)
    if not KEY_PATTERN.fullmatch(key):
        raise ValidationFailed(
            details=[{"field": "Idempotency-Key", "problem": "1-64 characters: letters, digits, _ . : -"}]
        )
    request_hash = refund_request_hash(amount)
    logger.info("refund requested", extra={"paymentId": payment_id, "requestedBy": requested_by})

    def hold() -> tuple[Payment, RefundRequest]:
        payment = store.get_payment(payment_id)
        if payment is None:
            raise NotFound("Payment not found")
        request_id, existing = _request_of(store, payment_id, key, retry_refused=idempotency_key is None)
        if existing is not None:
            if existing.request_hash != request_hash:
                raise IdempotencyKeyReused()
            return payment, existing  # the same request again: continue it, never a second refund
        held, request, changes = reserve_refund(payment, request_id, request_hash, amount, moment)
        store.commit(changes)
        return held, request

    payment, request = retry_on_conflict(hold)
    return submit_refund(store, yookassa, payment, request, moment)


def settle_held_refund(
    store: RefundStore, yookassa: YooKassa, held: RefundRequest, now: datetime
) -> SyncOutcome:
    """The reconciler's turn on a request that still holds money long after it was made (its answer and
    its notification were both lost, and nobody retried it): learn YooKassa's refund and apply it, so a
    succeeded refund is recorded once and a canceled one gives the hold back.

    ``APPLIED`` when the hold ended here; ``UNCHANGED`` while YooKassa's refund is still pending.
    """
    request = store.get_refund_request(held.payment_id, held.request_id)  # the index lags
    payment = store.get_payment(held.payment_id)
    if request is None or not request.is_open or payment is None:
        return SyncOutcome.UNCHANGED
    if request.yookassa_refund_id is not None:
        refund = yookassa.get_refund(request.yookassa_refund_id)
    elif now - request.created_at > PROVIDER_IDEMPOTENCE_WINDOW:
        # Asking again would make a second refund under a forgotten key. Give the hold back, loudly.
        logger.error(
            "refund outcome unknown past the idempotence window; hold released, check YooKassa",
            extra={"paymentId": payment.payment_id, "refundRequestId": request.request_id},
        )
        count("RefundOutcomeUnknown")
        release_hold(store, request, RefundState.FAILED, "unknown_outcome_expired", now)
        return SyncOutcome.APPLIED
    else:
        try:
            # The same key and body as the admin's request: YooKassa answers with the refund it made
            # then (or makes it now, if the first request never reached it).
            refund = _create_refund(store, yookassa, payment, request, now)
        except ProviderTimeout:
            raise  # still unknown: the next run asks again
        except ProviderError:
            if not _still_open(store, request):
                return SyncOutcome.APPLIED  # YooKassa refused it: the hold was given back
            raise
    _remember(store, request, refund, now)  # the next run reads it by id
    outcome = apply_refund(store, payment, refund, now).outcome
    if outcome is SyncOutcome.DUPLICATE:  # recorded before (without this request): only the hold was left
        return SyncOutcome.APPLIED if not _still_open(store, request) else outcome
    return outcome


def _derived_key(amount: Kopecks | None) -> str:
    return f"amount-{amount}" if amount is not None else "amount-rest"


def _request_of(
    store: RefundStore, payment_id: str, key: str, *, retry_refused: bool
) -> tuple[str, RefundRequest | None]:
    """The request this key names: its id and, if made before, the request. With ``retry_refused`` a
    request YooKassa refused names the next attempt instead (``<key>#2``, ``<key>#3``...)."""
    for attempt in range(1, KEYLESS_ATTEMPTS + 1):
        request_id = refund_request_id(payment_id, key if attempt == 1 else f"{key}#{attempt}")
        existing = store.get_refund_request(payment_id, request_id)
        if existing is None or not (retry_refused and existing.state is RefundState.CANCELED):
            return request_id, existing
    raise ProviderError("YooKassa refused this refund too many times; check the payment in its dashboard")


def submit_refund(
    store: RefundStore, yookassa: YooKassa, payment: Payment, request: RefundRequest, now: datetime
) -> RefundAccepted:
    """Ask YooKassa for the refund a request holds (or read it, if it was made), and apply its answer."""
    if request.state is RefundState.FAILED:
        raise ProviderTimeout("This refund's outcome is unknown; check it in YooKassa's dashboard")
    if request.state is RefundState.CANCELED:
        raise ProviderError(
            f"YooKassa refused this refund ({request.failure_reason})", provider_code=request.failure_reason
        )
    if request.yookassa_refund_id is not None:
        # YooKassa's refund exists: read it rather than POST again (a key older than 24 h would
        # create a second refund).
        refund = yookassa.get_refund(request.yookassa_refund_id)
    else:
        if now - request.created_at > PROVIDER_IDEMPOTENCE_WINDOW:
            logger.error("refund outcome unknown for a day", extra={"paymentId": payment.payment_id})
            raise ProviderTimeout("This refund's outcome is unknown; check it in YooKassa's dashboard")
        refund = _create_refund(store, yookassa, payment, request, now)
    if refund.status is ProviderRefundStatus.CANCELED:
        release_hold(store, request, RefundState.CANCELED, CANCELED_BY_PROVIDER, now)
        raise ProviderError("YooKassa canceled the refund", provider_code="canceled")
    _remember(store, request, refund, now)
    if refund.status is ProviderRefundStatus.SUCCEEDED:
        # Shown to the admin at once; refund.succeeded arriving later finds it applied.
        applied = apply_refund(store, payment, refund, now)
        payment = (
            applied.payment if applied.outcome is SyncOutcome.APPLIED else reread(store, payment.payment_id)
        )
    else:
        payment = reread(store, payment.payment_id)
    logger.info(
        "refund accepted",
        extra={"paymentId": payment.payment_id, "refundId": refund.id, "refundStatus": str(refund.status)},
    )
    return RefundAccepted(
        payment_id=payment.payment_id,
        refund_id=refund.id,
        amount=refund.amount,
        status=str(refund.status),
        refunded_amount=payment.refunded_amount,
        payment_status=payment.status,
    )


def _create_refund(
    store: RefundStore, yookassa: YooKassa, payment: Payment, request: RefundRequest, now: datetime
) -> ProviderRefund:
    try:
        refund = yookassa.create_refund(payment, request)
    except ProviderTimeout:
        # Outcome unknown: the hold stays, and a retry of the same request asks again with the same key.
        logger.warning("refund outcome unknown", extra={"paymentId": payment.payment_id})
        raise
    except ProviderError as exc:
        release_hold(store, request, RefundState.CANCELED, exc.provider_code or "provider_error", now)
        raise
    if refund.payment_id != payment.yookassa_id or refund.amount != request.amount:
        logger.error("YooKassa answered with another refund", extra={"paymentId": payment.payment_id})
        raise ProviderError("YooKassa answered with another refund")
    return refund


def _remember(store: RefundStore, request: RefundRequest, refund: ProviderRefund, now: datetime) -> None:
    """YooKassa made the refund: its id goes on the request (once), so refund.succeeded finds it.
    Losing the write means the request moved on meanwhile (another retry, the notification): fine."""
    accepted = refund_accepted(request, refund.id, now)
    if accepted is None:
        return
    try:
        store.commit(Changes(updated=(accepted,)))
    except ConcurrentUpdate:
        return


def _still_open(store: RefundStore, request: RefundRequest) -> bool:
    fresh = store.get_refund_request(request.payment_id, request.request_id)
    return fresh is not None and fresh.is_open
