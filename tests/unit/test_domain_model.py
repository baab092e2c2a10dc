"""The entities' own rules: idempotence keys that never drift, what is left to refund, what one decision
writes (``Changes``)."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from payments.domain import (
    IDEMPOTENCY_IN_PROGRESS,
    OPEN_REFUND_STATES,
    AppliedRefund,
    Changes,
    IdempotencyRecord,
    OrderStatus,
    Payment,
    PaymentStatus,
    PaymentType,
    ProviderPayment,
    ProviderStatus,
    RefundState,
    ScheduledChange,
    Subscription,
    SubscriptionType,
    Update,
    utc_now,
)

from .builders import CREATED, NOW, order, order_payment, refund_request, subscription_payment

NAMES = st.text(min_size=1, max_size=20)
MOMENTS = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))
KOPECKS = st.integers(min_value=0, max_value=10**12)

# Everything about a payment that can change after it is created.
PAYMENT_CHANGES = st.fixed_dictionaries(
    {},
    optional={
        "version": st.integers(min_value=0, max_value=10**6),
        "status": st.sampled_from(list(PaymentStatus)),
        "yookassa_id": st.one_of(st.none(), NAMES),
        "payment_url": st.one_of(st.none(), NAMES),
        "amount": KOPECKS,
        "user_id": NAMES,
        "description": st.text(max_size=40),
        "created_at": MOMENTS,
        "updated_at": st.one_of(st.none(), MOMENTS),
        "paid_at": st.one_of(st.none(), MOMENTS),
        "provider_checked_at": st.one_of(st.none(), MOMENTS),
        "refunded_amount": KOPECKS,
        "refund_reserved": KOPECKS,
        "cancellation_reason": st.one_of(st.none(), NAMES),
        "cancellation_party": st.one_of(st.none(), NAMES),
        "plan_id": st.one_of(st.none(), NAMES),
        "subscription_type": st.one_of(st.none(), st.sampled_from(list(SubscriptionType))),
        "type": st.sampled_from(list(PaymentType)),
        "order_id": st.one_of(st.none(), NAMES),
        "subscription_id": st.one_of(st.none(), NAMES),
        "capture": st.booleans(),
        "period": st.one_of(st.none(), st.integers(min_value=0, max_value=1000)),
        "delivered": st.one_of(st.none(), st.booleans()),
    },
)


# ---------------------------------------------------------------- idempotence keys
def test_a_payments_create_key_is_create_and_its_id() -> None:
    assert order_payment(payment_id="0b6e5c1a").idempotence_key() == "create-0b6e5c1a"


@settings(max_examples=50)
@given(PAYMENT_CHANGES)
def test_a_payments_create_key_never_changes_with_anything_but_its_id(changes) -> None:
    """GIVEN a payment WHEN any other field changes (version, status, YooKassa's id, amounts...) THEN a
    create re-sent with the new record still carries the same key, so it reaches the same YooKassa
    payment: one payment, never two."""
    payment = order_payment()
    assert replace(payment, **changes).idempotence_key() == payment.idempotence_key() == "create-pay-1"


@settings(max_examples=50)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "state": st.sampled_from(list(RefundState)),
            "yookassa_refund_id": st.one_of(st.none(), NAMES),
            "amount": KOPECKS,
            "request_hash": NAMES,
            "created_at": MOMENTS,
            "updated_at": st.one_of(st.none(), MOMENTS),
            "failure_reason": st.one_of(st.none(), NAMES),
        },
    )
)
def test_a_refund_requests_key_never_changes_with_anything_but_its_id(changes) -> None:
    """GIVEN a refund request WHEN its state, YooKassa's id or anything else changes THEN its key stays
    ``refund-<request_id>``: a retry can only reach the refund already made, never a second one."""
    request = refund_request(request_id="abc123")
    assert replace(request, **changes).idempotence_key() == "refund-abc123"


def test_two_payments_never_share_a_create_key() -> None:
    assert order_payment(payment_id="a").idempotence_key() != order_payment(payment_id="b").idempotence_key()


@pytest.mark.parametrize(
    ("payment_id", "capture_key", "cancel_key"),
    [
        ("pay-1", "capture-pay-1", "cancel-pay-1"),
        (
            "0b6e5c1a-7f3d-4c2e-9a1b-5d8e2f4a6c3b",
            "capture-0b6e5c1a-7f3d-4c2e-9a1b-5d8e2f4a6c3b",
            "cancel-0b6e5c1a-7f3d-4c2e-9a1b-5d8e2f4a6c3b",
        ),
    ],
)
def test_a_two_stage_payments_capture_and_cancel_keys_are_capture_and_cancel_and_its_id(
    payment_id, capture_key, cancel_key
) -> None:
    payment = order_payment(payment_id=payment_id, capture=False)
    assert (payment.capture_key(), payment.cancel_key()) == (capture_key, cancel_key)


@settings(max_examples=50)
@given(PAYMENT_CHANGES)
def test_a_payments_capture_and_cancel_keys_never_change_with_anything_but_its_id(changes) -> None:
    """GIVEN a held payment WHEN any other field changes (status, version, amounts, capture mode, period,
    subject...) THEN a capture or cancel re-sent with the new record still carries the same key: one
    capture (or one cancel) at YooKassa, however often it is asked."""
    payment = subscription_payment(capture=False)
    changed = replace(payment, **changes)
    assert (changed.capture_key(), changed.cancel_key()) == ("capture-pay-1", "cancel-pay-1")
    assert changed.idempotence_key() == "create-pay-1"


def test_a_payments_create_capture_and_cancel_keys_are_three_different_keys() -> None:
    payment = order_payment(capture=False)
    assert len({payment.idempotence_key(), payment.capture_key(), payment.cancel_key()}) == 3


def test_two_payments_never_share_a_capture_or_cancel_key() -> None:
    one, two = order_payment(payment_id="a"), order_payment(payment_id="b")
    assert one.capture_key() != two.capture_key()
    assert one.cancel_key() != two.cancel_key()


# ---------------------------------------------------------------- what is left to refund
@pytest.mark.parametrize(
    ("amount", "refunded", "reserved", "available"),
    [
        (1000, 0, 0, 1000),
        (1000, 400, 0, 600),
        (1000, 0, 300, 700),
        (1000, 400, 300, 300),
        (1000, 1000, 0, 0),
        (1000, 600, 400, 0),
        (1000, 700, 400, 0),  # counted twice for a moment (a refund not ours while a hold is open): never < 0
    ],
)
def test_refunds_in_flight_count_as_spent(amount, refunded, reserved, available) -> None:
    payment = order_payment(amount=amount, refunded_amount=refunded, refund_reserved=reserved)
    assert payment.refund_available == available


@given(KOPECKS, KOPECKS, KOPECKS)
def test_what_is_left_to_refund_is_never_negative_nor_more_than_is_left(amount, refunded, reserved) -> None:
    available = order_payment(
        amount=amount, refunded_amount=refunded, refund_reserved=reserved
    ).refund_available
    assert 0 <= available <= max(amount - refunded, 0)


# ---------------------------------------------------------------- capture mode and periods
def test_a_payment_is_one_stage_and_of_no_counted_period_by_default() -> None:
    payment = Payment("p", PaymentType.ORDER, "alice", 100, PaymentStatus.PENDING, CREATED, "d", order_id="o1")
    assert (payment.capture, payment.period) == (True, None)


def test_a_subscription_has_paid_no_period_by_default() -> None:
    assert Subscription("s1", "alice", "basic", SubscriptionType.MONTHLY).periods_paid == 0


def test_a_subscription_has_no_scheduled_change_by_default() -> None:
    assert Subscription("s1", "alice", "basic", SubscriptionType.MONTHLY).scheduled_change is None


def test_a_scheduled_change_names_the_plan_the_type_and_when_it_starts() -> None:
    change = ScheduledChange("premium", SubscriptionType.YEARLY, NOW)
    assert (change.plan_id, change.subscription_type, change.starts_at) == (
        "premium",
        SubscriptionType.YEARLY,
        NOW,
    )
    assert change == ScheduledChange("premium", SubscriptionType.YEARLY, NOW)


def test_whether_a_payment_delivered_is_unknown_until_it_is_paid() -> None:
    """None: not paid yet, or settled before it was recorded."""
    payment = Payment("p", PaymentType.ORDER, "alice", 100, PaymentStatus.PENDING, CREATED, "d", order_id="o1")
    assert payment.delivered is None


def test_an_orders_statuses_are_exactly_these_and_their_values_never_change() -> None:
    assert [str(status) for status in OrderStatus] == ["new", "paid", "completed", "refunded"]


def test_a_provider_payment_has_no_capture_time_unless_yookassa_says() -> None:
    provider_payment = ProviderPayment("yk-1", ProviderStatus.SUCCEEDED, 100, "RUB", paid=True)
    assert provider_payment.captured_at is None


# ---------------------------------------------------------------- small vocabularies
def test_a_payments_subject_is_its_order_or_its_subscription() -> None:
    assert order_payment(order_id="o9").subject_id == "o9"
    assert subscription_payment(subscription_id="s9").subject_id == "s9"


def test_only_reserved_and_pending_refund_requests_hold_money() -> None:
    assert {RefundState.RESERVED, RefundState.PENDING} == OPEN_REFUND_STATES
    for state in RefundState:
        assert refund_request(state=state).is_open is (state in OPEN_REFUND_STATES)


def test_an_idempotency_record_is_in_progress_only_before_it_has_an_answer() -> None:
    expires = NOW + timedelta(hours=24)
    assert IdempotencyRecord("h", IDEMPOTENCY_IN_PROGRESS, "", expires).in_progress
    assert not IdempotencyRecord("h", 201, "{}", expires).in_progress
    assert not IdempotencyRecord("h", 409, "{}", expires).in_progress


def test_the_clock_is_utc_and_aware() -> None:
    assert utc_now().tzinfo is UTC


# ---------------------------------------------------------------- Changes
def test_no_changes_are_falsy_and_any_change_is_truthy() -> None:
    payment = order_payment()
    assert not Changes()
    assert Changes(created=(payment,))
    assert Changes(updated=(Update(payment, replace(payment, version=3)),))


def test_changes_add_up_in_order_without_losing_any() -> None:
    payment, request = order_payment(), refund_request()
    applied = AppliedRefund("pay-1", "rf-1", 100, CREATED)
    first = Changes(created=(request,), updated=(Update(payment, replace(payment, version=3)),))
    second = Changes(created=(applied,), updated=(Update(order(), order(version=4)),))
    total = first + second
    assert total.created == (request, applied)
    assert total.updated == first.updated + second.updated
    assert first + Changes() == first == Changes() + first
