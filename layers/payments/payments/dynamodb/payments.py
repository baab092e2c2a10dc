"""Payments: by id, by YooKassa's id, the pending ones (for the reconciler), and the poll rate limit."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from payments.domain import Payment
from payments.dynamodb import keys
from payments.dynamodb.items import PaymentItem, YooKassaLookupItem
from payments.dynamodb.mapping import payment_of
from payments.dynamodb.table import USER_PENDING_INDEX, Patch, Table
from payments.errors import ConcurrentUpdate


@dataclass(frozen=True)
class Payments:
    table: Table
    pending_shards: int

    def get_payment(self, payment_id: str) -> Payment | None:
        item = self.table.get(PaymentItem, keys.payment_key(payment_id))
        return payment_of(item) if item else None

    def find_payment_by_yookassa_id(self, yookassa_id: str) -> Payment | None:
        """Two consistent reads: the ``YOOKASSA#`` lookup item, then the payment it names."""
        lookup = self.table.get(YooKassaLookupItem, keys.yookassa_key(yookassa_id))
        return self.get_payment(lookup.payment_id) if lookup else None

    def pending_payments(self, older_than: datetime) -> Iterator[Payment]:
        """Every shard of the sparse PendingIndex (only pending payments carry its attributes), merged
        oldest first."""
        for item in self.table.pending_oldest_first(
            PaymentItem, keys.PENDING_SHARD, self.pending_shards, older_than
        ):
            yield payment_of(item)

    def payable_pending_count(self, user_id: str, created_after: datetime) -> int:
        """The user's pending payments created after ``created_after``: one COUNT query of the sparse,
        keys-only UserPendingIndex (eventually consistent)."""
        since = PaymentItem.pending_since > keys.iso(created_after)
        return self.table.count(user_id, since, index=USER_PENDING_INDEX)

    def claim_provider_check(self, payment_id: str, now: datetime, checked_before: datetime) -> bool:
        """One conditional UpdateItem of ``providerCheckedAt`` alone (no version: it is not a state
        change, and ``commit`` never overwrites it unless a decision changed it)."""
        checked = PaymentItem.provider_checked_at
        free = checked.does_not_exist() | (checked < checked_before)
        claim = Patch(
            (keys.payment_key(payment_id), keys.META), (checked.set(now),), PaymentItem.pk.exists() & free
        )
        try:
            self.table.write([claim])
        except ConcurrentUpdate:
            return False
        return True
