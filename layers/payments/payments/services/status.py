"""Answering the result page's status polls: one read, and YooKassa itself only for a stale payment."""

from collections.abc import Callable
from datetime import datetime, timedelta

from payments.domain import Caller, Payment, PaymentStatus, PaymentType, utc_now
from payments.errors import NotFound, PaymentsError, ProviderNotFound
from payments.observability import count, logger
from payments.ports import OrderPaymentReader, PaymentReader, StatusStore, YooKassa
from payments.services.sync import apply_provider_payment
from payments.settings import Settings

# A status poll never waits long on YooKassa: when it is slow, the stored status is a fine answer.
POLL_REFRESH_BUDGET_SECONDS = 3.0


def get_payment(
    store: PaymentReader, caller: Caller, payment_id: str, expected_type: PaymentType | None = None
) -> Payment:
    """The caller's own payment, by one read; anyone else's is indistinguishable from a missing one."""
    payment = store.get_payment(payment_id)
    if payment is None or payment.user_id != caller.user_id:
        raise NotFound("Payment not found")
    if expected_type is not None and payment.type is not expected_type:
        raise NotFound("Payment not found")
    return payment


def latest_order_payment(store: OrderPaymentReader, caller: Caller, order_id: str) -> Payment:
    """The caller's latest payment for their order (whatever became of it): how a result page whose
    URL lost its ``paymentId`` finds the payment to poll."""
    order = store.get_order(order_id)
    if order is None or order.user_id != caller.user_id:
        raise NotFound("Order not found")
    latest = order.last_payment_id or order.active_payment_id or order.paid_payment_id
    payment = store.get_payment(latest) if latest else None
    if payment is None or payment.user_id != caller.user_id:
        raise NotFound("The order has no payment yet")
    return payment


def get_payment_status(
    store: StatusStore,
    yookassa: Callable[[], YooKassa],
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
    checked_before = moment - timedelta(seconds=settings.provider_refresh_interval_seconds)
    if payment.provider_checked_at is not None and payment.provider_checked_at >= checked_before:
        return payment  # asked moments ago (our read is consistent): no claim, not even a failed one
    try:
        if not store.claim_provider_check(payment.payment_id, moment, checked_before):
            return payment  # another poll asked YooKassa moments ago
        client = yookassa().with_budget(POLL_REFRESH_BUDGET_SECONDS)
        fetched = client.get_payment(payment.yookassa_id)
        return apply_provider_payment(store, client, payment, fetched, moment).payment
    except ProviderNotFound:
        # YooKassa made it, so a 404 is the wrong shop or URL: never a reason to close it.
        logger.error("YooKassa does not know a payment it created", extra={"paymentId": payment.payment_id})
        count("ProviderNotFound")
        return payment
    except PaymentsError as exc:
        logger.warning(
            "poll could not refresh the payment from YooKassa",
            extra={"paymentId": payment.payment_id, "error_code": exc.code},
        )
        return payment
