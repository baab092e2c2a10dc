"""Applying what YooKassa says about a payment: the one code path of the webhook, the reconciler and
stale polls.

The caller fetched the payment from YooKassa itself (never trusting a notification body); this module
checks that the fetched object really is our payment, decides through the forward-only state machine
and writes with conditional, version-checked writes. Losing a write race means "someone else moved the
payment meanwhile": re-read and decide again, so duplicates racing each other end as no-ops.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from payments.domain import (
    Action,
    Payment,
    PaymentStatus,
    PaymentType,
    ProviderStatus,
    decide_transition,
)
from payments.errors import ConcurrentUpdate
from payments.observability import count, logger
from payments.store import PaymentStore
from payments.yookassa import ProviderPayment

# Every round has a winner, so a few rounds settle any realistic race (webhook + reconciler + polls).
RACE_ROUNDS = 5
CURRENCY = "RUB"
# A status poll never waits long on YooKassa: when it is slow, the stored status is a fine answer.
POLL_REFRESH_BUDGET_SECONDS = 3.0


class SyncOutcome(StrEnum):
    APPLIED = "applied"  # the payment moved forward (and its order / subscription with it)
    UNCHANGED = "unchanged"  # YooKassa has not decided yet (pending, waiting_for_capture)
    DUPLICATE = "duplicate"  # we already knew: nothing to do
    CONFLICT = "conflict"  # YooKassa contradicts a final state of ours: not applied, alarmed
    MISMATCH = "mismatch"  # the fetched object is not this payment: never applied


@dataclass(frozen=True, slots=True)
class SyncResult:
    payment: Payment
    outcome: SyncOutcome
    reason: str = ""


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
    subject_key = "orderId" if payment.type is PaymentType.ORDER else "subscriptionId"
    if metadata.get(subject_key) != payment.subject_id:
        return f"metadata_{'order_id' if payment.type is PaymentType.ORDER else 'subscription_id'}"
    return None


def apply_provider_payment(
    store: PaymentStore, payment: Payment, fetched: ProviderPayment, now: datetime
) -> SyncResult:
    """Bring ``payment`` to what YooKassa's ``fetched`` object says, forward only, at most once."""
    reason = mismatch_reason(payment, fetched)
    if reason is not None:
        logger.warning(
            "provider payment does not match ours",
            extra={"paymentId": payment.payment_id, "yookassaId": fetched.id, "reason": reason},
        )
        return SyncResult(payment, SyncOutcome.MISMATCH, reason)
    current = payment
    for _ in range(RACE_ROUNDS):
        try:
            if current.yookassa_id is None:
                # Our create never learnt YooKassa's answer; the object is ours (checked above).
                current = store.attach_provider_payment(current, fetched.id, fetched.confirmation_url)
            return _decide_and_write(store, current, fetched, now)
        except ConcurrentUpdate:
            reread = store.get_payment(payment.payment_id)
            assert reread is not None  # payments are never deleted
            current = reread
    logger.warning("payment kept changing under us", extra={"paymentId": payment.payment_id})
    raise ConcurrentUpdate()


def _decide_and_write(
    store: PaymentStore, payment: Payment, fetched: ProviderPayment, now: datetime
) -> SyncResult:
    decision = decide_transition(payment.type, payment.status, fetched.status, fetched.cancellation_reason)
    if decision.action is Action.NOOP:
        in_progress = fetched.status in (ProviderStatus.PENDING, ProviderStatus.WAITING_FOR_CAPTURE)
        outcome = SyncOutcome.UNCHANGED if in_progress else SyncOutcome.DUPLICATE
        return SyncResult(payment, outcome, decision.why)
    if decision.action is Action.CONFLICT:
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
        return SyncResult(payment, SyncOutcome.CONFLICT, decision.why)
    assert decision.status is not None
    if fetched.status is ProviderStatus.SUCCEEDED:
        settled = _settle(store, payment, decision.status, now)
        count("PaymentSucceeded")
        logger.info("payment succeeded", extra={"paymentId": payment.payment_id, "yookassaId": fetched.id})
        return SyncResult(settled, SyncOutcome.APPLIED, decision.why)
    closed = store.close_payment(
        payment, decision.status, fetched.cancellation_reason, fetched.cancellation_party, now
    )
    count("PaymentFailed" if decision.status is PaymentStatus.FAILED else "PaymentCanceled")
    logger.info(
        "payment closed",
        extra={
            "paymentId": payment.payment_id,
            "status": str(decision.status),
            "reason": fetched.cancellation_reason,
        },
    )
    return SyncResult(closed, SyncOutcome.APPLIED, decision.why)


def _settle(store: PaymentStore, payment: Payment, status: PaymentStatus, now: datetime) -> Payment:
    """The money arrived: the payment and its order or subscription change in one transaction."""
    if payment.type is PaymentType.ORDER:
        order = store.get_order(payment.subject_id)
        if order is None:  # orders are never deleted; keep the money on record all the same
            logger.error("the paid payment's order is missing", extra={"paymentId": payment.payment_id})
            return store.settle_payment_alone(payment, status, now)
        if order.paid_payment_id is None and (order.amount, order.user_id) == (payment.amount, payment.user_id):
            return store.settle_order_payment(payment, order, now)
        if order.paid_payment_id is None:
            # The order's price or owner changed after this payment was started: the money does not
            # pay the order as it stands now. Record it as paid; a human refunds or settles it.
            logger.error(
                "paid payment no longer matches its order (price or owner changed)",
                extra={"paymentId": payment.payment_id, "orderId": payment.subject_id},
            )
            count("DuplicateOrderPayment", reason="order_changed")
            return store.settle_payment_alone(payment, status, now)
        if order.paid_payment_id == payment.payment_id:
            return store.settle_payment_alone(payment, status, now)  # the order already says so
        # Another payment of the same order was paid first (two tabs, two checkouts). The order's
        # transaction would fail forever; record this money as paid and leave it to a human to refund.
        logger.error(
            "order already paid by another payment; this one needs a refund",
            extra={
                "paymentId": payment.payment_id,
                "orderId": payment.subject_id,
                "paidPaymentId": order.paid_payment_id,
            },
        )
        count("DuplicateOrderPayment")
        return store.settle_payment_alone(payment, status, now)
    subscription = store.get_subscription(payment.subject_id)
    if subscription is None or subscription.last_payment_id == payment.payment_id:
        # No subscription record (never expected), or this very payment already extended it.
        logger.error("subscription missing or already extended", extra={"paymentId": payment.payment_id})
        return store.settle_payment_alone(payment, status, now)
    return store.settle_subscription_payment(payment, subscription, now)
