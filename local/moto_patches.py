"""A fix to moto's DynamoDB for the local stack, the test suite and the bench: transactions without copies of
whole tables. Our code is not touched; only moto's backend class is, for the whole process.
"""

import copy
from collections.abc import Callable
from typing import Any

# Set on the patched method (and copied by ``functools.wraps`` onto any wrapper of it): already patched.
PATCHED_MARK = "_item_level_undo"


def item_level_transactions() -> Callable[[], None] | None:
    """Make moto's TransactWriteItems cost what DynamoDB's does: independent of the table's size.

    To roll a failed transaction back, moto 5 deep-copies every table it touches, whole, once per item:
    a two-item transaction on a table of 1,000 items took ~75 ms here, 2,000 items ~190 ms, so every
    create, webhook and reconciled payment got slower as the tables filled, and a backlog of N payments
    cost O(N^2). This keeps moto's semantics (all or nothing) with an undo log of the items the
    transaction names instead; the rest of moto is untouched. The undo is only isolated from other
    requests if moto's operations run one at a time (``local.dynamodb.isolated_dynamodb_transactions``
    applies this patch under its lock). Returns the undo of the patch; None if moto's internals differ
    (moto is then left as it is) or the patch is already in place (its owner undoes it).
    """
    try:
        from moto.dynamodb import models
        from moto.dynamodb.models import DynamoDBBackend
        from moto.dynamodb.models.table import Table
    except ImportError:
        return None
    original = DynamoDBBackend.transact_write_items
    if getattr(original, PATCHED_MARK, False):
        return None

    class NoTableCopies:
        """``copy`` as moto's module sees it during a transaction: tables are not copied (the undo log
        below restores what changed), anything else is."""

        @staticmethod
        def deepcopy(value: Any, memo: Any = None) -> Any:
            return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        undo = []
        for entry in transact_items:
            _, op = next(iter(entry.items()))
            table = self.tables.get(op.get("TableName"))
            if table is None:
                continue
            try:
                hash_key, range_key = self.get_keys_value(table, op.get("Key") or op.get("Item") or {})
            except Exception:  # noqa: BLE001, S112 - a malformed item: moto's own call reports it
                continue
            before = table.get_item(hash_key, range_key)
            undo.append((table, hash_key, range_key, copy.deepcopy(before)))
        models.copy = NoTableCopies  # type: ignore[assignment]
        try:
            original(self, transact_items)
        except BaseException:
            for table, hash_key, range_key, before in reversed(undo):
                if before is None:
                    table.delete_item(hash_key, range_key)
                elif range_key is not None:
                    table.items[hash_key][range_key] = before
                else:
                    table.items[hash_key] = before
            raise
        finally:
            models.copy = copy

    setattr(transact_write_items, PATCHED_MARK, True)
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]

    def restore() -> None:
        DynamoDBBackend.transact_write_items = original  # type: ignore[method-assign]

    return restore
