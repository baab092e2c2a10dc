"""What only DynamoStore has: the items it writes (README "Data"), and the calls it makes for them.

The contract suite (test_store_contract.py) checks behaviour through the ports; these tests read the
table past the adapter, so a renamed attribute or a needless transaction cannot hide behind a round trip.
"""

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import botocore.client
import pytest
from pynamodb.exceptions import TransactWriteError

from local.template import table_definition
from payments.domain import (
    IDEMPOTENCY_IN_PROGRESS,
    AppliedRefund,
    Changes,
    IdempotencyRecord,
    PaymentStatus,
    RefundState,
    Update,
)
from payments.dynamodb import DynamoStore
from payments.dynamodb.keys import shard_of
from payments.dynamodb.table import meta_table
from payments.errors import StoreUnavailable
from tests.contract.conftest import Subject
from tests.contract.test_store_contract import T0, a_payment, a_request, advanced, an_order, at
from tests.support import raw_item, set_raw_attribute

Calls = list[tuple[str, dict[str, Any]]]


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[Calls]:
    """Every DynamoDB operation made from here on, with its parameters, as botocore sends them."""
    recorded: Calls = []
    make_api_call = botocore.client.BaseClient._make_api_call  # type: ignore[attr-defined]

    def recording(client: Any, operation: str, params: dict[str, Any]) -> Any:
        recorded.append((operation, params))
        return make_api_call(client, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
    yield recorded


def raw(subject: Subject, pk: str, sk: str = "META") -> dict[str, Any]:
    assert subject.endpoint is not None and subject.table is not None
    item = raw_item(subject.endpoint, subject.table, pk, sk)
    assert item is not None, (pk, sk)
    return item


def test_one_write_is_one_conditional_call_and_more_are_one_transaction(
    dynamodb: Subject, calls: Calls
) -> None:
    payment, order = a_payment(), an_order()
    dynamodb.store.commit(Changes(created=(order,)))
    dynamodb.store.commit(Changes(created=(payment,), updated=(advanced(order, active_payment_id="pay-1"),)))
    dynamodb.store.commit(Changes(updated=(advanced(payment, status=PaymentStatus.FAILED),)))
    assert [operation for operation, _ in calls] == ["PutItem", "TransactWriteItems", "UpdateItem"]
    [(_, put), (_, transaction), (_, update)] = calls
    assert put["ConditionExpression"] == "attribute_not_exists (#0)"
    assert [next(iter(entry)) for entry in transaction["TransactItems"]] == ["Put", "Update"]
    assert all(
        "ConditionExpression" in body for entry in transaction["TransactItems"] for body in entry.values()
    )
    assert "ConditionExpression" in update
    assert "ReturnValues" not in update  # never reads back what it wrote


def test_an_update_sets_only_what_changed_and_removes_what_became_absent(
    dynamodb: Subject, calls: Calls
) -> None:
    payment = a_payment()
    dynamodb.store.commit(Changes(created=(payment,)))
    calls.clear()
    dynamodb.store.commit(Changes(updated=(advanced(payment, status=PaymentStatus.PAID, paid_at=at(5)),)))
    [(_, update)] = calls
    assert names_in(update, "SET") == {"paidAt", "status", "version"}
    assert names_in(update, "REMOVE") == {"pendingShard", "pendingSince", "pendingUser"}
    assert names_in(update, "Condition") == {"version"}


def names_in(update: dict[str, Any], part: str) -> set[str]:
    """The attribute names one part of an UpdateItem touches: its SET or REMOVE clause, or its condition."""
    if part == "Condition":
        text = update["ConditionExpression"]
    else:
        clauses = dict(re.findall(r"(SET|REMOVE) ((?:(?!SET|REMOVE).)*)", update["UpdateExpression"]))
        text = clauses.get(part, "")
    return {update["ExpressionAttributeNames"][alias] for alias in re.findall(r"#\d+", text)}


def test_an_update_keeps_attributes_the_domain_does_not_model(dynamodb: Subject) -> None:
    order = an_order()
    dynamodb.store.commit(Changes(created=(order,)))
    assert dynamodb.endpoint is not None and dynamodb.table is not None
    set_raw_attribute(dynamodb.endpoint, dynamodb.table, "ORDER#o1", "crmNote", "VIP")
    dynamodb.store.commit(Changes(updated=(advanced(order, active_payment_id="pay-1"),)))
    assert raw(dynamodb, "ORDER#o1")["crmNote"] == "VIP"


def test_a_pending_payment_is_in_its_index_shard_until_it_settles(dynamodb: Subject) -> None:
    payment = a_payment(yookassa_id="yk-1")
    dynamodb.store.commit(Changes(created=(payment,)))
    item = raw(dynamodb, "PAYMENT#pay-1")
    assert item["kind"] == "payment" and item["type"] == "order" and item["userId"] == "alice"
    assert item["pendingShard"] == shard_of("pay-1", 8) and item["pendingShard"].startswith("PENDING#")
    assert item["pendingSince"] == "2026-03-01T12:00:00.123456Z"
    assert raw(dynamodb, "YOOKASSA#yk-1") == {
        "PK": "YOOKASSA#yk-1",
        "SK": "META",
        "kind": "yookassa",
        "paymentId": "pay-1",
    }
    dynamodb.store.commit(Changes(updated=(advanced(payment, status=PaymentStatus.PAID),)))
    assert "pendingShard" not in raw(dynamodb, "PAYMENT#pay-1")
    assert "pendingSince" not in raw(dynamodb, "PAYMENT#pay-1")


def test_a_refund_request_is_in_a_refund_shard_while_it_holds_money(dynamodb: Subject) -> None:
    request = a_request()
    dynamodb.store.commit(Changes(created=(request, AppliedRefund("pay-1", "rf-1", 50_000, T0))))
    item = raw(dynamodb, "PAYMENT#pay-1", "REFUNDREQ#req-1")
    assert item["kind"] == "refund_request" and item["state"] == "reserved" and item["requestHash"] == "hash-1"
    assert item["pendingShard"] == shard_of("req-1", 8, "REFUND") and item["pendingShard"].startswith("REFUND#")
    assert raw(dynamodb, "PAYMENT#pay-1", "REFUND#rf-1")["kind"] == "refund"
    done = replace(request, state=RefundState.SUCCEEDED, yookassa_refund_id="rf-1", updated_at=at(1))
    dynamodb.store.commit(Changes(updated=(Update(request, done),)))
    item = raw(dynamodb, "PAYMENT#pay-1", "REFUNDREQ#req-1")
    assert "pendingShard" not in item and item["yookassaRefundId"] == "rf-1"


def test_idempotency_records_expire_by_the_tables_ttl_attribute(dynamodb: Subject) -> None:
    claim = IdempotencyRecord(
        "h1", IDEMPOTENCY_IN_PROGRESS, "", datetime(2026, 3, 1, 12, 2, 0, 900_000, tzinfo=UTC)
    )
    dynamodb.store.claim_idempotency_key("alice", "k1", claim, T0)
    item = raw(dynamodb, "IDEMPOTENCY#alice#k1")
    assert item["expiresAt"] == int(datetime(2026, 3, 1, 12, 2, tzinfo=UTC).timestamp())
    assert item["statusCode"] == 0 and "body" not in item  # no answer yet


def test_items_of_the_old_layout_still_read_and_update(dynamodb: Subject) -> None:
    payment = a_payment()
    dynamodb.store.commit(Changes(created=(payment,)))
    assert dynamodb.endpoint is not None and dynamodb.table is not None
    set_raw_attribute(dynamodb.endpoint, dynamodb.table, "PAYMENT#pay-1", "GSI1PK", "USER#alice")
    assert dynamodb.store.get_payment("pay-1") == payment
    dynamodb.store.commit(Changes(updated=(advanced(payment, status=PaymentStatus.FAILED),)))
    assert raw(dynamodb, "PAYMENT#pay-1")["GSI1PK"] == "USER#alice"


def test_the_adapters_key_schema_is_the_templates() -> None:
    declared = table_definition(table_name="t")
    schema = meta_table("t").data
    assert schema["KeySchema"] == declared["KeySchema"]
    assert schema["AttributeDefinitions"] == declared["AttributeDefinitions"]
    assert [(i["IndexName"], i["KeySchema"]) for i in schema["GlobalSecondaryIndexes"]] == [
        (i["IndexName"], i["KeySchema"]) for i in declared["GlobalSecondaryIndexes"]
    ]


def test_a_table_that_cannot_be_reached_is_unavailable_not_a_crash(dynamodb_endpoint: str) -> None:
    with pytest.raises(StoreUnavailable):
        DynamoStore("no-such-table").get_payment("pay-1")


def test_a_transaction_that_times_out_is_unavailable_not_a_crash(
    dynamodb: Subject, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read timeout inside TransactWriteItems reaches PynamoDB as an error whose cause carries no
    usable response (PynamoDB's own ``cause_response_code`` then raises AttributeError): it must be a
    503 ``service_unavailable``, never a 500."""

    class NoResponse(Exception):
        response = None

    def times_out(*args: Any, **kwargs: Any) -> Any:
        raise TransactWriteError("Failed to write transaction items", cause=NoResponse())

    store = dynamodb.store
    assert isinstance(store, DynamoStore)
    monkeypatch.setattr(store.table._connection, "transact_write_items", times_out)
    payment = a_payment()
    with pytest.raises(StoreUnavailable):
        store.commit(Changes(created=(payment, an_order())))
