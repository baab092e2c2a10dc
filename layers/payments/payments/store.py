"""The storage port. Services see this protocol and domain objects; ``dynamodb`` implements it."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from payments.domain import Order, Payment, PaymentStatus, Plan, RefundReservation, RefundState, Subscription
from payments.money import Kopecks

IDEMPOTENCY_IN_PROGRESS = 0  # the status code of a key claimed by a request that has not answered yet


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    request_hash: str
    status_code: int
    body: str

    @property
    def in_progress(self) -> bool:
        return self.status_code == IDEMPOTENCY_IN_PROGRESS


class PaymentStore(Protocol):
    # reads: one GetItem each
    def get_payment(self, payment_id: str) -> Payment | None: ...
    def get_payment_by_yookassa_id(self, yookassa_id: str) -> Payment | None: ...
    def get_order(self, order_id: str) -> Order | None: ...
    def get_plan(self, plan_id: str) -> Plan | None: ...
    def get_subscription(self, subscription_id: str) -> Subscription | None: ...

    # price sources
    def put_order(self, order: Order) -> Order: ...
    def put_plan(self, plan: Plan) -> Plan: ...

    # payment creation
    def start_order_payment(self, payment: Payment, order: Order) -> None: ...
    def start_subscription_payment(
        self, payment: Payment, subscription: Subscription, is_new_subscription: bool
    ) -> None: ...
    def attach_provider_payment(
        self, payment: Payment, yookassa_id: str, payment_url: str | None
    ) -> Payment: ...
    def mark_failed_before_provider(self, payment: Payment, reason: str) -> Payment: ...

    # provider updates (webhook, reconciler, stale polls)
    def settle_order_payment(self, payment: Payment, order: Order, now: datetime) -> Payment: ...
    def settle_subscription_payment(
        self, payment: Payment, subscription: Subscription, now: datetime
    ) -> Payment: ...
    def settle_payment_alone(self, payment: Payment, status: PaymentStatus, now: datetime) -> Payment: ...
    def close_payment(
        self, payment: Payment, status: PaymentStatus, reason: str | None, party: str | None, now: datetime
    ) -> Payment: ...
    def record_refund(
        self,
        payment: Payment,
        refund_id: str,
        amount: Kopecks,
        now: datetime,
        reservation: RefundReservation | None = None,
    ) -> Payment | None: ...
    def claim_provider_check(self, payment: Payment, now: datetime, min_interval_seconds: int) -> bool: ...
    def iter_pending_payments(self, older_than: datetime, shards: int | None = None) -> Iterator[Payment]: ...
    def iter_held_refunds(
        self, older_than: datetime, shards: int | None = None
    ) -> Iterator[RefundReservation]: ...

    # admin refund requests: the amount each holds until YooKassa confirms or refuses
    def get_refund_reservation(self, payment_id: str, request_id: str) -> RefundReservation | None: ...
    def find_refund_reservation(self, payment_id: str, yookassa_refund_id: str) -> RefundReservation | None: ...
    def reserve_refund(self, payment: Payment, reservation: RefundReservation) -> Payment: ...
    def mark_refund_pending(
        self, reservation: RefundReservation, yookassa_refund_id: str, now: datetime
    ) -> RefundReservation: ...
    def release_refund(
        self,
        payment: Payment,
        reservation: RefundReservation,
        state: RefundState,
        reason: str | None,
        now: datetime,
    ) -> Payment: ...

    # Idempotency-Key records and the webhook audit trail
    def get_idempotency(self, user_id: str, key: str) -> IdempotencyRecord | None: ...
    def claim_idempotency(
        self, user_id: str, key: str, request_hash: str, ttl_hours: int
    ) -> IdempotencyRecord | None: ...
    def complete_idempotency(
        self, user_id: str, key: str, request_hash: str, status_code: int, body: str, ttl_hours: int
    ) -> bool: ...
    def release_idempotency(self, user_id: str, key: str, request_hash: str) -> None: ...
    def put_audit(
        self,
        *,
        event: str,
        object_id: str,
        fetched_status: str | None,
        outcome: str,
        source_ip: str,
        payment_id: str | None,
        ttl_days: int,
    ) -> None: ...
