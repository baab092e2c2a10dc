"""Creating payments and answering status polls."""

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from payments.domain import (
    Caller,
    Payment,
    PaymentStatus,
    PaymentType,
    Subscription,
    SubscriptionType,
    utc_now,
)
from payments.errors import (
    AmountMismatch,
    ConcurrentUpdate,
    NotFound,
    OrderAlreadyPaid,
    PaymentsError,
    ProviderError,
    ValidationFailed,
)
from payments.money import kopecks_to_amount
from payments.observability import count, logger
from payments.schemas import (
    CreateOrderPaymentRequest,
    CreateSubscriptionPaymentRequest,
    PaymentCreated,
)
from payments.services.sync import POLL_REFRESH_BUDGET_SECONDS, apply_provider_payment
from payments.settings import Settings
from payments.store import PaymentStore
from payments.yookassa import YooKassaClient

# Concurrent creates for one subject race on a version-checked write; the losers re-read and join
# the winner's payment. A handful of rounds is plenty: each round has one winner.
RACE_ROUNDS = 8


def create_order_payment(
    store: PaymentStore,
    yookassa: YooKassaClient,
    settings: Settings,
    caller: Caller,
    request: CreateOrderPaymentRequest,
    now: datetime | None = None,
) -> PaymentCreated:
    _check_amount_limits(settings, request.amount)
    for _ in range(RACE_ROUNDS):
        moment = now or utc_now()
        order = store.get_order(request.orderId)
        if order is None or order.user_id != caller.user_id:
            raise NotFound("Order not found")
        if order.paid_payment_id is not None:
            raise OrderAlreadyPaid()
        if request.amount != order.amount:
            raise AmountMismatch(f"The order's amount is {order.amount} kopecks")
        payment = _reusable(store, settings, order.active_payment_id, moment)
        if payment is not None and (payment.amount, payment.user_id) != (order.amount, caller.user_id):
            payment = None  # the order's price or owner changed since: that payment no longer fits
        if payment is None:
            payment = _new_payment(
                caller,
                PaymentType.ORDER,
                order.amount,
                moment,
                description=f"Clean House, заказ {order.order_id}: {order.description}",
                order_id=order.order_id,
            )
            try:
                store.start_order_payment(payment, order)
            except ConcurrentUpdate:
                continue  # another request started one meanwhile: join it
            count("PaymentCreated")
        return _ensure_provider_payment(store, yookassa, settings, payment)
    raise ConcurrentUpdate()


def create_subscription_payment(
    store: PaymentStore,
    yookassa: YooKassaClient,
    settings: Settings,
    caller: Caller,
    request: CreateSubscriptionPaymentRequest,
    now: datetime | None = None,
) -> PaymentCreated:
    _check_amount_limits(settings, request.amount)
    plan = store.get_plan(request.planId)
    if plan is None:
        raise NotFound("Plan not found")
    price = plan.prices.get(request.subscriptionType)
    if price is None:
        raise NotFound(f"The plan has no {request.subscriptionType} price")
    if request.amount != price:
        raise AmountMismatch(f"The plan's {request.subscriptionType} price is {price} kopecks")
    for _ in range(RACE_ROUNDS):
        moment = now or utc_now()
        subscription = store.get_subscription(request.subscriptionId)
        is_new = subscription is None
        if subscription is None:
            subscription = Subscription(
                subscription_id=request.subscriptionId,
                user_id=caller.user_id,
                plan_id=request.planId,
                subscription_type=request.subscriptionType,
            )
        elif subscription.user_id != caller.user_id:
            raise NotFound("Subscription not found")
        payment = _reusable(store, settings, subscription.active_payment_id, moment)
        if payment is not None and (payment.plan_id, payment.subscription_type, payment.amount) != (
            request.planId,
            request.subscriptionType,
            price,
        ):
            payment = None  # the customer chose another plan or period: a new payment
        if payment is None:
            payment = _new_payment(
                caller,
                PaymentType.SUBSCRIPTION,
                price,
                moment,
                description=_subscription_description(plan.name, request.subscriptionType),
                subscription_id=subscription.subscription_id,
                plan_id=request.planId,
                subscription_type=request.subscriptionType,
            )
            try:
                store.start_subscription_payment(payment, subscription, is_new)
            except ConcurrentUpdate:
                continue
            count("PaymentCreated")
        return _ensure_provider_payment(store, yookassa, settings, payment)
    raise ConcurrentUpdate()


def get_payment(
    store: PaymentStore, caller: Caller, payment_id: str, expected_type: PaymentType | None = None
) -> Payment:
    """The caller's own payment, by one read; anyone else's is indistinguishable from a missing one."""
    payment = store.get_payment(payment_id)
    if payment is None or payment.user_id != caller.user_id:
        raise NotFound("Payment not found")
    if expected_type is not None and payment.type is not expected_type:
        raise NotFound("Payment not found")
    return payment


def return_url(settings: Settings, payment: Payment) -> str:
    return f"{settings.frontend_url}/payment/result?paymentId={payment.payment_id}&type={payment.type}"


def provider_request(settings: Settings, payment: Payment) -> dict[str, object]:
    """The YooKassa create body. Deterministic from our record, so a retry with the same key matches."""
    metadata = {"paymentId": payment.payment_id, "userId": payment.user_id}
    if payment.type is PaymentType.ORDER:
        metadata["orderId"] = payment.subject_id
    else:
        metadata["subscriptionId"] = payment.subject_id
        metadata["planId"] = payment.plan_id or ""
        metadata["subscriptionType"] = str(payment.subscription_type)
    return {
        "amount": {"value": kopecks_to_amount(payment.amount), "currency": "RUB"},
        "capture": True,
        "confirmation": {"type": "redirect", "return_url": return_url(settings, payment)},
        "description": payment.description,
        "metadata": metadata,
    }


def _ensure_provider_payment(
    store: PaymentStore, yookassa: YooKassaClient, settings: Settings, payment: Payment
) -> PaymentCreated:
    """Our record exists; make sure YooKassa's payment does too, always under the same key."""
    if payment.yookassa_id and payment.payment_url:
        return PaymentCreated(paymentUrl=payment.payment_url, paymentId=payment.payment_id)
    try:
        created = yookassa.create_payment(provider_request(settings, payment), payment.idempotence_key())
    except ProviderError as exc:
        # A definite refusal: nothing was created at YooKassa. A timeout is not caught here: the
        # payment stays pending, and the next create for the subject retries with the same key.
        logger.warning("yookassa refused a payment", extra={"paymentId": payment.payment_id})
        store.mark_failed_before_provider(payment, exc.provider_code or "provider_error")
        count("PaymentFailed")
        raise
    if not created.confirmation_url:
        raise ProviderError("YooKassa returned no confirmation URL")
    try:
        attached = store.attach_provider_payment(payment, created.id, created.confirmation_url)
    except ConcurrentUpdate as exc:
        attached = store.get_payment(payment.payment_id) or payment
        if attached.yookassa_id != created.id:
            raise ProviderError("The payment changed while YooKassa was creating it") from exc
    if attached.status is not PaymentStatus.PENDING or attached.payment_url is None:
        # Another request saw YooKassa refuse this payment and failed it: never hand out its URL.
        raise ProviderError("The payment can no longer be paid; create it again")
    logger.info("payment created", extra={"paymentId": payment.payment_id, "yookassaId": created.id})
    return PaymentCreated(paymentUrl=attached.payment_url, paymentId=payment.payment_id)


def _reusable(store: PaymentStore, settings: Settings, payment_id: str | None, now: datetime) -> Payment | None:
    """The subject's active payment, if the customer can still pay it."""
    if payment_id is None:
        return None
    payment = store.get_payment(payment_id)
    if payment is None or payment.status is not PaymentStatus.PENDING:
        return None
    usable_until = payment.created_at + timedelta(
        seconds=settings.payment_term_seconds - settings.reuse_margin_seconds
    )
    return payment if now < usable_until else None


def _new_payment(
    caller: Caller,
    payment_type: PaymentType,
    amount: int,
    now: datetime,
    description: str,
    *,
    order_id: str | None = None,
    subscription_id: str | None = None,
    plan_id: str | None = None,
    subscription_type: SubscriptionType | None = None,
) -> Payment:
    return Payment(
        payment_id=str(uuid.uuid4()),
        type=payment_type,
        user_id=caller.user_id,
        amount=amount,
        status=PaymentStatus.PENDING,
        created_at=now,
        description=description[:128],  # YooKassa's limit
        order_id=order_id,
        subscription_id=subscription_id,
        plan_id=plan_id,
        subscription_type=subscription_type,
        version=1,
    )


def _subscription_description(plan_name: str, subscription_type: SubscriptionType) -> str:
    period = "месяц" if subscription_type is SubscriptionType.MONTHLY else "год"
    return f"Clean House, подписка «{plan_name}» на {period}"


def _check_amount_limits(settings: Settings, amount: int) -> None:
    if not settings.min_payment_amount <= amount <= settings.max_payment_amount:
        raise ValidationFailed(
            details=[
                {
                    "field": "amount",
                    "problem": f"must be between {settings.min_payment_amount} and "
                    f"{settings.max_payment_amount} kopecks",
                }
            ]
        )


def get_payment_status(
    store: PaymentStore,
    yookassa: Callable[[], YooKassaClient],
    settings: Settings,
    caller: Caller,
    payment_id: str,
    expected_type: PaymentType | None = None,
    now: datetime | None = None,
) -> Payment:
    """One read per poll. ``yookassa`` is a factory: most polls never need the provider.

    A payment still pending ``stale_pending_seconds`` after creation is asked of YooKassa directly, at
    most once per ``provider_refresh_interval_seconds`` per payment, so a customer whose webhook is late
    or lost still sees the result within seconds. That ask never fails the poll: when YooKassa is slow
    or down, the stored payment is the answer.
    """
    payment = get_payment(store, caller, payment_id, expected_type)
    moment = now or utc_now()
    stale_after = payment.created_at + timedelta(seconds=settings.stale_pending_seconds)
    if payment.status is not PaymentStatus.PENDING or payment.yookassa_id is None or moment < stale_after:
        return payment
    try:
        if not store.claim_provider_check(payment, moment, settings.provider_refresh_interval_seconds):
            return payment  # another poll asked YooKassa moments ago
        client = yookassa().with_budget(POLL_REFRESH_BUDGET_SECONDS)
        fetched = client.get_payment(payment.yookassa_id)
        return apply_provider_payment(store, payment, fetched, moment).payment
    except PaymentsError as exc:
        logger.warning(
            "poll could not refresh the payment from YooKassa",
            extra={"paymentId": payment.payment_id, "error_code": exc.code},
        )
        return payment
