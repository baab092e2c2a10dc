"""The DynamoDB adapter: the only package that knows PynamoDB. One table; keys and items in README "Data".

``items`` declares the item kinds, ``keys`` their keys, ``mapping`` turns items into domain objects and
back, ``table`` makes the calls (and maps their failures), ``unit_of_work`` writes a decision's
``Changes``; one repository module per aggregate reads it. ``DynamoStore`` puts them together behind
every storage port of payments/ports.py and decides nothing: no business rule, no clock.
"""

from collections.abc import Iterator
from datetime import datetime

from payments.domain import (
    AuditEntry,
    Changes,
    IdempotencyRecord,
    Order,
    Payment,
    Plan,
    RefundRequest,
    Subscription,
)
from payments.dynamodb.audit import Audit
from payments.dynamodb.catalog import Catalog
from payments.dynamodb.idempotency import IdempotencyKeys
from payments.dynamodb.payments import Payments
from payments.dynamodb.refund_requests import RefundRequests
from payments.dynamodb.subscriptions import Subscriptions
from payments.dynamodb.table import Table
from payments.dynamodb.unit_of_work import commit

__all__ = ["DynamoStore"]


class DynamoStore:
    """Every storage port of payments/ports.py on one table. Building it does no I/O.

    ``pending_shards``: how many write shards the PendingIndex spreads pending payments and held refund
    requests over (``keys.shard_of``); readers query them all, so it may only change with a migration.
    """

    def __init__(self, table_name: str, *, pending_shards: int = 8, region: str | None = None) -> None:
        self.table = Table(table_name, region)
        self.pending_shards = pending_shards
        self._payments = Payments(self.table, pending_shards)
        self._catalog = Catalog(self.table)
        self._subscriptions = Subscriptions(self.table, pending_shards)
        self._refund_requests = RefundRequests(self.table, pending_shards)
        self._idempotency = IdempotencyKeys(self.table)
        self._audit = Audit(self.table)

    def commit(self, changes: Changes) -> None:
        commit(self.table, changes, self.pending_shards)

    # ---------------------------------------------------------------- payments
    def get_payment(self, payment_id: str) -> Payment | None:
        return self._payments.get_payment(payment_id)

    def find_payment_by_yookassa_id(self, yookassa_id: str) -> Payment | None:
        return self._payments.find_payment_by_yookassa_id(yookassa_id)

    def pending_payments(self, older_than: datetime) -> Iterator[Payment]:
        return self._payments.pending_payments(older_than)

    def payable_pending_count(self, user_id: str, created_after: datetime) -> int:
        return self._payments.payable_pending_count(user_id, created_after)

    def claim_provider_check(self, payment_id: str, now: datetime, checked_before: datetime) -> bool:
        return self._payments.claim_provider_check(payment_id, now, checked_before)

    # ---------------------------------------------------------------- orders, plans, subscriptions
    def get_order(self, order_id: str) -> Order | None:
        return self._catalog.get_order(order_id)

    def get_plan(self, plan_id: str) -> Plan | None:
        return self._catalog.get_plan(plan_id)

    def save_plan(self, plan: Plan) -> None:
        self._catalog.save_plan(plan)

    def get_subscription(self, subscription_id: str) -> Subscription | None:
        return self._subscriptions.get_subscription(subscription_id)

    def subscriptions_of(self, user_id: str) -> list[Subscription]:
        return self._subscriptions.subscriptions_of(user_id)

    def subscriptions_due(self, ending_before: datetime) -> Iterator[Subscription]:
        return self._subscriptions.subscriptions_due(ending_before)

    # ---------------------------------------------------------------- refunds
    def get_refund_request(self, payment_id: str, request_id: str) -> RefundRequest | None:
        return self._refund_requests.get_refund_request(payment_id, request_id)

    def find_refund_request(self, payment_id: str, yookassa_refund_id: str) -> RefundRequest | None:
        return self._refund_requests.find_refund_request(payment_id, yookassa_refund_id)

    def refund_recorded(self, payment_id: str, refund_id: str) -> bool:
        return self._refund_requests.refund_recorded(payment_id, refund_id)

    def held_refund_requests(self, older_than: datetime) -> Iterator[RefundRequest]:
        return self._refund_requests.held_refund_requests(older_than)

    # ---------------------------------------------------------------- idempotency keys, audit
    def get_idempotency_record(self, user_id: str, key: str, now: datetime) -> IdempotencyRecord | None:
        return self._idempotency.get_idempotency_record(user_id, key, now)

    def claim_idempotency_key(self, user_id: str, key: str, record: IdempotencyRecord, now: datetime) -> bool:
        return self._idempotency.claim_idempotency_key(user_id, key, record, now)

    def complete_idempotency_key(self, user_id: str, key: str, record: IdempotencyRecord) -> bool:
        return self._idempotency.complete_idempotency_key(user_id, key, record)

    def release_idempotency_key(self, user_id: str, key: str, request_hash: str) -> None:
        self._idempotency.release_idempotency_key(user_id, key, request_hash)

    def add_audit_entry(self, entry: AuditEntry) -> None:
        self._audit.add_audit_entry(entry)
