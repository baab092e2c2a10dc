"""Pricing an order (the admin's ``PUT /admin/orders/{orderId}``): a paid order's price and owner are
history; a refunded order is set up anew, payable again. Completing an order (``POST
/admin/orders/{orderId}/complete``): only a paid order whose money was not given back."""

from dataclasses import replace
from typing import Any

import pytest

from payments.domain import Changes, Order, OrderStatus, PaymentStatus, Update
from payments.domain.catalog import complete_order, price_order
from payments.domain.payments import start_order_payment
from payments.domain.receipts import ReceiptLine
from payments.errors import (
    ConcurrentUpdate,
    OrderAlreadyPaid,
    OrderNotPaid,
    OrderRefunded,
    PaidOrderChanged,
    ValidationFailed,
)

from .builders import CREATED, NOW, assert_writes, order, order_payment, paid_payment


def test_a_new_order_is_created_new_at_version_one() -> None:
    created, changes = price_order(None, "o9", "alice", 150_000, "Окна")
    assert created == Order("o9", "alice", 150_000, "Окна", status=OrderStatus.NEW, version=1)
    assert_writes(changes, created=[created])


def test_repricing_an_unpaid_order_keeps_its_payment_fields() -> None:
    """GIVEN an unpaid order pointing at a pending payment WHEN its price, owner and description change THEN
    only those change (version + 1); the pointer stays, and settle will see the payment no longer fits."""
    before = order(active_payment_id="pay-1", version=3)
    after, changes = price_order(before, "o1", "bob", 99_000, "Окна")
    assert after == replace(before, user_id="bob", amount=99_000, description="Окна", version=4)
    assert_writes(changes, updated=[Update(before, after)])


@pytest.mark.parametrize(("user_id", "amount"), [("alice", 1), ("bob", 150_000), ("bob", 1)])
@pytest.mark.parametrize("status", [OrderStatus.PAID, OrderStatus.COMPLETED])
def test_a_paid_orders_price_and_owner_can_not_change(user_id, amount, status) -> None:
    paid = order(status=status, paid_payment_id="pay-1", paid_at=CREATED, active_payment_id=None)
    with pytest.raises(PaidOrderChanged):
        price_order(paid, "o1", user_id, amount, "Уборка квартиры")


def test_a_paid_orders_description_may_change() -> None:
    paid = order(status=OrderStatus.PAID, paid_payment_id="pay-1", paid_at=CREATED, active_payment_id=None)
    after, _ = price_order(paid, "o1", paid.user_id, paid.amount, "Генеральная уборка")
    assert after == replace(paid, description="Генеральная уборка", version=paid.version + 1)
    assert (after.status, after.paid_payment_id, after.paid_at) == (OrderStatus.PAID, "pay-1", CREATED)


# ---------------------------------------------------------------- a refunded order, set up anew
LINES = (ReceiptLine("Окна", 2, 40_000, 4), ReceiptLine("Пол", 1, 19_000, 4))


def refunded_order(**fields: Any) -> Order:
    """``o1`` paid by ``pay-1``, completed, then refunded in full: every payment field still set."""
    refunded = order(
        status=OrderStatus.REFUNDED,
        paid_payment_id="pay-1",
        paid_at=CREATED,
        active_payment_id="pay-7",
        completed_at=CREATED,
        settlement_receipt_id="rc-1",
        vat_code=3,
        version=8,
    )
    return replace(refunded, **fields)


@pytest.mark.parametrize(
    ("user_id", "amount", "vat_code", "lines"),
    [
        ("alice", 150_000, None, ()),  # the same price and owner
        ("bob", 99_000, 4, LINES),  # another owner, price, VAT code and receipt lines
    ],
    ids=["as it was", "changed"],
)
def test_pricing_a_refunded_order_sets_it_up_anew_as_a_new_order(user_id, amount, vat_code, lines) -> None:
    """GIVEN an order whose payment was refunded in full WHEN the admin PUTs it (even unchanged) THEN it is
    ``new`` again, with no paid payment, paid time, pointer, completion or settlement receipt, and the
    price, owner, description, VAT code and lines given; one update from the order as stored."""
    before = refunded_order()
    after, changes = price_order(
        before, "o1", user_id, amount, "Окна и пол", vat_code=vat_code, receipt_lines=lines
    )
    assert after == Order(
        "o1",
        user_id,
        amount,
        "Окна и пол",
        status=OrderStatus.NEW,
        paid_payment_id=None,
        active_payment_id=None,
        paid_at=None,
        version=9,
        vat_code=vat_code,
        receipt_lines=lines,
        completed_at=None,
        settlement_receipt_id=None,
    )
    assert_writes(changes, updated=[Update(before, after)])


def test_a_refunded_orders_receipt_lines_must_still_add_up_to_its_new_price() -> None:
    with pytest.raises(ValidationFailed):
        price_order(refunded_order(), "o1", "alice", 99_001, "Окна", receipt_lines=LINES)


def test_a_refunded_order_can_not_start_a_payment_until_it_is_set_up_anew() -> None:
    with pytest.raises(OrderAlreadyPaid):
        start_order_payment(refunded_order(), order_payment(payment_id="pay-9", version=1))
    anew, _ = price_order(refunded_order(), "o1", "alice", 150_000, "Окна")
    payment = order_payment(payment_id="pay-9", version=1)
    assert_writes(
        start_order_payment(anew, payment),
        created=[payment],
        updated=[
            Update(
                anew,
                replace(anew, active_payment_id="pay-9", last_payment_id="pay-9", version=anew.version + 1),
            )
        ],
    )


# ---------------------------------------------------------------- complete_order
PAID = {"status": OrderStatus.PAID, "paid_payment_id": "pay-1", "paid_at": CREATED, "active_payment_id": None}


def test_a_paid_order_is_completed_once_with_its_settlement_receipt() -> None:
    before = order(**PAID)
    after, changes = complete_order(before, paid_payment(), NOW, "rc-1")
    assert after == replace(
        before, status=OrderStatus.COMPLETED, completed_at=NOW, settlement_receipt_id="rc-1", version=4
    )
    assert_writes(changes, updated=[Update(before, after)])
    assert complete_order(after, paid_payment(), NOW, "rc-2") == (after, Changes())


def test_an_order_whose_refund_is_in_flight_is_completed_only_once_it_is_settled() -> None:
    """Found by make chaos: what is left to settle is unknown while YooKassa has not answered a refund."""
    before = order(**PAID)
    with pytest.raises(ConcurrentUpdate):
        complete_order(before, paid_payment(refund_reserved=150_000), NOW, None)
    with pytest.raises(ConcurrentUpdate):
        complete_order(before, paid_payment(refund_reserved=1), NOW, None)
    after, _ = complete_order(before, paid_payment(refunded_amount=1), NOW, None)
    assert after.status is OrderStatus.COMPLETED


@pytest.mark.parametrize(
    "paid_by",
    [None, paid_payment(), paid_payment(status=PaymentStatus.REFUNDED, refunded_amount=150_000)],
    ids=["no payment", "its payment paid", "its payment refunded"],
)
def test_a_refunded_order_can_not_be_completed(paid_by) -> None:
    with pytest.raises(OrderRefunded):
        complete_order(refunded_order(), paid_by, NOW, None)


def test_a_paid_order_whose_payment_was_refunded_can_not_be_completed() -> None:
    refunded = paid_payment(status=PaymentStatus.REFUNDED, refunded_amount=150_000)
    with pytest.raises(OrderRefunded):
        complete_order(order(**PAID), refunded, NOW, None)


@pytest.mark.parametrize(
    ("before", "paid_by"),
    [(order(), paid_payment()), (order(**PAID), None)],
    ids=["an unpaid order", "a paid order without its payment"],
)
def test_only_a_paid_order_with_its_payment_can_be_completed(before, paid_by) -> None:
    with pytest.raises(OrderNotPaid):
        complete_order(before, paid_by, NOW, None)
