"""The price sources the rest of the app writes: orders and plans."""

from payments.domain import Order, Plan, SubscriptionType
from payments.schemas import OrderView, PlanPrices, PlanView, PutOrderRequest, PutPlanRequest
from payments.store import PaymentStore


def put_order(store: PaymentStore, order_id: str, request: PutOrderRequest) -> OrderView:
    saved = store.put_order(
        Order(order_id=order_id, user_id=request.userId, amount=request.amount, description=request.description)
    )
    return OrderView(
        orderId=saved.order_id,
        userId=saved.user_id,
        amount=saved.amount,
        description=saved.description,
        status=saved.status,
        paidPaymentId=saved.paid_payment_id,
    )


def put_plan(store: PaymentStore, plan_id: str, request: PutPlanRequest) -> PlanView:
    plan = Plan(
        plan_id=plan_id,
        name=request.name,
        prices={
            SubscriptionType.MONTHLY: request.prices.monthly,
            SubscriptionType.YEARLY: request.prices.yearly,
        },
    )
    store.put_plan(plan)
    return PlanView(
        planId=plan_id, name=plan.name, prices=PlanPrices(**{str(k): v for k, v in plan.prices.items()})
    )
