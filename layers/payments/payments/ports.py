"""The ports: what each service needs of storage and of YooKassa, as narrow protocols.

``payments.dynamodb.DynamoStore`` implements every storage port; ``payments.yookassa.YooKassaClient``
the provider port. The tests' in-memory fakes implement the same protocols, and one contract suite
(tests/contract/) runs against both the fakes and DynamoDB, so the fakes cannot drift.

Reads return domain objects (``None`` when absent). ``commit`` writes one decision's ``Changes`` all or
nothing: it raises ``ConcurrentUpdate`` when an item to create exists already or an item to update is
no longer at ``Update.before``'s version (a refund request: its state), and ``StoreUnavailable`` when
the store fails. It never re-reads: the decision's own values are the new state.
"""

from collections.abc import Iterator
from datetime import datetime
from typing import Protocol, Self

from payments.domain import (
    AuditEntry,
    Changes,
    IdempotencyRecord,
    Order,
    Payment,
    Plan,
    ProviderPayment,
    ProviderRefund,
    RefundRequest,
    Subscription,
)
from payments.domain.receipts import Receipt


class Committer(Protocol):
    def commit(self, changes: Changes) -> None: ...


class PaymentReader(Protocol):
    def get_payment(self, payment_id: str) -> Payment | None: ...


class SubjectReader(Protocol):
    def get_order(self, order_id: str) -> Order | None: ...
    def get_subscription(self, subscription_id: str) -> Subscription | None: ...


class OrderPaymentReader(PaymentReader, Protocol):
    def get_order(self, order_id: str) -> Order | None: ...


class RefundStore(PaymentReader, SubjectReader, Committer, Protocol):
    """Refunds: the requests that hold money, the refunds recorded once, and the payment's order or
    subscription (a full refund takes back what the payment bought)."""

    def get_refund_request(self, payment_id: str, request_id: str) -> RefundRequest | None: ...
    def find_refund_request(self, payment_id: str, yookassa_refund_id: str) -> RefundRequest | None: ...
    def refund_recorded(self, payment_id: str, refund_id: str) -> bool: ...


class SyncStore(RefundStore, Protocol):
    """Applying YooKassa's word about a payment: the payment, its subject, one write; and the refund
    requests, for money that cannot be delivered (refunded through the same requests as an admin's)."""


class CreationStore(SyncStore, Protocol):
    """Starting payments: the price sources, the caller's payable payments, and everything sync needs
    (a refused create closes)."""

    def get_plan(self, plan_id: str) -> Plan | None: ...

    def payable_pending_count(self, user_id: str, created_after: datetime) -> int:
        """How many of the user's payments are pending and were created after ``created_after`` (still
        payable). Eventually consistent: a burst of concurrent creates may pass the limit by a few."""
        ...


class StatusStore(SyncStore, Protocol):
    """Status polls: one read, and at most one ask of YooKassa per interval per payment."""

    def claim_provider_check(self, payment_id: str, now: datetime, checked_before: datetime) -> bool:
        """Set the payment's ``provider_checked_at`` to ``now`` unless another caller did so since
        ``checked_before``: True for the one caller allowed to ask YooKassa now."""
        ...


class WebhookStore(SyncStore, Protocol):
    def find_payment_by_yookassa_id(self, yookassa_id: str) -> Payment | None: ...
    def add_audit_entry(self, entry: AuditEntry) -> None: ...


class ReconcileStore(SyncStore, Protocol):
    def claim_provider_check(self, payment_id: str, now: datetime, checked_before: datetime) -> bool: ...

    def pending_payments(self, older_than: datetime) -> Iterator[Payment]:
        """Payments pending since before ``older_than`` (eventually consistent)."""
        ...

    def held_refund_requests(self, older_than: datetime) -> Iterator[RefundRequest]:
        """Refund requests holding money since before ``older_than`` (eventually consistent)."""
        ...


class RenewalStore(CreationStore, Protocol):
    """The renewal function: subscriptions whose paid time ends soon, and everything a charge needs."""

    def subscriptions_due(self, ending_before: datetime) -> Iterator[Subscription]:
        """Active and past-due subscriptions whose paid time ends before ``ending_before``, soonest
        first (eventually consistent)."""
        ...


class SubscriptionStore(PaymentReader, Committer, Protocol):
    """The customer's own subscriptions: read, renewal turned off and on."""

    def get_subscription(self, subscription_id: str) -> Subscription | None: ...
    def subscriptions_of(self, user_id: str) -> list[Subscription]:
        """The user's subscriptions (eventually consistent)."""
        ...


class CatalogStore(Committer, Protocol):
    """The price sources the rest of the app writes."""

    def get_order(self, order_id: str) -> Order | None: ...
    def get_plan(self, plan_id: str) -> Plan | None: ...
    def save_plan(self, plan: Plan) -> None: ...


class IdempotencyStore(Protocol):
    def get_idempotency_record(self, user_id: str, key: str, now: datetime) -> IdempotencyRecord | None:
        """The key's record, unless it expired before ``now`` (TTL deletes lazily)."""
        ...

    def claim_idempotency_key(self, user_id: str, key: str, record: IdempotencyRecord, now: datetime) -> bool:
        """Write ``record`` where the key is free (no record, or one expired before ``now``)."""
        ...

    def complete_idempotency_key(self, user_id: str, key: str, record: IdempotencyRecord) -> bool:
        """Replace our in-progress claim (same request hash) with the answer; False when not ours."""
        ...

    def release_idempotency_key(self, user_id: str, key: str, request_hash: str) -> None:
        """Delete our in-progress claim (same request hash); someone else's is left alone."""
        ...


class CompletionStore(Committer, PaymentReader, Protocol):
    """Completing an order: the order, the payment that paid it, one write."""

    def get_order(self, order_id: str) -> Order | None: ...


class HealthStore(Protocol):
    def get_plan(self, plan_id: str) -> Plan | None: ...


class YooKassa(Protocol):
    """YooKassa's API in domain values. Every call is bounded in time; a POST carries the
    Idempotence-Key of the domain object (``Payment.idempotence_key``, ``RefundRequest.idempotence_key``)
    and is retried only with it. Raises ``ProviderError`` (refused), ``ProviderNotFound`` (404) or
    ``ProviderTimeout`` (outcome unknown)."""

    def with_budget(self, budget_seconds: float) -> Self: ...
    def create_payment(self, payment: Payment, return_url: str) -> ProviderPayment: ...
    def get_payment(self, yookassa_id: str) -> ProviderPayment: ...
    def create_refund(self, payment: Payment, request: RefundRequest) -> ProviderRefund: ...
    def get_refund(self, refund_id: str) -> ProviderRefund: ...
    def capture_payment(self, payment: Payment) -> ProviderPayment: ...
    def cancel_payment(self, payment: Payment) -> ProviderPayment: ...
    def create_receipt(self, payment: Payment, receipt: Receipt, idempotence_key: str) -> str: ...
    def fiscalization_enabled(self) -> bool: ...
    def check_credentials(self) -> bool: ...
