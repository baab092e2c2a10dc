"""Subscription periods. Pure."""

import calendar
from dataclasses import replace
from datetime import datetime

from payments.domain.model import ScheduledChange, Subscription, SubscriptionStatus, SubscriptionType


def add_months(moment: datetime, months: int) -> datetime:
    """Calendar months, clamping the day: Jan 31 + 1 month = Feb 28/29."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def period_months(subscription_type: SubscriptionType) -> int:
    return 1 if subscription_type is SubscriptionType.MONTHLY else 12


def add_paid_period(
    subscription: Subscription,
    plan_id: str,
    subscription_type: SubscriptionType,
    start: datetime,
    payment_id: str,
) -> Subscription:
    """One more paid period of ``plan_id`` / ``subscription_type``, from ``start`` (YooKassa's capture) or
    the end of the time already paid, whichever is later. While paid time runs, another plan or type
    never replaces it (that would sell 13 months of premium for a year of basic plus a month): it is
    scheduled from the end of the paid time and its period appended after it; more of a scheduled choice
    is appended after it too. A change whose time has come by ``start`` takes effect first. (While a
    change is pending, a payment for a third choice cannot be delivered: ``delivery.undeliverable``.)
    Version and pointer are the caller's."""
    running = subscription.end_date is not None and subscription.end_date >= start
    period_start = subscription.end_date if running and subscription.end_date else start
    current = _due_change_applied(subscription, start)
    choice = (plan_id, subscription_type)
    pending = current.scheduled_change
    if running and pending is not None and choice == (pending.plan_id, pending.subscription_type):
        chosen = current  # more of the scheduled choice: appended after it, the schedule kept
    elif running and choice != (current.plan_id, current.subscription_type):
        chosen = replace(current, scheduled_change=ScheduledChange(plan_id, subscription_type, period_start))
    else:
        chosen = replace(current, plan_id=plan_id, subscription_type=subscription_type)
    return replace(
        chosen,
        status=SubscriptionStatus.ACTIVE,
        start_date=subscription.start_date if running and subscription.start_date else start,
        end_date=add_months(period_start, period_months(subscription_type)),
        last_payment_id=payment_id,
    )


def take_back_period(subscription: Subscription, subscription_type: SubscriptionType) -> Subscription:
    """A paid period refunded in full: the paid time ends one such period earlier (the last one is the
    one taken back, whichever payment paid it); with no paid time left the subscription is canceled. A
    scheduled change that started only within the time taken back is dropped. The version is the
    caller's."""
    assert subscription.end_date is not None
    end = add_months(subscription.end_date, -period_months(subscription_type))
    change = subscription.scheduled_change
    kept = change if change is not None and change.starts_at < end else None
    taken = replace(
        subscription, end_date=end, periods_paid=max(subscription.periods_paid - 1, 0), scheduled_change=kept
    )
    if subscription.start_date is None or end <= subscription.start_date:
        return replace(taken, status=SubscriptionStatus.CANCELED, end_date=subscription.start_date or end)
    return taken


def current_choice(subscription: Subscription, now: datetime) -> tuple[str, SubscriptionType]:
    """The plan and type the subscription has at ``now``: a scheduled change once its time has come."""
    applied = _due_change_applied(subscription, now)
    return applied.plan_id, applied.subscription_type


def _due_change_applied(subscription: Subscription, moment: datetime) -> Subscription:
    change = subscription.scheduled_change
    if change is None or change.starts_at > moment:
        return subscription
    return replace(
        subscription, plan_id=change.plan_id, subscription_type=change.subscription_type, scheduled_change=None
    )
