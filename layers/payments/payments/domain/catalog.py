"""The price sources: orders (priced by the rest of the app) and plans. Pure."""

from dataclasses import replace

from payments.domain.model import Changes, Order, Update
from payments.errors import PaidOrderChanged
from payments.money import Kopecks


def price_order(
    existing: Order | None, order_id: str, user_id: str, amount: Kopecks, description: str
) -> tuple[Order, Changes]:
    """Create an order or change its price, owner and description; its payment fields are kept.

    A paid order's price and owner are history: they cannot change under the payment.
    """
    if existing is None:
        order = Order(order_id, user_id, amount, description, version=1)
        return order, Changes(created=(order,))
    if existing.paid_payment_id is not None and (existing.amount, existing.user_id) != (amount, user_id):
        raise PaidOrderChanged()
    order = replace(
        existing, user_id=user_id, amount=amount, description=description, version=existing.version + 1
    )
    return order, Changes(updated=(Update(existing, order),))
