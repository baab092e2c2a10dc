"""What each command does, as calls of the layer's own services and domain functions.

Nothing here decides about a payment: sync goes through ``services.sync.apply_provider_payment``, the
reconciler's pass is ``services.reconcile.reconcile``, a refund ``services.refunds.refund_payment``, a
replay ``services.webhook.handle_notification``; what ``show`` calls a difference is what the domain's
``mismatch_reason`` and ``decide_transition`` say, and a renewal preview is ``renewal_step`` and
``start_renewal`` without the write. Results are plain dataclasses; ``views`` prints them.
"""

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import datetime, timedelta
from typing import Any, Self

import requests

from local.cli import reads
from local.cli.target import CliError, ExitCode, Target
from payments.domain import (
    Action,
    AppliedRefund,
    AuditEntry,
    Changes,
    Order,
    Payment,
    PaymentStatus,
    PaymentType,
    ProviderPayment,
    ProviderRefund,
    ProviderStatus,
    RefundRequest,
    Subscription,
    decide_transition,
)
from payments.domain.payments import start_renewal
from payments.domain.receipts import Receipt
from payments.domain.settlement import mismatch_reason
from payments.domain.subscriptions import Step, current_choice, next_charge_at, renewal_step
from payments.errors import PaymentsError, ProviderError, ProviderNotFound, ProviderTimeout
from payments.ports import YooKassa
from payments.schemas import RefundAccepted, YooKassaNotification
from payments.services.reconcile import ReconcileSummary, reconcile
from payments.services.refunds import refund_payment
from payments.services.sync import SyncResult, apply_provider_payment
from payments.services.webhook import PAYMENT_EVENTS, WebhookResult, handle_notification

# The changes a command reports leave out the bookkeeping every write touches.
BOOKKEEPING = frozenset({"version", "updated_at"})
# ``webhook replay`` runs the webhook path in this process; its source check is given this address
# (audit entries of replays say ``sourceIp: 127.0.0.1``).
REPLAY_SOURCE_IP = "127.0.0.1"
RECONCILE_BUDGET_MS = 240_000  # as long as the reconciler function may run


def not_found(what: str) -> CliError:
    return CliError(f"{what} not found", ExitCode.NOT_FOUND)


def payment_of(target: Target, payment_or_yookassa_id: str) -> Payment:
    payment = reads.find_payment(target.store, payment_or_yookassa_id)
    if payment is None:
        raise not_found(f"payment {payment_or_yookassa_id!r} (neither our payment id nor YooKassa's)")
    return payment


def changed_fields(before: object, after: object) -> list[tuple[str, Any, Any]]:
    """``(field, before, after)`` of two versions of one entity, bookkeeping left out."""
    if before is None or after is None or not is_dataclass(before) or not is_dataclass(after):
        return []
    return [
        (f.name, getattr(before, f.name), getattr(after, f.name))
        for f in fields(before)
        if f.name not in BOOKKEEPING and getattr(before, f.name) != getattr(after, f.name)
    ]


# ---------------------------------------------------------------------------------------------- show
@dataclass(frozen=True)
class Difference:
    what: str  # status, amount, refunded, receipt, refund, provider
    message: str


@dataclass(frozen=True)
class Comparison:
    field: str
    ours: Any
    theirs: Any
    differs: bool


@dataclass
class Shown:
    payment: Payment
    subject: Order | Subscription | None
    provider: ProviderPayment | None
    provider_error: str | None
    provider_refunds: list[ProviderRefund]
    comparisons: list[Comparison]
    differences: list[Difference]
    refund_requests: list[RefundRequest]
    applied_refunds: list[AppliedRefund]
    audit: list[AuditEntry]


def show(target: Target, payment_or_yookassa_id: str) -> Shown:
    store = target.store
    payment = payment_of(target, payment_or_yookassa_id)
    subject: Order | Subscription | None = (
        store.get_order(payment.subject_id)
        if payment.type is PaymentType.ORDER
        else store.get_subscription(payment.subject_id)
    )
    requests_ = reads.refund_requests(store, payment.payment_id)
    applied = reads.applied_refunds(store, payment.payment_id)
    provider: ProviderPayment | None = None
    provider_error: str | None = None
    differences: list[Difference] = []
    refund_ids = list(
        dict.fromkeys(
            [r.refund_id for r in applied] + [r.yookassa_refund_id for r in requests_ if r.yookassa_refund_id]
        )
    )
    provider_refunds: list[ProviderRefund] = []
    if payment.yookassa_id is None:
        provider_error = "YooKassa's id is not known: our create never heard back (the reconciler re-sends it)"
        differences.append(Difference("provider", provider_error))
    else:
        client = target.yookassa()
        try:
            provider = client.get_payment(payment.yookassa_id)
        except ProviderNotFound:
            provider_error = f"YooKassa does not know {payment.yookassa_id}: check the shop, key and API URL"
            differences.append(Difference("provider", provider_error))
        except (ProviderError, ProviderTimeout) as exc:
            provider_error = f"YooKassa did not answer: {exc}"
            differences.append(Difference("provider", provider_error))
        for refund_id in refund_ids:
            try:
                provider_refunds.append(client.get_refund(refund_id))
            except PaymentsError as exc:
                differences.append(Difference("refund", f"refund {refund_id}: YooKassa did not answer ({exc})"))
    comparisons = _compare(payment, provider, differences)
    recorded = {r.refund_id for r in applied}
    for refund in provider_refunds:
        if str(refund.status) == "succeeded" and refund.id not in recorded:
            differences.append(
                Difference(
                    "refund",
                    f"refund {refund.id} succeeded at YooKassa but is not recorded "
                    f"(payments webhook replay {refund.id})",
                )
            )
    object_ids = [payment.yookassa_id] if payment.yookassa_id else []
    audit = [entry for object_id in object_ids + refund_ids for entry in reads.audit_trail(store, object_id)]
    audit.sort(key=lambda entry: entry.received_at)
    return Shown(
        payment,
        subject,
        provider,
        provider_error,
        provider_refunds,
        comparisons,
        differences,
        requests_,
        applied,
        audit,
    )


def _compare(
    payment: Payment, provider: ProviderPayment | None, differences: list[Difference]
) -> list[Comparison]:
    if provider is None:
        return [
            Comparison("status", str(payment.status), None, False),
            Comparison("amount", payment.amount, None, False),
            Comparison("refunded", payment.refunded_amount, None, False),
            Comparison("receipt", payment.receipt_registration, None, False),
        ]
    mismatch = mismatch_reason(payment, provider)
    if mismatch is not None:
        differences.append(Difference("provider", f"YooKassa's object is not this payment: {mismatch}"))
    decision = decide_transition(payment.type, payment.status, provider.status, provider.cancellation_reason)
    held = provider.status is ProviderStatus.WAITING_FOR_CAPTURE and payment.status is PaymentStatus.PENDING
    status_differs = decision.action is not Action.NOOP or held
    if decision.action is Action.APPLY:
        differences.append(
            Difference(
                "status",
                f"YooKassa says {provider.status}, ours is still {payment.status}: "
                f"`payments sync {payment.payment_id}` applies it",
            )
        )
    elif decision.action is Action.CONFLICT:
        differences.append(Difference("status", f"conflict, not applied: {decision.why}"))
    elif held:
        differences.append(
            Difference("status", "YooKassa holds the money (two-stage): the sync captures or releases it")
        )
    refunded_differs = payment.refunded_amount != provider.refunded_amount
    if refunded_differs:
        differences.append(
            Difference(
                "refunded",
                f"refunded: ours {payment.refunded_amount}, YooKassa {provider.refunded_amount} kopecks",
            )
        )
    receipt_differs = payment.receipt_registration != provider.receipt_registration
    if receipt_differs:
        differences.append(
            Difference(
                "receipt",
                f"receipt registration: ours {payment.receipt_registration}, "
                f"YooKassa {provider.receipt_registration}",
            )
        )
    if provider.receipt_registration == "canceled":
        differences.append(Difference("receipt", "YooKassa could not register the receipt: re-send it"))
    return [
        Comparison("status", str(payment.status), str(provider.status), status_differs),
        Comparison("amount", payment.amount, provider.amount, payment.amount != provider.amount),
        Comparison("refunded", payment.refunded_amount, provider.refunded_amount, refunded_differs),
        Comparison("receipt", payment.receipt_registration, provider.receipt_registration, receipt_differs),
        Comparison(
            "cancellation",
            payment.cancellation_reason,
            provider.cancellation_reason,
            payment.cancellation_reason != provider.cancellation_reason
            and payment.status not in (PaymentStatus.PENDING,),
        ),
    ]


# ---------------------------------------------------------------------------------------------- list
@dataclass
class Listed:
    payments: list[Payment]
    source: str  # how it was read: the index, or a scan (and how many items it read)


def list_payments(
    target: Target,
    now: datetime,
    *,
    status: str | None,
    older_than: timedelta | None,
    user: str | None,
    order: str | None,
    limit: int,
    scan_allowed: bool,
) -> Listed:
    store = target.store
    before = now - older_than if older_than is not None else None
    found: Iterator[Payment]
    if status == PaymentStatus.PENDING and order is None:
        if user is not None:
            found, source = reads.pending_of_user(store, user), "UserPendingIndex"
        else:
            found, source = store.pending_payments(older_than=before or now), "PendingIndex"
        chosen = [
            payment
            for payment in found
            if payment.status is PaymentStatus.PENDING
            and (user is None or payment.user_id == user)
            and (before is None or payment.created_at < before)
        ]
    else:
        if target.kind == "deployed" and not scan_allowed:
            raise CliError(
                "no index answers this list (only pending payments are indexed): it reads the whole "
                "table with a Scan; add --scan to do so",
                ExitCode.USAGE,
            )
        stats = reads.ScanStats()
        where = reads.ScanFilter(status=status, user_id=user, order_id=order, created_before=before)
        chosen = list(reads.payments_scan(store, target.region, where, stats))
        source = f"Scan ({stats.scanned} items read)"
    chosen.sort(key=lambda payment: payment.created_at, reverse=True)
    return Listed(chosen[:limit], source)


# ---------------------------------------------------------------------------------------------- sync
@dataclass
class Synced:
    before: Payment
    after: Payment
    fetched: ProviderPayment
    result: SyncResult
    subject_before: Order | Subscription | None
    subject_after: Order | Subscription | None

    @property
    def changes(self) -> list[tuple[str, str, Any, Any]]:
        kind = "order" if self.before.type is PaymentType.ORDER else "subscription"
        return [("payment", *change) for change in changed_fields(self.before, self.after)] + [
            (kind, *change) for change in changed_fields(self.subject_before, self.subject_after)
        ]


def _subject(target: Target, payment: Payment) -> Order | Subscription | None:
    if payment.type is PaymentType.ORDER:
        return target.store.get_order(payment.subject_id)
    return target.store.get_subscription(payment.subject_id)


def sync(target: Target, payment_or_yookassa_id: str, now: datetime) -> Synced:
    payment = payment_of(target, payment_or_yookassa_id)
    if payment.yookassa_id is None:
        raise CliError(
            f"YooKassa's id of {payment.payment_id} is not known: its create never heard back; "
            "`payments reconcile` re-sends the create under its key",
            ExitCode.FAILED,
        )
    subject_before = _subject(target, payment)
    client = target.yookassa()
    fetched = client.get_payment(payment.yookassa_id)
    result = apply_provider_payment(target.store, client, payment, fetched, now)
    after = target.store.get_payment(payment.payment_id) or result.payment
    return Synced(payment, after, fetched, result, subject_before, _subject(target, after))


# ---------------------------------------------------------------------------------------------- reconcile
class ProgressStore:
    """The store as the reconciler reads it, telling ``advance`` of every payment and refund request it
    takes up (``total`` once each list is known). Everything else goes to the store as it is."""

    def __init__(self, store: Any, total: Callable[[int], None], advance: Callable[[], None]) -> None:
        self.store, self._total, self._advance = store, total, advance

    def _counted[T](self, items: Iterator[T]) -> Iterator[T]:
        listed = list(items)
        self._total(len(listed))
        for item in listed:
            self._advance()
            yield item

    def pending_payments(self, older_than: datetime) -> Iterator[Payment]:
        return self._counted(self.store.pending_payments(older_than))

    def held_refund_requests(self, older_than: datetime) -> Iterator[RefundRequest]:
        return self._counted(self.store.held_refund_requests(older_than))

    def commit(self, changes: Changes) -> None:
        self.store.commit(changes)

    def claim_provider_check(self, payment_id: str, now: datetime, checked_before: datetime) -> bool:
        return bool(self.store.claim_provider_check(payment_id, now, checked_before))

    def get_payment(self, payment_id: str) -> Payment | None:
        return self.store.get_payment(payment_id)

    def get_order(self, order_id: str) -> Order | None:
        return self.store.get_order(order_id)

    def get_subscription(self, subscription_id: str) -> Subscription | None:
        return self.store.get_subscription(subscription_id)

    def get_refund_request(self, payment_id: str, request_id: str) -> RefundRequest | None:
        return self.store.get_refund_request(payment_id, request_id)

    def find_refund_request(self, payment_id: str, yookassa_refund_id: str) -> RefundRequest | None:
        return self.store.find_refund_request(payment_id, yookassa_refund_id)

    def refund_recorded(self, payment_id: str, refund_id: str) -> bool:
        return bool(self.store.refund_recorded(payment_id, refund_id))


class DryRunStore(ProgressStore):
    """Reads go to the table; writes are recorded, never made (``--dry-run``)."""

    def __init__(self, store: Any, total: Callable[[int], None], advance: Callable[[], None]) -> None:
        super().__init__(store, total, advance)
        self.lock = threading.Lock()
        self.written: list[Changes] = []

    def commit(self, changes: Changes) -> None:
        with self.lock:
            self.written.append(changes)

    def claim_provider_check(self, payment_id: str, now: datetime, checked_before: datetime) -> bool:
        return True  # a timestamp, not a state change: not worth reporting


class DryRunBlocked(ProviderTimeout):
    """A YooKassa call that would change something, not sent in a dry run."""


class ReadOnlyYooKassa:
    """YooKassa for ``--dry-run``: reads are asked, anything that would create, capture, cancel or refund
    is recorded and not sent (the service sees an unknown outcome and leaves the record as it is)."""

    def __init__(self, client: YooKassa, blocked: list[tuple[str, str]] | None = None) -> None:
        self.client = client
        self.blocked: list[tuple[str, str]] = blocked if blocked is not None else []
        self.lock = threading.Lock()

    def _block(self, what: str, payment_id: str) -> DryRunBlocked:
        with self.lock:
            self.blocked.append((payment_id, what))
        return DryRunBlocked(f"dry run: {what} not sent")

    def with_budget(self, budget_seconds: float) -> Self:
        return type(self)(self.client.with_budget(budget_seconds), self.blocked)

    def get_payment(self, yookassa_id: str) -> ProviderPayment:
        return self.client.get_payment(yookassa_id)

    def get_refund(self, refund_id: str) -> ProviderRefund:
        return self.client.get_refund(refund_id)

    def fiscalization_enabled(self) -> bool:
        return self.client.fiscalization_enabled()

    def check_credentials(self) -> bool:
        return self.client.check_credentials()

    def create_payment(self, payment: Payment, return_url: str) -> ProviderPayment:
        raise self._block("re-send the create (same Idempotence-Key)", payment.payment_id)

    def create_refund(self, payment: Payment, request: RefundRequest) -> ProviderRefund:
        raise self._block(f"refund {request.amount} kopecks", payment.payment_id)

    def capture_payment(self, payment: Payment) -> ProviderPayment:
        raise self._block("capture the held payment", payment.payment_id)

    def cancel_payment(self, payment: Payment) -> ProviderPayment:
        raise self._block("release the held payment", payment.payment_id)

    def create_receipt(self, payment: Payment, receipt: Receipt, idempotence_key: str) -> str:
        raise self._block("register the settlement receipt", payment.payment_id)


@dataclass(frozen=True)
class PlannedChange:
    kind: str  # payment, order, subscription, refund request, refund
    id: str
    changes: list[tuple[str, Any, Any]]  # for an update; [] for a new item


@dataclass
class Reconciled:
    summary: ReconcileSummary
    dry_run: bool
    planned: list[PlannedChange] = field(default_factory=list)  # --dry-run: what would be written
    calls: list[tuple[str, str]] = field(default_factory=list)  # --dry-run: (paymentId, YooKassa call)
    seconds: float = 0.0

    @property
    def settled(self) -> int:
        return self.summary.fixed

    @property
    def failed(self) -> int:
        # A dry run's unsent calls surface as unknown outcomes: they are reported as calls, not failures.
        unsent = {payment_id for payment_id, _ in self.calls}
        return len([p for p in self.summary.failed_payment_ids if p not in unsent])

    @property
    def still_pending(self) -> int:
        s = self.summary
        unsent = len({payment_id for payment_id, _ in self.calls} & set(s.failed_payment_ids))
        return s.checked - s.fixed - s.conflicts - s.errors + s.deferred + unsent


def _entity_id(entity: object) -> tuple[str, str]:
    if isinstance(entity, Payment):
        return "payment", entity.payment_id
    if isinstance(entity, Order):
        return "order", entity.order_id
    if isinstance(entity, Subscription):
        return "subscription", entity.subscription_id
    if isinstance(entity, RefundRequest):
        return "refund request", f"{entity.payment_id}/{entity.request_id}"
    if isinstance(entity, AppliedRefund):
        return "refund", f"{entity.payment_id}/{entity.refund_id}"
    return type(entity).__name__, "?"


def planned_changes(written: list[Changes]) -> list[PlannedChange]:
    planned: list[PlannedChange] = []
    for changes in written:
        for created in changes.created:
            kind, entity_id = _entity_id(created)
            planned.append(PlannedChange(f"new {kind}", entity_id, []))
        for update in changes.updated:
            kind, entity_id = _entity_id(update.after)
            planned.append(PlannedChange(kind, entity_id, changed_fields(update.before, update.after)))
    return planned


def run_reconcile(
    target: Target,
    now: datetime,
    *,
    dry_run: bool,
    total: Callable[[int], None] = lambda _: None,
    advance: Callable[[], None] = lambda: None,
) -> Reconciled:
    started = time.monotonic()
    deadline = started + RECONCILE_BUDGET_MS / 1000

    def remaining_ms() -> int:
        return int((deadline - time.monotonic()) * 1000)

    client: YooKassa = target.yookassa()
    if dry_run:
        dry_store = DryRunStore(target.store, total, advance)
        read_only = ReadOnlyYooKassa(client)
        summary = reconcile(dry_store, read_only, target.settings, now, remaining_ms)
        result = Reconciled(summary, True, planned_changes(dry_store.written), sorted(set(read_only.blocked)))
    else:
        summary = reconcile(
            ProgressStore(target.store, total, advance), client, target.settings, now, remaining_ms
        )
        result = Reconciled(summary, False)
    result.seconds = time.monotonic() - started
    return result


# ---------------------------------------------------------------------------------------------- refund
def refund(
    target: Target, payment_or_yookassa_id: str, amount: int | None, key: str | None, requested_by: str
) -> RefundAccepted:
    payment = payment_of(target, payment_or_yookassa_id)
    return refund_payment(
        target.store, target.yookassa(), payment.payment_id, amount, key, requested_by=requested_by
    )


# ---------------------------------------------------------------------------------------------- subscriptions
@dataclass(frozen=True)
class RenewalPreview:
    """What the renewal function would do with one subscription, and when."""

    subscription: Subscription
    action: str  # charge, end, in flight, wait
    at: datetime | None  # when it is due
    amount: int | None = None  # a charge: the plan's price now
    plan_id: str | None = None
    subscription_type: str | None = None
    attempt: int | None = None
    final: bool = False
    payment_id: str | None = None  # a charge: its (derived) id; in flight: the pending payment's
    end_status: str | None = None
    problem: str | None = None  # a charge that cannot be made (the plan is gone, no price)


def renewal_preview(target: Target, subscription: Subscription, now: datetime) -> RenewalPreview:
    store, policy = target.store, target.settings.renewal_policy
    if subscription.active_payment_id is not None:  # as the renewal's own _charge_in_flight reads it
        active = store.get_payment(subscription.active_payment_id)
        if active is not None and active.status is PaymentStatus.PENDING:
            if active.renewal_attempt is not None:  # the renewal finishes its own charge (same key)
                return RenewalPreview(
                    subscription, "in flight", active.created_at, active.amount, payment_id=active.payment_id
                )
            return RenewalPreview(
                subscription, "wait", None, payment_id=active.payment_id, problem="the customer is paying"
            )
    due = next_charge_at(subscription, policy) or subscription.end_date
    at = max(now, due) if due is not None else now
    renewal = renewal_step(subscription, at, policy)
    if renewal.step is Step.WAIT:
        return RenewalPreview(subscription, "wait", due)
    if renewal.step is Step.END:
        return RenewalPreview(subscription, "end", at, end_status=str(renewal.status))
    assert subscription.end_date is not None
    plan_id, subscription_type = current_choice(subscription, subscription.end_date)
    plan = store.get_plan(plan_id)
    if plan is None:
        return RenewalPreview(
            subscription, "charge", at, plan_id=plan_id, problem=f"the plan {plan_id} is gone"
        )
    try:
        changes = start_renewal(
            subscription,
            plan,
            at,
            renewal.attempt,
            renewal.final,
            capture=target.settings.capture_mode == "auto",
            receipt_for=lambda *_: None,
        )
    except PaymentsError as exc:
        return RenewalPreview(subscription, "charge", at, plan_id=plan_id, problem=str(exc))
    charge = changes.created[0]
    assert isinstance(charge, Payment)
    return RenewalPreview(
        subscription,
        "charge",
        at,
        charge.amount,
        plan_id,
        str(subscription_type),
        renewal.attempt,
        renewal.final,
        charge.payment_id,
    )


def subscriptions_due(target: Target, now: datetime, within: timedelta) -> list[RenewalPreview]:
    """Every subscription the renewal function would charge or end before ``now + within``."""
    horizon = now + within
    ending_before = horizon + target.settings.renewal_policy.renew_before + timedelta(microseconds=1)
    previews = []
    for indexed in target.store.subscriptions_due(ending_before):
        subscription = target.store.get_subscription(indexed.subscription_id) or indexed
        preview = renewal_preview(target, subscription, now)
        if preview.action != "wait" and (preview.at is None or preview.at <= horizon):
            previews.append(preview)
    return previews


@dataclass
class SubscriptionShown:
    subscription: Subscription
    payments: list[Payment]
    next_charge_at: datetime | None
    renewal: RenewalPreview


def subscription_show(target: Target, subscription_id: str, now: datetime) -> SubscriptionShown:
    store = target.store
    subscription = store.get_subscription(subscription_id)
    if subscription is None:
        raise not_found(f"subscription {subscription_id!r}")
    ids = dict.fromkeys(i for i in (subscription.last_payment_id, subscription.active_payment_id) if i)
    payments = [p for p in (store.get_payment(i) for i in ids) if p is not None]
    return SubscriptionShown(
        subscription,
        payments,
        next_charge_at(subscription, target.settings.renewal_policy),
        renewal_preview(target, subscription, now),
    )


# ---------------------------------------------------------------------------------------------- webhooks
@dataclass
class Replayed:
    object_id: str
    kind: str  # payment, refund
    event: str
    result: WebhookResult
    before: Payment | None
    after: Payment | None

    @property
    def changes(self) -> list[tuple[str, Any, Any]]:
        return changed_fields(self.before, self.after)


def _payment_event(status: ProviderStatus) -> str | None:
    event = f"payment.{status}"
    return event if event in PAYMENT_EVENTS else None


def replay(target: Target, object_id: str, now: datetime) -> Replayed:
    """The webhook path for one YooKassa object, as if YooKassa had just notified it: re-fetched, then
    applied forward only (``handle_notification``; the source check is the only step left out)."""
    store, client = target.store, target.yookassa()
    ours = reads.find_payment(store, object_id)
    if ours is not None and ours.yookassa_id is None:
        raise CliError(f"payment {ours.payment_id} has no YooKassa id yet: nothing to replay", ExitCode.FAILED)
    yookassa_id = ours.yookassa_id if ours is not None else object_id
    assert yookassa_id is not None
    kind, event = "payment", None
    try:
        fetched = client.get_payment(yookassa_id)
        event = _payment_event(fetched.status)
        if event is None:
            raise CliError(
                f"YooKassa has {yookassa_id} as {fetched.status}: it sends no notification for that "
                f"(nothing to replay; `payments sync` asks it now)",
                ExitCode.FAILED,
            )
    except ProviderNotFound:
        if ours is not None:
            raise CliError(
                f"YooKassa does not know {yookassa_id}: check the shop, key and API URL", ExitCode.NOT_FOUND
            ) from None
        try:
            refund = client.get_refund(object_id)
        except ProviderNotFound:
            raise not_found(
                f"YooKassa object {object_id!r} (no payment or refund of ours or YooKassa's)"
            ) from None
        kind, event = "refund", "refund.succeeded"
        ours = store.find_payment_by_yookassa_id(refund.payment_id)
    notification = YooKassaNotification.model_validate(
        {
            "type": "notification",
            "event": event,
            "object": {"id": yookassa_id if kind == "payment" else object_id},
        }
    )
    networks = [*target.settings.webhook_allowed_networks, f"{REPLAY_SOURCE_IP}/32"]
    settings = target.settings.model_copy(update={"webhook_allowed_networks": networks})
    result = handle_notification(store, lambda: client, settings, notification, REPLAY_SOURCE_IP, now)
    payment_id = result.payment_id or (ours.payment_id if ours is not None else None)
    after = store.get_payment(payment_id) if payment_id else None
    return Replayed(yookassa_id if kind == "payment" else object_id, kind, event, result, ours, after)


DELIVERY_WAIT_SECONDS = 15.0


@dataclass
class Triggered:
    event: str
    object_id: str
    helper: str  # the sandbox helper used
    delivery: dict[str, Any] | None  # the sandbox's delivery log entry, once there is one


def trigger(
    target: Target, event: str, payment_or_yookassa_id: str, *, reason: str, wait: float = DELIVERY_WAIT_SECONDS
) -> Triggered:
    """Make the local sandbox send ``event`` for the payment now, with its ``/sandbox`` helpers: a pending
    payment is paid, held or declined; an object already in that state has its latest notification
    re-sent (a refund: the payment's latest refund)."""
    if target.kind != "local" or target.sandbox_url is None:
        raise CliError(
            "webhook trigger drives the local YooKassa sandbox: it needs a local stack running the sandbox "
            "(use `payments webhook replay` against a deployed stack)",
            ExitCode.USAGE,
        )
    payment = payment_of(target, payment_or_yookassa_id)
    if payment.yookassa_id is None:
        raise CliError(f"payment {payment.payment_id} has no YooKassa id yet", ExitCode.FAILED)
    yookassa_id, sandbox = payment.yookassa_id, target.sandbox_url.rstrip("/")
    provider = target.yookassa().get_payment(yookassa_id)
    status = provider.status
    object_id, helper, body = yookassa_id, "", {}
    if event == "refund.succeeded":
        refund_ids = [r.refund_id for r in reads.applied_refunds(target.store, payment.payment_id)] + [
            r.yookassa_refund_id
            for r in reads.refund_requests(target.store, payment.payment_id)
            if r.yookassa_refund_id
        ]
        if not refund_ids:
            raise CliError(
                f"payment {payment.payment_id} has no refund to notify: make one with `payments refund`",
                ExitCode.FAILED,
            )
        object_id, helper = refund_ids[-1], "/sandbox/webhooks/redeliver"
    elif status.value == event.removeprefix("payment."):
        helper = "/sandbox/webhooks/redeliver"
    elif status is ProviderStatus.PENDING and (
        event == "payment.succeeded" or (event == "payment.waiting_for_capture" and not payment.capture)
    ):
        helper = f"/sandbox/payments/{yookassa_id}/succeed"
    elif status in (ProviderStatus.PENDING, ProviderStatus.WAITING_FOR_CAPTURE) and event == "payment.canceled":
        helper, body = f"/sandbox/payments/{yookassa_id}/cancel", {"reason": reason, "party": "payment_network"}
    else:
        hint = " (a payment made with capture: true never waits for capture)" if payment.capture else ""
        raise CliError(
            f"YooKassa has {yookassa_id} as {status}: it cannot send {event} now{hint}", ExitCode.FAILED
        )
    if helper.endswith("/redeliver"):
        body = {"objectId": object_id}
    seen = {str(d.get("id")) for d in _deliveries(sandbox, object_id)}
    response = requests.post(f"{sandbox}{helper}", json=body, timeout=10)
    if not response.ok:
        raise CliError(f"the sandbox refused {helper}: {response.status_code} {response.text}", ExitCode.FAILED)
    deadline = time.monotonic() + wait
    delivery = None
    while delivery is None and time.monotonic() < deadline:
        fresh = [d for d in _deliveries(sandbox, object_id) if str(d.get("id")) not in seen]
        delivery = next((d for d in fresh if d.get("event") == event), None)
        if delivery is None:
            time.sleep(0.05)
    if delivery is None:  # another event came instead (a held payment's waiting_for_capture), or none
        delivery = next(iter(d for d in _deliveries(sandbox, object_id) if str(d.get("id")) not in seen), None)
    return Triggered(event, object_id, helper, delivery)


def _deliveries(sandbox: str, object_id: str) -> list[dict[str, Any]]:
    """The sandbox's delivery log of one object (``GET /sandbox/webhooks``)."""
    response = requests.get(f"{sandbox}/sandbox/webhooks", params={"objectId": object_id}, timeout=10)
    response.raise_for_status()
    items: list[dict[str, Any]] = response.json().get("items", [])
    return items
