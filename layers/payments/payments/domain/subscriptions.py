"""Subscription periods and their renewal. Pure.

A subscription is ``pending`` until its first payment, then ``active`` while paid time runs. With
automatic renewal (a saved card) the renewal function charges the next period ``RenewalPolicy.renew_before``
its end; a declined charge makes it ``past_due`` and is retried ``retry_days`` after the first decline;
the last decline (or a revoked permission) ``expired``. Paid time that ends unrenewed ends as
``canceled`` (the customer turned renewal off) or ``expired``. Every step only moves forward.
"""

import calendar
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from payments.domain.model import (
    Payment,
    SavedMethod,
    ScheduledChange,
    Subscription,
    SubscriptionStatus,
    SubscriptionType,
)
from payments.domain.provider import PERMISSION_REVOKED, ProviderMethod
from payments.errors import SubscriptionNotResumable


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
        renewal_failures=0,
        first_failure_at=None,
        # Subscribing again after it ended starts afresh: a cancel of the old time does not carry over.
        canceled_at=None if subscription.status.is_final else chosen.canceled_at,
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


# ---------------------------------------------------------------- renewal


@dataclass(frozen=True, slots=True)
class RenewalPolicy:
    """When renewals are charged: ``renew_before`` the paid time ends, then ``retry_days`` after the
    first decline (e.g. 1, 3, 5: three retries; the fourth decline is the last)."""

    renew_before: timedelta = timedelta(hours=24)
    retry_days: tuple[int, ...] = (1, 3, 5)

    @property
    def attempts(self) -> int:
        return len(self.retry_days) + 1


class Step(StrEnum):
    WAIT = "wait"  # nothing is due yet
    CHARGE = "charge"  # charge the next period to the saved method
    END = "end"  # the paid time ended unrenewed: expired or canceled


@dataclass(frozen=True, slots=True)
class Renewal:
    """What the renewal function does with one subscription at ``now``."""

    step: Step
    attempt: int = 0  # CHARGE: the try of this period (1 = the first)
    final: bool = False  # CHARGE: no retry follows a decline of this one
    status: SubscriptionStatus | None = None  # END: the final status


def renewable(subscription: Subscription) -> bool:
    return subscription.auto_renew and subscription.payment_method is not None


def due_at(subscription: Subscription) -> datetime | None:
    """Where the renewal function's index files the subscription: by the end of its paid time while it
    is ``active`` or ``past_due`` (the function asks for everything ending within ``renew_before`` and
    decides with ``renewal_step``); ``None`` takes it out of the index."""
    if subscription.status in (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE):
        return subscription.end_date
    return None


def retry_at(subscription: Subscription, policy: RenewalPolicy) -> datetime | None:
    """When a ``past_due`` subscription's next retry is due; ``None`` when no retry is left."""
    failures = subscription.renewal_failures
    if subscription.first_failure_at is None or not 1 <= failures <= len(policy.retry_days):
        return None
    return subscription.first_failure_at + timedelta(days=policy.retry_days[failures - 1])


def next_charge_at(subscription: Subscription, policy: RenewalPolicy) -> datetime | None:
    """When the saved card is charged next (for the frontend); ``None`` when it will not be."""
    if not renewable(subscription) or subscription.end_date is None:
        return None
    if subscription.status is SubscriptionStatus.ACTIVE:
        return subscription.end_date - policy.renew_before
    if subscription.status is SubscriptionStatus.PAST_DUE:
        return retry_at(subscription, policy)
    return None


def renewal_step(subscription: Subscription, now: datetime, policy: RenewalPolicy) -> Renewal:
    """Whether to charge the next period now (which try), end the subscription, or wait."""
    end = subscription.end_date
    if end is None or subscription.status not in (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE):
        return Renewal(Step.WAIT)
    if not renewable(subscription):
        return Renewal(Step.END, status=_end_status(subscription)) if now >= end else Renewal(Step.WAIT)
    if subscription.status is SubscriptionStatus.ACTIVE:
        due = now >= end - policy.renew_before
        return Renewal(Step.CHARGE, 1, policy.attempts == 1) if due else Renewal(Step.WAIT)
    retry = retry_at(subscription, policy)
    if retry is None:
        return Renewal(Step.END, status=SubscriptionStatus.EXPIRED)  # no retry left (a shorter policy)
    if now < retry:
        return Renewal(Step.WAIT)
    attempt = subscription.renewal_failures + 1
    return Renewal(Step.CHARGE, attempt, attempt >= policy.attempts)


def end_subscription(subscription: Subscription, status: SubscriptionStatus) -> Subscription:
    """The paid time ended unrenewed: ``expired`` or ``canceled``; the saved card is forgotten."""
    return replace(
        subscription,
        status=status,
        auto_renew=False,
        payment_method=None,
        version=subscription.version + 1,
    )


def renewal_declined(
    subscription: Subscription, payment: Payment, now: datetime, reason: str | None
) -> Subscription:
    """A renewal charge was declined: ``past_due`` until the next retry; ``expired`` (renewal off, card
    forgotten) after the last try or when the customer revoked the card's permission. The version is
    the caller's."""
    failed = replace(
        subscription,
        renewal_failures=subscription.renewal_failures + 1,
        first_failure_at=subscription.first_failure_at or now,
    )
    if reason == PERMISSION_REVOKED or payment.final_attempt:
        return replace(failed, status=SubscriptionStatus.EXPIRED, auto_renew=False, payment_method=None)
    return replace(failed, status=SubscriptionStatus.PAST_DUE)


def method_saved(subscription: Subscription, payment: Payment, method: ProviderMethod | None) -> Subscription:
    """A payment that asked to save its card paid with one YooKassa saved: renewals charge it from now
    on. Anything else leaves the subscription's renewal as it was. The version is the caller's."""
    if not payment.save_method or method is None or not method.saved:
        return subscription
    card = SavedMethod(method.id, method.card_last4, method.card_type)
    return replace(subscription, auto_renew=True, payment_method=card, canceled_at=None)


def cancel_renewal(subscription: Subscription, now: datetime) -> Subscription | None:
    """The customer turns renewal off: no more charges; the paid time is kept and then the subscription
    is ``canceled`` (at once when its paid time is over already: a ``past_due`` one after its end). A
    ``past_due`` one within its paid time (its first charge, made a day early, was declined) is
    ``active`` again, its retries dropped. ``None``: nothing to change."""
    status = subscription.status
    if status.is_final or (not subscription.auto_renew and status is not SubscriptionStatus.PAST_DUE):
        return None
    ended = subscription.end_date is None or subscription.end_date <= now
    if status is SubscriptionStatus.PAST_DUE and ended:
        return replace(
            end_subscription(subscription, SubscriptionStatus.CANCELED),
            canceled_at=now,
        )
    # The card stays on record until the paid time ends, so that ``resume`` can turn renewal back on.
    return replace(
        subscription,
        status=SubscriptionStatus.ACTIVE,
        auto_renew=False,
        canceled_at=now,
        renewal_failures=0,
        first_failure_at=None,
        version=subscription.version + 1,
    )


def resume_renewal(subscription: Subscription, now: datetime) -> Subscription | None:
    """Renewal back on, while the paid time has not ended and a card is saved. ``None``: it is on."""
    if subscription.auto_renew and subscription.status in (
        SubscriptionStatus.ACTIVE,
        SubscriptionStatus.PAST_DUE,
    ):
        return None
    end = subscription.end_date
    if subscription.status is not SubscriptionStatus.ACTIVE or end is None or end <= now:
        raise SubscriptionNotResumable("The paid period has ended; subscribe again")
    if subscription.payment_method is None:
        raise SubscriptionNotResumable("No card is saved for this subscription; pay with automatic renewal")
    return replace(subscription, auto_renew=True, canceled_at=None, version=subscription.version + 1)


def _end_status(subscription: Subscription) -> SubscriptionStatus:
    return SubscriptionStatus.CANCELED if subscription.canceled_at is not None else SubscriptionStatus.EXPIRED
