"""Domain objects <-> items, both ways, for every entity and plan; attribute names as in README "Data".

(Idempotency records and audit entries, which no decision commits, are mapped in their own modules.)

An absent value (``None``) is an absent attribute. The sparse ``PendingIndex`` attributes are derived
here, never decided elsewhere: a payment carries them while it is pending, a refund request while it
holds money, a subscription while it is active or past due (``subscriptions.due_at``), so every write
of a new state also moves the item in or out of the index. 54-FZ receipts
are JSON strings (``receipt_json``).
"""

from typing import Any

from payments.domain import (
    AppliedRefund,
    Order,
    OrderStatus,
    Payment,
    PaymentStatus,
    PaymentType,
    Plan,
    RefundRequest,
    RefundState,
    SavedMethod,
    ScheduledChange,
    Subscription,
    SubscriptionStatus,
    SubscriptionType,
)
from payments.domain.subscriptions import due_at
from payments.dynamodb import keys
from payments.dynamodb.items import (
    AppliedRefundItem,
    OrderItem,
    PaymentItem,
    PlanItem,
    RefundRequestItem,
    SubscriptionItem,
    YooKassaLookupItem,
)
from payments.dynamodb.receipt_json import receipt_json, receipt_lines_json, receipt_lines_of, receipt_of


def _int(value: float | None) -> int | None:
    return None if value is None else int(value)


def _text(value: object | None) -> str | None:
    return None if value is None else str(value)


def payment_item(payment: Payment, shards: int) -> PaymentItem:
    pending = payment.status is PaymentStatus.PENDING
    return PaymentItem(
        keys.payment_key(payment.payment_id),
        keys.META,
        kind="payment",
        payment_type=str(payment.type),
        user_id=payment.user_id,
        amount=payment.amount,
        status=str(payment.status),
        description=payment.description,
        created_at=payment.created_at,
        updated_at=payment.updated_at,
        order_id=payment.order_id,
        subscription_id=payment.subscription_id,
        plan_id=payment.plan_id,
        subscription_type=_text(payment.subscription_type),
        yookassa_id=payment.yookassa_id,
        payment_url=payment.payment_url,
        paid_at=payment.paid_at,
        refunded_amount=payment.refunded_amount,
        refund_reserved=payment.refund_reserved,
        cancellation_reason=payment.cancellation_reason,
        cancellation_party=payment.cancellation_party,
        provider_checked_at=payment.provider_checked_at,
        version=payment.version,
        capture=None if payment.capture else False,  # only two-stage payments carry it
        period=payment.period,
        receipt=receipt_json(payment.receipt),
        receipt_registration=payment.receipt_registration,
        delivered=payment.delivered,
        save_method=payment.save_method or None,
        payment_method_id=payment.payment_method_id,
        renewal_attempt=payment.renewal_attempt,
        final_attempt=payment.final_attempt or None,
        pending_shard=keys.shard_of(payment.payment_id, shards) if pending else None,
        pending_since=keys.iso(payment.created_at) if pending else None,
        pending_user=payment.user_id if pending else None,
    )


def payment_of(item: PaymentItem) -> Payment:
    return Payment(
        payment_id=item.pk.removeprefix(keys.payment_key("")),
        type=PaymentType(item.payment_type),
        user_id=item.user_id,
        amount=int(item.amount),
        status=PaymentStatus(item.status),
        created_at=item.created_at,
        description=item.description,
        order_id=item.order_id,
        subscription_id=item.subscription_id,
        plan_id=item.plan_id,
        subscription_type=SubscriptionType(item.subscription_type) if item.subscription_type else None,
        yookassa_id=item.yookassa_id,
        payment_url=item.payment_url,
        paid_at=item.paid_at,
        refunded_amount=int(item.refunded_amount or 0),
        cancellation_reason=item.cancellation_reason,
        cancellation_party=item.cancellation_party,
        provider_checked_at=item.provider_checked_at,
        updated_at=item.updated_at,
        version=int(item.version or 0),
        refund_reserved=int(item.refund_reserved or 0),
        capture=item.capture is not False,
        period=_int(item.period),
        receipt=receipt_of(item.receipt),
        receipt_registration=item.receipt_registration,
        delivered=item.delivered,
        save_method=item.save_method is True,
        payment_method_id=item.payment_method_id,
        renewal_attempt=_int(item.renewal_attempt),
        final_attempt=item.final_attempt is True,
    )


def yookassa_lookup_item(yookassa_id: str, payment_id: str) -> YooKassaLookupItem:
    return YooKassaLookupItem(keys.yookassa_key(yookassa_id), keys.META, kind="yookassa", payment_id=payment_id)


def order_item(order: Order) -> OrderItem:
    return OrderItem(
        keys.order_key(order.order_id),
        keys.META,
        kind="order",
        user_id=order.user_id,
        amount=order.amount,
        description=order.description,
        status=str(order.status),
        paid_payment_id=order.paid_payment_id,
        active_payment_id=order.active_payment_id,
        paid_at=order.paid_at,
        version=order.version,
        vat_code=order.vat_code,
        receipt_items=receipt_lines_json(order.receipt_lines),
        completed_at=order.completed_at,
        settlement_receipt_id=order.settlement_receipt_id,
        last_payment_id=order.last_payment_id,
    )


def order_of(item: OrderItem) -> Order:
    return Order(
        order_id=item.pk.removeprefix(keys.order_key("")),
        user_id=item.user_id,
        amount=int(item.amount),
        description=item.description,
        status=OrderStatus(item.status),
        paid_payment_id=item.paid_payment_id,
        active_payment_id=item.active_payment_id,
        paid_at=item.paid_at,
        version=int(item.version or 0),
        vat_code=_int(item.vat_code),
        receipt_lines=receipt_lines_of(item.receipt_items),
        completed_at=item.completed_at,
        settlement_receipt_id=item.settlement_receipt_id,
        last_payment_id=item.last_payment_id,
    )


def plan_item(plan: Plan) -> PlanItem:
    prices = {str(period): amount for period, amount in plan.prices.items()}
    return PlanItem(
        keys.plan_key(plan.plan_id),
        keys.META,
        kind="plan",
        name=plan.name,
        prices=prices,
        vat_code=plan.vat_code,
    )


def plan_of(item: PlanItem) -> Plan:
    prices = {SubscriptionType(period): int(amount) for period, amount in item.prices.as_dict().items()}
    return Plan(
        plan_id=item.pk.removeprefix(keys.plan_key("")),
        name=item.name,
        prices=prices,
        vat_code=_int(item.vat_code),
    )


def subscription_item(subscription: Subscription, shards: int) -> SubscriptionItem:
    due = due_at(subscription)
    method = subscription.payment_method
    return SubscriptionItem(
        keys.subscription_key(subscription.subscription_id),
        keys.META,
        kind="subscription",
        user_id=subscription.user_id,
        plan_id=subscription.plan_id,
        subscription_type=str(subscription.subscription_type),
        status=str(subscription.status),
        start_date=subscription.start_date,
        end_date=subscription.end_date,
        active_payment_id=subscription.active_payment_id,
        last_payment_id=subscription.last_payment_id,
        version=subscription.version,
        periods_paid=subscription.periods_paid or None,
        **_scheduled_attributes(subscription.scheduled_change),
        auto_renew=subscription.auto_renew or None,
        payment_method_id=method.method_id if method else None,
        card_last4=method.card_last4 if method else None,
        card_type=method.card_type if method else None,
        canceled_at=subscription.canceled_at,
        renewal_failures=subscription.renewal_failures or None,
        first_failure_at=subscription.first_failure_at,
        subscription_user=subscription.user_id,
        pending_shard=None
        if due is None
        else keys.shard_of(subscription.subscription_id, shards, keys.RENEWAL_SHARD),
        pending_since=None if due is None else keys.iso(due),
    )


def subscription_of(item: SubscriptionItem) -> Subscription:
    return Subscription(
        subscription_id=item.pk.removeprefix(keys.subscription_key("")),
        user_id=item.user_id,
        plan_id=item.plan_id,
        subscription_type=SubscriptionType(item.subscription_type),
        status=SubscriptionStatus(item.status),
        start_date=item.start_date,
        end_date=item.end_date,
        active_payment_id=item.active_payment_id,
        last_payment_id=item.last_payment_id,
        version=int(item.version or 0),
        periods_paid=int(item.periods_paid or 0),
        scheduled_change=_scheduled_change(item),
        auto_renew=item.auto_renew is True,
        payment_method=None
        if item.payment_method_id is None
        else SavedMethod(item.payment_method_id, item.card_last4, item.card_type),
        canceled_at=item.canceled_at,
        renewal_failures=int(item.renewal_failures or 0),
        first_failure_at=item.first_failure_at,
    )


def refund_request_item(request: RefundRequest, shards: int) -> RefundRequestItem:
    held = request.is_open
    return RefundRequestItem(
        keys.payment_key(request.payment_id),
        keys.refund_request_sort_key(request.request_id),
        kind="refund_request",
        amount=request.amount,
        request_hash=request.request_hash,
        state=str(request.state),
        yookassa_refund_id=request.yookassa_refund_id,
        failure_reason=request.failure_reason,
        created_at=request.created_at,
        updated_at=request.updated_at,
        pending_shard=keys.shard_of(request.request_id, shards, keys.HELD_REFUND_SHARD) if held else None,
        pending_since=keys.iso(request.created_at) if held else None,
    )


def refund_request_of(item: RefundRequestItem) -> RefundRequest:
    return RefundRequest(
        payment_id=item.pk.removeprefix(keys.payment_key("")),
        request_id=item.sk.removeprefix(keys.REFUND_REQUEST),
        amount=int(item.amount),
        request_hash=item.request_hash,
        state=RefundState(item.state),
        created_at=item.created_at,
        updated_at=item.updated_at,
        yookassa_refund_id=item.yookassa_refund_id,
        failure_reason=item.failure_reason,
    )


def applied_refund_item(refund: AppliedRefund) -> AppliedRefundItem:
    return AppliedRefundItem(
        keys.payment_key(refund.payment_id),
        keys.applied_refund_sort_key(refund.refund_id),
        kind="refund",
        amount=refund.amount,
        created_at=refund.created_at,
    )


def applied_refund_of(item: AppliedRefundItem) -> AppliedRefund:
    return AppliedRefund(
        payment_id=item.pk.removeprefix(keys.payment_key("")),
        refund_id=item.sk.removeprefix(keys.APPLIED_REFUND),
        amount=int(item.amount),
        created_at=item.created_at,
    )


def _scheduled_attributes(change: ScheduledChange | None) -> dict[str, Any]:
    if change is None:
        return {"scheduled_plan_id": None, "scheduled_type": None, "scheduled_from": None}
    return {
        "scheduled_plan_id": change.plan_id,
        "scheduled_type": str(change.subscription_type),
        "scheduled_from": change.starts_at,
    }


def _scheduled_change(item: SubscriptionItem) -> ScheduledChange | None:
    if item.scheduled_plan_id is None or item.scheduled_type is None or item.scheduled_from is None:
        return None
    return ScheduledChange(item.scheduled_plan_id, SubscriptionType(item.scheduled_type), item.scheduled_from)
