"""``commit``: one decision's ``Changes`` written all or nothing, exactly as the domain decided them.

Created items are put where no item has their key yet. An update writes only what the decision changed
(the attributes whose stored form differs between ``before`` and ``after``; those that became absent
are removed), conditioned on the item still being at ``before``'s version (a refund request: its
state). So attributes the domain does not model, and ``providerCheckedAt`` that ``claim_provider_check``
writes without a version, survive every update. Nothing is re-read: the decision's values are the state.
"""

import secrets

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.operand import Path, Value

from payments.domain import AppliedRefund, Changes, Entity, Order, Payment, RefundRequest, Subscription, Update
from payments.dynamodb.audit import entry_item
from payments.dynamodb.items import Item
from payments.dynamodb.mapping import (
    applied_refund_item,
    order_item,
    payment_item,
    refund_request_item,
    subscription_item,
    yookassa_lookup_item,
)
from payments.dynamodb.table import Patch, Put, Table, Write, stored_attributes

AnyUpdate = Update[Payment] | Update[Order] | Update[Subscription] | Update[RefundRequest]


def commit(table: Table, changes: Changes, shards: int) -> None:
    """Write ``changes`` (its audit entries too): ``ConcurrentUpdate`` (and nothing written) when an item
    to create exists or an item to update moved on. A payment that gets its YooKassa id also creates the
    id's lookup item, in the same write, so one YooKassa payment can never belong to two of ours."""
    writes: list[Write] = []
    for entity in changes.created:
        writes.append(Put(_item(entity, shards), _absent()))
        if isinstance(entity, Payment) and entity.yookassa_id is not None:
            writes.append(_lookup(entity))
    for update in changes.updated:
        writes.append(_patch(update, shards))
        if isinstance(update.after, Payment) and _attaches_yookassa_id(update):
            writes.append(_lookup(update.after))
    # Audit entries: unconditional puts (the sort key's random suffix keeps two entries apart).
    writes.extend(Put(entry_item(entry, secrets.token_hex(4))) for entry in changes.noted)
    table.write(writes)


def _item(entity: Entity, shards: int) -> Item:
    match entity:
        case Payment():
            return payment_item(entity, shards)
        case Order():
            return order_item(entity)
        case Subscription():
            return subscription_item(entity, shards)
        case RefundRequest():
            return refund_request_item(entity, shards)
        case AppliedRefund():
            return applied_refund_item(entity)
    raise TypeError(f"not an entity the store writes: {entity!r}")


def _patch(update: AnyUpdate, shards: int) -> Patch:
    before, after = _item(update.before, shards), _item(update.after, shards)
    if (before.pk, before.sk) != (after.pk, after.sk):
        raise ValueError(f"an update must keep its item: {before.pk} {before.sk} -> {after.pk} {after.sk}")
    old, new = stored_attributes(before), stored_attributes(after)
    actions = [Path(name).set(Value(value)) for name, value in new.items() if old.get(name) != value]
    actions += [Path(name).remove() for name in old if name not in new]
    if not actions:
        raise ValueError(f"an update that changes nothing: {after.pk} {after.sk}")
    guard = "state" if isinstance(update.before, RefundRequest) else "version"
    return Patch((after.pk, after.sk), tuple(actions), Path(guard) == Value(old[guard]))


def _attaches_yookassa_id(update: AnyUpdate) -> bool:
    before, after = update.before, update.after
    assert isinstance(before, Payment) and isinstance(after, Payment)
    return before.yookassa_id is None and after.yookassa_id is not None


def _lookup(payment: Payment) -> Put:
    assert payment.yookassa_id is not None
    return Put(yookassa_lookup_item(payment.yookassa_id, payment.payment_id), _absent())


def _absent() -> Condition:
    """The item must not exist yet (checked on its whole key: ``PK`` is always there when it does)."""
    return Path("PK").does_not_exist()
