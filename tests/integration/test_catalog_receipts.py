"""54-FZ receipts at the catalog and order edges, through the handlers: what an order's and a plan's
receipts say (``vatCode``, ``receiptItems``), and completing a paid order (``POST
/admin/orders/{orderId}/complete``) with its one settlement receipt. DynamoDB is moto's server, YooKassa
the sandbox over HTTP. (What ``GET /health`` says of receipts: test_admin_and_health.py.)
"""

from typing import Any

import pytest

from tests.conftest import Stack
from tests.integration.support import (
    environment,
    notify,
    order_of,
    order_payment,
    payment_of,
    refund,
    succeed,
    yookassa_id_of,
)

ADMIN = {"sub": "ops", "scopes": ("payments/admin",)}
LINES = [
    {"description": "Генеральная уборка, 2 комнаты", "quantity": 1, "amount": 120_000, "vatCode": 11},
    {"description": "Мойка окна", "quantity": 3, "amount": 10_000},
]


def put_order(stack: Stack, order_id: str = "order-1", **fields: Any) -> tuple[int, Any]:
    body = {"userId": "alice", "amount": 150_000, "description": "Уборка квартиры", **fields}
    return stack.call("PutOrderFunction", path_params={"orderId": order_id}, body=body, **ADMIN)


def complete(stack: Stack, order_id: str = "order-1", **caller: Any) -> tuple[int, Any]:
    return stack.call("CompleteOrderFunction", path_params={"orderId": order_id}, **(caller or ADMIN))


def paid_order(stack: Stack, order_id: str = "order-1") -> tuple[str, str]:
    payment_id, yookassa_id = order_payment(stack, order_id, 150_000)
    succeed(stack, yookassa_id)
    assert notify(stack, "payment.succeeded", yookassa_id) == (200, {"outcome": "applied"})
    return payment_id, yookassa_id


# ---------------------------------------------------------------- the catalog
def test_an_order_takes_its_vat_code_and_receipt_lines_and_shows_them(stack: Stack) -> None:
    status, view = put_order(stack, vatCode=4, receiptItems=LINES)

    assert status == 200, view
    assert view["vatCode"] == 4
    assert view["receiptItems"] == [
        {"description": "Генеральная уборка, 2 комнаты", "quantity": 1, "amount": 120_000, "vatCode": 11},
        {"description": "Мойка окна", "quantity": 3, "amount": 10_000, "vatCode": 4},  # the order's code
    ]
    stored = order_of("order-1")
    assert (stored.vat_code, [line.vat_code for line in stored.receipt_lines]) == (4, [11, 4])


def test_a_line_without_a_vat_code_of_an_order_without_one_gets_the_services_default(stack: Stack) -> None:
    with environment(DEFAULT_VAT_CODE="11"):
        status, view = put_order(stack, receiptItems=LINES)

    assert status == 200, view
    assert "vatCode" not in view  # the order's own code stays unset: DEFAULT_VAT_CODE when paid
    assert [item["vatCode"] for item in view["receiptItems"]] == [11, 11]


def test_a_put_replaces_the_lines_and_without_them_the_order_is_one_line_again(stack: Stack) -> None:
    assert put_order(stack, vatCode=4, receiptItems=LINES)[0] == 200

    status, view = put_order(stack)

    assert status == 200, view
    assert "receiptItems" not in view and "vatCode" not in view
    assert order_of("order-1").receipt_lines == ()
    assert put_order(stack, receiptItems=[])[1].get("receiptItems") is None  # empty = none


def test_lines_that_do_not_add_up_to_the_amount_are_422_and_change_nothing(stack: Stack) -> None:
    assert put_order(stack)[0] == 200
    short = [{**LINES[0]}, {**LINES[1], "quantity": 2}]  # 120 000 + 2 x 10 000 = 140 000

    status, body = put_order(stack, receiptItems=short)

    assert status == 422
    assert body["error"]["code"] == "validation_error"
    assert body["error"]["details"] == [
        {"field": "receiptItems", "problem": "lines add up to 140000 kopecks, not 150000"}
    ]
    assert order_of("order-1").receipt_lines == ()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"vatCode": 13}, "vatCode"),
        ({"vatCode": 0}, "vatCode"),
        ({"vatCode": "1"}, "vatCode"),
        ({"receiptItems": [{**LINES[0], "vatCode": 13}]}, "receiptItems.0.vatCode"),
        ({"receiptItems": [{**LINES[0], "quantity": 0}]}, "receiptItems.0.quantity"),
        ({"receiptItems": [{**LINES[0], "quantity": 1.5}]}, "receiptItems.0.quantity"),
        ({"receiptItems": [{**LINES[0], "amount": 0}]}, "receiptItems.0.amount"),
        ({"receiptItems": [{**LINES[0], "description": "x" * 129}]}, "receiptItems.0.description"),
        ({"receiptItems": [{**LINES[0], "description": "   "}]}, "receiptItems.0.description"),
        ({"receiptItems": [{**LINES[0], "vat_code": 1}]}, "receiptItems.0.vat_code"),
        ({"receiptItems": [{"description": "Уборка", "quantity": 1, "amount": 1}] * 81}, "receiptItems"),
    ],
)
def test_a_bad_vat_code_or_line_is_422(stack: Stack, fields: dict[str, Any], field: str) -> None:
    status, body = put_order(stack, **fields)

    assert status == 422, body
    assert body["error"]["code"] == "validation_error"
    assert field in {detail["field"] for detail in body["error"]["details"]}, body


def test_a_plan_takes_its_vat_code_and_shows_it(stack: Stack) -> None:
    prices = {"monthly": 99_000, "yearly": 990_000}
    status, view = stack.call(
        "PutPlanFunction",
        path_params={"planId": "basic"},
        body={"name": "Базовый", "prices": prices, "vatCode": 7},
        **ADMIN,
    )
    assert (status, view.get("vatCode")) == (200, 7), view

    status, body = stack.call(
        "PutPlanFunction",
        path_params={"planId": "basic"},
        body={"name": "Базовый", "prices": prices, "vatCode": 13},
        **ADMIN,
    )
    assert (status, body["error"]["code"]) == (422, "validation_error")


def test_a_payment_carries_the_orders_lines_in_its_receipt(stack: Stack) -> None:
    assert put_order(stack, vatCode=4, receiptItems=LINES)[0] == 200
    with environment(RECEIPTS="on", TAX_SYSTEM_CODE="2"):
        status, created = stack.call(
            "CreateOrderPaymentFunction",
            body={"orderId": "order-1", "amount": 150_000, "customer": {"email": "alice@example.com"}},
            sub="alice",
        )

    assert status == 200, created
    receipt = payment_of(created["paymentId"]).receipt
    assert receipt is not None
    assert [(line.quantity, line.amount, line.vat_code) for line in receipt.lines] == [
        (1, 120_000, 11),
        (3, 10_000, 4),
    ]
    assert (receipt.customer.email, receipt.payment_mode, receipt.tax_system_code) == (
        "alice@example.com",
        "full_prepayment",
        2,
    )


# ---------------------------------------------------------------- completing an order
def test_a_paid_order_is_completed_once_and_again_is_a_no_op(stack: Stack) -> None:
    payment_id, _ = paid_order(stack)

    status, view = complete(stack)

    assert status == 200, view
    assert view["status"] == "completed" and view["paidPaymentId"] == payment_id
    assert "settlementReceiptId" not in view  # receipts off: nothing to register
    stored = order_of("order-1")
    assert stored.status == "completed" and stored.completed_at is not None
    assert complete(stack) == (200, view)  # the same answer, nothing written
    assert order_of("order-1") == stored
    _, polled = stack.status(payment_id)
    assert polled["status"] == "paid"  # the payment itself is still what YooKassa says


def test_an_order_that_is_not_paid_cannot_be_completed(stack: Stack) -> None:
    order_payment(stack)  # pending

    status, body = complete(stack)

    assert (status, body["error"]["code"]) == (409, "order_not_paid")
    assert order_of("order-1").status == "new"


def test_an_order_whose_money_was_given_back_cannot_be_completed(stack: Stack) -> None:
    payment_id, _ = paid_order(stack)
    status, accepted = refund(stack, payment_id)
    assert status == 200, accepted
    if accepted["paymentStatus"] != "refunded":  # confirmed by YooKassa's notification
        stack.sandbox_post(f"/sandbox/refunds/{accepted['refundId']}/succeed", {})
        notify(stack, "refund.succeeded", accepted["refundId"])

    status, body = complete(stack)

    assert (status, body["error"]["code"]) == (409, "order_refunded")
    assert order_of("order-1").status == "refunded"  # a full refund takes the order back


def test_completing_needs_the_admin_scope_and_an_order_that_exists(stack: Stack) -> None:
    paid_order(stack)

    assert complete(stack, sub="alice")[1]["error"]["code"] == "forbidden"
    assert complete(stack, "order-2")[1]["error"]["code"] == "not_found"
    assert order_of("order-1").status == "paid"


def test_with_receipts_on_completing_registers_one_settlement_receipt(stack: Stack) -> None:
    assert put_order(stack, vatCode=4, receiptItems=LINES)[0] == 200
    with environment(RECEIPTS="on"):
        status, created = stack.call(
            "CreateOrderPaymentFunction",
            body={"orderId": "order-1", "amount": 150_000, "customer": {"email": "alice@example.com"}},
            sub="alice",
        )
        assert status == 200, created
        yookassa_id = yookassa_id_of(created["paymentUrl"])
        succeed(stack, yookassa_id)
        assert notify(stack, "payment.succeeded", yookassa_id)[0] == 200

        first = complete(stack)
        again = complete(stack)

    assert first[0] == 200, first
    assert again == first
    receipt_id = first[1]["settlementReceiptId"]
    assert order_of("order-1").settlement_receipt_id == receipt_id
    settlements = [
        r for r in stack.sandbox_get(f"/sandbox/receipts?payment_id={yookassa_id}") if r.get("settlements")
    ]
    assert [r["id"] for r in settlements] == [receipt_id]
    [settlement] = settlements
    assert settlement["settlements"] == [
        {"type": "prepayment", "amount": {"value": "1500.00", "currency": "RUB"}}
    ]
    assert {item["payment_mode"] for item in settlement["items"]} == {"full_payment"}


def test_an_order_paid_before_receipts_were_on_completes_without_a_settlement_receipt(stack: Stack) -> None:
    paid_order(stack)  # RECEIPTS=off: its payment carries no receipt to settle
    with environment(RECEIPTS="on"):
        status, view = complete(stack)

    assert (status, view["status"]) == (200, "completed"), view
    assert "settlementReceiptId" not in view
