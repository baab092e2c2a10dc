"""Can the money still buy what it was paid for? ``delivery`` answers, and ``settle`` acts on the answer:
capture or cancel a held two-stage payment, deliver a paid one or refund it in full.

``delivered``: the subject already records this very payment (a repeated settle). ``undeliverable``: why
the payment can no longer buy its subject as it stands now, or ``None`` when it can. ``settle`` asks
``delivered`` first; these tests ask each function on its own, for every case.
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payments.domain import OrderStatus, PaymentType, SubscriptionStatus, SubscriptionType
from payments.domain.delivery import Concern, delivered, fits_choice, fits_order, undeliverable

from .builders import (
    CREATED,
    MONTHLY_PRICE,
    NOW,
    ORDER_PRICE,
    order,
    order_payment,
    payment_of,
    subject_of,
    subscription,
    subscription_payment,
    undeliverable_cases,
)

CASES = undeliverable_cases()


# ---------------------------------------------------------------- the vocabulary
def test_the_concerns_are_exactly_these_and_their_values_never_change() -> None:
    """The values are logged and counted (``AutoRefund``, ``HoldCanceled``): renaming one breaks alarms."""
    assert {concern.name: concern.value for concern in Concern} == {
        "ORDER_MISSING": "order_missing",
        "ORDER_CHANGED": "order_changed",
        "ORDER_PAID_BY_ANOTHER": "order_paid_by_another",
        "SUBSCRIPTION_MISSING": "subscription_missing",
        "SUBSCRIPTION_PERIOD_PAID": "subscription_period_paid",
        "SUPERSEDED": "superseded",
        "SUBSCRIPTION_CHANGE_PENDING": "subscription_change_pending",
        "RENEWAL_CANCELED": "renewal_canceled",
    }
    assert not hasattr(Concern, "SUBSCRIPTION_NOT_EXTENDED")
    assert str(Concern.ORDER_CHANGED) == "order_changed"


# ---------------------------------------------------------------- fits_choice
# What a customer chooses now (``basic`` monthly at its price, for the first period), as a new create asks.
CHOICE = ("basic", SubscriptionType.MONTHLY, MONTHLY_PRICE, 1)


@pytest.mark.parametrize("period", [1, None])
def test_a_pending_subscription_payment_fits_the_same_choice_for_the_next_or_an_uncounted_period(
    period,
) -> None:
    assert fits_choice(subscription_payment(period=period), *CHOICE) is True


@pytest.mark.parametrize(
    "changed",
    [
        {"plan_id": "premium"},
        {"subscription_type": SubscriptionType.YEARLY},
        {"amount": MONTHLY_PRICE + 1},
        {"amount": MONTHLY_PRICE - 1},
        {"period": 2},
        {"period": 0},
    ],
    ids=["another plan", "another type", "a higher price", "a lower price", "a later period", "period 0"],
)
def test_a_pending_subscription_payment_does_not_fit_another_plan_type_price_or_period(changed) -> None:
    """GIVEN a pending payment WHEN the customer now chooses anything else (or another payment paid its
    period meanwhile) THEN it does not fit: the next create starts a new payment instead of reusing it."""
    assert fits_choice(subscription_payment(**changed), *CHOICE) is False


def test_a_choice_fits_only_when_plan_type_and_price_all_agree() -> None:
    payment = subscription_payment(period=1)
    assert fits_choice(payment, "basic", SubscriptionType.YEARLY, MONTHLY_PRICE, 1) is False
    assert fits_choice(payment, "premium", SubscriptionType.MONTHLY, MONTHLY_PRICE, 1) is False
    assert fits_choice(payment, "basic", SubscriptionType.MONTHLY, 1, 1) is False
    assert fits_choice(payment, "basic", SubscriptionType.MONTHLY, MONTHLY_PRICE, 2) is False


# ---------------------------------------------------------------- fits_order
@pytest.mark.parametrize(
    ("changed", "fits"),
    [
        ({}, True),
        ({"amount": ORDER_PRICE + 1}, False),
        ({"amount": ORDER_PRICE - 1}, False),
        ({"user_id": "bob"}, False),
        ({"user_id": "Alice"}, False),
        ({"description": "x"}, True),
        ({"active_payment_id": "pay-2"}, True),
        ({"active_payment_id": None}, True),
        ({"version": 99}, True),
    ],
)
def test_a_payment_fits_an_order_of_the_same_price_and_owner(changed, fits) -> None:
    assert fits_order(order_payment(), order(**changed)) is fits


# ---------------------------------------------------------------- undeliverable: every case
@pytest.mark.parametrize(
    ("payment_type", "subject", "concern"), [pytest.param(*case, id=name) for name, case in CASES.items()]
)
def test_every_subject_that_can_no_longer_be_bought_names_its_concern(payment_type, subject, concern) -> None:
    """GIVEN a pending payment and its subject as read now (missing, changed, paid by another, another
    user's, its period paid) WHEN asked THEN the concern says exactly why."""
    assert undeliverable(payment_of(payment_type), subject) is Concern(concern)


@pytest.mark.parametrize("payment_type", list(PaymentType))
@pytest.mark.parametrize("capture", [True, False])
def test_a_subject_as_it_stood_when_the_payment_started_can_be_bought(payment_type, capture) -> None:
    """GIVEN the order unpaid at the payment's price and owner, or the subscription (alice's) waiting for
    the period the payment pays WHEN asked THEN nothing stands in the way, one- or two-stage alike."""
    assert undeliverable(payment_of(payment_type, capture=capture), subject_of(payment_type)) is None


@pytest.mark.parametrize(
    "changed",
    [
        {"description": "Генеральная уборка"},
        {"active_payment_id": None},
        {"active_payment_id": "pay-2"},  # a newer tab: the first money to arrive buys the order
        {"version": 40},
    ],
)
def test_an_unpaid_order_at_the_same_price_and_owner_can_be_bought_whatever_else_changed(changed) -> None:
    assert undeliverable(order_payment(), order(**changed)) is None


def test_an_order_is_judged_by_its_price_and_owner_not_by_its_status_field() -> None:
    """The order's ``paid_payment_id`` says whether it is paid; a status without it is not a payment."""
    assert undeliverable(order_payment(), order(status=OrderStatus.PAID)) is None


def test_an_order_already_paid_even_by_this_very_payment_can_not_be_bought_again() -> None:
    """``settle`` asks ``delivered`` first, so a repeated settle never gets this far; asked on its own,
    a paid order is never bought a second time."""
    paid = order(status=OrderStatus.PAID, paid_payment_id="pay-1", paid_at=CREATED, active_payment_id=None)
    assert undeliverable(order_payment(), paid) is Concern.ORDER_PAID_BY_ANOTHER


def test_an_order_paid_by_another_is_that_concern_even_when_its_price_also_changed() -> None:
    paid = order(amount=1, user_id="bob", status=OrderStatus.PAID, paid_payment_id="pay-2")
    assert undeliverable(order_payment(), paid) is Concern.ORDER_PAID_BY_ANOTHER


@pytest.mark.parametrize(
    "changed",
    [
        {"plan_id": "premium"},  # a switch of plan takes effect with the payment
        {"subscription_type": SubscriptionType.YEARLY},
        {"status": SubscriptionStatus.ACTIVE, "start_date": CREATED, "end_date": NOW},
        {"status": SubscriptionStatus.EXPIRED},
        {"status": SubscriptionStatus.CANCELED},
        {"active_payment_id": None},
        {"active_payment_id": "pay-2"},
        {"last_payment_id": "pay-0"},
        {"version": 17},
    ],
)
def test_a_subscription_waiting_for_this_period_can_be_bought_whatever_else_changed(changed) -> None:
    assert undeliverable(subscription_payment(period=1), subscription(periods_paid=0, **changed)) is None


@pytest.mark.parametrize(("period", "periods_paid"), [(1, 0), (2, 1), (3, 2), (13, 12)])
def test_a_payment_for_the_next_period_can_be_bought(period, periods_paid) -> None:
    payment = subscription_payment(period=period)
    assert undeliverable(payment, subscription(periods_paid=periods_paid)) is None


@pytest.mark.parametrize(
    ("period", "periods_paid"), [(1, 1), (1, 2), (2, 2), (2, 5), (3, 1), (1, 10), (0, 0), (2, 0)]
)
def test_a_payment_for_any_other_period_than_the_next_is_for_a_period_already_paid(
    period, periods_paid
) -> None:
    """GIVEN a subscription that paid ``periods_paid`` periods WHEN a payment for another period than
    the next one arrives THEN it can no longer be bought: SUBSCRIPTION_PERIOD_PAID."""
    payment = subscription_payment(period=period)
    assert undeliverable(payment, subscription(periods_paid=periods_paid)) is Concern.SUBSCRIPTION_PERIOD_PAID


@pytest.mark.parametrize("periods_paid", [0, 1, 2, 40])
def test_a_payment_started_before_periods_were_counted_pays_whatever_period_comes_next(periods_paid) -> None:
    payment = subscription_payment(period=None)
    assert undeliverable(payment, subscription(periods_paid=periods_paid)) is None


@pytest.mark.parametrize("period", [None, 1])
def test_a_subscription_of_another_user_is_missing_whatever_its_periods(period) -> None:
    payment = subscription_payment(period=period)
    assert undeliverable(payment, subscription(user_id="bob")) is Concern.SUBSCRIPTION_MISSING


def test_a_missing_subscription_is_that_concern_before_any_period_is_compared() -> None:
    assert undeliverable(subscription_payment(period=7), None) is Concern.SUBSCRIPTION_MISSING


@given(
    st.one_of(st.none(), st.integers(min_value=0, max_value=50)),
    st.integers(min_value=0, max_value=50),
)
def test_a_subscription_payment_is_deliverable_exactly_for_the_next_period_or_an_uncounted_one(
    period, periods_paid
) -> None:
    payment = subscription_payment(period=period)
    concern = undeliverable(payment, subscription(periods_paid=periods_paid))
    deliverable = period is None or period == periods_paid + 1
    assert concern is (None if deliverable else Concern.SUBSCRIPTION_PERIOD_PAID)


# ---------------------------------------------------------------- delivered
@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        (
            order(status=OrderStatus.PAID, paid_payment_id="pay-1", paid_at=CREATED, active_payment_id=None),
            True,
        ),
        # the record stands even where the order changed since: it was paid by this payment
        (order(amount=1, user_id="bob", status=OrderStatus.PAID, paid_payment_id="pay-1"), True),
        (order(status=OrderStatus.PAID, paid_payment_id="pay-2", paid_at=CREATED), False),
        (order(), False),
        (order(active_payment_id="pay-1"), False),  # pointing at it is not being paid by it
        (order(status=OrderStatus.PAID), False),
        (None, False),
    ],
)
def test_an_order_records_an_order_payment_only_once_it_was_paid_by_it(subject, expected) -> None:
    assert delivered(order_payment(), subject) is expected


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        (subscription(status=SubscriptionStatus.ACTIVE, last_payment_id="pay-1", periods_paid=1), True),
        (subscription(last_payment_id="pay-1", user_id="bob", plan_id="premium"), True),
        (subscription(status=SubscriptionStatus.ACTIVE, last_payment_id="pay-2", periods_paid=1), False),
        (subscription(), False),
        (subscription(active_payment_id="pay-1"), False),
        (None, False),
    ],
)
def test_a_subscription_records_a_payment_only_while_it_is_its_last_payment(subject, expected) -> None:
    assert delivered(subscription_payment(), subject) is expected


@pytest.mark.parametrize("payment_type", list(PaymentType))
def test_nothing_is_delivered_to_a_missing_subject(payment_type) -> None:
    assert delivered(payment_of(payment_type), None) is False


@pytest.mark.parametrize(
    ("payment_type", "subject", "concern"), [pytest.param(*case, id=name) for name, case in CASES.items()]
)
def test_no_undeliverable_case_counts_as_delivered(payment_type, subject, concern) -> None:
    """A subject that cannot be bought by this payment does not record it either: settle refunds those."""
    assert delivered(payment_of(payment_type), subject) is False


def test_while_a_change_is_scheduled_only_payments_for_it_can_be_delivered() -> None:
    """GIVEN premium monthly scheduled from the end of a basic year WHEN another payment arrives before
    then THEN more premium monthly is deliverable (appended), anything else is not (it could only be
    sold below its price); once the change's time has come the schedule no longer binds."""
    from dataclasses import replace as changed
    from datetime import timedelta

    from payments.domain import ScheduledChange, SubscriptionType
    from tests.unit.builders import subscription, subscription_payment

    later = subscription_payment().created_at + timedelta(days=30)
    scheduled = changed(
        subscription(), scheduled_change=ScheduledChange("premium", SubscriptionType.MONTHLY, later)
    )
    premium = subscription_payment(plan_id="premium", subscription_type=SubscriptionType.MONTHLY)
    basic = subscription_payment(plan_id="basic", subscription_type=SubscriptionType.YEARLY)
    assert undeliverable(premium, scheduled) is None
    assert undeliverable(basic, scheduled) is Concern.SUBSCRIPTION_CHANGE_PENDING
    assert undeliverable(changed(basic, created_at=later), scheduled) is None
