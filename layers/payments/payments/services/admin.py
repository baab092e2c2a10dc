"""The price sources the rest of the app writes: orders and plans."""

from payments.domain import Order, Plan, SubscriptionType
from payments.domain.catalog import price_order
from payments.ports import CatalogStore
from payments.schemas import OrderView, PlanView, PutOrderRequest, PutPlanRequest
from payments.services.conflicts import retry_on_conflict


def put_order(store: CatalogStore, order_id: str, request: PutOrderRequest) -> OrderView:
    """Create or reprice an order (``domain.catalog.price_order``)."""

    def attempt() -> Order:
        order, changes = price_order(
            store.get_order(order_id), order_id, request.user_id, request.amount, request.description
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
    )
    store.save_plan(plan)
    return PlanView.of(plan)
