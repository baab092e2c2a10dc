"""54-FZ receipts end to end, against a sandbox shop with fiscalisation on: it refuses what YooKassa
refuses (a payment or refund without a valid receipt, lines that do not add up), so every receipt it
registers is one YooKassa would have taken.

Handlers in-process with real events, DynamoDB on moto's server, YooKassa = the sandbox over HTTP.
"""

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from local.yookassa_sandbox import start_sandbox
from tests.conftest import Stack
from tests.integration.support import (
    environment,
    notify,
    order_of,
    payment_of,
    refund,
    succeed,
    yookassa_id_of,
)
from tests.support import http_event, invoke

RECEIPTS_ON = {"RECEIPTS": "on", "DEFAULT_VAT_CODE": "1"}
CUSTOMER = {"email": "alice@example.com"}


@pytest.fixture
def fiscal(stack: Stack) -> Iterator[Stack]:
    """The same stack, its YooKassa a shop that sends 54-FZ receipts, and RECEIPTS=on."""
    with start_sandbox(fiscalization=True) as shop, environment(**RECEIPTS_ON, YOOKASSA_API_URL=shop.api_url):
        yield Stack(sandbox=shop, dynamodb=stack.dynamodb)


def receipts_of(stack: Stack, yookassa_id: str) -> list[dict[str, Any]]:
    url = f"{stack.sandbox.base_url}/sandbox/receipts"
    response = requests.get(url, params={"payment_id": yookassa_id}, timeout=10)
    response.raise_for_status()
    receipts: list[dict[str, Any]] = response.json()
    return receipts


def kopecks(item: dict[str, Any]) -> int:
    """An item's total in kopecks, from YooKassa's strings, without floats."""
    rubles, _, cents = item["amount"]["value"].partition(".")
    unit = int(rubles) * 100 + int(cents.ljust(2, "0"))
    whole, _, fraction = str(item["quantity"]).partition(".")
    assert int(fraction or "0") == 0, item  # whole quantities only
    return unit * int(whole)


def paid_order(stack: Stack, order_id: str = "order-1", amount: int = 150_000) -> tuple[str, str]:
    stack.put_order(order_id, "alice", amount)
    status, created = stack.call(
        "CreateOrderPaymentFunction", body={"orderId": order_id, "amount": amount, "customer": CUSTOMER}
    )
    assert status == 200, created
    yookassa_id = yookassa_id_of(created["paymentUrl"])
    succeed(stack, yookassa_id)
    assert notify(stack, "payment.succeeded", yookassa_id)[0] == 200
    return created["paymentId"], yookassa_id


def test_without_a_contact_a_create_is_422_and_nothing_reaches_yookassa(fiscal: Stack) -> None:
    fiscal.put_order("order-1", "alice", 150_000)

    status, body = fiscal.create_order_payment("order-1", 150_000)

    assert (status, body["error"]["code"]) == (422, "receipt_contact_required")
    assert fiscal.provider_payments() == []
    assert order_of("order-1").active_payment_id is None


def test_the_tokens_email_claim_is_the_receipts_contact(fiscal: Stack) -> None:
    fiscal.put_order("order-1", "alice", 150_000)
    event = http_event("CreateOrderPaymentFunction", body={"orderId": "order-1", "amount": 150_000})
    event["requestContext"]["authorizer"]["jwt"]["claims"]["email"] = "alice@example.com"

    status, created = invoke("CreateOrderPaymentFunction", event)

    assert status == 200, created
    succeed(fiscal, yookassa_id_of(created["paymentUrl"]))  # YooKassa registers it once paid
    [receipt] = receipts_of(fiscal, yookassa_id_of(created["paymentUrl"]))
    assert receipt["customer"] == {"email": "alice@example.com"}


def test_an_order_payment_is_a_prepayment_receipt_that_adds_up(fiscal: Stack) -> None:
    payment_id, yookassa_id = paid_order(fiscal)

    [receipt] = receipts_of(fiscal, yookassa_id)

    assert receipt["type"] == "payment"
    assert {item["payment_mode"] for item in receipt["items"]} == {"full_prepayment"}
    assert sum(kopecks(item) for item in receipt["items"]) == 150_000
    assert payment_of(payment_id).receipt is not None


def test_partial_refunds_carry_refund_receipts_that_add_up_to_each_refund(fiscal: Stack) -> None:
    fiscal.put_order("order-1", "alice", 100_001)
    lines = [
        {"description": "Уборка квартиры", "quantity": 1, "amount": 70_000},
        {"description": "Мытьё окон", "quantity": 3, "amount": 10_000},
        {"description": "Химчистка", "quantity": 1, "amount": 1},
    ]
    status, body = fiscal.call(
        "PutOrderFunction",
        path_params={"orderId": "order-1"},
        body={"userId": "alice", "amount": 100_001, "description": "Уборка", "receiptItems": lines},
        sub="ops",
        scopes=("payments/admin",),
    )
    assert status == 200, body
    status, created = fiscal.call(
        "CreateOrderPaymentFunction", body={"orderId": "order-1", "amount": 100_001, "customer": CUSTOMER}
    )
    assert status == 200, created
    yookassa_id = yookassa_id_of(created["paymentUrl"])
    succeed(fiscal, yookassa_id)
    assert notify(fiscal, "payment.succeeded", yookassa_id)[0] == 200

    for amount in (33_333, 50_000, 16_668):
        status, body = refund(fiscal, created["paymentId"], amount, key=f"part-{amount}")
        assert status == 200, body

    receipts = receipts_of(fiscal, yookassa_id)
    refunds = [r for r in receipts if r["type"] == "refund"]
    assert sorted(sum(kopecks(item) for item in r["items"]) for r in refunds) == [16_668, 33_333, 50_000]
    assert payment_of(created["paymentId"]).status == "refunded"


def test_completing_a_prepaid_order_registers_exactly_one_settlement_receipt(fiscal: Stack) -> None:
    _, yookassa_id = paid_order(fiscal)

    def complete() -> tuple[int, Any]:
        return fiscal.call(
            "CompleteOrderFunction", path_params={"orderId": "order-1"}, sub="ops", scopes=("payments/admin",)
        )

    first, again = complete(), complete()

    assert first[0] == again[0] == 200
    assert first[1]["status"] == "completed"
    settlements = [r for r in receipts_of(fiscal, yookassa_id) if r.get("settlements")]
    assert len(settlements) == 1
    [settlement] = settlements
    assert settlement["settlements"][0]["type"] == "prepayment"
    assert {item["payment_mode"] for item in settlement["items"]} == {"full_payment"}
    assert sum(kopecks(item) for item in settlement["items"]) == 150_000


def test_an_order_completed_after_a_partial_refund_settles_only_what_is_left(fiscal: Stack) -> None:
    """Found by make chaos: the settlement receipt used to settle the whole prepayment."""
    payment_id, yookassa_id = paid_order(fiscal)
    status, body = refund(fiscal, payment_id, 40_000, key="part")
    assert status == 200, body
    status, body = fiscal.call(
        "CompleteOrderFunction", path_params={"orderId": "order-1"}, sub="ops", scopes=("payments/admin",)
    )
    assert (status, body["status"]) == (200, "completed"), body

    [settlement] = [r for r in receipts_of(fiscal, yookassa_id) if r.get("settlements")]
    assert sum(kopecks(item) for item in settlement["items"]) == 110_000
    assert settlement["settlements"][0]["amount"]["value"] == "1100.00"


def test_a_subscription_period_is_a_full_payment_receipt(fiscal: Stack) -> None:
    fiscal.put_plan("basic", 99_000, 990_000)
    body = {
        "subscriptionId": "sub-1",
        "subscriptionType": "monthly",
        "planId": "basic",
        "amount": 99_000,
        "customer": {"phone": "+7 (900) 123-45-67"},
    }
    status, created = fiscal.call("CreateSubscriptionPaymentFunction", body=body)
    assert status == 200, created
    succeed(fiscal, yookassa_id_of(created["paymentUrl"]))

    [receipt] = receipts_of(fiscal, yookassa_id_of(created["paymentUrl"]))

    assert receipt["customer"] == {"phone": "79001234567"}
    [item] = receipt["items"]
    assert (item["description"], item["payment_mode"], kopecks(item)) == (
        "Подписка «Базовый», 1 месяц",
        "full_payment",
        99_000,
    )
