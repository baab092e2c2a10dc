"""Pricing an order (the admin's ``PUT /admin/orders/{orderId}``): a paid order's price and owner are
history."""

from dataclasses import replace

import pytest

from payments.domain import Order, OrderStatus, Update
from payments.domain.catalog import price_order
from payments.errors import PaidOrderChanged

from .builders import CREATED, assert_writes, order


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
def test_a_paid_orders_price_and_owner_can_not_change(user_id, amount) -> None:
    paid = order(status=OrderStatus.PAID, paid_payment_id="pay-1", paid_at=CREATED, active_payment_id=None)
    with pytest.raises(PaidOrderChanged):
        price_order(paid, "o1", user_id, amount, "Уборка квартиры")


def test_a_paid_orders_description_may_change() -> None:
    paid = order(status=OrderStatus.PAID, paid_payment_id="pay-1", paid_at=CREATED, active_payment_id=None)
    after, _ = price_order(paid, "o1", paid.user_id, paid.amount, "Генеральная уборка")
    assert after == replace(paid, description="Генеральная уборка", version=paid.version + 1)
    assert (after.status, after.paid_payment_id, after.paid_at) == (OrderStatus.PAID, "pay-1", CREATED)
