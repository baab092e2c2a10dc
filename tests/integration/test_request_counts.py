"""How many DynamoDB requests each operation makes, counted at botocore (every PynamoDB call goes
through it): the figures the cost model rests on (``make bench``), held here as counts, never timings."""

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import botocore.client
import pytest

from tests.conftest import Stack
from tests.integration.support import environment, notify, yookassa_id_of


@pytest.fixture
def dynamodb_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    calls: list[str] = []
    make_api_call = botocore.client.BaseClient._make_api_call  # type: ignore[attr-defined]

    def counting(client: Any, operation: str, params: dict[str, Any]) -> Any:
        if client.meta.service_model.service_name == "dynamodb":
            calls.append(operation)
        return make_api_call(client, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", counting)
    yield calls


def counted(calls: list[str], action: Callable[[], Any]) -> Counter[str]:
    calls.clear()
    action()
    return Counter(calls)


def test_each_operation_makes_the_fewest_dynamodb_requests(stack: Stack, dynamodb_calls: list[str]) -> None:
    stack.put_order("rc-1", "alice", 150_000)
    created: dict[str, Any] = {}

    def create() -> None:
        status, body = stack.create_order_payment("rc-1", 150_000)
        assert status == 200, body
        created.update(body)

    # The order; the caller's payable payments (a keys-only COUNT, MAX_PENDING_PAYMENTS_PER_USER); our
    # payment with the order's pointer, written before YooKassa is asked; YooKassa's id with its lookup.
    assert counted(dynamodb_calls, create) == {"GetItem": 1, "Query": 1, "TransactWriteItems": 2}
    # The same payment handed out again: the order and the payment it points at.
    assert counted(dynamodb_calls, lambda: stack.create_order_payment("rc-1", 150_000)) == {"GetItem": 2}
    payment_id = created["paymentId"]
    assert counted(dynamodb_calls, lambda: stack.status(payment_id)) == {"GetItem": 1}

    yookassa_id = yookassa_id_of(created["paymentUrl"])
    stack.sandbox_post(f"/sandbox/payments/{yookassa_id}/succeed", {})
    # The payment (by the paymentId in YooKassa's metadata), its order, one transaction: the payment, the
    # order and the notification's audit entry.
    assert counted(dynamodb_calls, lambda: notify(stack, "payment.succeeded", yookassa_id)) == {
        "GetItem": 2,
        "TransactWriteItems": 1,
    }
    # A duplicate: the payment, and the audit entry of a notification that changed nothing.
    assert counted(dynamodb_calls, lambda: notify(stack, "payment.succeeded", yookassa_id)) == {
        "GetItem": 1,
        "PutItem": 1,
    }
    assert counted(dynamodb_calls, lambda: stack.status(payment_id)) == {"GetItem": 1}


def test_a_stale_poll_writes_its_claim_only_when_it_asks_yookassa(
    stack: Stack, dynamodb_calls: list[str]
) -> None:
    stack.put_order("rc-2", "alice", 150_000)
    status, created = stack.create_order_payment("rc-2", 150_000)
    assert status == 200, created
    with environment(STALE_PENDING_SECONDS="0", PROVIDER_REFRESH_INTERVAL_SECONDS="3600"):
        # Asks YooKassa: the claim (one conditional UpdateItem), then the payment is still pending.
        assert counted(dynamodb_calls, lambda: stack.status(created["paymentId"])) == {
            "GetItem": 1,
            "UpdateItem": 1,
        }
        for _ in range(3):  # within the interval: the read alone, no claim attempted (a failed one is billed)
            assert counted(dynamodb_calls, lambda: stack.status(created["paymentId"])) == {"GetItem": 1}
