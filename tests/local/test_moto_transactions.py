"""The local stack's moto under concurrent writers (the gateway's worker processes): conditions are checked
and written at once, transactions are all or nothing, and a cancelled one copies no table."""

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from local.dynamodb import LocalDynamoDB, ensure_table
from local.moto_patches import PATCHED_MARK, item_level_transactions

WRITERS = 8


@pytest.fixture
def local_moto(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[LocalDynamoDB, str]]:
    """``make dev``'s own moto (not a session's endpoint), with a fresh table as the template declares it."""
    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB", raising=False)
    dynamodb = LocalDynamoDB.start()
    table = f"concurrency-{uuid.uuid4().hex[:8]}"
    try:
        ensure_table(dynamodb.client, table)
        yield dynamodb, table
        dynamodb.client.delete_table(TableName=table)
    finally:
        dynamodb.stop()


def clients(endpoint: str, count: int) -> list[Any]:
    """One client (its own connections) per writer, as separate worker processes have."""
    config = Config(retries={"max_attempts": 1}, max_pool_connections=2)
    return [
        boto3.session.Session().client(
            "dynamodb", endpoint_url=endpoint, region_name="eu-central-1", config=config
        )
        for _ in range(count)
    ]


def at_once(count: int, write: Any) -> list[str]:
    """Run ``write(i)`` in ``count`` threads released together; each one's outcome."""
    barrier = threading.Barrier(count)

    def one(i: int) -> str:
        barrier.wait()
        try:
            write(i)
        except ClientError as exc:
            return str(exc.response["Error"]["Code"])
        return "won"

    with ThreadPoolExecutor(count) as executor:
        return list(executor.map(one, range(count)))


def test_eight_concurrent_conditional_writes_on_one_item_have_exactly_one_winner(
    local_moto: tuple[LocalDynamoDB, str],
) -> None:
    dynamodb, table = local_moto
    writers = clients(dynamodb.endpoint, WRITERS)
    key = {"PK": {"S": "ORDER#race"}, "SK": {"S": "META"}}
    dynamodb.client.put_item(TableName=table, Item={**key, "status": {"S": "new"}, "version": {"N": "1"}})

    def pay(i: int) -> None:
        writers[i].update_item(
            TableName=table,
            Key=key,
            UpdateExpression="SET #status = :paid, #version = :next, winner = :me",
            ConditionExpression="#version = :seen",
            ExpressionAttributeNames={"#status": "status", "#version": "version"},
            ExpressionAttributeValues={
                ":paid": {"S": "paid"},
                ":seen": {"N": "1"},
                ":next": {"N": "2"},
                ":me": {"N": str(i)},
            },
        )

    outcomes = at_once(WRITERS, pay)

    assert sorted(outcomes) == ["ConditionalCheckFailedException"] * (WRITERS - 1) + ["won"]
    item = dynamodb.client.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
    assert item["version"] == {"N": "2"}
    assert item["winner"] == {"N": str(outcomes.index("won"))}


def test_eight_concurrent_transactions_on_one_item_have_exactly_one_winner_and_no_partial_write(
    local_moto: tuple[LocalDynamoDB, str],
) -> None:
    dynamodb, table = local_moto
    writers = clients(dynamodb.endpoint, WRITERS)
    key = {"PK": {"S": "ORDER#race"}, "SK": {"S": "META"}}
    dynamodb.client.put_item(TableName=table, Item={**key, "status": {"S": "new"}})

    def pay(i: int) -> None:
        writers[i].transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {"PK": {"S": f"PAYMENT#{i}"}, "SK": {"S": "META"}}}},
                {
                    "Update": {
                        "TableName": table,
                        "Key": key,
                        "UpdateExpression": "SET #status = :paid, paymentId = :me",
                        "ConditionExpression": "#status = :new",
                        "ExpressionAttributeNames": {"#status": "status"},
                        "ExpressionAttributeValues": {
                            ":paid": {"S": "paid"},
                            ":new": {"S": "new"},
                            ":me": {"S": f"PAYMENT#{i}"},
                        },
                    }
                },
            ]
        )

    outcomes = at_once(WRITERS, pay)

    assert sorted(outcomes) == ["TransactionCanceledException"] * (WRITERS - 1) + ["won"]
    winner = outcomes.index("won")
    order = dynamodb.client.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
    assert order["paymentId"] == {"S": f"PAYMENT#{winner}"}
    payments = [
        i
        for i in range(WRITERS)
        if "Item"
        in dynamodb.client.get_item(TableName=table, Key={"PK": {"S": f"PAYMENT#{i}"}, "SK": {"S": "META"}})
    ]
    assert payments == [winner], "a cancelled transaction wrote nothing"


def test_a_cancelled_transaction_restores_its_items_without_copying_the_table(
    local_moto: tuple[LocalDynamoDB, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    dynamodb, table = local_moto
    client = dynamodb.client
    copies: list[Table] = []

    def counted(self: Table, memo: Any = None) -> Table:
        copies.append(self)
        return self

    monkeypatch.setattr(Table, "__deepcopy__", counted, raising=False)
    a = {"PK": {"S": "a"}, "SK": {"S": "META"}}
    client.put_item(TableName=table, Item={**a, "v": {"N": "1"}})

    with pytest.raises(client.exceptions.TransactionCanceledException):
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {**a, "v": {"N": "2"}}}},
                {"Put": {"TableName": table, "Item": {"PK": {"S": "b"}, "SK": {"S": "META"}}}},
                {
                    "ConditionCheck": {
                        "TableName": table,
                        "Key": {"PK": {"S": "c"}, "SK": {"S": "META"}},
                        "ConditionExpression": "attribute_exists(PK)",
                    }
                },
            ]
        )

    assert client.get_item(TableName=table, Key=a)["Item"] == {**a, "v": {"N": "1"}}
    assert "Item" not in client.get_item(TableName=table, Key={"PK": {"S": "b"}, "SK": {"S": "META"}})
    assert copies == [], "moto's whole-table copy is replaced by an item-level undo"
    assert getattr(DynamoDBBackend.transact_write_items, PATCHED_MARK, False)


def test_the_item_level_undo_is_applied_once_and_its_owner_restores_it() -> None:
    from moto.dynamodb.models import DynamoDBBackend

    before = DynamoDBBackend.transact_write_items
    undo = item_level_transactions()
    try:
        if getattr(before, PATCHED_MARK, False):  # a session's isolation already holds the patch
            assert undo is None
            return
        assert undo is not None
        assert item_level_transactions() is None, "already in place"
    finally:
        if undo is not None:
            undo()
    assert DynamoDBBackend.transact_write_items is before
