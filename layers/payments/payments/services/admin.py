"""The price sources the rest of the app writes: orders and plans, with what their 54-FZ receipts say."""

from payments.domain import Order, Plan, SubscriptionType
from payments.domain.catalog import price_order
from payments.domain.receipts import NO_VAT, ReceiptLine
from payments.ports import CatalogStore
from payments.schemas import OrderView, PlanView, PutOrderRequest, PutPlanRequest
from payments.services.conflicts import retry_on_conflict


def put_order(
    store: CatalogStore, order_id: str, request: PutOrderRequest, default_vat_code: int = NO_VAT
) -> OrderView:
    """Create or reprice an order (``domain.catalog.price_order``: lines must add up to the amount).

    A receipt line without a VAT code gets the order's, else ``default_vat_code`` (the service's
    DEFAULT_VAT_CODE), here, once: the stored line says which code its receipts carry. The order's own
    ``vat_code`` stays as given (``None``: DEFAULT_VAT_CODE as it is when a payment is created)."""
    lines = tuple(
        ReceiptLine(
            item.description, item.quantity, item.amount, item.vat_code or request.vat_code or default_vat_code
        )
        for item in request.receipt_items or ()
    )

    def attempt() -> Order:
        order, changes = price_order(
            store.get_order(order_id),
            order_id,
            request.user_id,
            request.amount,
            request.description,
            vat_code=request.vat_code,
            receipt_lines=lines,
        )
        store.commit(changes)
        return order

    return OrderView.of(retry_on_conflict(attempt))


def put_plan(store: CatalogStore, plan_id: str, request: PutPlanRequest) -> PlanView:
    plan = Plan(
        plan_id=plan_id,
        name=request.name,
        prices={
            SubscriptionType.MONTHLY: request.prices.monthly,
            SubscriptionType.YEARLY: request.prices.yearly,
        },
        vat_code=request.vat_code,
    )
    store.save_plan(plan)
    return PlanView.of(plan)
