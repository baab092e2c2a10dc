"""YooKassa's notifications: authenticate, re-fetch, apply through the state machine, audit.

YooKassa signs nothing (its notifications carry no signature or secret). A notification is authentic
enough to act on when (1) it came from one of YooKassa's networks, judged by the TCP peer only, and
(2) the object it names, fetched from YooKassa with our own credentials, is our payment. The body is
only a hint of which object to fetch: a forged body can at most cause a harmless fetch.

Answers: 200 once the change is durably written or deliberately ignored; non-200 when we failed
(DynamoDB, YooKassa unreachable) so that YooKassa redelivers (for 24 h). Cheap checks run before any
I/O; every accepted notification leaves an audit item (ids, statuses, outcome; never card data).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from payments.domain import (
    SETTLED_STATUSES,
    AuditEntry,
    Payment,
    PaymentStatus,
    ProviderPayment,
    ProviderRefundStatus,
    utc_now,
)
from payments.errors import Forbidden, ProviderNotFound
from payments.observability import bind, count, logger
from payments.ports import WebhookStore, YooKassa
from payments.schemas import YooKassaNotification
from payments.services.refund_settlement import apply_refund
from payments.services.sync import SyncOutcome, apply_provider_payment
from payments.settings import Settings
from payments.webhook_auth import is_allowed_source

# The re-fetch must leave room for DynamoDB and finish well inside YooKassa's (unpublished) patience.
REFETCH_BUDGET_SECONDS = 8.0
PAYMENT_EVENTS = frozenset({"payment.succeeded", "payment.canceled", "payment.waiting_for_capture"})
REFUND_EVENTS = frozenset({"refund.succeeded"})


@dataclass(frozen=True, slots=True)
class WebhookResult:
    outcome: str
    payment_id: str | None = None
    fetched_status: str | None = None
    noted: bool = False  # its audit entry was written with the decision


def handle_notification(
    store: WebhookStore,
    yookassa: Callable[[], YooKassa],
    settings: Settings,
    notification: YooKassaNotification,
    source_ip: str,
    now: datetime | None = None,
) -> WebhookResult:
    """One parsed notification, end to end. ``yookassa`` is a factory: rejected requests never build it.

    The body was checked and parsed once at the HTTP edge (``payments.edge``); here it is only a hint.
    """
    if not is_allowed_source(source_ip, settings.networks):
        count("WebhookRejected", reason="source_ip")
        logger.warning("notification from outside YooKassa's networks", extra={"sourceIp": source_ip})
        raise Forbidden("Notifications are accepted from YooKassa's networks only")
    event, object_id = notification.event, notification.object.id
    bind(webhookEvent=event, objectId=object_id)
    moment = now or utc_now()
    client = yookassa().with_budget(REFETCH_BUDGET_SECONDS)

    def audit(result: WebhookResult) -> AuditEntry:
        return AuditEntry(
            event=event,
            object_id=object_id,
            fetched_status=result.fetched_status,
            outcome=result.outcome,
            source_ip=source_ip,
            payment_id=result.payment_id,
            received_at=moment,
            expires_at=moment + timedelta(days=settings.audit_ttl_days),
        )

    if event in PAYMENT_EVENTS:
        result = _payment_notification(store, client, object_id, moment, audit)
    elif event in REFUND_EVENTS:
        result = _refund_notification(store, client, object_id, moment)
    else:
        result = WebhookResult("ignored_event")  # YooKassa adds events; unknown ones are not ours to act on
    if not result.noted:  # a payment's decision carries its entry in its own write
        store.add_audit_entry(audit(result))
    count("WebhookAccepted")
    logger.info("notification handled", extra={"outcome": result.outcome, "paymentId": result.payment_id})
    return result


def _payment_notification(
    store: WebhookStore,
    client: YooKassa,
    object_id: str,
    now: datetime,
    audit: Callable[[WebhookResult], AuditEntry],
) -> WebhookResult:
    try:
        fetched = client.get_payment(object_id)
    except ProviderNotFound:
        # Not a payment of our shop (or a made-up id): nothing to do, and nothing to redeliver.
        logger.info("notified payment unknown to YooKassa")
        return WebhookResult("not_found")
    payment = _our_payment(store, fetched)
    if payment is None:
        logger.info("notified payment is not ours", extra={"yookassaId": fetched.id})
        return WebhookResult("unknown_payment", fetched_status=str(fetched.status))
    bind(paymentId=payment.payment_id, yookassaId=fetched.id)
    status = str(fetched.status)

    def note(outcome: SyncOutcome) -> AuditEntry:
        return audit(WebhookResult(str(outcome), payment.payment_id, status))

    result = apply_provider_payment(store, client, payment, fetched, now, note)
    if result.outcome is SyncOutcome.MISMATCH:
        _rejected(f"mismatch_{result.reason}")
        return WebhookResult(f"mismatch:{result.reason}", payment.payment_id, status)
    return WebhookResult(str(result.outcome), payment.payment_id, status, noted=result.noted)


def _refund_notification(store: WebhookStore, client: YooKassa, object_id: str, now: datetime) -> WebhookResult:
    try:
        refund = client.get_refund(object_id)
    except ProviderNotFound:
        logger.info("notified refund unknown to YooKassa")
        return WebhookResult("not_found")
    if not refund.status.is_final:
        return WebhookResult(str(SyncOutcome.UNCHANGED), fetched_status=str(refund.status))
    payment = store.find_payment_by_yookassa_id(refund.payment_id)
    if payment is None:
        logger.info("refunded payment is not ours", extra={"yookassaId": refund.payment_id})
        return WebhookResult("unknown_payment", fetched_status=str(refund.status))
    if refund.status is ProviderRefundStatus.CANCELED:
        # No money moved: only the hold of our request behind it, if any, is given back.
        canceled = apply_refund(store, payment, refund, now)
        if canceled.outcome is SyncOutcome.MISMATCH:
            _rejected("mismatch_refund")
        return WebhookResult(str(canceled.outcome), payment.payment_id, str(refund.status))
    if payment.status is PaymentStatus.PENDING:
        # The refund overtook the payment's own notification (lost or reordered). A refunded payment
        # was paid: settle it first, so the order / subscription side effect happens exactly once.
        synced = apply_provider_payment(store, client, payment, client.get_payment(refund.payment_id), now)
        payment = synced.payment
    if payment.status not in SETTLED_STATUSES:
        logger.warning(
            "refund for a payment we do not have as paid",
            extra={"paymentId": payment.payment_id, "status": str(payment.status)},
        )
        count("ProviderStateConflict")
        return WebhookResult(str(SyncOutcome.CONFLICT), payment.payment_id, str(refund.status))
    result = apply_refund(store, payment, refund, now)
    if result.outcome is SyncOutcome.MISMATCH:
        _rejected("mismatch_refund")
    return WebhookResult(str(result.outcome), payment.payment_id, str(refund.status))


def _our_payment(store: WebhookStore, fetched: ProviderPayment) -> Payment | None:
    """By the paymentId we put into the metadata, else by YooKassa's id: the fetched object decides."""
    payment_id = fetched.metadata.get("paymentId")
    if payment_id:
        payment = store.get_payment(payment_id)
        if payment is not None:
            return payment
    return store.find_payment_by_yookassa_id(fetched.id)


def _rejected(reason: str) -> None:
    # The total feeds the alarm; the per-reason breakdown the dashboard. Reasons are a fixed vocabulary.
    count("WebhookRejected", reason=reason)
