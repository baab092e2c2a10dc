"""The webhook audit trail: one item per accepted notification, in its YooKassa object's partition."""

import secrets
from dataclasses import dataclass

from payments.domain import AuditEntry
from payments.dynamodb import keys
from payments.dynamodb.items import AuditItem
from payments.dynamodb.table import Put, Table


@dataclass(frozen=True)
class Audit:
    table: Table

    def add_audit_entry(self, entry: AuditEntry) -> None:
        """An unconditional put: the sort key's random suffix keeps two entries of one microsecond apart.
        (An entry that goes with a decision is written by ``commit``, in the same request.)"""
        self.table.write([Put(entry_item(entry, secrets.token_hex(4)))])


def entry_item(entry: AuditEntry, suffix: str) -> AuditItem:
    return AuditItem(
        keys.webhook_key(entry.object_id),
        keys.audit_sort_key(entry.received_at, suffix),
        kind="audit",
        event=entry.event,
        object_id=entry.object_id,
        fetched_status=entry.fetched_status,
        outcome=entry.outcome,
        source_ip=entry.source_ip,
        payment_id=entry.payment_id,
        received_at=entry.received_at,
        expires_at=keys.epoch_seconds(entry.expires_at),
    )


def entry_of(item: AuditItem) -> AuditEntry:
    assert item.expires_at is not None, "every audit item expires"
    return AuditEntry(
        event=item.event,
        object_id=item.object_id,
        fetched_status=item.fetched_status,
        outcome=item.outcome,
        source_ip=item.source_ip,
        payment_id=item.payment_id,
        received_at=item.received_at,
        expires_at=keys.from_epoch_seconds(int(item.expires_at)),
    )
