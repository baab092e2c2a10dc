"""Creating payments: our record first, then YooKassa's payment under the record's own key.

Concurrent creates for one subject race on a version-checked write; the losers read again and join
the winner's payment, so one order or subscription has at most one payable payment at a time.
"""

import uuid
from datetime import datetime, timedelta

from payments.domain import Caller, OrderStatus, Payment, PaymentStatus, utc_now
from payments.domain.delivery import fits_choice, fits_order
from payments.domain.payments import (
    new_payment,
    next_period,
    order_payment_description,
    reusable,
    start_order_payment,
    start_subscription_payment,
    subscription_payment_description,
)
from payments.domain.settlement import fail_before_provider
from payments.errors import (
    AmountMismatch,
    NotFound,
    OrderAlreadyPaid,
    OrderRefunded,
    ProviderError,
    TooManyPendingPayments,
    ValidationFailed,
)
from payments.observability import bind, count, logger
from payments.ports import CreationStore, YooKassa
from payments.schemas import CreateOrderPaymentRequest, CreateSubscriptionPaymentRequest, PaymentCreated
from payments.services.conflicts import retry_on_conflict
from payments.services.reads import reread, subject_of
from payments.services.receipts import contact_for, order_receipt_for, subscription_receipt_for
from payments.services.sync import apply_provider_payment
from payments.settings import Settings


def create_order_payment(
    store: CreationStore,
    yookassa: YooKassa,
    settings: Settings,
    caller: Caller,
    request: CreateOrderPaymentRequest,
    now: datetime | None = None,
) -> PaymentCreated:
    _check_amount_limits(settings, request.amount)
    contact = contact_for(settings, caller, request.customer)

    def attempt() -> Payment:
        moment = now or utc_now()
        order = store.get_order(request.order_id)
        if order is None or order.user_id != caller.user_id:
            raise NotFound("Order not found")
        if order.status is OrderStatus.REFUNDED:
            raise OrderRefunded("The order's payment was refunded; it can be paid again once it is set up anew")
        if order.paid_payment_id is not None:
            raise OrderAlreadyPaid()
        if request.amount != order.amount:
            raise AmountMismatch(f"The order's amount is {order.amount} kopecks")
        payment = _reusable(store, settings, order.active_payment_id, moment)
        if payment is not None and fits_order(payment, order):
            return payment  # a payment at a stale price or for a past owner is never reused
        _check_pending_limit(store, settings, caller, moment)
        payment = new_payment(
            str(uuid.uuid4()),
            caller.user_id,
            order.amount,
            moment,
            order_payment_description(order),
            order_id=order.order_id,
            capture=settings.capture_mode == "auto",
            receipt=order_receipt_for(settings, order, contact),
        )
        store.commit(start_order_payment(order, payment))
        count("PaymentCreated")
        return payment

    return _ensure_provider_payment(store, yookassa, settings, retry_on_conflict(attempt))


def create_subscription_payment(
    store: CreationStore,
    yookassa: YooKassa,
    settings: Settings,
    caller: Caller,
    request: CreateSubscriptionPaymentRequest,
    now: datetime | None = None,
) -> PaymentCreated:
    _check_amount_limits(settings, request.amount)
    contact = contact_for(settings, caller, request.customer)
    plan = store.get_plan(request.plan_id)
    if plan is None:
        raise NotFound("Plan not found")
    price = plan.prices.get(request.subscription_type)
    if price is None:
        raise NotFound(f"The plan has no {request.subscription_type} price")
    if request.amount != price:
        raise AmountMismatch(f"The plan's {request.subscription_type} price is {price} kopecks")

    def attempt() -> Payment:
        moment = now or utc_now()
        subscription = store.get_subscription(request.subscription_id)
        if subscription is not None and subscription.user_id != caller.user_id:
            raise NotFound("Subscription not found")
        active = subscription.active_payment_id if subscription is not None else None
        payment = _reusable(store, settings, active, moment)
        period = next_period(subscription)
        if (
            payment is not None
            and fits_choice(payment, request.plan_id, request.subscription_type, price, period)
            and payment.save_method == request.auto_renew
        ):
            return payment  # another plan, type, period (one paid meanwhile) or renewal choice: a new one
        _check_pending_limit(store, settings, caller, moment)
        payment = new_payment(
            str(uuid.uuid4()),
            caller.user_id,
            price,
            moment,
            subscription_payment_description(plan.name, request.subscription_type),
            subscription_id=request.subscription_id,
            plan_id=request.plan_id,
            subscription_type=request.subscription_type,
            period=period,
            capture=settings.capture_mode == "auto",
            receipt=subscription_receipt_for(settings, plan, request.subscription_type, price, contact),
            save_method=request.auto_renew,
        )
        store.commit(start_subscription_payment(subscription, payment))
        count("PaymentCreated")
        return payment

    return _ensure_provider_payment(store, yookassa, settings, retry_on_conflict(attempt))


def return_url(settings: Settings, payment: Payment) -> str:
    return f"{settings.frontend_url}/payment/result?paymentId={payment.payment_id}&type={payment.type}"


def _ensure_provider_payment(
    store: CreationStore, yookassa: YooKassa, settings: Settings, payment: Payment
) -> PaymentCreated:
    """Our record exists; make sure YooKassa's payment does too, always under the same key."""
    bind(paymentId=payment.payment_id)
    if payment.yookassa_id and payment.payment_url:
        return PaymentCreated(payment_url=payment.payment_url, payment_id=payment.payment_id)
    try:
        created = yookassa.create_payment(payment, return_url(settings, payment))
    except ProviderError as exc:
        # A definite refusal: nothing was created at YooKassa. A timeout is not caught here: the
        # payment stays pending, and the next create for the subject retries with the same key.
        logger.warning("yookassa refused a payment", extra={"paymentId": payment.payment_id})
        fail_unsent(store, payment, exc.provider_code or "provider_error", utc_now())
        count("PaymentFailed")
        if not payment.capture:
            logger.error(
                "YooKassa refused a two-stage payment (capture: false): enable two-stage payments for the "
                "shop in YooKassa's merchant profile, or set CAPTURE_MODE=auto",
                extra={"paymentId": payment.payment_id, "provider_code": exc.provider_code},
            )
            raise ProviderError(
                "YooKassa refused a two-stage payment; the shop needs two-stage payments enabled "
                "for CAPTURE_MODE=two_stage",
                http_status=exc.http_status,
                provider_code=exc.provider_code,
            ) from exc
        raise
    if not created.confirmation_url:
        raise ProviderError("YooKassa returned no confirmation URL")
    attached = apply_provider_payment(store, yookassa, payment, created, utc_now()).payment
    if attached.yookassa_id != created.id:
        raise ProviderError("The payment changed while YooKassa was creating it")
    if attached.status is not PaymentStatus.PENDING or attached.payment_url is None:
        # Another request saw YooKassa refuse this payment and failed it: never hand out its URL.
        raise ProviderError("The payment can no longer be paid; create it again")
    logger.info("payment created", extra={"paymentId": payment.payment_id, "yookassaId": created.id})
    return PaymentCreated(payment_url=attached.payment_url, payment_id=payment.payment_id)


def fail_unsent(store: CreationStore, payment: Payment, reason: str, now: datetime) -> None:
    """YooKassa definitely refused to create ``payment``: it failed (if still pending), its subject is free."""

    def attempt() -> None:
        current = reread(store, payment.payment_id)
        if current.status is not PaymentStatus.PENDING:
            return  # someone closed it meanwhile
        settlement = fail_before_provider(current, subject_of(store, current), reason, now)
        store.commit(settlement.changes)

    retry_on_conflict(attempt)


def _check_pending_limit(store: CreationStore, settings: Settings, caller: Caller, now: datetime) -> None:
    """At most ``max_pending_payments_per_user`` payable payments per user: a flood of live YooKassa
    payments (fresh subscription ids, alternating choices) is refused before it reaches YooKassa."""
    payable_since = now - timedelta(seconds=settings.payment_term_seconds)
    if store.payable_pending_count(caller.user_id, payable_since) >= settings.max_pending_payments_per_user:
        count("TooManyPendingPayments")
        raise TooManyPendingPayments(
            f"At most {settings.max_pending_payments_per_user} payments may wait to be paid at once; "
            "pay or abandon one first"
        )


def _reusable(
    store: CreationStore, settings: Settings, payment_id: str | None, now: datetime
) -> Payment | None:
    """The subject's active payment, if the customer can still pay it."""
    if payment_id is None:
        return None
    usable_for = timedelta(seconds=settings.payment_term_seconds - settings.reuse_margin_seconds)
    return reusable(store.get_payment(payment_id), now, usable_for)


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
