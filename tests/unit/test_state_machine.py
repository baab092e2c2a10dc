"""Every (type, our status, provider status) combination: forward only, never backwards."""

from datetime import UTC, datetime

import pytest

from payments.domain import (
    Action,
    PaymentStatus,
    PaymentType,
    ProviderStatus,
    Subscription,
    SubscriptionStatus,
    SubscriptionType,
    add_months,
    decide_transition,
    extend_subscription,
    refund_outcome,
)

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


def test_no_decision_ever_moves_a_final_payment_backwards_to_pending() -> None:
    for payment_type in PaymentType:
        for current in PaymentStatus:
            for provider in ProviderStatus:
                decision = decide_transition(payment_type, current, provider, "general_decline")
                if decision.action is Action.APPLY:
                    assert current is P.PENDING
                    assert decision.status is not P.PENDING


@pytest.mark.parametrize(
    ("amount", "before", "refund", "total", "full"),
    [(1000, 0, 400, 400, False), (1000, 400, 600, 1000, True), (1000, 0, 1000, 1000, True), (1, 0, 1, 1, True)],
)
def test_refund_outcome(amount, before, refund, total, full) -> None:
    assert refund_outcome(amount, before, refund) == (total, full)


@pytest.mark.parametrize(("before", "refund"), [(0, 1001), (600, 401), (1000, 1), (0, 0), (0, -5)])
def test_refunds_never_exceed_the_amount_or_go_negative(before, refund) -> None:
    with pytest.raises(ValueError):
        refund_outcome(1000, before, refund)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (datetime(2026, 1, 31, tzinfo=UTC), 1, datetime(2026, 2, 28, tzinfo=UTC)),
        (datetime(2028, 1, 31, tzinfo=UTC), 1, datetime(2028, 2, 29, tzinfo=UTC)),
        (datetime(2026, 12, 15, tzinfo=UTC), 1, datetime(2027, 1, 15, tzinfo=UTC)),
        (datetime(2028, 2, 29, tzinfo=UTC), 12, datetime(2029, 2, 28, tzinfo=UTC)),
        (datetime(2026, 3, 31, tzinfo=UTC), 1, datetime(2026, 4, 30, tzinfo=UTC)),
    ],
)
def test_calendar_months(start, months, expected) -> None:
    assert add_months(start, months) == expected


NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def _sub(kind: SubscriptionType, **kw) -> Subscription:
    return Subscription("s1", "alice", "basic", kind, **kw)


def test_a_new_monthly_subscription_runs_a_calendar_month_from_now() -> None:
    active = extend_subscription(_sub(SubscriptionType.MONTHLY), NOW, "p1")
    assert (active.status, active.start_date, active.end_date) == (
        SubscriptionStatus.ACTIVE,
        NOW,
        datetime(2026, 12, 27, 10, 0, tzinfo=UTC),
    )
    assert active.last_payment_id == "p1"


def test_a_running_subscription_is_extended_from_its_end() -> None:
    running = _sub(
        SubscriptionType.YEARLY,
        status=SubscriptionStatus.ACTIVE,
        start_date=datetime(2026, 6, 1, tzinfo=UTC),
        end_date=datetime(2027, 6, 1, tzinfo=UTC),
    )
    extended = extend_subscription(running, NOW, "p2")
    assert extended.start_date == datetime(2026, 6, 1, tzinfo=UTC)
    assert extended.end_date == datetime(2028, 6, 1, tzinfo=UTC)


def test_an_expired_subscription_restarts_from_now() -> None:
    lapsed = _sub(
        SubscriptionType.MONTHLY,
        status=SubscriptionStatus.EXPIRED,
        start_date=datetime(2026, 1, 1, tzinfo=UTC),
        end_date=datetime(2026, 2, 1, tzinfo=UTC),
    )
    renewed = extend_subscription(lapsed, NOW, "p3")
    assert (renewed.start_date, renewed.end_date) == (NOW, datetime(2026, 12, 27, 10, 0, tzinfo=UTC))
