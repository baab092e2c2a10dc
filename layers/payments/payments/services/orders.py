"""Completing an order: the cleaning was done, so its prepayment becomes a sale.

With receipts on, the settlement receipt (54-FZ: the prepayment's lines as ``full_payment``, with a
``prepayment`` settlement) is registered at YooKassa first, under a key derived from the order, so
however often the completion is retried there is one settlement receipt; then the order becomes
``completed`` and remembers the receipt's id (a later retry sends nothing).
"""

from datetime import datetime

from payments.domain import Order, utc_now
from payments.domain.catalog import complete_order as completed_order
from payments.domain.receipts import settlement_receipt
from payments.errors import NotFound
from payments.observability import logger
from payments.ports import CompletionStore, YooKassa
from payments.schemas import OrderView
from payments.services.conflicts import retry_on_conflict
from payments.settings import Settings


def complete_order(
    store: CompletionStore,
    yookassa: YooKassa,
    settings: Settings,
    order_id: str,
    now: datetime | None = None,
) -> OrderView:
    """``paid`` -> ``completed``, once; 409 ``order_not_paid`` / ``order_refunded`` otherwise."""
    moment = now or utc_now()

    def attempt() -> Order:
        order = store.get_order(order_id)
        if order is None:
            raise NotFound("Order not found")
        paid_by = store.get_payment(order.paid_payment_id) if order.paid_payment_id else None
        completed_order(order, paid_by, moment, None)  # refuses what cannot be completed, before YooKassa
        receipt_id = order.settlement_receipt_id
        if settings.receipts_on and receipt_id is None and paid_by is not None and paid_by.receipt is not None:
            receipt = settlement_receipt(paid_by.receipt, paid_by.amount - paid_by.refunded_amount)
            receipt_id = yookassa.create_receipt(paid_by, receipt, settlement_key(order_id))
            logger.info("settlement receipt registered", extra={"orderId": order_id, "receiptId": receipt_id})
        completed, changes = completed_order(order, paid_by, moment, receipt_id)
        if changes:
            store.commit(changes)
        return completed

    return OrderView.of(retry_on_conflict(attempt))


def settlement_key(order_id: str) -> str:
    """YooKassa's Idempotence-Key of an order's settlement receipt: one per order."""
    return f"settlement-{order_id}"
