"""54-FZ receipts in the use cases, on the fakes: a contact before anything happens, the receipt a
payment carries, and the one settlement receipt of a completed order."""

import pytest

from payments.domain import Caller
from payments.domain.receipts import Contact
from payments.errors import OrderNotPaid, OrderRefunded, ReceiptContactRequired
from payments.schemas import CreateOrderPaymentRequest, PutOrderRequest
from payments.services.admin import put_order
from payments.services.orders import complete_order
from payments.services.payments import create_order_payment
from payments.services.refunds import refund_payment
from payments.settings import Settings
from tests.fake_yookassa import FakeYooKassa
from tests.fakes import InMemoryStore
from tests.services.conftest import ALICE, NOW, SETTINGS, pay_order, settle

RECEIPTS = Settings(
    table_name="payments", frontend_url="https://app.example", receipts="on", default_vat_code=11
)
ORDER_REQUEST = CreateOrderPaymentRequest(orderId="o-1", amount=150000)
BY_TOKEN = Caller("alice", email="alice@example.com")


RECEIPTS = Settings(
    table_name="payments", frontend_url="https://app.example", receipts="on", default_vat_code=11
)
ORDER_REQUEST = CreateOrderPaymentRequest(orderId="o-1", amount=150000)


def test_with_receipts_on_a_create_without_a_contact_is_refused_before_anything_happens(
    store: InMemoryStore, yookassa: FakeYooKassa
) -> None:
    with pytest.raises(ReceiptContactRequired):
        create_order_payment(store, yookassa, RECEIPTS, ALICE, ORDER_REQUEST, NOW)
    assert (store.payments, yookassa.calls) == ({}, [])


def test_a_receipt_goes_to_the_bodys_contact_else_the_tokens(
    store: InMemoryStore, yookassa: FakeYooKassa
) -> None:
    by_token = Caller("alice", email="alice@example.com")
    created = create_order_payment(store, yookassa, RECEIPTS, by_token, ORDER_REQUEST, NOW)
    receipt = store.payments[created.payment_id].receipt
    assert receipt is not None
    assert (receipt.customer, receipt.total, receipt.lines[0].vat_code) == (
        Contact(email="alice@example.com"),
        150000,
        11,
    )

    put_order(store, "o-2", PutOrderRequest(userId="alice", amount=5000, description="Окна"))
    body = CreateOrderPaymentRequest.model_validate(
        {"orderId": "o-2", "amount": 5000, "customer": {"phone": "+7 (900) 123-45-67"}}
    )
    other = create_order_payment(store, yookassa, RECEIPTS, BY_TOKEN, body, NOW)
    assert store.payments[other.payment_id].receipt.customer == Contact(phone="79001234567")  # type: ignore[union-attr]


def test_completing_a_paid_order_registers_one_settlement_receipt(
    store: InMemoryStore, yookassa: FakeYooKassa
) -> None:
    with pytest.raises(OrderNotPaid):
        complete_order(store, yookassa, RECEIPTS, "o-1", NOW)
    payment_id = create_order_payment(store, yookassa, RECEIPTS, BY_TOKEN, ORDER_REQUEST, NOW).payment_id
    settle(store, yookassa, payment_id)

    first = complete_order(store, yookassa, RECEIPTS, "o-1", NOW)
    again = complete_order(store, yookassa, RECEIPTS, "o-1", NOW)

    assert first.status == again.status == "completed"
    [(paid_id, receipt)] = yookassa.receipts.values()
    assert (paid_id, receipt.settled_prepayment, receipt.total) == (payment_id, 150000, 150000)
    assert ("create_receipt", "settlement-o-1") in yookassa.calls


def test_an_order_whose_money_was_given_back_cannot_be_completed(
    store: InMemoryStore, yookassa: FakeYooKassa
) -> None:
    payment_id = pay_order(store, yookassa)
    settle(store, yookassa, payment_id)
    refund_payment(store, yookassa, payment_id, None, None, requested_by="ops", now=NOW)
    with pytest.raises(OrderRefunded):
        complete_order(store, yookassa, SETTINGS, "o-1", NOW)
