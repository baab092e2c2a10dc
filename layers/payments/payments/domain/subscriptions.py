"""Subscription periods. Pure."""

import calendar
from dataclasses import replace
from datetime import datetime

from payments.domain.model import Subscription, SubscriptionStatus, SubscriptionType


def add_months(moment: datetime, months: int) -> datetime:
    """Calendar months, clamping the day: Jan 31 + 1 month = Feb 28/29."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def period_months(subscription_type: SubscriptionType) -> int:
    return 1 if subscription_type is SubscriptionType.MONTHLY else 12


def extend_subscription(subscription: Subscription, now: datetime, payment_id: str) -> Subscription:
    """Activate, or extend by one period from max(now, current end). The version and the pointer at the
    active payment are the caller's to change."""
    running = subscription.end_date is not None and subscription.end_date >= now
    period_start = subscription.end_date if running and subscription.end_date else now
    return replace(
        subscription,
        status=SubscriptionStatus.ACTIVE,
        start_date=subscription.start_date if running and subscription.start_date else now,
        end_date=add_months(period_start, period_months(subscription.subscription_type)),
        last_payment_id=payment_id,
    )
