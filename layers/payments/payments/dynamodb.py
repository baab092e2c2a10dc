"""The DynamoDB adapter: the only module that knows PynamoDB. One table, keys in README "Data".

Every state change is a conditional write: payments move forward only (``status = :expected`` plus a
version check), related items change in one ``TransactWriteItems``.
"""

import contextlib
import hashlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from pynamodb.attributes import (
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, PynamoDBException, TransactWriteError
from pynamodb.expressions.update import Action
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from payments.domain import (
    Order,
    Payment,
    PaymentStatus,
    PaymentType,
    Plan,
    RefundReservation,
    RefundState,
    Subscription,
    SubscriptionStatus,
    SubscriptionType,
    extend_subscription,
)
from payments.errors import ConcurrentUpdate, StoreUnavailable
from payments.money import Kopecks
from payments.store import IDEMPOTENCY_IN_PROGRESS, IdempotencyRecord

META = "META"
# How long a claimed Idempotency-Key stays "in progress" without an answer: longer than any function
# runs (API Gateway gives up at 30 s), so a running request keeps it; a crashed one frees it soon.
IDEMPOTENCY_CLAIM_SECONDS = 120
CONDITION_FAILED = frozenset({"ConditionalCheckFailedException", "TransactionCanceledException"})


class _Meta:
    table_name = "payments"
    region: str | None = None  # botocore resolves it from the environment (Lambda sets AWS_REGION)
    # Bounded like every external call: a throttled or unreachable table fails fast, not at Lambda's timeout.
    connect_timeout_seconds = 2
    read_timeout_seconds = 3
    max_retry_attempts = 2


class PendingIndex(GlobalSecondaryIndex["PaymentItem"]):
    """Sparse and write-sharded: only pending payments carry ``pendingShard``."""

    class Meta:
        index_name = "PendingIndex"
        projection = AllProjection()

    pending_shard = UnicodeAttribute(hash_key=True, attr_name="pendingShard")
    pending_since = UnicodeAttribute(range_key=True, attr_name="pendingSince")


class HeldRefundIndex(GlobalSecondaryIndex["RefundRequestItem"]):
    """The same ``PendingIndex``, read as refund requests: shards ``REFUND#<n>`` hold the requests that
    still hold money (reserved / pending), so the reconciler settles them when their answers were lost."""

    class Meta:
        index_name = "PendingIndex"
        projection = AllProjection()

    pending_shard = UnicodeAttribute(hash_key=True, attr_name="pendingShard")
    pending_since = UnicodeAttribute(range_key=True, attr_name="pendingSince")


class UserIndex(GlobalSecondaryIndex["PaymentItem"]):
    """``USER#<sub>`` -> ``ORDER#<id>#<createdAt>`` / ``SUBSCRIPTION#<id>#<createdAt>``."""

    class Meta:
        index_name = "GSI1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True, attr_name="GSI1PK")
    gsi1sk = UnicodeAttribute(range_key=True, attr_name="GSI1SK")


class _Item(Model):
    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True, attr_name="PK")
    sk = UnicodeAttribute(range_key=True, attr_name="SK", default=META)
    kind = UnicodeAttribute(attr_name="kind")
    expires_at = NumberAttribute(null=True, attr_name="expiresAt")  # the table's TTL attribute


class PaymentItem(_Item):
    class Meta(_Meta):
        pass

    payment_type = UnicodeAttribute(attr_name="type")
    user_id = UnicodeAttribute(attr_name="userId")
    amount = NumberAttribute(attr_name="amount")
    status = UnicodeAttribute(attr_name="status")
    description = UnicodeAttribute(attr_name="description")
    created_at = UTCDateTimeAttribute(attr_name="createdAt")
    updated_at = UTCDateTimeAttribute(null=True, attr_name="updatedAt")
    order_id = UnicodeAttribute(null=True, attr_name="orderId")
    subscription_id = UnicodeAttribute(null=True, attr_name="subscriptionId")
    plan_id = UnicodeAttribute(null=True, attr_name="planId")
    subscription_type = UnicodeAttribute(null=True, attr_name="subscriptionType")
    yookassa_id = UnicodeAttribute(null=True, attr_name="yookassaId")
    payment_url = UnicodeAttribute(null=True, attr_name="paymentUrl")
    paid_at = UTCDateTimeAttribute(null=True, attr_name="paidAt")
    refunded_amount = NumberAttribute(default=0, attr_name="refundedAmount")
    refund_reserved = NumberAttribute(default=0, attr_name="refundReserved")
    cancellation_reason = UnicodeAttribute(null=True, attr_name="cancellationReason")
    cancellation_party = UnicodeAttribute(null=True, attr_name="cancellationParty")
    provider_checked_at = UTCDateTimeAttribute(null=True, attr_name="providerCheckedAt")
    version = NumberAttribute(default=0, attr_name="version")
    gsi1pk = UnicodeAttribute(null=True, attr_name="GSI1PK")
    gsi1sk = UnicodeAttribute(null=True, attr_name="GSI1SK")
    pending_shard = UnicodeAttribute(null=True, attr_name="pendingShard")
    pending_since = UnicodeAttribute(null=True, attr_name="pendingSince")

    user_index = UserIndex()
    pending_index = PendingIndex()


class YooKassaLookupItem(_Item):
    class Meta(_Meta):
        pass

    payment_id = UnicodeAttribute(attr_name="paymentId")


class OrderItem(_Item):
    class Meta(_Meta):
        pass

    user_id = UnicodeAttribute(attr_name="userId")
    amount = NumberAttribute(attr_name="amount")
    description = UnicodeAttribute(attr_name="description")
    status = UnicodeAttribute(default="new", attr_name="status")
    paid_payment_id = UnicodeAttribute(null=True, attr_name="paidPaymentId")
    active_payment_id = UnicodeAttribute(null=True, attr_name="activePaymentId")
    paid_at = UTCDateTimeAttribute(null=True, attr_name="paidAt")
    version = NumberAttribute(default=0, attr_name="version")


class PlanItem(_Item):
    class Meta(_Meta):
        pass

    name = UnicodeAttribute(attr_name="name")
    prices = MapAttribute[str, Any](attr_name="prices")


class SubscriptionItem(_Item):
    class Meta(_Meta):
        pass

    user_id = UnicodeAttribute(attr_name="userId")
    plan_id = UnicodeAttribute(attr_name="planId")
    subscription_type = UnicodeAttribute(attr_name="type")
    status = UnicodeAttribute(attr_name="status")
    start_date = UTCDateTimeAttribute(null=True, attr_name="startDate")
    end_date = UTCDateTimeAttribute(null=True, attr_name="endDate")
    active_payment_id = UnicodeAttribute(null=True, attr_name="activePaymentId")
    last_payment_id = UnicodeAttribute(null=True, attr_name="lastPaymentId")
    version = NumberAttribute(default=0, attr_name="version")


class RefundItem(_Item):
    """``PAYMENT#<id>`` / ``REFUND#<yookassa refund id>``: applied refunds, one item each."""

    class Meta(_Meta):
        pass

    amount = NumberAttribute(attr_name="amount")
    created_at = UTCDateTimeAttribute(attr_name="createdAt")


class RefundRequestItem(_Item):
    """``PAYMENT#<id>`` / ``REFUNDREQ#<request id>``: one admin refund request and the amount it holds."""

    class Meta(_Meta):
        pass

    amount = NumberAttribute(attr_name="amount")
    request_hash = UnicodeAttribute(attr_name="requestHash")
    state = UnicodeAttribute(attr_name="state")
    yookassa_refund_id = UnicodeAttribute(null=True, attr_name="yookassaRefundId")
    failure_reason = UnicodeAttribute(null=True, attr_name="failureReason")
    created_at = UTCDateTimeAttribute(attr_name="createdAt")
    updated_at = UTCDateTimeAttribute(null=True, attr_name="updatedAt")
    # Only while the request holds money: the writes that end the hold remove both.
    pending_shard = UnicodeAttribute(null=True, attr_name="pendingShard")
    pending_since = UnicodeAttribute(null=True, attr_name="pendingSince")

    held_index = HeldRefundIndex()


class IdempotencyItem(_Item):
    class Meta(_Meta):
        pass

    request_hash = UnicodeAttribute(attr_name="requestHash")
    status_code = NumberAttribute(attr_name="statusCode")  # 0 while the claiming request is running
    body = UnicodeAttribute(null=True, attr_name="body")  # the response, once there is one


class AuditItem(_Item):
    """One accepted webhook notification (no card data), kept for ``audit_ttl_days``."""

    class Meta(_Meta):
        pass

    event = UnicodeAttribute(attr_name="event")
    object_id = UnicodeAttribute(attr_name="objectId")
    fetched_status = UnicodeAttribute(null=True, attr_name="fetchedStatus")
    outcome = UnicodeAttribute(attr_name="outcome")
    source_ip = UnicodeAttribute(attr_name="sourceIp")
    payment_id = UnicodeAttribute(null=True, attr_name="paymentId")
    received_at = UTCDateTimeAttribute(attr_name="receivedAt")


MODELS: tuple[type[_Item], ...] = (
    PaymentItem,
    YooKassaLookupItem,
    OrderItem,
    PlanItem,
    SubscriptionItem,
    RefundItem,
    RefundRequestItem,
    IdempotencyItem,
    AuditItem,
)

ItemT = TypeVar("ItemT", bound=_Item)


def payment_key(payment_id: str) -> str:
    return f"PAYMENT#{payment_id}"


def shard_of(key: str, shards: int, prefix: str = "PENDING") -> str:
    """The pending index's write shard for ``key``: ``PENDING#<n>`` (payments), ``REFUND#<n>`` (held
    refund requests)."""
    digest = hashlib.sha256(key.encode()).digest()
    return f"{prefix}#{digest[0] % shards}"


class DynamoStore:
    """Implements ``payments.store.PaymentStore`` on one DynamoDB table."""

    def __init__(self, table_name: str, *, pending_shards: int = 8, region: str | None = None) -> None:
        self.table_name = table_name
        self.pending_shards = pending_shards
        self._connection = Connection(
            region=region,
            connect_timeout_seconds=_Meta.connect_timeout_seconds,
            read_timeout_seconds=_Meta.read_timeout_seconds,
            max_retry_attempts=_Meta.max_retry_attempts,
        )
        for model in MODELS:
            model.Meta.table_name = table_name
            if region:
                model.Meta.region = region
            model._connection = None
        # Every model is an item kind of one table, so they share one botocore client (PynamoDB would
        # build one per model class, ~0.15 s each on a cold start). The payment model's schema stands
        # for the table: the same keys, plus the indexes the other kinds do not declare.
        self._connection.add_meta_table(PaymentItem._get_connection().get_meta_table())
        for model in MODELS:
            model._get_connection().connection = self._connection

    # ---------------------------------------------------------------- reads
    def get_payment(self, payment_id: str) -> Payment | None:
        item = self._get(PaymentItem, payment_key(payment_id))
        return _payment(item) if item else None

    def get_payment_by_yookassa_id(self, yookassa_id: str) -> Payment | None:
        lookup = self._get(YooKassaLookupItem, f"YOOKASSA#{yookassa_id}")
        return self.get_payment(lookup.payment_id) if lookup else None

    def get_order(self, order_id: str) -> Order | None:
        item = self._get(OrderItem, f"ORDER#{order_id}")
        return _order(item) if item else None

    def get_plan(self, plan_id: str) -> Plan | None:
        item = self._get(PlanItem, f"PLAN#{plan_id}")
        if item is None:
            return None
        prices = {SubscriptionType(k): int(v) for k, v in item.prices.as_dict().items()}
        return Plan(plan_id=plan_id, name=item.name, prices=prices)

    def get_subscription(self, subscription_id: str) -> Subscription | None:
        item = self._get(SubscriptionItem, f"SUBSCRIPTION#{subscription_id}")
        return _subscription(item) if item else None

    def payments_of_user(self, user_id: str, prefix: str = "") -> list[Payment]:
        query = PaymentItem.user_index.query(
            f"USER#{user_id}", PaymentItem.gsi1sk.startswith(prefix) if prefix else None
        )
        return [_payment(item) for item in self._call(lambda: list(query))]

    # ---------------------------------------------------------------- price sources
    def put_order(self, order: Order) -> Order:
        """Upsert the price fields; the payment fields of an existing order are kept."""
        item = OrderItem(f"ORDER#{order.order_id}", META, kind="order")
        actions: list[Action] = [
            OrderItem.kind.set("order"),
            OrderItem.user_id.set(order.user_id),
            OrderItem.amount.set(order.amount),
            OrderItem.description.set(order.description),
            OrderItem.status.set(OrderItem.status | "new"),
            OrderItem.version.add(1),
        ]
        # A paid order's price and owner are history: they cannot change under the payment.
        condition = OrderItem.paid_payment_id.does_not_exist() | (
            (OrderItem.amount == order.amount) & (OrderItem.user_id == order.user_id)
        )
        try:
            self._call(lambda: item.update(actions=actions, condition=condition))
        except _ConditionFailed as exc:
            raise ConcurrentUpdate("A paid order's amount and owner cannot change") from exc
        return _order(item)

    def put_plan(self, plan: Plan) -> Plan:
        item = PlanItem(
            f"PLAN#{plan.plan_id}",
            META,
            kind="plan",
            name=plan.name,
            prices={str(k): v for k, v in plan.prices.items()},
        )
        self._call(item.save)
        return plan

    # ---------------------------------------------------------------- payment creation
    def start_order_payment(self, payment: Payment, order: Order) -> None:
        """Write the payment and make it the order's active one, unless the order changed meanwhile."""
        order_item = OrderItem(f"ORDER#{order.order_id}", META)
        self._transact(
            lambda t: (
                t.save(self._payment_item(payment), condition=PaymentItem.pk.does_not_exist()),
                t.update(
                    order_item,
                    actions=[OrderItem.active_payment_id.set(payment.payment_id), OrderItem.version.add(1)],
                    condition=(OrderItem.version == order.version) & OrderItem.paid_payment_id.does_not_exist(),
                ),
            )
        )

    def start_subscription_payment(
        self, payment: Payment, subscription: Subscription, is_new_subscription: bool
    ) -> None:
        sub_key = f"SUBSCRIPTION#{subscription.subscription_id}"

        def write(t: TransactWrite) -> None:
            t.save(self._payment_item(payment), condition=PaymentItem.pk.does_not_exist())
            if is_new_subscription:
                item = SubscriptionItem(
                    sub_key,
                    META,
                    kind="subscription",
                    user_id=subscription.user_id,
                    plan_id=subscription.plan_id,
                    subscription_type=str(subscription.subscription_type),
                    status=str(SubscriptionStatus.PENDING),
                    active_payment_id=payment.payment_id,
                    version=1,
                )
                t.save(item, condition=SubscriptionItem.pk.does_not_exist())
            else:
                t.update(
                    SubscriptionItem(sub_key, META),
                    actions=[
                        SubscriptionItem.active_payment_id.set(payment.payment_id),
                        SubscriptionItem.version.add(1),
                    ],
                    condition=(SubscriptionItem.version == subscription.version)
                    & (SubscriptionItem.user_id == subscription.user_id),
                )

        self._transact(write)

    def attach_provider_payment(self, payment: Payment, yookassa_id: str, payment_url: str | None) -> Payment:
        """Remember YooKassa's id and URL once; a retry that reached the same payment is a no-op.

        ``payment_url`` is ``None`` when YooKassa's id is learnt from a payment that is no longer
        payable (a webhook or the reconciler found it already succeeded or canceled).
        """
        if payment.yookassa_id == yookassa_id:
            return payment
        item = PaymentItem(payment_key(payment.payment_id), META)
        lookup = YooKassaLookupItem(
            f"YOOKASSA#{yookassa_id}", META, kind="yookassa", payment_id=payment.payment_id
        )
        actions: list[Action] = [PaymentItem.yookassa_id.set(yookassa_id), PaymentItem.version.add(1)]
        condition = PaymentItem.yookassa_id.does_not_exist()
        if payment_url:
            actions.append(PaymentItem.payment_url.set(payment_url))
            # A payment URL is only handed out for a payment of ours that can still be paid.
            condition &= PaymentItem.status == str(PaymentStatus.PENDING)
        try:
            self._transact(
                lambda t: (
                    t.update(item, actions=actions, condition=condition),
                    t.save(lookup, condition=YooKassaLookupItem.pk.does_not_exist()),
                )
            )
        except ConcurrentUpdate:
            current = self.get_payment(payment.payment_id)
            if current is not None and current.yookassa_id == yookassa_id:
                return current  # another request attached the same payment first
            raise
        current = self.get_payment(payment.payment_id)
        assert current is not None
        return current

    def mark_failed_before_provider(self, payment: Payment, reason: str) -> Payment:
        """YooKassa refused to create the payment: it failed, and the subject is free again."""
        now = datetime.now(UTC)
        failed = self.close_payment(payment, PaymentStatus.FAILED, reason, "merchant", now)
        self._release_subject(payment)
        return failed

    # ---------------------------------------------------------------- provider updates
    def settle_order_payment(self, payment: Payment, order: Order, now: datetime) -> Payment:
        """pending -> paid and the order paid, in one transaction."""
        order_item = OrderItem(f"ORDER#{order.order_id}", META)
        self._transact(
            lambda t: (
                t.update(
                    PaymentItem(payment_key(payment.payment_id), META),
                    actions=[*self._forward_actions(PaymentStatus.PAID, now), PaymentItem.paid_at.set(now)],
                    condition=self._expect(payment),
                ),
                t.update(
                    order_item,
                    actions=[
                        OrderItem.status.set("paid"),
                        OrderItem.paid_payment_id.set(payment.payment_id),
                        OrderItem.paid_at.set(now),
                        OrderItem.active_payment_id.remove(),
                        OrderItem.version.add(1),
                    ],
                    # ...and the order still costs what was paid, and is still the payer's.
                    condition=OrderItem.paid_payment_id.does_not_exist()
                    & (OrderItem.amount == payment.amount)
                    & (OrderItem.user_id == payment.user_id),
                ),
            )
        )
        return self._reload(payment)

    def settle_subscription_payment(
        self, payment: Payment, subscription: Subscription, now: datetime
    ) -> Payment:
        """pending -> success and the subscription activated or extended, in one transaction.

        The period is the one this payment paid for: a monthly subscription paid yearly gets a year
        (and becomes yearly).
        """
        paid_for = replace(
            subscription, subscription_type=payment.subscription_type or subscription.subscription_type
        )
        extended = extend_subscription(paid_for, now, payment.payment_id)
        sub_item = SubscriptionItem(f"SUBSCRIPTION#{subscription.subscription_id}", META)
        assert extended.start_date is not None and extended.end_date is not None
        actions: list[Action] = [
            SubscriptionItem.subscription_type.set(str(extended.subscription_type)),
            # The period paid for is of the plan paid for: a switch of plan takes effect with it.
            SubscriptionItem.plan_id.set(payment.plan_id or subscription.plan_id),
            SubscriptionItem.status.set(str(extended.status)),
            SubscriptionItem.start_date.set(extended.start_date),
            SubscriptionItem.end_date.set(extended.end_date),
            SubscriptionItem.last_payment_id.set(payment.payment_id),
            SubscriptionItem.version.add(1),
        ]
        if subscription.active_payment_id == payment.payment_id:
            actions.append(SubscriptionItem.active_payment_id.remove())
        self._transact(
            lambda t: (
                t.update(
                    PaymentItem(payment_key(payment.payment_id), META),
                    actions=[*self._forward_actions(PaymentStatus.SUCCESS, now), PaymentItem.paid_at.set(now)],
                    condition=self._expect(payment),
                ),
                t.update(sub_item, actions=actions, condition=SubscriptionItem.version == subscription.version),
            )
        )
        return self._reload(payment)

    def settle_payment_alone(self, payment: Payment, status: PaymentStatus, now: datetime) -> Payment:
        """pending -> paid/success without touching the order or subscription.

        For a payment whose order another payment already paid: the money arrived and the record must
        say so (a human refunds it), but the order's ``paidPaymentId`` stays the first payment's.
        """
        item = PaymentItem(payment_key(payment.payment_id), META)
        actions = [*self._forward_actions(status, now), PaymentItem.paid_at.set(now)]
        try:
            self._call(lambda: item.update(actions=actions, condition=self._expect(payment)))
        except _ConditionFailed as exc:
            raise ConcurrentUpdate() from exc
        self._release_subject(payment)
        return self._reload(payment)

    def close_payment(
        self, payment: Payment, status: PaymentStatus, reason: str | None, party: str | None, now: datetime
    ) -> Payment:
        actions = self._forward_actions(status, now)
        if reason:
            actions.append(PaymentItem.cancellation_reason.set(reason))
        if party:
            actions.append(PaymentItem.cancellation_party.set(party))
        item = PaymentItem(payment_key(payment.payment_id), META)
        try:
            self._call(lambda: item.update(actions=actions, condition=self._expect(payment)))
        except _ConditionFailed as exc:
            raise ConcurrentUpdate() from exc
        self._release_subject(payment)
        return self._reload(payment)

    def record_refund(
        self,
        payment: Payment,
        refund_id: str,
        amount: Kopecks,
        now: datetime,
        reservation: RefundReservation | None = None,
    ) -> Payment | None:
        """Add one succeeded refund, once: ``None`` when this refund was already applied.

        With ``reservation`` (our open refund request for this refund) the held amount is released in
        the same transaction, so refunded + reserved never counts the same kopecks twice.
        """
        total = payment.refunded_amount + amount
        if total > payment.amount:
            if self._get(RefundItem, payment_key(payment.payment_id), f"REFUND#{refund_id}") is not None:
                return None  # this very refund, applied before: a duplicate, not an excess
            raise ValueError("refunds exceed the payment amount")
        actions: list[Action] = [
            PaymentItem.refunded_amount.set(total),
            PaymentItem.version.add(1),
            PaymentItem.updated_at.set(now),
        ]
        if total == payment.amount:
            actions.append(PaymentItem.status.set(str(PaymentStatus.REFUNDED)))
        if reservation is not None:
            actions.append(PaymentItem.refund_reserved.add(-reservation.amount))
        refund = RefundItem(
            payment_key(payment.payment_id),
            f"REFUND#{refund_id}",
            kind="refund",
            amount=amount,
            created_at=now,
        )

        def write(t: TransactWrite) -> None:
            t.save(refund, condition=RefundItem.sk.does_not_exist())
            t.update(
                PaymentItem(payment_key(payment.payment_id), META),
                actions=actions,
                condition=PaymentItem.version == payment.version,
            )
            if reservation is not None:
                t.update(
                    self._reservation_key(reservation),
                    actions=[
                        RefundRequestItem.state.set(str(RefundState.SUCCEEDED)),
                        RefundRequestItem.yookassa_refund_id.set(refund_id),
                        RefundRequestItem.updated_at.set(now),
                        *_HOLD_ENDS,
                    ],
                    condition=RefundRequestItem.state.is_in(*_OPEN_REFUND_STATES),
                )

        try:
            self._transact(write)
        except ConcurrentUpdate:
            if self._get(RefundItem, payment_key(payment.payment_id), f"REFUND#{refund_id}") is not None:
                return None
            raise
        return self._reload(payment)

    def claim_provider_check(self, payment: Payment, now: datetime, min_interval_seconds: int) -> bool:
        """Rate-limit provider re-fetches per payment: True for the one caller allowed to ask now."""
        item = PaymentItem(payment_key(payment.payment_id), META)
        threshold = now - timedelta(seconds=min_interval_seconds)
        condition = PaymentItem.provider_checked_at.does_not_exist() | (
            PaymentItem.provider_checked_at < threshold
        )
        try:
            self._call(
                lambda: item.update(actions=[PaymentItem.provider_checked_at.set(now)], condition=condition)
            )
        except _ConditionFailed:
            return False
        return True

    def iter_pending_payments(self, older_than: datetime, shards: int | None = None) -> Iterator[Payment]:
        cutoff = _iso(older_than)
        for shard in range(shards or self.pending_shards):
            query = PaymentItem.pending_index.query(f"PENDING#{shard}", PaymentItem.pending_since < cutoff)
            for item in self._call(lambda q=query: list(q)):
                yield _payment(item)

    def iter_held_refunds(self, older_than: datetime, shards: int | None = None) -> Iterator[RefundReservation]:
        """Refund requests holding money since before ``older_than`` (eventually consistent: re-read
        one before acting on it)."""
        cutoff = _iso(older_than)
        for shard in range(shards or self.pending_shards):
            query = RefundRequestItem.held_index.query(
                f"{HELD_REFUND_SHARD}#{shard}", RefundRequestItem.pending_since < cutoff
            )
            for item in self._call(lambda q=query: list(q)):
                yield _reservation(item)

    # ---------------------------------------------------------------- refund requests
    def get_refund_reservation(self, payment_id: str, request_id: str) -> RefundReservation | None:
        item = self._get(RefundRequestItem, payment_key(payment_id), f"REFUNDREQ#{request_id}")
        return _reservation(item) if item else None

    def find_refund_reservation(self, payment_id: str, yookassa_refund_id: str) -> RefundReservation | None:
        """Our request behind one YooKassa refund: a query within the payment's own partition."""
        query = RefundRequestItem.query(
            payment_key(payment_id),
            RefundRequestItem.sk.startswith("REFUNDREQ#"),
            filter_condition=RefundRequestItem.yookassa_refund_id == yookassa_refund_id,
            consistent_read=True,
        )
        items = self._call(lambda: list(query))
        return _reservation(items[0]) if items else None

    def reserve_refund(self, payment: Payment, reservation: RefundReservation) -> Payment:
        """Write the request and hold its amount on the payment, unless the payment changed meanwhile.

        DynamoDB conditions cannot add, so ``amount >= refunded + reserved + new`` is checked by the
        caller on the payment it read, and this write is conditional on that very version: of two
        concurrent requests one wins, the other re-reads and sees the amount already held.
        """
        if reservation.amount > payment.refund_available:
            raise ValueError("the refund exceeds what is left")
        item = RefundRequestItem(
            payment_key(payment.payment_id),
            f"REFUNDREQ#{reservation.request_id}",
            kind="refund_request",
            amount=reservation.amount,
            request_hash=reservation.request_hash,
            state=str(reservation.state),
            created_at=reservation.created_at,
            updated_at=reservation.created_at,
            pending_shard=shard_of(reservation.request_id, self.pending_shards, HELD_REFUND_SHARD),
            pending_since=_iso(reservation.created_at),
        )
        self._transact(
            lambda t: (
                t.save(item, condition=RefundRequestItem.sk.does_not_exist()),
                t.update(
                    PaymentItem(payment_key(payment.payment_id), META),
                    actions=[
                        PaymentItem.refund_reserved.add(reservation.amount),
                        PaymentItem.updated_at.set(reservation.created_at),
                        PaymentItem.version.add(1),
                    ],
                    condition=self._expect(payment),
                ),
            )
        )
        return self._reload(payment)

    def mark_refund_pending(
        self, reservation: RefundReservation, yookassa_refund_id: str, now: datetime
    ) -> RefundReservation:
        """YooKassa accepted the refund: remember its id (once) so refund.succeeded finds the request."""
        if reservation.yookassa_refund_id == yookassa_refund_id:
            return reservation
        item = self._reservation_key(reservation)
        # Lost the condition: it moved on meanwhile (another retry got there first); the reload tells.
        with contextlib.suppress(_ConditionFailed):
            self._call(
                lambda: item.update(
                    actions=[
                        RefundRequestItem.state.set(str(RefundState.PENDING)),
                        RefundRequestItem.yookassa_refund_id.set(yookassa_refund_id),
                        RefundRequestItem.updated_at.set(now),
                    ],
                    condition=RefundRequestItem.state == str(RefundState.RESERVED),
                )
            )
        current = self.get_refund_reservation(reservation.payment_id, reservation.request_id)
        assert current is not None
        return current

    def release_refund(
        self,
        payment: Payment,
        reservation: RefundReservation,
        state: RefundState,
        reason: str | None,
        now: datetime,
    ) -> Payment:
        """Close an open request and give its held amount back: YooKassa refused it, or the refund was
        applied without the request (the webhook won the race) and only the hold is left."""
        request_actions: list[Action] = [
            RefundRequestItem.state.set(str(state)),
            RefundRequestItem.updated_at.set(now),
            *_HOLD_ENDS,
        ]
        if reason:
            request_actions.append(RefundRequestItem.failure_reason.set(reason))
        self._transact(
            lambda t: (
                t.update(
                    self._reservation_key(reservation),
                    actions=request_actions,
                    condition=RefundRequestItem.state.is_in(*_OPEN_REFUND_STATES),
                ),
                t.update(
                    PaymentItem(payment_key(payment.payment_id), META),
                    actions=[
                        PaymentItem.refund_reserved.add(-reservation.amount),
                        PaymentItem.updated_at.set(now),
                        PaymentItem.version.add(1),
                    ],
                    condition=PaymentItem.version == payment.version,
                ),
            )
        )
        return self._reload(payment)

    # ---------------------------------------------------------------- idempotency and audit
    def get_idempotency(self, user_id: str, key: str) -> IdempotencyRecord | None:
        item = self._get(IdempotencyItem, f"IDEMPOTENCY#{user_id}#{key}")
        if item is None or (item.expires_at is not None and item.expires_at < datetime.now(UTC).timestamp()):
            return None  # TTL deletion is lazy; an expired record no longer counts
        return IdempotencyRecord(item.request_hash, int(item.status_code), item.body or "")

    def claim_idempotency(
        self, user_id: str, key: str, request_hash: str, ttl_hours: int
    ) -> IdempotencyRecord | None:
        """Take ``key`` for one running request: ``None`` when this call took it, else the record that
        holds it (answered, or claimed by a request still running). A conditional put: of two
        concurrent requests with the same key exactly one takes it."""
        for _ in range(3):
            now = datetime.now(UTC)
            lease = min(timedelta(seconds=IDEMPOTENCY_CLAIM_SECONDS), timedelta(hours=ttl_hours))
            item = IdempotencyItem(
                f"IDEMPOTENCY#{user_id}#{key}",
                META,
                kind="idempotency",
                request_hash=request_hash,
                status_code=IDEMPOTENCY_IN_PROGRESS,
                expires_at=int((now + lease).timestamp()),
            )
            # Free: no record, or one past its expiry that TTL has not deleted yet.
            condition = IdempotencyItem.pk.does_not_exist() | (
                IdempotencyItem.expires_at < int(now.timestamp())
            )
            try:
                self._call(lambda item=item, condition=condition: item.save(condition=condition))
                return None
            except _ConditionFailed:
                existing = self.get_idempotency(user_id, key)
                if existing is not None:
                    return existing
                # released or expired between the two calls: claim again
        raise ConcurrentUpdate()

    def complete_idempotency(
        self, user_id: str, key: str, request_hash: str, status_code: int, body: str, ttl_hours: int
    ) -> bool:
        """Store the answer on our claim; False when the claim is no longer ours (its lease ran out)."""
        item = IdempotencyItem(
            f"IDEMPOTENCY#{user_id}#{key}",
            META,
            kind="idempotency",
            request_hash=request_hash,
            status_code=status_code,
            body=body,
            expires_at=int((datetime.now(UTC) + timedelta(hours=ttl_hours)).timestamp()),
        )
        try:
            self._call(lambda: item.save(condition=self._idempotency_claimed(request_hash)))
        except _ConditionFailed:
            return False
        return True

    def release_idempotency(self, user_id: str, key: str, request_hash: str) -> None:
        """Give up our claim (the request failed): the client may retry with the same key at once."""
        item = IdempotencyItem(f"IDEMPOTENCY#{user_id}#{key}", META)
        with contextlib.suppress(_ConditionFailed):  # no longer ours: leave it to its holder
            self._call(lambda: item.delete(condition=self._idempotency_claimed(request_hash)))

    @staticmethod
    def _idempotency_claimed(request_hash: str) -> Any:
        return (IdempotencyItem.status_code == IDEMPOTENCY_IN_PROGRESS) & (
            IdempotencyItem.request_hash == request_hash
        )

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
    ) -> None:
        now = datetime.now(UTC)
        item = AuditItem(
            f"WEBHOOK#{object_id}",
            f"AUDIT#{_iso(now)}#{uuid.uuid4().hex[:8]}",
            kind="audit",
            event=event,
            object_id=object_id,
            fetched_status=fetched_status,
            outcome=outcome,
            source_ip=source_ip,
            payment_id=payment_id,
            received_at=now,
            expires_at=int((now + timedelta(days=ttl_days)).timestamp()),
        )
        self._call(item.save)

    def audit_of(self, object_id: str) -> list[dict[str, Any]]:
        items = self._call(lambda: list(AuditItem.query(f"WEBHOOK#{object_id}")))
        return [json.loads(json.dumps(item.attribute_values, default=str)) for item in items]

    # ---------------------------------------------------------------- internals
    def _payment_item(self, payment: Payment) -> PaymentItem:
        subject = payment.order_id if payment.type is PaymentType.ORDER else payment.subscription_id
        item = PaymentItem(
            payment_key(payment.payment_id),
            META,
            kind="payment",
            payment_type=str(payment.type),
            user_id=payment.user_id,
            amount=payment.amount,
            status=str(payment.status),
            description=payment.description,
            created_at=payment.created_at,
            updated_at=payment.created_at,
            order_id=payment.order_id,
            subscription_id=payment.subscription_id,
            plan_id=payment.plan_id,
            subscription_type=str(payment.subscription_type) if payment.subscription_type else None,
            refunded_amount=0,
            version=1,
            gsi1pk=f"USER#{payment.user_id}",
            gsi1sk=f"{str(payment.type).upper()}#{subject}#{_iso(payment.created_at)}",
        )
        if payment.status is PaymentStatus.PENDING:
            item.pending_shard = shard_of(payment.payment_id, self.pending_shards)
            item.pending_since = _iso(payment.created_at)
        return item

    @staticmethod
    def _forward_actions(status: PaymentStatus, now: datetime) -> list[Any]:
        return [
            PaymentItem.status.set(str(status)),
            PaymentItem.updated_at.set(now),
            PaymentItem.version.add(1),
            PaymentItem.pending_shard.remove(),  # leaves the sparse pending index
            PaymentItem.pending_since.remove(),
        ]

    @staticmethod
    def _expect(payment: Payment) -> Any:
        """Forward only: the payment is still in the status (and version) we decided from."""
        return (PaymentItem.status == str(payment.status)) & (PaymentItem.version == payment.version)

    @staticmethod
    def _reservation_key(reservation: RefundReservation) -> RefundRequestItem:
        return RefundRequestItem(payment_key(reservation.payment_id), f"REFUNDREQ#{reservation.request_id}")

    def _release_subject(self, payment: Payment) -> None:
        """Clear the order's / subscription's pointer at this payment, if it still points here."""
        if payment.type is PaymentType.ORDER:
            item: _Item = OrderItem(f"ORDER#{payment.order_id}", META)
            field = OrderItem.active_payment_id
        else:
            item = SubscriptionItem(f"SUBSCRIPTION#{payment.subscription_id}", META)
            field = SubscriptionItem.active_payment_id
        with contextlib.suppress(_ConditionFailed):  # it already points elsewhere: nothing to release
            self._call(lambda: item.update(actions=[field.remove()], condition=field == payment.payment_id))

    def _reload(self, payment: Payment) -> Payment:
        current = self.get_payment(payment.payment_id)
        assert current is not None
        return current

    def _get(self, model: type[ItemT], pk: str, sk: str = META) -> ItemT | None:
        try:
            return self._call(lambda: model.get(pk, sk, consistent_read=True))
        except DoesNotExist:
            return None

    def _transact(self, write: Any) -> None:
        try:
            with TransactWrite(connection=self._connection) as transaction:
                write(transaction)
        except TransactWriteError as exc:
            if exc.cause_response_code in CONDITION_FAILED:
                raise ConcurrentUpdate() from exc
            raise StoreUnavailable() from exc

    @staticmethod
    def _call(operation: Any) -> Any:
        try:
            return operation()
        except DoesNotExist:
            raise
        except PynamoDBException as exc:
            if exc.cause_response_code in CONDITION_FAILED:
                raise _ConditionFailed() from exc
            raise StoreUnavailable() from exc


_OPEN_REFUND_STATES = (str(RefundState.RESERVED), str(RefundState.PENDING))
HELD_REFUND_SHARD = "REFUND"
# A request stops holding money: it leaves the sparse pending index (in the write that ends the hold).
_HOLD_ENDS: tuple[Action, ...] = (
    RefundRequestItem.pending_shard.remove(),
    RefundRequestItem.pending_since.remove(),
)


class _ConditionFailed(Exception):
    """A conditional write lost: internal to this module."""


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _payment(item: PaymentItem) -> Payment:
    return Payment(
        payment_id=item.pk.removeprefix("PAYMENT#"),
        type=PaymentType(item.payment_type),
        user_id=item.user_id,
        amount=int(item.amount),
        status=PaymentStatus(item.status),
        created_at=item.created_at,
        description=item.description,
        order_id=item.order_id,
        subscription_id=item.subscription_id,
        plan_id=item.plan_id,
        subscription_type=SubscriptionType(item.subscription_type) if item.subscription_type else None,
        yookassa_id=item.yookassa_id,
        payment_url=item.payment_url,
        paid_at=item.paid_at,
        refunded_amount=int(item.refunded_amount or 0),
        refund_reserved=int(item.refund_reserved or 0),
        cancellation_reason=item.cancellation_reason,
        cancellation_party=item.cancellation_party,
        provider_checked_at=item.provider_checked_at,
        updated_at=item.updated_at,
        version=int(item.version or 0),
    )


def _reservation(item: RefundRequestItem) -> RefundReservation:
    return RefundReservation(
        payment_id=item.pk.removeprefix("PAYMENT#"),
        request_id=item.sk.removeprefix("REFUNDREQ#"),
        amount=int(item.amount),
        request_hash=item.request_hash,
        state=RefundState(item.state),
        created_at=item.created_at,
        yookassa_refund_id=item.yookassa_refund_id,
        failure_reason=item.failure_reason,
    )


def _order(item: OrderItem) -> Order:
    return Order(
        order_id=item.pk.removeprefix("ORDER#"),
        user_id=item.user_id,
        amount=int(item.amount),
        description=item.description,
        status=item.status,
        paid_payment_id=item.paid_payment_id,
        active_payment_id=item.active_payment_id,
        paid_at=item.paid_at,
        version=int(item.version or 0),
    )


def _subscription(item: SubscriptionItem) -> Subscription:
    return Subscription(
        subscription_id=item.pk.removeprefix("SUBSCRIPTION#"),
        user_id=item.user_id,
        plan_id=item.plan_id,
        subscription_type=SubscriptionType(item.subscription_type),
        status=SubscriptionStatus(item.status),
        start_date=item.start_date,
        end_date=item.end_date,
        active_payment_id=item.active_payment_id,
        last_payment_id=item.last_payment_id,
        version=int(item.version or 0),
    )
