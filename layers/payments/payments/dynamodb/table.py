"""The one place that calls DynamoDB: reads, conditional writes, transactions, and what their failures mean.

Every item kind shares one PynamoDB ``Connection``, so one botocore client serves the whole table
(PynamoDB would build one per model class, ~0.15 s each on a cold start). The models in ``items`` only
(de)serialize: calls go through the connection's public low-level API with the table's name, which keeps
the table name out of class-level state. That API needs the table's key schema up front, and the only
PynamoDB internal this package touches is the ``MetaTable`` that carries it (``meta_table`` below; it
mirrors ``PaymentsTable`` in template.yaml, as tests/contract/test_dynamodb_layout.py checks).

Failures: a lost condition (``ConditionalCheckFailed``, a transaction canceled by a condition or a
concurrent transaction) is ``ConcurrentUpdate``; anything else PynamoDB raises is ``StoreUnavailable``.
"""

import heapq
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pynamodb.connection import Connection
from pynamodb.connection.base import MetaTable
from pynamodb.constants import ITEM, ITEMS, LAST_EVALUATED_KEY
from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.operand import Path
from pynamodb.expressions.update import Action

from payments.dynamodb import keys
from payments.dynamodb.items import Item
from payments.dynamodb.keys import META
from payments.errors import ConcurrentUpdate, StoreUnavailable

PENDING_INDEX = "PendingIndex"
USER_PENDING_INDEX = "UserPendingIndex"  # sparse, keys only: a user's pending payments by creation
USER_SUBSCRIPTION_INDEX = "UserSubscriptionIndex"  # a user's subscriptions (only they carry its key)
# Bounded like every external call: a throttled or unreachable table fails fast, not at Lambda's timeout.
CONNECT_TIMEOUT_SECONDS = 2
READ_TIMEOUT_SECONDS = 3
MAX_RETRY_ATTEMPTS = 2
# Why a transaction may be canceled without anything being wrong with the table: a condition of ours
# failed, or another transaction held one of its items. Throttling and the like are unavailability.
_CONCURRENCY_REASONS = frozenset({"ConditionalCheckFailed", "TransactionConflict"})


@dataclass(frozen=True, slots=True)
class Put:
    """PutItem: the whole item, where ``condition`` holds (``None``: unconditionally)."""

    item: Item
    condition: Condition | None = None

    @property
    def key(self) -> tuple[str, str]:
        return self.item.pk, self.item.sk


@dataclass(frozen=True, slots=True)
class Patch:
    """UpdateItem: ``actions`` on the item at ``key``, where ``condition`` holds."""

    key: tuple[str, str]
    actions: tuple[Action, ...]
    condition: Condition | None = None


@dataclass(frozen=True, slots=True)
class Delete:
    key: tuple[str, str]
    condition: Condition | None = None


Write = Put | Patch | Delete


@dataclass
class Table:
    """One DynamoDB table (its name and the shared connection); region None: botocore resolves it."""

    name: str
    region: str | None = None
    _connection: Connection = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._connection = Connection(
            region=self.region,
            connect_timeout_seconds=CONNECT_TIMEOUT_SECONDS,
            read_timeout_seconds=READ_TIMEOUT_SECONDS,
            max_retry_attempts=MAX_RETRY_ATTEMPTS,
        )
        self._connection.add_meta_table(meta_table(self.name))

    def get[I: Item](self, model: type[I], pk: str, sk: str = META) -> I | None:
        """One consistent GetItem; ``None`` when the item is absent."""
        try:
            data = self._connection.get_item(self.name, pk, sk, consistent_read=True)
        except PynamoDBException as exc:
            raise StoreUnavailable() from exc
        return model.from_raw_data(data[ITEM]) if data.get(ITEM) else None

    def query[I: Item](
        self,
        model: type[I],
        hash_key: str,
        range_key_condition: Condition | None = None,
        *,
        filter_condition: Condition | None = None,
        index: str | None = None,
    ) -> Iterator[I]:
        """Every item of one partition (of the table, consistently; or of an index), page by page."""
        start: dict[str, Any] | None = None
        while True:
            try:
                page = self._connection.query(
                    self.name,
                    hash_key,
                    range_key_condition,
                    filter_condition,
                    consistent_read=index is None,
                    exclusive_start_key=start,
                    index_name=index,
                )
            except PynamoDBException as exc:
                raise StoreUnavailable() from exc
            yield from (model.from_raw_data(raw) for raw in page.get(ITEMS, ()))
            start = page.get(LAST_EVALUATED_KEY)
            if not start:
                return

    def pending_oldest_first[I: Item](
        self, model: type[I], prefix: str, shards: int, before: datetime
    ) -> Iterator[I]:
        """The PendingIndex's ``<prefix>#<n>`` shards (``keys.shard_of``), items with ``pendingSince``
        before ``before``, merged oldest first: a flood in one shard cannot starve older items in another."""
        since = Path("pendingSince") < keys.iso(before)
        queries = [
            self.query(model, f"{prefix}#{shard}", since, index=PENDING_INDEX) for shard in range(shards)
        ]
        return heapq.merge(*queries, key=lambda item: str(getattr(item, "pending_since", None) or ""))

    def count(self, hash_key: str, range_key_condition: Condition, *, index: str) -> int:
        """How many items of one index partition match (``Select=COUNT``: no item is read out)."""
        total, start = 0, None
        while True:
            try:
                page = self._connection.query(
                    self.name,
                    hash_key,
                    range_key_condition,
                    index_name=index,
                    exclusive_start_key=start,
                    select="COUNT",
                )
            except PynamoDBException as exc:
                raise StoreUnavailable() from exc
            total += int(page.get("Count", 0))
            start = page.get(LAST_EVALUATED_KEY)
            if not start:
                return total

    def write(self, writes: Sequence[Write]) -> None:
        """All of ``writes`` or none: one conditional call for one write (half a transaction's cost),
        else one TransactWriteItems. ``ConcurrentUpdate`` when a condition failed."""
        keys = [write.key for write in writes]
        if len(set(keys)) != len(keys):
            raise ValueError(f"one write per item, got {sorted(keys)}")  # DynamoDB refuses it too
        try:
            if len(writes) == 1:
                self._write_one(writes[0])
            elif writes:
                self._transact(writes)
        except PynamoDBException as exc:
            if _lost_a_condition(exc):
                raise ConcurrentUpdate() from exc
            raise StoreUnavailable() from exc

    def _write_one(self, write: Write) -> None:
        connection, name = self._connection, self.name
        match write:
            case Put(item, condition):
                attributes = stored_attributes(item)
                connection.put_item(name, item.pk, item.sk, attributes=attributes, condition=condition)
            case Patch((pk, sk), actions, condition):
                connection.update_item(name, pk, sk, actions=list(actions), condition=condition)
            case Delete((pk, sk), condition):
                connection.delete_item(name, pk, sk, condition=condition)

    def _transact(self, writes: Sequence[Write]) -> None:
        kwargs = self._connection.get_operation_kwargs
        puts, updates, deletes = [], [], []
        for write in writes:
            match write:
                case Put(item, condition):
                    attributes = stored_attributes(item)
                    puts.append(
                        kwargs(
                            self.name, item.pk, item.sk, key=ITEM, attributes=attributes, condition=condition
                        )
                    )
                case Patch((pk, sk), actions, condition):
                    updates.append(kwargs(self.name, pk, sk, actions=list(actions), condition=condition))
                case Delete((pk, sk), condition):
                    deletes.append(kwargs(self.name, pk, sk, condition=condition))
        self._connection.transact_write_items(
            condition_check_items=[], delete_items=deletes, put_items=puts, update_items=updates
        )


def stored_attributes(item: Item) -> dict[str, Any]:
    """The item as DynamoDB stores it (``{name: {type: value}}``, absent values left out), less its key."""
    attributes = item.serialize()
    del attributes["PK"], attributes["SK"]
    return attributes


def _lost_a_condition(exc: PynamoDBException) -> bool:
    """Whether DynamoDB refused a condition of ours (or a concurrent transaction held an item): a lost
    race. Read defensively: a timeout's cause carries no response, and PynamoDB's own
    ``cause_response_code`` raises AttributeError on one whose response is ``None`` (a 500, not a 503)."""
    response = getattr(exc.cause, "response", None)
    error = response.get("Error") if isinstance(response, dict) else None
    code = error.get("Code") if isinstance(error, dict) else None
    if code == "ConditionalCheckFailedException":
        return True
    if code != "TransactionCanceledException" or not isinstance(exc, TransactWriteError):
        return False
    return {reason.code for reason in exc.cancellation_reasons if reason} <= _CONCURRENCY_REASONS


def meta_table(name: str) -> MetaTable:
    """The key schema PynamoDB's low-level calls need (the table's keys and its indexes')."""
    return MetaTable(
        {
            "TableName": name,
            "KeySchema": [
                {"AttributeName": "PK", "KeyType": "HASH"},
                {"AttributeName": "SK", "KeyType": "RANGE"},
            ],
            "AttributeDefinitions": [
                {"AttributeName": attribute, "AttributeType": "S"}
                for attribute in ("PK", "SK", "pendingShard", "pendingSince", "pendingUser", "subscriptionUser")
            ],
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": PENDING_INDEX,
                    "KeySchema": [
                        {"AttributeName": "pendingShard", "KeyType": "HASH"},
                        {"AttributeName": "pendingSince", "KeyType": "RANGE"},
                    ],
                },
                {
                    "IndexName": USER_PENDING_INDEX,
                    "KeySchema": [
                        {"AttributeName": "pendingUser", "KeyType": "HASH"},
                        {"AttributeName": "pendingSince", "KeyType": "RANGE"},
                    ],
                },
                {
                    "IndexName": USER_SUBSCRIPTION_INDEX,
                    "KeySchema": [
                        {"AttributeName": "subscriptionUser", "KeyType": "HASH"},
                        {"AttributeName": "PK", "KeyType": "RANGE"},
                    ],
                },
            ],
        }
    )
