"""In-memory fakes of the ports (payments/ports.py), for fast service tests.

``InMemoryStore`` implements every storage port with DynamoStore's semantics, which
tests/contract/ checks by running one suite against both: the same conditions, ``ConcurrentUpdate``
(and nothing written) when one fails, ``commit`` all or nothing, an update that writes only the fields
its decision changed, and the idempotency and audit times kept to the second as the table's TTL
attribute keeps them. Plain dicts of domain objects; no mocks.
"""

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import Any

from payments.domain import (
    AppliedRefund,
    AuditEntry,
    Changes,
    Entity,
    IdempotencyRecord,
    Order,
    Payment,
    PaymentStatus,
    Plan,
    RefundRequest,
    Subscription,
)
from payments.domain.subscriptions import due_at
from payments.errors import ConcurrentUpdate

Key = tuple[str, ...]


def key_of(entity: Entity) -> Key:
    """The entity's item, as the table's key tells items apart: its kind and its id(s)."""
    match entity:
        case Payment():
            return ("payment", entity.payment_id)
        case Order():
            return ("order", entity.order_id)
        case Subscription():
            return ("subscription", entity.subscription_id)
        case RefundRequest():
            return ("refund_request", entity.payment_id, entity.request_id)
        case AppliedRefund():
            return ("applied_refund", entity.payment_id, entity.refund_id)
    raise TypeError(f"not an entity the store writes: {entity!r}")


def to_the_second(moment: datetime) -> datetime:
    """What the table keeps of an expiry: whole epoch seconds, rounded down."""
    return moment.astimezone(UTC).replace(microsecond=0)


@dataclass
class InMemoryStore:
    """Every storage port in memory: one plain dict per item kind, which tests may read directly."""

    payments: dict[str, Payment] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    plans: dict[str, Plan] = field(default_factory=dict)
    refund_requests: dict[tuple[str, str], RefundRequest] = field(default_factory=dict)  # (payment, request)
    applied_refunds: dict[tuple[str, str], AppliedRefund] = field(default_factory=dict)  # (payment, refund)
    yookassa_ids: dict[str, str] = field(default_factory=dict)  # YooKassa id -> our payment id
    idempotency: dict[tuple[str, str], IdempotencyRecord] = field(default_factory=dict)  # (user, key)
    audit: dict[str, list[AuditEntry]] = field(default_factory=dict)  # YooKassa object id -> entries
    # One write at a time, as DynamoDB makes each conditional write atomic (the reconciler has threads).
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    # ---------------------------------------------------------------- commit
    def commit(self, changes: Changes) -> None:
        with self._lock:
            new_ids = self._check(changes)
            for entity in changes.created:
                self._put(entity)
            for update in changes.updated:
                stored = self._stored(update.before)
                assert stored is not None  # _check made sure
                self._put(_merged(stored, update.before, update.after))
            self.yookassa_ids.update(new_ids)
            for entry in changes.noted:
                self.add_audit_entry(entry)

    def _check(self, changes: Changes) -> dict[str, str]:
        """Every condition of the write, before anything is written; the YooKassa ids it attaches."""
        new_ids = dict(_attached_yookassa_ids(changes))
        written = [key_of(e) for e in changes.created] + [key_of(u.after) for u in changes.updated]
        written += [("yookassa", yookassa_id) for yookassa_id, _ in _attached_yookassa_ids(changes)]
        if len(set(written)) != len(written):
            raise ValueError(f"one write per item, got {sorted(written)}")
        for update in changes.updated:
            if key_of(update.before) != key_of(update.after):
                raise ValueError(
                    f"an update must keep its item: {key_of(update.before)} -> {key_of(update.after)}"
                )
            if not _changed_fields(update.before, update.after):
                raise ValueError(f"an update that changes nothing: {key_of(update.after)}")
        if any(self._stored(entity) is not None for entity in changes.created):
            raise ConcurrentUpdate()
        if not all(_still_at(self._stored(u.before), u.before) for u in changes.updated):
            raise ConcurrentUpdate()
        if any(yookassa_id in self.yookassa_ids for yookassa_id in new_ids):
            raise ConcurrentUpdate()
        return new_ids

    def _stored(self, entity: Entity) -> Entity | None:
        """What is stored under ``entity``'s key."""
        match entity:
            case Payment():
                return self.payments.get(entity.payment_id)
            case Order():
                return self.orders.get(entity.order_id)
            case Subscription():
                return self.subscriptions.get(entity.subscription_id)
            case RefundRequest():
                return self.refund_requests.get((entity.payment_id, entity.request_id))
            case AppliedRefund():
                return self.applied_refunds.get((entity.payment_id, entity.refund_id))
        raise TypeError(f"not an entity the store writes: {entity!r}")

    def _put(self, entity: Entity) -> None:
        match entity:
            case Payment():
                self.payments[entity.payment_id] = entity
            case Order():
                self.orders[entity.order_id] = entity
            case Subscription():
                self.subscriptions[entity.subscription_id] = entity
            case RefundRequest():
                self.refund_requests[(entity.payment_id, entity.request_id)] = entity
            case AppliedRefund():
                self.applied_refunds[(entity.payment_id, entity.refund_id)] = entity

    # ---------------------------------------------------------------- payments
    def get_payment(self, payment_id: str) -> Payment | None:
        return self.payments.get(payment_id)

    def find_payment_by_yookassa_id(self, yookassa_id: str) -> Payment | None:
        payment_id = self.yookassa_ids.get(yookassa_id)
        return self.get_payment(payment_id) if payment_id is not None else None

    def pending_payments(self, older_than: datetime) -> Iterator[Payment]:
        pending = [
            p for p in self.payments.values() if p.status is PaymentStatus.PENDING and p.created_at < older_than
        ]
        yield from sorted(pending, key=lambda payment: payment.created_at)

    def payable_pending_count(self, user_id: str, created_after: datetime) -> int:
        return sum(
            1
            for p in self.payments.values()
            if p.user_id == user_id and p.status is PaymentStatus.PENDING and p.created_at > created_after
        )

    def claim_provider_check(self, payment_id: str, now: datetime, checked_before: datetime) -> bool:
        with self._lock:
            payment = self.get_payment(payment_id)
            if payment is None:
                return False
            if payment.provider_checked_at is not None and payment.provider_checked_at >= checked_before:
                return False
            self.payments[payment_id] = replace(payment, provider_checked_at=now)
            return True

    # ---------------------------------------------------------------- orders, plans, subscriptions
    def get_order(self, order_id: str) -> Order | None:
        return self.orders.get(order_id)

    def get_subscription(self, subscription_id: str) -> Subscription | None:
        return self.subscriptions.get(subscription_id)

    def subscriptions_of(self, user_id: str) -> list[Subscription]:
        return [s for s in self.subscriptions.values() if s.user_id == user_id]

    def subscriptions_due(self, ending_before: datetime) -> Iterator[Subscription]:
        due = [(due_at(s), s) for s in self.subscriptions.values()]
        yield from (
            s
            for when, s in sorted(due, key=lambda pair: pair[0] or ending_before)
            if when and when < ending_before
        )

    def get_plan(self, plan_id: str) -> Plan | None:
        plan = self.plans.get(plan_id)
        return replace(plan, prices=dict(plan.prices)) if plan is not None else None

    def save_plan(self, plan: Plan) -> None:
        self.plans[plan.plan_id] = replace(plan, prices=dict(plan.prices))

    # ---------------------------------------------------------------- refunds
    def get_refund_request(self, payment_id: str, request_id: str) -> RefundRequest | None:
        return self.refund_requests.get((payment_id, request_id))

    def find_refund_request(self, payment_id: str, yookassa_refund_id: str) -> RefundRequest | None:
        found = (
            request
            for (of_payment, _), request in self.refund_requests.items()
            if of_payment == payment_id and request.yookassa_refund_id == yookassa_refund_id
        )
        return next(found, None)

    def refund_recorded(self, payment_id: str, refund_id: str) -> bool:
        return (payment_id, refund_id) in self.applied_refunds

    def held_refund_requests(self, older_than: datetime) -> Iterator[RefundRequest]:
        held = [r for r in self.refund_requests.values() if r.is_open and r.created_at < older_than]
        yield from sorted(held, key=lambda request: request.created_at)

    # ---------------------------------------------------------------- idempotency keys
    def get_idempotency_record(self, user_id: str, key: str, now: datetime) -> IdempotencyRecord | None:
        record = self.idempotency.get((user_id, key))
        return None if record is None or record.expires_at < now else record

    def claim_idempotency_key(self, user_id: str, key: str, record: IdempotencyRecord, now: datetime) -> bool:
        if self.get_idempotency_record(user_id, key, now) is not None:
            return False
        self.idempotency[(user_id, key)] = replace(record, expires_at=to_the_second(record.expires_at))
        return True

    def complete_idempotency_key(self, user_id: str, key: str, record: IdempotencyRecord) -> bool:
        if not self._claimed_by(user_id, key, record.request_hash):
            return False
        self.idempotency[(user_id, key)] = replace(record, expires_at=to_the_second(record.expires_at))
        return True

    def release_idempotency_key(self, user_id: str, key: str, request_hash: str) -> None:
        if self._claimed_by(user_id, key, request_hash):
            del self.idempotency[(user_id, key)]

    def _claimed_by(self, user_id: str, key: str, request_hash: str) -> bool:
        """Claimed and still in progress, by this request (expired or not, as the table's condition)."""
        record = self.idempotency.get((user_id, key))
        return record is not None and record.in_progress and record.request_hash == request_hash

    # ---------------------------------------------------------------- audit
    def add_audit_entry(self, entry: AuditEntry) -> None:
        kept = replace(entry, expires_at=to_the_second(entry.expires_at))
        self.audit.setdefault(entry.object_id, []).append(kept)

    def audit_entries(self, object_id: str) -> list[AuditEntry]:
        """One object's audit trail, oldest first (tests read it; no port does)."""
        return sorted(self.audit.get(object_id, []), key=lambda entry: entry.received_at)


def _attached_yookassa_ids(changes: Changes) -> Iterator[tuple[str, str]]:
    """(YooKassa id, payment id) for each payment this write gives its YooKassa id: each needs a lookup."""
    for entity in changes.created:
        if isinstance(entity, Payment) and entity.yookassa_id is not None:
            yield entity.yookassa_id, entity.payment_id
    for update in changes.updated:
        before, after = update.before, update.after
        if not (isinstance(before, Payment) and isinstance(after, Payment)):
            continue
        if before.yookassa_id is None and after.yookassa_id is not None:
            yield after.yookassa_id, after.payment_id


def _still_at(stored: Entity | None, before: Entity) -> bool:
    """The update's condition: a refund request still in ``before``'s state, anything else at its version."""
    match before:
        case RefundRequest():
            return isinstance(stored, RefundRequest) and stored.state is before.state
        case Payment() | Order() | Subscription():
            return isinstance(stored, type(before)) and stored.version == before.version
    return False


def _changed_fields(before: Entity, after: Entity) -> dict[str, Any]:
    return {
        f.name: getattr(after, f.name)
        for f in fields(after)
        if getattr(before, f.name) != getattr(after, f.name)
    }


def _merged(stored: Entity, before: Entity, after: Entity) -> Entity:
    """``stored`` with the fields the decision changed: a field it left alone keeps the stored value
    (``provider_checked_at`` set by ``claim_provider_check`` since the read survives), as in DynamoDB."""
    return replace(stored, **_changed_fields(before, after))
