"""The state machine and subscription periods, as sentences.

Every (payment type, our status, YooKassa's status, cancel reason) cell of ``decide_transition`` is
checked against one explicit table: forward only, never backwards. ``settle``'s writes for the same
cells are in ``test_domain_payments``; refund totals (formerly ``refund_outcome``) in
``test_domain_refunds``.

Paid periods (``add_paid_period``, ``take_back_period``) are in ``test_domain_subscriptions``.

``decide_transition`` knows nothing of two-stage payments: ``waiting_for_capture`` is a no-op here, and
``settle`` (``test_domain_payments``) decides to capture or cancel a held one before asking it.
"""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payments.domain import (
    PROVIDER_IDEMPOTENCE_WINDOW,
    REFUNDABLE_STATUSES,
    SETTLED_STATUSES,
    Action,
    Caller,
    PaymentStatus,
    PaymentType,
    ProviderRefundStatus,
    ProviderStatus,
    SubscriptionType,
    cancel_status,
    decide_transition,
    success_status,
)
from payments.domain.state_machine import NOT_A_FAILURE_REASONS
from payments.domain.subscriptions import add_months, period_months

ORDER, SUB = PaymentType.ORDER, PaymentType.SUBSCRIPTION
P = PaymentStatus
DECLINES: list[str | None] = [
    "insufficient_funds",
    "3d_secure_failed",
    "fraud_suspected",
    "card_expired",
    "general_decline",
    None,
]
NOT_FAILURES: list[str | None] = [
    "expired_on_confirmation",
    "canceled_by_merchant",
    "expired_on_capture",
    "deal_expired",
]

# What YooKassa's final status does to each of our statuses: the whole rule, written out once.
ON_SUCCEEDED = {
    P.PENDING: Action.APPLY,
    P.PAID: Action.NOOP,
    P.SUCCESS: Action.NOOP,
    P.REFUNDED: Action.NOOP,
    P.FAILED: Action.CONFLICT,
    P.CANCELED: Action.CONFLICT,
}
ON_CANCELED = {
    P.PENDING: Action.APPLY,
    P.FAILED: Action.NOOP,
    P.CANCELED: Action.NOOP,
    P.PAID: Action.CONFLICT,
    P.SUCCESS: Action.CONFLICT,
    P.REFUNDED: Action.CONFLICT,
}


def expected_status(payment_type: PaymentType, provider: ProviderStatus, reason: str | None) -> PaymentStatus:
    if provider is ProviderStatus.SUCCEEDED:
        return P.PAID if payment_type is ORDER else P.SUCCESS
    return P.CANCELED if payment_type is ORDER and reason in NOT_FAILURES else P.FAILED


# ---------------------------------------------------------------- decide_transition: every cell
def test_the_tables_cover_every_status_of_ours() -> None:
    assert set(ON_SUCCEEDED) == set(ON_CANCELED) == set(PaymentStatus)


@pytest.mark.parametrize("payment_type", list(PaymentType))
@pytest.mark.parametrize("current", list(PaymentStatus))
@pytest.mark.parametrize("provider", list(ProviderStatus))
@pytest.mark.parametrize("reason", [None, "insufficient_funds", "expired_on_confirmation"])  # each class
def test_every_cell_decides_as_the_table_says(payment_type, current, provider, reason) -> None:
    """GIVEN a payment of either type in any status of ours WHEN YooKassa reports any status (with any
    cancel reason) THEN the decision is the table's: only a final YooKassa status moves a pending payment,
    a repeat is a no-op and a contradiction a conflict; only APPLY carries a status."""
    decision = decide_transition(payment_type, current, provider, reason)
    if provider in (ProviderStatus.PENDING, ProviderStatus.WAITING_FOR_CAPTURE):
        expected = Action.NOOP
    elif provider is ProviderStatus.SUCCEEDED:
        expected = ON_SUCCEEDED[current]
    else:
        expected = ON_CANCELED[current]
    assert decision.action is expected
    if expected is Action.APPLY:
        assert decision.status is expected_status(payment_type, provider, reason)
    else:
        assert decision.status is None


@pytest.mark.parametrize("payment_type", list(PaymentType))
@pytest.mark.parametrize("current", list(PaymentStatus))
@pytest.mark.parametrize("provider", [ProviderStatus.PENDING, ProviderStatus.WAITING_FOR_CAPTURE])
def test_in_progress_provider_states_never_change_anything(payment_type, current, provider) -> None:
    assert decide_transition(payment_type, current, provider).action is Action.NOOP


@pytest.mark.parametrize(("payment_type", "settled"), [(ORDER, P.PAID), (SUB, P.SUCCESS)])
def test_succeeded_settles_a_pending_payment(payment_type, settled) -> None:
    decision = decide_transition(payment_type, P.PENDING, ProviderStatus.SUCCEEDED)
    assert (decision.action, decision.status) == (Action.APPLY, settled)


@pytest.mark.parametrize("payment_type", list(PaymentType))
@pytest.mark.parametrize("current", [P.PAID, P.SUCCESS, P.REFUNDED])
def test_succeeded_again_is_a_duplicate(payment_type, current) -> None:
    assert decide_transition(payment_type, current, ProviderStatus.SUCCEEDED).action is Action.NOOP


@pytest.mark.parametrize("payment_type", list(PaymentType))
@pytest.mark.parametrize("current", [P.FAILED, P.CANCELED])
def test_succeeded_after_a_cancel_is_a_conflict(payment_type, current) -> None:
    assert decide_transition(payment_type, current, ProviderStatus.SUCCEEDED).action is Action.CONFLICT


@pytest.mark.parametrize("reason", DECLINES)
def test_a_declined_order_payment_failed(reason) -> None:
    decision = decide_transition(ORDER, P.PENDING, ProviderStatus.CANCELED, reason)
    assert (decision.action, decision.status) == (Action.APPLY, P.FAILED)


@pytest.mark.parametrize("reason", NOT_FAILURES)
def test_an_abandoned_order_payment_is_canceled(reason) -> None:
    decision = decide_transition(ORDER, P.PENDING, ProviderStatus.CANCELED, reason)
    assert (decision.action, decision.status) == (Action.APPLY, P.CANCELED)


@pytest.mark.parametrize("reason", DECLINES + NOT_FAILURES)
def test_every_cancel_of_a_subscription_payment_failed(reason) -> None:
    decision = decide_transition(SUB, P.PENDING, ProviderStatus.CANCELED, reason)
    assert (decision.action, decision.status) == (Action.APPLY, P.FAILED)


@pytest.mark.parametrize("payment_type", list(PaymentType))
@pytest.mark.parametrize("current", [P.FAILED, P.CANCELED])
def test_canceled_again_is_a_duplicate(payment_type, current) -> None:
    assert decide_transition(payment_type, current, ProviderStatus.CANCELED, "x").action is Action.NOOP


@pytest.mark.parametrize("payment_type", list(PaymentType))
@pytest.mark.parametrize("current", [P.PAID, P.SUCCESS, P.REFUNDED])
def test_a_late_cancel_after_payment_is_a_conflict_not_applied(payment_type, current) -> None:
    decision = decide_transition(payment_type, current, ProviderStatus.CANCELED, "expired_on_confirmation")
    assert decision.action is Action.CONFLICT
    assert decision.status is None


def test_a_cancel_says_why_with_its_reason_or_canceled_without_one() -> None:
    assert decide_transition(ORDER, P.PENDING, ProviderStatus.CANCELED, "card_expired").why == "card_expired"
    assert decide_transition(ORDER, P.PENDING, ProviderStatus.CANCELED, None).why == "canceled"


def test_no_decision_ever_moves_a_final_payment_backwards_to_pending() -> None:
    for payment_type in PaymentType:
        for current in PaymentStatus:
            for provider in ProviderStatus:
                decision = decide_transition(payment_type, current, provider, "general_decline")
                if decision.action is Action.APPLY:
                    assert current is P.PENDING
                    assert decision.status is not P.PENDING


def test_the_not_a_failure_reasons_are_exactly_the_documented_four() -> None:
    assert frozenset(NOT_FAILURES) == NOT_A_FAILURE_REASONS


@pytest.mark.parametrize("reason", DECLINES + NOT_FAILURES)
def test_cancel_status_of_a_subscription_is_always_failed(reason) -> None:
    assert cancel_status(SUB, reason) is P.FAILED


def test_success_status_is_paid_for_orders_and_success_for_subscriptions() -> None:
    assert (success_status(ORDER), success_status(SUB)) == (P.PAID, P.SUCCESS)


def test_status_families() -> None:
    """GIVEN our statuses THEN only paid / success are refundable and settled adds refunded; pending is
    in neither."""
    assert {P.PAID, P.SUCCESS} == REFUNDABLE_STATUSES
    assert {P.PAID, P.SUCCESS, P.REFUNDED} == SETTLED_STATUSES
    assert P.PENDING not in REFUNDABLE_STATUSES | SETTLED_STATUSES


def test_only_succeeded_and_canceled_are_final_at_yookassa() -> None:
    assert {s for s in ProviderStatus if s.is_final} == {ProviderStatus.SUCCEEDED, ProviderStatus.CANCELED}
    assert {s for s in ProviderRefundStatus if s.is_final} == {
        ProviderRefundStatus.SUCCEEDED,
        ProviderRefundStatus.CANCELED,
    }


def test_we_stop_reusing_a_provider_idempotence_key_before_yookassa_forgets_it() -> None:
    assert timedelta(hours=1) <= timedelta(hours=24) - PROVIDER_IDEMPOTENCE_WINDOW


# ---------------------------------------------------------------- calendar months
@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (datetime(2026, 1, 31, tzinfo=UTC), 1, datetime(2026, 2, 28, tzinfo=UTC)),
        (datetime(2028, 1, 31, tzinfo=UTC), 1, datetime(2028, 2, 29, tzinfo=UTC)),
        (datetime(2026, 12, 15, tzinfo=UTC), 1, datetime(2027, 1, 15, tzinfo=UTC)),
        (datetime(2026, 12, 31, 23, 59, tzinfo=UTC), 1, datetime(2027, 1, 31, 23, 59, tzinfo=UTC)),
        (datetime(2028, 2, 29, tzinfo=UTC), 12, datetime(2029, 2, 28, tzinfo=UTC)),
        (datetime(2027, 2, 28, tzinfo=UTC), 12, datetime(2028, 2, 28, tzinfo=UTC)),
        (datetime(2026, 3, 31, tzinfo=UTC), 1, datetime(2026, 4, 30, tzinfo=UTC)),
        (datetime(2026, 11, 27, 10, 0, tzinfo=UTC), 12, datetime(2027, 11, 27, 10, 0, tzinfo=UTC)),
        (datetime(2026, 8, 31, tzinfo=UTC), 1, datetime(2026, 9, 30, tzinfo=UTC)),
        (datetime(2026, 1, 31, tzinfo=UTC), 13, datetime(2027, 2, 28, tzinfo=UTC)),
    ],
)
def test_calendar_months(start, months, expected) -> None:
    """GIVEN a moment WHEN months are added THEN the calendar month moves and the day is clamped to it."""
    assert add_months(start, months) == expected


@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)),
    st.integers(min_value=1, max_value=36),
)
def test_adding_months_keeps_the_day_where_it_can_and_never_the_time_or_zone(start, months) -> None:
    later = add_months(start, months)
    assert later > start
    assert (later.year * 12 + later.month) - (start.year * 12 + start.month) == months
    assert later.day == start.day or (start.day > 28 and later.day < start.day)
    assert (later.time(), later.tzinfo) == (start.time(), start.tzinfo)


def test_a_zone_other_than_utc_is_kept() -> None:
    moscow = timezone(timedelta(hours=3))
    assert add_months(datetime(2026, 1, 31, 23, 0, tzinfo=moscow), 1) == datetime(
        2026, 2, 28, 23, 0, tzinfo=moscow
    )


def test_a_month_is_one_and_a_year_twelve_calendar_months() -> None:
    assert (period_months(SubscriptionType.MONTHLY), period_months(SubscriptionType.YEARLY)) == (1, 12)


# ---------------------------------------------------------------- extending a subscription
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def test_a_caller_has_exactly_the_scopes_of_its_token() -> None:
    admin = Caller("ops", frozenset({"payments/admin", "openid"}))
    assert admin.has("payments/admin")
    assert admin.has("openid")
    assert not admin.has("payments")
    assert not admin.has("payments/admin2")
    assert not admin.has("PAYMENTS/ADMIN")


def test_a_caller_without_scopes_has_none() -> None:
    assert not Caller("alice").has("payments/admin")
    assert not Caller("alice").has("")
