"""The price sources: orders (priced by the rest of the app) and plans; an order's completion. Pure."""

from dataclasses import replace
from datetime import datetime

from payments.domain.model import Changes, Order, OrderStatus, Payment, PaymentStatus, Update
from payments.domain.receipts import ReceiptLine, check_lines
from payments.errors import ConcurrentUpdate, OrderNotPaid, OrderRefunded, PaidOrderChanged
from payments.money import Kopecks


def price_order(
    existing: Order | None,
    order_id: str,
    user_id: str,
    amount: Kopecks,
    description: str,
    vat_code: int | None = None,
    receipt_lines: tuple[ReceiptLine, ...] = (),
) -> tuple[Order, Changes]:
    """Create an order or change its price, owner, description and receipt lines; its payment fields
    are kept. Lines, when given, must add up to the amount exactly (422 otherwise).

    A paid order's price and owner are history: they cannot change under the payment.
    """
    if receipt_lines:
        check_lines(receipt_lines, amount)
    if existing is None:
        order = Order(
            order_id, user_id, amount, description, vat_code=vat_code, receipt_lines=receipt_lines, version=1
        )
        return order, Changes(created=(order,))
    base = existing
    if existing.status is OrderStatus.REFUNDED:  # set up anew: payable again, as a new order
        base = replace(
            existing,
            status=OrderStatus.NEW,
            paid_payment_id=None,
            paid_at=None,
            active_payment_id=None,
            completed_at=None,
            settlement_receipt_id=None,
        )
    elif existing.paid_payment_id is not None and (existing.amount, existing.user_id) != (amount, user_id):
        raise PaidOrderChanged()
    order = replace(
        base,
        user_id=user_id,
        amount=amount,
        description=description,
        vat_code=vat_code,
        receipt_lines=receipt_lines,
        version=existing.version + 1,
    )
    return order, Changes(updated=(Update(existing, order),))


def complete_order(
    order: Order, paid_by: Payment | None, now: datetime, settlement_receipt_id: str | None
) -> tuple[Order, Changes]:
    """The cleaning was done: a paid order becomes ``completed`` (once; again is a no-op), remembering
    its settlement receipt. Only a paid order whose money was not given back can be completed."""
    if order.status is OrderStatus.COMPLETED:
        return order, Changes()
    if order.status is OrderStatus.REFUNDED:
        raise OrderRefunded()
    if order.status is not OrderStatus.PAID or paid_by is None:
        raise OrderNotPaid()
    if paid_by.status is PaymentStatus.REFUNDED:
        raise OrderRefunded()
    if paid_by.refund_reserved:
        # A refund is in flight (its outcome not known yet): what is left to settle is not known either.
        raise ConcurrentUpdate(
            "A refund of the order's payment is in progress; complete the order once it is settled"
        )
    completed = replace(
        order,
        status=OrderStatus.COMPLETED,
        completed_at=now,
        settlement_receipt_id=settlement_receipt_id,
        version=order.version + 1,
    )
    return completed, Changes(updated=(Update(order, completed),))
