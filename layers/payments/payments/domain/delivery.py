"""Can the money still buy what it was paid for? Pure.

A payment is deliverable while its subject stands as it stood when the payment started: the order is
unpaid, at the same price, for the same customer; the subscription still waits for the period the
payment pays. Money that arrives for something that can no longer be delivered is given back (an
automatic full refund, or, for a two-stage payment still held, a cancel): nobody pays for what they
cannot get.
"""

from enum import StrEnum

from payments.domain.model import Order, Payment, PaymentType, Subscription, SubscriptionType
from payments.money import Kopecks

Subject = Order | Subscription


class Concern(StrEnum):
    """Why a payment cannot be delivered."""

    ORDER_MISSING = "order_missing"
    ORDER_CHANGED = "order_changed"  # the price or owner changed after the payment started
    ORDER_PAID_BY_ANOTHER = "order_paid_by_another"  # two tabs, two checkouts
    SUBSCRIPTION_MISSING = "subscription_missing"
    SUBSCRIPTION_PERIOD_PAID = "subscription_period_paid"  # another payment paid that period first
    # Held (two-stage) money whose subject now points at another payment (a newer link, or another held
    # payment being captured): released, so only one of them is ever charged.
    SUPERSEDED = "superseded"
    # A change of plan or type is scheduled and this payment is for another choice: one schedule cannot
    # hold both without selling time below its price, so the money goes back (choose again once it starts).
    SUBSCRIPTION_CHANGE_PENDING = "subscription_change_pending"
    # A renewal charge that went through after the customer turned renewal off (or the subscription
    # ended): they asked not to be charged, so the money goes back.
    RENEWAL_CANCELED = "renewal_canceled"


def fits_order(payment: Payment, order: Order) -> bool:
    """A payment pays the order as it stands: the same price, the same owner."""
    return (payment.amount, payment.user_id) == (order.amount, order.user_id)


def fits_choice(
    payment: Payment, plan_id: str, subscription_type: SubscriptionType, amount: Kopecks, period: int
) -> bool:
    """A pending subscription payment still pays what the customer chooses now: the same plan, type
    and price, for the period that comes next (not one another payment paid meanwhile)."""
    same = (payment.plan_id, payment.subscription_type, payment.amount) == (plan_id, subscription_type, amount)
    return same and payment.period in (None, period)


def delivered(payment: Payment, subject: Subject | None) -> bool:
    """The subject already records this very payment (a repeated settle)."""
    if isinstance(subject, Order):
        return subject.paid_payment_id == payment.payment_id
    return subject is not None and subject.last_payment_id == payment.payment_id


def undeliverable(payment: Payment, subject: Subject | None) -> Concern | None:
    """Why ``payment`` can no longer buy its subject as it stands now; ``None`` when it can."""
    if payment.type is PaymentType.ORDER:
        if not isinstance(subject, Order):
            return Concern.ORDER_MISSING
        if subject.paid_payment_id is not None:
            return Concern.ORDER_PAID_BY_ANOTHER
        return None if fits_order(payment, subject) else Concern.ORDER_CHANGED
    if not isinstance(subject, Subscription) or subject.user_id != payment.user_id:
        return Concern.SUBSCRIPTION_MISSING
    if payment.period is not None and payment.period != subject.periods_paid + 1:
        return Concern.SUBSCRIPTION_PERIOD_PAID
    if payment.renewal_attempt is not None and (not subject.auto_renew or subject.status.is_final):
        return Concern.RENEWAL_CANCELED
    change = subject.scheduled_change
    pending = change is not None and change.starts_at > payment.created_at
    if (
        pending
        and change is not None
        and (payment.plan_id, payment.subscription_type)
        != (
            change.plan_id,
            change.subscription_type,
        )
    ):
        return Concern.SUBSCRIPTION_CHANGE_PENDING
    return None
