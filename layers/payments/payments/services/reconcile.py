"""The reconciler: no payment stays pending because a webhook was lost.

Every few minutes, every payment pending longer than ``reconcile_after_seconds`` (from the sparse,
write-sharded pending index) is re-fetched from YooKassa and applied through ``sync`` — the webhook's
own code path. Then every admin refund request still holding money after as long (its shards of the
same index) is settled through the refund service: its hold becomes the refund, or is given back.
A run is bounded by the Lambda's remaining time; what it does not reach, the next run does (the index
still holds it).
"""

from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, as_completed, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from payments.domain import (
    MERCHANT,
    PROVIDER_IDEMPOTENCE_WINDOW,
    Payment,
    PaymentStatus,
    PaymentType,
    ProviderPayment,
    RefundRequest,
    cancel_status,
)
from payments.domain.settlement import close_payment
from payments.errors import PaymentsError, ProviderError, ProviderNotFound
from payments.observability import count, logger
from payments.ports import ReconcileStore, YooKassa
from payments.services.conflicts import retry_on_conflict
from payments.services.payments import return_url
from payments.services.reads import reread, subject_of
from payments.services.refunds import settle_held_refund
from payments.services.sync import SyncOutcome, apply_provider_payment
from payments.settings import Settings

EXPIRED_REASON = "expired_on_confirmation"
# Refusals of a re-sent create that do not prove the first attempt made nothing: with other
# credentials (401) or on another URL (404) YooKassa would refuse even a create it had accepted before.
UNPROVEN_REFUSALS = frozenset({401, 404})


@dataclass
class ReconcileSummary:
    checked: int = 0
    fixed: int = 0
    conflicts: int = 0
    errors: int = 0
    unfinished: bool = False  # the time budget ran out; the next run continues
    deferred: int = 0  # still pending at YooKassa when last asked, not asked again yet (recheck_after)
    failed_payment_ids: list[str] = field(default_factory=list)
    # Of ``checked``: held refund requests (the counts above include them).
    refunds_checked: int = 0

    def as_dict(self) -> dict[str, object]:
        summary: dict[str, object] = {
            "checked": self.checked,
            "fixed": self.fixed,
            "conflicts": self.conflicts,
            "errors": self.errors,
            "unfinished": self.unfinished,
        }
        if self.refunds_checked:
            summary["refundsChecked"] = self.refunds_checked
        if self.deferred:
            summary["deferred"] = self.deferred
        return summary

    @property
    def all_failed(self) -> bool:
        return self.checked > 0 and self.errors == self.checked


def reconcile(
    store: ReconcileStore,
    yookassa: YooKassa,
    settings: Settings,
    now: datetime,
    remaining_ms: Callable[[], int],
) -> ReconcileSummary:
    """Bring every payment pending too long, and every refund request holding money as long, to
    YooKassa's state. Stops while time is left to answer.

    Payments are checked oldest first, ``reconcile_concurrency`` at a time. Each check waits ~150 ms on
    YooKassa and ~20 ms on DynamoDB and costs ~10 ms of CPU (``make bench``): one worker settles ~5.9
    payments/s, so a serial run settled ~1,100 in its 215 usable seconds; 16 workers would do ~94/s,
    more than the CPU of 1024 MB (~0.58 vCPU: ~58/s) allows, so ~12,000 per run — a 10,000 backlog in
    one run (it needs 47/s). A payment YooKassa still has as pending (the customer left the
    checkout page) is asked again only after a pause that grows with its age (``recheck_after``),
    so abandoned payments do not take every run's time until YooKassa expires them."""
    summary = ReconcileSummary()
    # Keep enough to finish the checks in flight (each within the YooKassa budget) and their writes.
    reserve_ms = int((settings.yookassa_budget_seconds + 5) * 1000)
    cutoff = now - timedelta(seconds=settings.reconcile_after_seconds)
    workers = settings.reconcile_concurrency
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="reconcile") as pool:
        in_flight: dict[Future[SyncOutcome], str] = {}
        for payment in store.pending_payments(older_than=cutoff):
            if _out_of_time(summary, remaining_ms, reserve_ms):
                break
            if _recently_checked(payment, now):
                summary.deferred += 1
                continue
            if len(in_flight) >= workers:
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    _collect(summary, in_flight.pop(future), future)
            summary.checked += 1
            in_flight[pool.submit(_reconcile_one, store, yookassa, settings, payment, now)] = payment.payment_id
        for future in as_completed(in_flight):
            _collect(summary, in_flight[future], future)
    if not summary.unfinished:
        _settle_held_refunds(
            store,
            yookassa,
            store.held_refund_requests(older_than=cutoff),
            now,
            summary,
            remaining_ms,
            reserve_ms,
        )
    if summary.fixed:
        count("ReconcilerFixed", summary.fixed)
    logger.info("reconciler run", extra=summary.as_dict())
    return summary


def _settle_held_refunds(
    store: ReconcileStore,
    yookassa: YooKassa,
    held: Iterable[RefundRequest],
    now: datetime,
    summary: ReconcileSummary,
    remaining_ms: Callable[[], int],
    reserve_ms: int,
) -> None:
    for reservation in held:
        if _out_of_time(summary, remaining_ms, reserve_ms):
            break
        summary.checked += 1
        summary.refunds_checked += 1
        try:
            outcome = settle_held_refund(store, yookassa, reservation, now)
        except PaymentsError as exc:  # one request's trouble must not stop the others
            _failed(summary, reservation.payment_id, exc, "settling a held refund failed")
            continue
        _count(summary, outcome)


def _collect(summary: ReconcileSummary, payment_id: str, future: "Future[SyncOutcome]") -> None:
    try:
        outcome = future.result()
    except PaymentsError as exc:  # one payment's trouble must not stop the others
        _failed(summary, payment_id, exc, "reconciling a payment failed")
        return
    _count(summary, outcome)


def recheck_after(age: timedelta) -> timedelta:
    """How long a payment YooKassa still has as pending waits before it is asked again: not at all while
    young (a webhook may simply be late), then a quarter of its age, at most 15 minutes."""
    if age < RECHECK_FROM_AGE:
        return timedelta(0)
    return min(age / 4, MAX_RECHECK_PAUSE)


RECHECK_FROM_AGE = timedelta(minutes=15)
MAX_RECHECK_PAUSE = timedelta(minutes=15)


def _recently_checked(payment: Payment, now: datetime) -> bool:
    checked = payment.provider_checked_at
    return checked is not None and now - checked < recheck_after(now - payment.created_at)


def _out_of_time(summary: ReconcileSummary, remaining_ms: Callable[[], int], reserve_ms: int) -> bool:
    if remaining_ms() >= reserve_ms:
        return False
    summary.unfinished = True
    logger.warning("reconciler ran out of time", extra=summary.as_dict())
    return True


def _failed(summary: ReconcileSummary, payment_id: str, exc: PaymentsError, message: str) -> None:
    summary.errors += 1
    summary.failed_payment_ids.append(payment_id)
    logger.warning(message, extra={"paymentId": payment_id, "error_code": exc.code})


def _count(summary: ReconcileSummary, outcome: SyncOutcome) -> None:
    if outcome is SyncOutcome.APPLIED:
        summary.fixed += 1
    elif outcome in (SyncOutcome.CONFLICT, SyncOutcome.MISMATCH):
        summary.conflicts += 1


def _reconcile_one(
    store: ReconcileStore, yookassa: YooKassa, settings: Settings, payment: Payment, now: datetime
) -> SyncOutcome:
    age = now - payment.created_at
    past_term = age > timedelta(seconds=settings.payment_term_seconds)
    if payment.yookassa_id is None:
        fetched = _learn_provider_payment(store, yookassa, settings, payment, now, past_term)
        if fetched is None:
            return SyncOutcome.APPLIED  # closed: YooKassa never had it, and nobody can pay it now
    else:
        try:
            fetched = yookassa.get_payment(payment.yookassa_id)
        except ProviderNotFound:
            # YooKassa made this payment (we hold its id), so a 404 means we asked the wrong shop or
            # URL (credentials, YOOKASSA_API_URL), never "not paid": closing it could lose money that
            # was paid. It stays pending, counted and alarmed, for a human.
            logger.error(
                "YooKassa does not know a payment it created: check the credentials and API URL",
                extra={"paymentId": payment.payment_id, "yookassaId": payment.yookassa_id},
            )
            count("ProviderNotFound")
            return SyncOutcome.CONFLICT
    result = apply_provider_payment(store, yookassa, payment, fetched, now)
    if result.outcome is SyncOutcome.UNCHANGED and not fetched.status.is_final:
        # Still pending at YooKassa (abandoned at checkout, most likely): remember we asked, so the next
        # runs wait before asking again (``recheck_after``). A poll's own claim uses the same attribute.
        store.claim_provider_check(payment.payment_id, now, now)
    return result.outcome


def _learn_provider_payment(
    store: ReconcileStore,
    yookassa: YooKassa,
    settings: Settings,
    payment: Payment,
    now: datetime,
    past_term: bool,
) -> ProviderPayment | None:
    """A payment whose create never got YooKassa's answer: ask again under the same key.

    YooKassa answers a repeated create (same key, same body, within 24 h) with the payment it made the
    first time, in its current state; if the first request never arrived, this creates it now, and the
    customer can retry from the order page. Returns ``None`` when the payment was closed instead.
    """
    if now - payment.created_at > PROVIDER_IDEMPOTENCE_WINDOW:
        # Too late to ask: the key is forgotten, a create would be a new payment. Nobody has its URL.
        _close_unreachable(store, payment, now)
        return None
    try:
        return yookassa.create_payment(payment, return_url(settings, payment))
    except ProviderError as exc:
        if not past_term or exc.http_status in UNPROVEN_REFUSALS:
            raise  # a passing refusal, or one that proves nothing (other credentials): ask again next run
        # YooKassa refused the very create it would have answered with the payment it made under this
        # key: the first attempt made nothing either, and nobody ever had a URL to pay.
        logger.warning("re-sent create refused past the payment term", extra={"paymentId": payment.payment_id})
        _close_unreachable(store, payment, now)
        return None


def _close_unreachable(store: ReconcileStore, payment: Payment, now: datetime) -> None:
    _close(store, payment, cancel_status(payment.type, EXPIRED_REASON), EXPIRED_REASON, now)
    count("PaymentCanceled" if payment.type is PaymentType.ORDER else "PaymentFailed")


def _close(store: ReconcileStore, payment: Payment, status: PaymentStatus, reason: str, now: datetime) -> None:
    """Close a payment nobody can pay any more (if it is still pending when we write)."""
    first = [payment]

    def attempt() -> None:
        current = first.pop() if first else reread(store, payment.payment_id)
        if current.status is not PaymentStatus.PENDING:
            return
        store.commit(close_payment(current, subject_of(store, current), status, reason, MERCHANT, now).changes)

    retry_on_conflict(attempt)
