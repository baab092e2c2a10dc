"""Refund requests and applied refunds: both live in their payment's partition (README "Data")."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from payments.domain import RefundRequest
from payments.dynamodb import keys
from payments.dynamodb.items import AppliedRefundItem, RefundRequestItem
from payments.dynamodb.mapping import refund_request_of
from payments.dynamodb.table import Table


@dataclass(frozen=True)
class RefundRequests:
    table: Table
    pending_shards: int

    def get_refund_request(self, payment_id: str, request_id: str) -> RefundRequest | None:
        sort_key = keys.refund_request_sort_key(request_id)
        item = self.table.get(RefundRequestItem, keys.payment_key(payment_id), sort_key)
        return refund_request_of(item) if item else None

    def find_refund_request(self, payment_id: str, yookassa_refund_id: str) -> RefundRequest | None:
        """Our request behind one YooKassa refund: a consistent query of the payment's own partition
        (a handful of items), filtered on ``yookassaRefundId``; no index needed."""
        items = self.table.query(
            RefundRequestItem,
            keys.payment_key(payment_id),
            RefundRequestItem.sk.startswith(keys.REFUND_REQUEST),
            filter_condition=RefundRequestItem.yookassa_refund_id == yookassa_refund_id,
        )
        return next((refund_request_of(item) for item in items), None)

    def refund_recorded(self, payment_id: str, refund_id: str) -> bool:
        """Whether this YooKassa refund was applied to the payment already (its item exists)."""
        sort_key = keys.applied_refund_sort_key(refund_id)
        return self.table.get(AppliedRefundItem, keys.payment_key(payment_id), sort_key) is not None

    def held_refund_requests(self, older_than: datetime) -> Iterator[RefundRequest]:
        """The PendingIndex's ``REFUND#<n>`` shards: only requests that hold money carry them."""
        shards = self.table.pending_oldest_first(
            RefundRequestItem, keys.HELD_REFUND_SHARD, self.pending_shards, older_than
        )
        for item in shards:
            yield refund_request_of(item)
