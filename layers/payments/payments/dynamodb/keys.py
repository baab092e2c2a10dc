"""The table's keys (README "Data"): one function per item kind, and the pending index's write shards.

Every item of the table is addressed here and nowhere else, so a key's spelling cannot drift between
the item that writes it and the query that reads it.
"""

import hashlib
from datetime import UTC, datetime, timedelta

META = "META"  # the sort key of an entity's own item (payment, order, plan, ...)
PENDING_SHARD = "PENDING"  # pending payments in the PendingIndex: ``PENDING#<n>``
HELD_REFUND_SHARD = "REFUND"  # refund requests that hold money, in the same index: ``REFUND#<n>``
RENEWAL_SHARD = "RENEW"  # active and past-due subscriptions, by the end of their paid time: ``RENEW#<n>``
REFUND_REQUEST = "REFUNDREQ#"  # the sort-key prefix of refund requests in their payment's partition
APPLIED_REFUND = "REFUND#"  # ... and of applied refunds

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)


def payment_key(payment_id: str) -> str:
    return f"PAYMENT#{payment_id}"


def yookassa_key(yookassa_id: str) -> str:
    """The lookup item that makes a YooKassa payment id unique and finds its payment."""
    return f"YOOKASSA#{yookassa_id}"


def order_key(order_id: str) -> str:
    return f"ORDER#{order_id}"


def plan_key(plan_id: str) -> str:
    return f"PLAN#{plan_id}"


def subscription_key(subscription_id: str) -> str:
    return f"SUBSCRIPTION#{subscription_id}"


def refund_request_sort_key(request_id: str) -> str:
    return f"{REFUND_REQUEST}{request_id}"


def applied_refund_sort_key(refund_id: str) -> str:
    return f"{APPLIED_REFUND}{refund_id}"


def idempotency_key(user_id: str, key: str) -> str:
    return f"IDEMPOTENCY#{user_id}#{key}"


def webhook_key(object_id: str) -> str:
    """The partition of one YooKassa object's audit entries."""
    return f"WEBHOOK#{object_id}"


def audit_sort_key(received_at: datetime, suffix: str) -> str:
    """``AUDIT#<time>#<suffix>``: in time order, and two entries of the same microsecond do not collide."""
    return f"AUDIT#{iso(received_at)}#{suffix}"


def shard_of(key: str, shards: int, prefix: str = PENDING_SHARD) -> str:
    """The pending index's write shard for ``key``: ``PENDING#<n>`` (payments), ``REFUND#<n>`` (held
    refund requests). Spread over ``shards`` partitions so no one index partition takes every write."""
    digest = hashlib.sha256(key.encode()).digest()
    return f"{prefix}#{digest[0] % shards}"


def iso(moment: datetime) -> str:
    """A fixed-width UTC time (``pendingSince``, audit sort keys): string order is time order."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def epoch_seconds(moment: datetime) -> int:
    """Whole seconds since the epoch, rounded down: the table's TTL attribute ``expiresAt``."""
    return (moment - _EPOCH) // _SECOND


def epoch_seconds_ceil(moment: datetime) -> int:
    """Whole seconds, rounded up: for whole seconds ``s``, ``s < moment`` exactly when ``s < this``."""
    whole, rest = divmod(moment - _EPOCH, _SECOND)
    return whole + (1 if rest else 0)


def from_epoch_seconds(seconds: int) -> datetime:
    return _EPOCH + timedelta(seconds=seconds)
