"""Clients' ``Idempotency-Key`` records: conditional puts and deletes; the caller passes ``now``.

``expiresAt`` is the table's TTL attribute, in whole seconds (rounded down); DynamoDB deletes expired
items lazily, so an expired record still in the table counts as absent.
"""

from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime

from pynamodb.expressions.condition import Condition

from payments.domain import IDEMPOTENCY_IN_PROGRESS, IdempotencyRecord
from payments.dynamodb import keys
from payments.dynamodb.items import IdempotencyItem
from payments.dynamodb.table import Delete, Put, Table
from payments.errors import ConcurrentUpdate


@dataclass(frozen=True)
class IdempotencyKeys:
    table: Table

    def get_idempotency_record(self, user_id: str, key: str, now: datetime) -> IdempotencyRecord | None:
        item = self.table.get(IdempotencyItem, keys.idempotency_key(user_id, key))
        record = record_of(item) if item else None
        return None if record is None or record.expires_at < now else record

    def claim_idempotency_key(self, user_id: str, key: str, record: IdempotencyRecord, now: datetime) -> bool:
        """Of concurrent claims of one key exactly one writes: the key is free when it has no record or
        one that expired before ``now``."""
        expired = IdempotencyItem.expires_at < keys.epoch_seconds_ceil(now)
        return self._put_if(record_item(user_id, key, record), IdempotencyItem.pk.does_not_exist() | expired)

    def complete_idempotency_key(self, user_id: str, key: str, record: IdempotencyRecord) -> bool:
        return self._put_if(record_item(user_id, key, record), _claimed_by(record.request_hash))

    def release_idempotency_key(self, user_id: str, key: str, request_hash: str) -> None:
        release = Delete((keys.idempotency_key(user_id, key), keys.META), _claimed_by(request_hash))
        with suppress(ConcurrentUpdate):  # not our claim (any more): leave it to its holder
            self.table.write([release])

    def _put_if(self, item: IdempotencyItem, condition: Condition) -> bool:
        try:
            self.table.write([Put(item, condition)])
        except ConcurrentUpdate:
            return False
        return True


def _claimed_by(request_hash: str) -> Condition:
    """A claim still in progress, made by the request with this hash."""
    return (IdempotencyItem.status_code == IDEMPOTENCY_IN_PROGRESS) & (
        IdempotencyItem.request_hash == request_hash
    )


def record_item(user_id: str, key: str, record: IdempotencyRecord) -> IdempotencyItem:
    return IdempotencyItem(
        keys.idempotency_key(user_id, key),
        keys.META,
        kind="idempotency",
        request_hash=record.request_hash,
        status_code=record.status_code,
        body=record.body or None,  # a claim has no answer yet
        expires_at=keys.epoch_seconds(record.expires_at),
    )


def record_of(item: IdempotencyItem) -> IdempotencyRecord:
    assert item.expires_at is not None, "every idempotency item expires"
    return IdempotencyRecord(
        request_hash=item.request_hash,
        status_code=int(item.status_code),
        body=item.body or "",
        expires_at=keys.from_epoch_seconds(int(item.expires_at)),
    )
