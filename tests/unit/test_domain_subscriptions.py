"""Subscription periods (``domain.subscriptions``), as sentences: a paid period is added from YooKassa's
capture or the end of the time already paid; another plan or type paid while paid time runs is
scheduled from its end, never underpriced; a full refund takes one period back; ``current_choice`` tells
the plan and type at a moment.

``add_paid_period`` and ``take_back_period`` leave the version, the pointer at the active payment and
(for ``add_paid_period``) the count of paid periods to their callers (``settle``, ``record_refund``):
these tests check that they leave them alone. The pricing-hole scenario of issue 11 runs through
``settle`` and ``record_refund`` at the end.
"""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payments.domain import (
    Payment,
    PaymentStatus,
    ProviderRefund,
    ProviderRefundStatus,
    ScheduledChange,
    Subscription,
    SubscriptionStatus,
    SubscriptionType,
)
from payments.domain.payments import start_subscription_payment
from payments.domain.refunds import record_refund
from payments.domain.settlement import SyncOutcome, settle
from payments.domain.subscriptions import add_months, add_paid_period, current_choice, take_back_period

from .builders import (
    NOW,
    PAID_FROM,
    PAID_UNTIL,
    active_subscription,
    fetched,
    subscription,
    subscription_payment,
)

M, Y = SubscriptionType.MONTHLY, SubscriptionType.YEARLY
ACTIVE, CANCELED, EXPIRED = SubscriptionStatus.ACTIVE, SubscriptionStatus.CANCELED, SubscriptionStatus.EXPIRED
US = timedelta(microseconds=1)
CAPTURED = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)  # two hours before NOW: YooKassa took the money then
ONE_MONTH_AFTER_PAID = datetime(2027, 1, 10, 10, 0, tzinfo=UTC)  # PAID_UNTIL + 1 calendar month
ONE_YEAR_AFTER_PAID = datetime(2027, 12, 10, 10, 0, tzinfo=UTC)  # PAID_UNTIL + 12 calendar months
LAPSED = {
    "status": EXPIRED,
    "start_date": datetime(2026, 9, 10, 10, 0, tzinfo=UTC),
    "end_date": datetime(2026, 10, 10, 10, 0, tzinfo=UTC),
}


# ---------------------------------------------------------------- add_paid_period: the first period
@pytest.mark.parametrize(
    ("plan", "kind", "end"),
    [
        ("basic", M, datetime(2026, 12, 27, 8, 0, tzinfo=UTC)),
        ("basic", Y, datetime(2027, 11, 27, 8, 0, tzinfo=UTC)),
        ("premium", M, datetime(2026, 12, 27, 8, 0, tzinfo=UTC)),
        ("premium", Y, datetime(2027, 11, 27, 8, 0, tzinfo=UTC)),
    ],
)
def test_a_first_period_starts_when_the_money_was_captured_with_the_plan_and_type_paid_for(
    plan, kind, end
) -> None:
    """GIVEN a subscription never paid (``basic`` monthly, pending) WHEN a period of any plan and type is
    paid THEN it is active from the capture for one calendar month or year, of that plan and type; its
    version, pointer and count of paid periods are left to the caller."""
    before = subscription()
    after = add_paid_period(before, plan, kind, CAPTURED, "pay-1")
    assert after == replace(
        before,
        plan_id=plan,
        subscription_type=kind,
        status=ACTIVE,
        start_date=CAPTURED,
        end_date=end,
        last_payment_id="pay-1",
    )
    assert (after.version, after.active_payment_id, after.periods_paid) == (1, "pay-1", 0)
    assert after.scheduled_change is None


# ---------------------------------------------------------------- add_paid_period: while paid time runs
@pytest.mark.parametrize(("kind", "end"), [(M, ONE_MONTH_AFTER_PAID), (Y, ONE_YEAR_AFTER_PAID)])
def test_the_same_plan_and_type_paid_while_paid_time_runs_extend_it_from_its_end(kind, end) -> None:
    before = active_subscription(subscription_type=kind)
    after = add_paid_period(before, "basic", kind, NOW, "pay-1")
    assert after == replace(before, end_date=end, last_payment_id="pay-1")
    assert (after.start_date, after.scheduled_change) == (PAID_FROM, None)


@pytest.mark.parametrize(
    ("plan", "kind", "end"),
    [
        ("premium", M, ONE_MONTH_AFTER_PAID),
        ("basic", Y, ONE_YEAR_AFTER_PAID),
        ("premium", Y, ONE_YEAR_AFTER_PAID),
    ],
    ids=["another plan", "another type", "another plan and type"],
)
def test_another_plan_or_type_paid_while_paid_time_runs_is_scheduled_from_its_end_and_its_period_appended(
    plan, kind, end
) -> None:
    """GIVEN ``basic`` monthly paid until PAID_UNTIL WHEN another plan or type is paid now THEN the current
    plan and type are kept until PAID_UNTIL, the one paid for is scheduled from PAID_UNTIL, and its
    period (one month or one year) is appended after it: nothing is sold at a lower price."""
    before = active_subscription()
    after = add_paid_period(before, plan, kind, NOW, "pay-1")
    assert after == replace(
        before, end_date=end, last_payment_id="pay-1", scheduled_change=ScheduledChange(plan, kind, PAID_UNTIL)
    )
    assert current_choice(after, NOW) == current_choice(after, PAID_UNTIL - US) == ("basic", M)
    assert current_choice(after, PAID_UNTIL) == current_choice(after, end) == (plan, kind)


def test_a_period_is_added_from_the_end_of_paid_time_however_early_the_money_was_captured() -> None:
    before = active_subscription()
    after = add_paid_period(before, "basic", M, PAID_FROM, "pay-1")
    assert (after.start_date, after.end_date) == (PAID_FROM, ONE_MONTH_AFTER_PAID)


# ---------------------------------------------------------------- add_paid_period: paid time over
@pytest.mark.parametrize(
    ("plan", "kind", "end"),
    [
        ("basic", M, datetime(2026, 12, 27, 8, 0, tzinfo=UTC)),
        ("premium", M, datetime(2026, 12, 27, 8, 0, tzinfo=UTC)),
        ("basic", Y, datetime(2027, 11, 27, 8, 0, tzinfo=UTC)),
        ("premium", Y, datetime(2027, 11, 27, 8, 0, tzinfo=UTC)),
    ],
)
def test_a_subscription_whose_paid_time_ended_takes_the_choice_paid_for_at_once_from_the_capture(
    plan, kind, end
) -> None:
    """GIVEN ``basic`` monthly that lapsed (its end before the capture) WHEN any plan and type is paid
    THEN it switches to them at once and starts again at the capture: nothing is scheduled."""
    before = active_subscription(**LAPSED)
    after = add_paid_period(before, plan, kind, CAPTURED, "pay-1")
    assert after == replace(
        before,
        plan_id=plan,
        subscription_type=kind,
        status=ACTIVE,
        start_date=CAPTURED,
        end_date=end,
        last_payment_id="pay-1",
    )


@pytest.mark.parametrize(
    ("captured", "running"),
    [(PAID_UNTIL - US, True), (PAID_UNTIL, True), (PAID_UNTIL + US, False)],
    ids=["a microsecond before the end", "exactly at the end", "a microsecond after the end"],
)
def test_paid_time_still_runs_at_its_very_end_and_not_a_microsecond_later(captured, running) -> None:
    """GIVEN ``basic`` monthly paid until PAID_UNTIL WHEN ``premium`` monthly is captured around that end
    THEN up to and at the end it is scheduled from the end and appended (the start kept); a microsecond
    later the subscription starts again, ``premium`` at once, from the capture."""
    before = active_subscription()
    after = add_paid_period(before, "premium", M, captured, "pay-1")
    if running:
        assert after == replace(
            before,
            end_date=ONE_MONTH_AFTER_PAID,
            last_payment_id="pay-1",
            scheduled_change=ScheduledChange("premium", M, PAID_UNTIL),
        )
    else:
        assert after == replace(
            before,
            plan_id="premium",
            start_date=captured,
            end_date=ONE_MONTH_AFTER_PAID + US,
            last_payment_id="pay-1",
        )


# ---------------------------------------------------------------- add_paid_period: a scheduled change due
SCHEDULED_THEN_LAPSED = {
    "status": EXPIRED,
    "start_date": datetime(2026, 8, 10, 10, 0, tzinfo=UTC),
    "end_date": datetime(2026, 10, 10, 10, 0, tzinfo=UTC),
    "scheduled_change": ScheduledChange("premium", M, datetime(2026, 9, 10, 10, 0, tzinfo=UTC)),
}


@pytest.mark.parametrize(("plan", "kind"), [("basic", M), ("premium", M), ("premium", Y)])
def test_a_lapsed_subscription_applies_its_due_change_and_then_takes_the_choice_paid_for(plan, kind) -> None:
    """GIVEN ``basic`` monthly that became ``premium`` monthly by a scheduled change, then lapsed WHEN any
    plan and type is paid THEN the subscription starts again with exactly that choice and nothing is
    scheduled any more."""
    before = active_subscription(**SCHEDULED_THEN_LAPSED)
    after = add_paid_period(before, plan, kind, NOW, "pay-1")
    assert after == replace(
        before,
        plan_id=plan,
        subscription_type=kind,
        status=ACTIVE,
        start_date=NOW,
        end_date=add_months(NOW, 1 if kind is M else 12),
        last_payment_id="pay-1",
        scheduled_change=None,
    )


# ``basic`` monthly since October, ``premium`` monthly since a change on Nov 10 (before NOW), paid
# until PAID_UNTIL: the stored plan lags behind the change that already took effect.
CHANGED_BEFORE_NOW = {
    "start_date": datetime(2026, 10, 10, 10, 0, tzinfo=UTC),
    "scheduled_change": ScheduledChange("premium", M, PAID_FROM),
    "periods_paid": 2,
}


def test_a_change_that_already_took_effect_is_applied_before_the_same_choice_is_extended() -> None:
    before = active_subscription(**CHANGED_BEFORE_NOW)
    after = add_paid_period(before, "premium", M, NOW, "pay-1")
    assert after == replace(
        before, plan_id="premium", end_date=ONE_MONTH_AFTER_PAID, last_payment_id="pay-1", scheduled_change=None
    )


def test_a_change_that_already_took_effect_is_applied_before_another_choice_is_scheduled() -> None:
    """GIVEN a subscription that became ``premium`` monthly on Nov 10 WHEN ``basic`` monthly is paid now
    THEN it is ``premium`` until PAID_UNTIL (as it already was) and ``basic`` is scheduled from then."""
    before = active_subscription(**CHANGED_BEFORE_NOW)
    after = add_paid_period(before, "basic", M, NOW, "pay-1")
    assert after == replace(
        before,
        plan_id="premium",
        end_date=ONE_MONTH_AFTER_PAID,
        last_payment_id="pay-1",
        scheduled_change=ScheduledChange("basic", M, PAID_UNTIL),
    )
    assert current_choice(after, NOW) == ("premium", M)
    assert current_choice(after, PAID_UNTIL) == ("basic", M)


@given(
    st.one_of(st.none(), st.timedeltas(min_value=timedelta(days=-800), max_value=timedelta(days=800))),
    st.sampled_from(list(SubscriptionType)),
    st.sampled_from(["basic", "premium"]),
    st.sampled_from(list(SubscriptionType)),
)
def test_a_paid_period_never_gives_the_choice_paid_for_before_the_time_already_paid_ends(
    end_offset, was, plan, kind
) -> None:
    """GIVEN ``basic`` of any type, never paid, lapsed or running, nothing scheduled WHEN any plan and type
    is paid at NOW THEN one such period is added after max(NOW, end), and the plan and type it had hold
    until the time already paid ends: the one paid for holds from then on, to the new end."""
    end = None if end_offset is None else NOW + end_offset
    start = None if end is None else end - timedelta(days=30)
    before = subscription(subscription_type=was, start_date=start, end_date=end)
    after = add_paid_period(before, plan, kind, NOW, "pay-1")
    running = end is not None and end >= NOW
    period_start = end if running and end is not None else NOW
    assert after.end_date == add_months(period_start, 1 if kind is M else 12)
    assert (after.status, after.last_payment_id, after.version, after.periods_paid) == (ACTIVE, "pay-1", 1, 0)
    assert after.start_date == (start if running else NOW)
    if running and period_start > NOW:
        assert current_choice(after, NOW) == current_choice(after, period_start - US) == ("basic", was)
    assert current_choice(after, period_start) == current_choice(after, after.end_date) == (plan, kind)


# ---------------------------------------------------------------- take_back_period
TWO_MONTHS_PAID = {"end_date": ONE_MONTH_AFTER_PAID, "periods_paid": 2}


def test_taking_back_a_month_ends_the_paid_time_a_calendar_month_earlier() -> None:
    before = active_subscription(**TWO_MONTHS_PAID)
    after = take_back_period(before, M)
    assert after == replace(before, end_date=PAID_UNTIL, periods_paid=1)
    assert (after.status, after.version, after.last_payment_id) == (ACTIVE, before.version, "pay-0")


def test_taking_back_a_year_ends_the_paid_time_twelve_calendar_months_earlier() -> None:
    before = active_subscription(
        subscription_type=Y,
        start_date=datetime(2026, 1, 10, tzinfo=UTC),
        end_date=datetime(2028, 1, 10, tzinfo=UTC),
        periods_paid=2,
    )
    after = take_back_period(before, Y)
    assert after == replace(before, end_date=datetime(2027, 1, 10, tzinfo=UTC), periods_paid=1)


def test_the_period_taken_back_is_of_the_type_refunded_not_of_the_subscriptions() -> None:
    """GIVEN a monthly subscription paid until a year after PAID_UNTIL (a yearly payment appended) WHEN the
    yearly payment is refunded THEN twelve months are taken back, not one."""
    before = active_subscription(end_date=ONE_YEAR_AFTER_PAID, periods_paid=2)
    assert take_back_period(before, Y) == replace(before, end_date=PAID_UNTIL, periods_paid=1)
    assert take_back_period(before, M).end_date == datetime(2027, 11, 10, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize("kind", [M, Y], ids=["exactly the paid time", "more than the paid time"])
def test_a_subscription_left_with_no_paid_time_is_canceled_ending_where_it_started(kind) -> None:
    before = active_subscription()
    after = take_back_period(before, kind)
    assert after == replace(before, status=CANCELED, end_date=PAID_FROM, periods_paid=0)


def test_a_microsecond_of_paid_time_left_keeps_the_subscription_as_it_was() -> None:
    before = active_subscription(end_date=PAID_UNTIL + US, periods_paid=2)
    after = take_back_period(before, M)
    assert after == replace(before, end_date=PAID_FROM + US, periods_paid=1)
    assert after.status is ACTIVE


@pytest.mark.parametrize("status", [ACTIVE, EXPIRED])
def test_taking_back_a_period_with_paid_time_left_keeps_the_status(status) -> None:
    before = active_subscription(status=status, **TWO_MONTHS_PAID)
    assert take_back_period(before, M).status is status


def test_a_subscription_without_a_start_is_canceled_when_a_period_is_taken_back() -> None:
    before = active_subscription(start_date=None, **TWO_MONTHS_PAID)
    assert take_back_period(before, M) == replace(before, status=CANCELED, end_date=PAID_UNTIL, periods_paid=1)


@pytest.mark.parametrize(
    ("starts_at", "kept"),
    [
        (PAID_FROM, True),
        (PAID_UNTIL - US, True),
        (PAID_UNTIL, False),  # it would start exactly when the paid time now ends: never
        (ONE_MONTH_AFTER_PAID - US, False),
    ],
)
def test_a_scheduled_change_within_the_time_taken_back_is_dropped_and_an_earlier_one_kept(
    starts_at, kept
) -> None:
    change = ScheduledChange("premium", Y, starts_at)
    before = active_subscription(scheduled_change=change, **TWO_MONTHS_PAID)
    after = take_back_period(before, M)
    assert after == replace(
        before, end_date=PAID_UNTIL, periods_paid=1, scheduled_change=change if kept else None
    )


def test_a_canceled_subscription_keeps_no_scheduled_change() -> None:
    before = active_subscription(scheduled_change=ScheduledChange("premium", M, PAID_UNTIL))
    after = take_back_period(before, M)
    assert (after.status, after.end_date, after.scheduled_change) == (CANCELED, PAID_FROM, None)


@pytest.mark.parametrize(("periods_paid", "left"), [(0, 0), (1, 0), (2, 1), (12, 11)])
def test_the_count_of_paid_periods_goes_down_by_one_and_never_below_zero(periods_paid, left) -> None:
    before = active_subscription(end_date=ONE_YEAR_AFTER_PAID, periods_paid=periods_paid)
    assert take_back_period(before, M).periods_paid == left


def test_taking_back_a_month_clamps_the_day_as_adding_one_does() -> None:
    before = active_subscription(end_date=datetime(2027, 3, 31, 10, 0, tzinfo=UTC), periods_paid=4)
    assert take_back_period(before, M).end_date == datetime(2027, 2, 28, 10, 0, tzinfo=UTC)


def test_taking_back_a_period_leaves_identity_plan_pointer_and_version_alone() -> None:
    before = active_subscription(active_payment_id="pay-9", version=11, **TWO_MONTHS_PAID)
    after = take_back_period(before, M)
    assert (after.subscription_id, after.user_id, after.plan_id, after.subscription_type) == (
        "s1",
        "alice",
        "basic",
        M,
    )
    assert (after.active_payment_id, after.version, after.last_payment_id) == ("pay-9", 11, "pay-0")


def test_a_subscription_never_paid_has_no_period_to_take_back() -> None:
    with pytest.raises(AssertionError):
        take_back_period(subscription(), M)


# ---------------------------------------------------------------- current_choice
@pytest.mark.parametrize("moment", [PAID_FROM - timedelta(days=400), NOW, PAID_UNTIL, ONE_YEAR_AFTER_PAID])
def test_without_a_scheduled_change_the_choice_is_the_subscriptions_own_at_any_moment(moment) -> None:
    assert current_choice(active_subscription(subscription_type=Y, plan_id="premium"), moment) == ("premium", Y)


@pytest.mark.parametrize(
    ("moment", "choice"),
    [
        (NOW, ("basic", M)),
        (PAID_UNTIL - US, ("basic", M)),
        (PAID_UNTIL, ("premium", Y)),
        (PAID_UNTIL + US, ("premium", Y)),
        (ONE_YEAR_AFTER_PAID + timedelta(days=1000), ("premium", Y)),
    ],
)
def test_a_scheduled_change_is_the_choice_from_the_moment_it_starts(moment, choice) -> None:
    before = active_subscription(scheduled_change=ScheduledChange("premium", Y, PAID_UNTIL))
    assert current_choice(before, moment) == choice
    assert (before.plan_id, before.subscription_type) == ("basic", M)  # the subscription itself is unchanged


# ---------------------------------------------------------------- issue 11: the pricing hole
BASIC_YEAR, PREMIUM_MONTH = 1_000_000, 250_000  # 10 000,00 ₽ and 2 500,00 ₽
YEAR_START = NOW
YEAR_END = datetime(2027, 11, 27, 10, 0, tzinfo=UTC)
DURING_THE_YEAR = datetime(2027, 1, 15, 12, 0, tzinfo=UTC)


def paid_through_settle(before: Subscription | None, payment: Payment, captured: datetime) -> Subscription:
    """``payment`` started for the subscription (``before``: None for a first payment) and then paid,
    captured at ``captured`` and processed a minute later: the subscription as ``settle`` writes it."""
    started = start_subscription_payment(before, payment)
    [started_update] = [
        *(item for item in started.created if isinstance(item, Subscription)),
        *(u.after for u in started.updated if isinstance(u.after, Subscription)),
    ]
    result = settle(
        payment, started_update, fetched(payment, captured_at=captured), captured + timedelta(minutes=1)
    )
    assert (result.outcome, result.concern, result.refund) == (SyncOutcome.APPLIED, None, None)
    assert result.payment.delivered is True
    [update] = [u for u in result.changes.updated if isinstance(u.after, Subscription)]
    assert update.before == started_update
    return update.after


def basic_yearly() -> Payment:
    return subscription_payment(payment_id="pay-1", plan_id="basic", subscription_type=Y, amount=BASIC_YEAR)


def premium_monthly(payment_id: str = "pay-2", period: int = 2) -> Payment:
    return subscription_payment(
        payment_id=payment_id, plan_id="premium", subscription_type=M, amount=PREMIUM_MONTH, period=period
    )


def basic_year_then_premium_month() -> Subscription:
    yearly = paid_through_settle(None, basic_yearly(), YEAR_START)
    return paid_through_settle(yearly, premium_monthly(), DURING_THE_YEAR)


def test_the_pricing_hole_basic_yearly_then_premium_monthly_schedules_premium_from_the_end_of_the_year() -> (
    None
):
    """GIVEN alice paid ``basic`` yearly (10 000 ₽) WHEN she pays ``premium`` monthly (2 500 ₽) during that
    year THEN she keeps ``basic`` until the year ends, ``premium`` monthly is scheduled from then, and
    her paid time ends a year and a month after she started: one month of premium for 2 500 ₽, never
    thirteen."""
    after = basic_year_then_premium_month()
    assert after == Subscription(
        "s1",
        "alice",
        "basic",
        Y,
        status=ACTIVE,
        start_date=YEAR_START,
        end_date=datetime(2027, 12, 27, 10, 0, tzinfo=UTC),
        active_payment_id=None,
        last_payment_id="pay-2",
        version=4,  # created, paid, pointed at pay-2, paid
        periods_paid=2,
        scheduled_change=ScheduledChange("premium", M, YEAR_END),
    )
    assert current_choice(after, DURING_THE_YEAR) == current_choice(after, YEAR_END - US) == ("basic", Y)
    assert current_choice(after, YEAR_END) == ("premium", M)


def test_refunding_the_premium_month_in_full_gives_back_exactly_that_month_and_its_change() -> None:
    """GIVEN the pricing-hole subscription WHEN the premium monthly payment is refunded in full THEN the
    paid time ends with the year again, nothing is scheduled, one period is counted: ``basic`` yearly as
    alice paid for it."""
    after = basic_year_then_premium_month()
    paid = replace(premium_monthly(), status=PaymentStatus.SUCCESS, paid_at=DURING_THE_YEAR, delivered=True)
    refund = ProviderRefund("rf-1", "yk-1", ProviderRefundStatus.SUCCEEDED, PREMIUM_MONTH, "RUB")
    _, changes = record_refund(paid, refund, None, NOW, after)
    [update] = [u for u in changes.updated if isinstance(u.after, Subscription)]
    assert update.before == after
    assert update.after == replace(
        after, end_date=YEAR_END, periods_paid=1, scheduled_change=None, version=after.version + 1
    )
    assert current_choice(update.after, YEAR_END - US) == ("basic", Y)


def test_refunding_the_basic_year_in_full_takes_back_the_last_twelve_months_and_the_change() -> None:
    after = basic_year_then_premium_month()
    paid = replace(basic_yearly(), status=PaymentStatus.SUCCESS, paid_at=YEAR_START, delivered=True)
    refund = ProviderRefund("rf-1", "yk-1", ProviderRefundStatus.SUCCEEDED, BASIC_YEAR, "RUB")
    _, changes = record_refund(paid, refund, None, NOW, after)
    [update] = [u for u in changes.updated if isinstance(u.after, Subscription)]
    assert update.after == replace(
        after,
        end_date=datetime(2026, 12, 27, 10, 0, tzinfo=UTC),
        periods_paid=1,
        scheduled_change=None,
        version=after.version + 1,
    )


# The next two fail against the domain as it is (see the report): a payment settled while a change is
# scheduled applies that change at once (``_due_change_applied`` at the new period's start, which is the
# end of the running period, not the payment's capture), so the running ``basic`` year turns ``premium``
# now. They assert only the rule of issue 11 (``basic`` until the year it paid for ends, ``premium`` from
# then), whatever a fix does with the third payment (appends it, or refunds it as undeliverable).
def subscription_after(before: Subscription, payment: Payment, captured: datetime) -> Subscription:
    """The subscription as ``payment``, started and then settled (captured at ``captured``), leaves it."""
    [started] = [u.after for u in start_subscription_payment(before, payment).updated]
    assert isinstance(started, Subscription)
    result = settle(payment, started, fetched(payment, captured_at=captured), captured + timedelta(minutes=1))
    assert result.outcome is SyncOutcome.APPLIED
    updates = [u.after for u in result.changes.updated if isinstance(u.after, Subscription)]
    return updates[-1] if updates else started


LATER_IN_THE_YEAR = DURING_THE_YEAR + timedelta(days=30)


def test_a_second_premium_month_paid_during_the_basic_year_keeps_basic_until_the_year_ends() -> None:
    """GIVEN the pricing-hole subscription (``basic`` yearly until YEAR_END, ``premium`` monthly scheduled
    from then) WHEN alice pays another ``premium`` month during the year THEN she still has ``basic`` until
    YEAR_END: otherwise 2 500 ₽ more buys premium for the nine months left of the basic year too."""
    after = subscription_after(basic_year_then_premium_month(), premium_monthly("pay-3", 3), LATER_IN_THE_YEAR)
    assert current_choice(after, LATER_IN_THE_YEAR) == ("basic", Y)
    assert current_choice(after, YEAR_END - US) == ("basic", Y)
    assert current_choice(after, YEAR_END) == ("premium", M)


def test_a_basic_year_paid_while_premium_is_scheduled_keeps_basic_until_the_year_ends() -> None:
    """GIVEN the pricing-hole subscription WHEN alice pays ``basic`` yearly again during the year THEN she
    has ``basic`` until YEAR_END (the year she paid first) and the ``premium`` month she paid from then,
    never ``premium`` before it."""
    again = subscription_payment(
        payment_id="pay-3", plan_id="basic", subscription_type=Y, amount=BASIC_YEAR, period=3
    )
    after = subscription_after(basic_year_then_premium_month(), again, LATER_IN_THE_YEAR)
    assert current_choice(after, LATER_IN_THE_YEAR) == ("basic", Y)
    assert current_choice(after, YEAR_END - US) == ("basic", Y)
    assert current_choice(after, YEAR_END) == ("premium", M)
