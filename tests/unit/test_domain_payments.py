"""A payment's life as pure decisions: start it, attach YooKassa's payment, settle it, close it.

Each test checks the outcome, the payment as it becomes, and exactly which items the ``Changes`` write
(every ``Update`` as a before/after pair, compared whole): a stray field, a missing version bump or an
extra write is a failure.
"""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payments.domain import (
    MERCHANT,
    Changes,
    Order,
    OrderStatus,
    Payment,
    PaymentStatus,
    PaymentType,
    ProviderStatus,
    Subscription,
    SubscriptionStatus,
    SubscriptionType,
    Update,
)
from payments.domain.payments import (
    DESCRIPTION_LIMIT,
    attach_provider_payment,
    fits_order,
    new_payment,
    order_payment_description,
    reusable,
    start_order_payment,
    start_subscription_payment,
    subscription_payment_description,
)
from payments.domain.settlement import (
    Concern,
    SyncOutcome,
    close_payment,
    fail_before_provider,
    mismatch_reason,
    needs_subject,
    settle,
)
from payments.errors import OrderAlreadyPaid, ProviderError

from .builders import (
    CREATED,
    MONTHLY_PRICE,
    NOW,
    ORDER_PRICE,
    assert_writes,
    fetched,
    metadata_of,
    order,
    order_payment,
    payment_of,
    subject_of,
    subscription,
    subscription_payment,
)

ORDER, SUB = PaymentType.ORDER, PaymentType.SUBSCRIPTION
P = PaymentStatus
NOT_FAILURES = ["expired_on_confirmation", "canceled_by_merchant", "expired_on_capture", "deal_expired"]
REASONS: list[str | None] = [None, "insufficient_funds", "expired_on_confirmation"]  # none, a decline, not one
ONE_MONTH_ON = datetime(2026, 12, 27, 10, 0, tzinfo=UTC)  # NOW + 1 calendar month
ONE_YEAR_ON = datetime(2027, 11, 27, 10, 0, tzinfo=UTC)  # NOW + 12 calendar months

# The outcome of settle for each of our statuses, per YooKassa final status (in-progress: UNCHANGED).
ON_SUCCEEDED = {
    P.PENDING: SyncOutcome.APPLIED,
    P.PAID: SyncOutcome.DUPLICATE,
    P.SUCCESS: SyncOutcome.DUPLICATE,
    P.REFUNDED: SyncOutcome.DUPLICATE,
    P.FAILED: SyncOutcome.CONFLICT,
    P.CANCELED: SyncOutcome.CONFLICT,
}
ON_CANCELED = {
    P.PENDING: SyncOutcome.APPLIED,
    P.FAILED: SyncOutcome.DUPLICATE,
    P.CANCELED: SyncOutcome.DUPLICATE,
    P.PAID: SyncOutcome.CONFLICT,
    P.SUCCESS: SyncOutcome.CONFLICT,
    P.REFUNDED: SyncOutcome.CONFLICT,
}


def expected_outcome(current: PaymentStatus, provider: ProviderStatus) -> SyncOutcome:
    if provider is ProviderStatus.SUCCEEDED:
        return ON_SUCCEEDED[current]
    if provider is ProviderStatus.CANCELED:
        return ON_CANCELED[current]
    return SyncOutcome.UNCHANGED


def paid_order(before: Order, payment: Payment) -> Order:
    return replace(
        before,
        status=OrderStatus.PAID,
        paid_payment_id=payment.payment_id,
        paid_at=NOW,
        active_payment_id=None,
        version=before.version + 1,
    )


def settled(payment: Payment, status: PaymentStatus) -> Payment:
    return replace(payment, status=status, paid_at=NOW, updated_at=NOW, version=payment.version + 1)


def released(subject: Order | Subscription) -> Order | Subscription:
    return replace(subject, active_payment_id=None, version=subject.version + 1)


# ---------------------------------------------------------------- settle: every cell
@pytest.mark.parametrize("payment_type", list(PaymentType))
@pytest.mark.parametrize("current", list(PaymentStatus))
@pytest.mark.parametrize("provider", list(ProviderStatus))
@pytest.mark.parametrize("reason", REASONS)
def test_settle_every_cell(payment_type, current, provider, reason) -> None:
    """GIVEN a payment of either type in any status of ours, its subject pointing at it, WHEN YooKassa
    reports any status with any class of cancel reason THEN settle's outcome is the table's; only an
    applied cell writes, and it writes exactly the payment moved forward once (status, paid_at or the
    cancellation, updated_at, version + 1) and its subject paid, extended or released."""
    payment = payment_of(payment_type, status=current)
    subject = subject_of(payment_type)
    fact = fetched(payment, provider, cancellation_reason=reason, cancellation_party="yoo_money")

    result = settle(payment, subject, fact, NOW)

    outcome = expected_outcome(current, provider)
    assert result.outcome is outcome
    assert result.concern is None
    if outcome is not SyncOutcome.APPLIED:
        assert result.payment == payment
        assert result.changes == Changes()
        assert not result.changes
        return
    if provider is ProviderStatus.SUCCEEDED:
        after = settled(payment, P.PAID if payment_type is ORDER else P.SUCCESS)
        if isinstance(subject, Order):
            subject_after: Order | Subscription = paid_order(subject, payment)
        else:
            subject_after = replace(
                subject,
                status=SubscriptionStatus.ACTIVE,
                start_date=NOW,
                end_date=ONE_MONTH_ON,
                last_payment_id="pay-1",
                active_payment_id=None,
                version=subject.version + 1,
            )
    else:
        closed = P.CANCELED if payment_type is ORDER and reason in NOT_FAILURES else P.FAILED
        after = replace(
            payment,
            status=closed,
            cancellation_reason=reason,
            cancellation_party="yoo_money",
            updated_at=NOW,
            version=payment.version + 1,
        )
        subject_after = released(subject)
    assert result.payment == after
    assert_writes(result.changes, updated=[Update(payment, after), Update(subject, subject_after)])


@pytest.mark.parametrize("payment_type", list(PaymentType))
@pytest.mark.parametrize("current", list(PaymentStatus))
@pytest.mark.parametrize("provider", list(ProviderStatus))
def test_needs_subject_exactly_when_settle_will_move_the_payment(payment_type, current, provider) -> None:
    """GIVEN any cell WHEN the service asks whether to read the subject THEN yes exactly when settle
    applies: a pending payment and a final YooKassa status."""
    payment = payment_of(payment_type, status=current)
    applies = expected_outcome(current, provider) is SyncOutcome.APPLIED
    assert needs_subject(payment, fetched(payment, provider)) is applies


@pytest.mark.parametrize("provider", [ProviderStatus.PENDING, ProviderStatus.WAITING_FOR_CAPTURE])
def test_settle_leaves_a_payment_yookassa_has_not_decided_unchanged_even_without_its_subject(provider) -> None:
    payment = order_payment()
    result = settle(payment, None, fetched(payment, provider), NOW)
    assert (result.outcome, result.payment, result.changes) == (SyncOutcome.UNCHANGED, payment, Changes())


# ---------------------------------------------------------------- settle: an order paid
def test_a_paid_order_payment_marks_its_order_paid_in_the_same_write() -> None:
    """GIVEN a pending order payment and its order (same price, same owner, pointing at it) WHEN YooKassa
    says succeeded THEN the payment is paid and the order paid by it, its pointer released, both
    versions bumped, in one Changes."""
    payment, before = order_payment(), order()
    result = settle(payment, before, fetched(payment), NOW)
    paid = replace(payment, status=P.PAID, paid_at=NOW, updated_at=NOW, version=3)
    order_paid = Order(
        "o1",
        "alice",
        ORDER_PRICE,
        "Уборка квартиры",
        status=OrderStatus.PAID,
        paid_payment_id="pay-1",
        active_payment_id=None,
        paid_at=NOW,
        version=4,
    )
    assert (result.outcome, result.concern, result.payment) == (SyncOutcome.APPLIED, None, paid)
    assert_writes(result.changes, updated=[Update(payment, paid), Update(before, order_paid)])
    assert result.changes.created == ()


def test_a_paid_order_payment_pays_its_order_even_when_another_tab_points_at_another_payment() -> None:
    """GIVEN an order pointing at a newer payment WHEN the older one is paid THEN the order is paid by the
    older one and points at nothing (the newer one can no longer pay it)."""
    payment, before = order_payment(), order(active_payment_id="pay-2")
    result = settle(payment, before, fetched(payment), NOW)
    assert result.concern is None
    assert_writes(
        result.changes, updated=[Update(payment, result.payment), Update(before, paid_order(before, payment))]
    )


@pytest.mark.parametrize(
    ("changed", "pointer"),
    [
        ({"amount": ORDER_PRICE + 100}, "pay-1"),
        ({"amount": ORDER_PRICE - 100}, "pay-1"),
        ({"user_id": "bob"}, "pay-1"),
        ({"amount": 1, "user_id": "bob"}, "pay-1"),
    ],
)
def test_money_for_an_order_whose_price_or_owner_changed_is_recorded_but_does_not_pay_it(
    changed, pointer
) -> None:
    """GIVEN an order whose price or owner changed after the payment started WHEN the payment succeeds
    THEN the payment is paid (the money arrived), the order is NOT marked paid (ORDER_CHANGED, for a
    human), and only its pointer at this payment is released."""
    payment, before = order_payment(), order(active_payment_id=pointer, **changed)
    result = settle(payment, before, fetched(payment), NOW)
    paid = settled(payment, P.PAID)
    assert (result.outcome, result.concern, result.payment) == (
        SyncOutcome.APPLIED,
        Concern.ORDER_CHANGED,
        paid,
    )
    assert_writes(result.changes, updated=[Update(payment, paid), Update(before, released(before))])


@pytest.mark.parametrize("pointer", [None, "pay-2"])
def test_an_order_that_changed_and_points_elsewhere_is_not_written_at_all(pointer) -> None:
    payment, before = order_payment(), order(amount=ORDER_PRICE + 1, active_payment_id=pointer)
    result = settle(payment, before, fetched(payment), NOW)
    assert result.concern is Concern.ORDER_CHANGED
    assert_writes(result.changes, updated=[Update(payment, settled(payment, P.PAID))])


@pytest.mark.parametrize("pointer", [None, "pay-3"])
def test_money_for_an_order_another_payment_already_paid_is_recorded_for_a_refund(pointer) -> None:
    """GIVEN an order another payment already paid (two tabs, two checkouts) WHEN this one succeeds too
    THEN this payment is paid, the order keeps its first payment untouched: ORDER_PAID_BY_ANOTHER."""
    payment = order_payment()
    before = order(status=OrderStatus.PAID, paid_payment_id="pay-2", paid_at=CREATED, active_payment_id=pointer)
    result = settle(payment, before, fetched(payment), NOW)
    paid = settled(payment, P.PAID)
    assert (result.concern, result.payment) == (Concern.ORDER_PAID_BY_ANOTHER, paid)
    assert_writes(result.changes, updated=[Update(payment, paid)])


def test_an_order_paid_by_another_still_releases_a_pointer_at_this_payment() -> None:
    payment = order_payment()
    before = order(status=OrderStatus.PAID, paid_payment_id="pay-2", active_payment_id="pay-1")
    result = settle(payment, before, fetched(payment), NOW)
    assert result.concern is Concern.ORDER_PAID_BY_ANOTHER
    assert_writes(result.changes, updated=[Update(payment, result.payment), Update(before, released(before))])


@pytest.mark.parametrize("changed", [{}, {"amount": ORDER_PRICE + 1}, {"user_id": "bob"}])
def test_an_order_that_already_records_this_payment_is_no_concern_and_is_not_rewritten(changed) -> None:
    """GIVEN an order that already says this payment paid it (our payment record lagged) WHEN YooKassa
    says succeeded THEN the payment is paid, no concern, and the order is left as it is."""
    payment = order_payment()
    before = order(
        status=OrderStatus.PAID, paid_payment_id="pay-1", paid_at=CREATED, active_payment_id=None, **changed
    )
    result = settle(payment, before, fetched(payment), NOW)
    assert (result.outcome, result.concern) == (SyncOutcome.APPLIED, None)
    assert_writes(result.changes, updated=[Update(payment, settled(payment, P.PAID))])


def test_money_for_a_missing_order_is_recorded_and_flagged() -> None:
    payment = order_payment()
    result = settle(payment, None, fetched(payment), NOW)
    assert (result.outcome, result.concern) == (SyncOutcome.APPLIED, Concern.ORDER_MISSING)
    assert_writes(result.changes, updated=[Update(payment, settled(payment, P.PAID))])


# ---------------------------------------------------------------- settle: a subscription paid
@pytest.mark.parametrize(
    ("paid_type", "paid_plan", "end", "new_end"),
    [
        # never started: a period from now
        (SubscriptionType.MONTHLY, "basic", None, ONE_MONTH_ON),
        (SubscriptionType.YEARLY, "basic", None, ONE_YEAR_ON),
        # lapsed: from now, not from the old end
        (SubscriptionType.MONTHLY, "basic", NOW - timedelta(days=40), ONE_MONTH_ON),
        # running: from its end, whatever the period paid for
        (
            SubscriptionType.MONTHLY,
            "basic",
            datetime(2027, 1, 31, tzinfo=UTC),
            datetime(2027, 2, 28, tzinfo=UTC),
        ),
        (
            SubscriptionType.YEARLY,
            "premium",
            datetime(2027, 1, 31, tzinfo=UTC),
            datetime(2028, 1, 31, tzinfo=UTC),
        ),
        (SubscriptionType.MONTHLY, "premium", NOW, ONE_MONTH_ON),
    ],
)
@pytest.mark.parametrize("was", [SubscriptionType.MONTHLY, SubscriptionType.YEARLY])
def test_a_paid_subscription_payment_extends_by_the_period_and_plan_it_paid_for(
    paid_type, paid_plan, end, new_end, was
) -> None:
    """GIVEN a subscription (any type, never started, lapsed or running) pointing at a pending payment for
    some plan and period WHEN YooKassa says succeeded THEN the subscription is active, extended from
    max(now, end) by 1 or 12 calendar months, of the payment's type and plan, its last payment this one,
    its pointer released, version + 1; the payment is success."""
    start = None if end is None else end - timedelta(days=31)
    payment = subscription_payment(subscription_type=paid_type, plan_id=paid_plan)
    before = subscription(subscription_type=was, start_date=start, end_date=end, version=5)
    result = settle(payment, before, fetched(payment), NOW)
    running = end is not None and end >= NOW
    extended = Subscription(
        "s1",
        "alice",
        paid_plan,
        paid_type,
        status=SubscriptionStatus.ACTIVE,
        start_date=start if running else NOW,
        end_date=new_end,
        active_payment_id=None,
        last_payment_id="pay-1",
        version=6,
    )
    paid = settled(payment, P.SUCCESS)
    assert (result.outcome, result.concern, result.payment) == (SyncOutcome.APPLIED, None, paid)
    assert_writes(result.changes, updated=[Update(payment, paid), Update(before, extended)])


@pytest.mark.parametrize("pointer", [None, "pay-2"])
def test_a_subscription_keeps_its_pointer_at_another_payment_when_extended(pointer) -> None:
    """GIVEN a subscription that points at another (newer) payment or none WHEN this one is paid THEN it
    is extended and its pointer is left as it is."""
    payment, before = subscription_payment(), subscription(active_payment_id=pointer)
    result = settle(payment, before, fetched(payment), NOW)
    [subscription_update] = [u for u in result.changes.updated if isinstance(u.after, Subscription)]
    assert subscription_update.after.active_payment_id == pointer
    assert subscription_update.after.last_payment_id == "pay-1"
    assert subscription_update.after.version == before.version + 1


@pytest.mark.parametrize("pointer", [None, "pay-2"])
def test_a_subscription_this_payment_already_extended_is_not_extended_twice(pointer) -> None:
    """GIVEN a subscription whose last payment is this one WHEN YooKassa says succeeded (our payment record
    lagged) THEN the payment is success and the subscription is not written: SUBSCRIPTION_NOT_EXTENDED."""
    payment = subscription_payment()
    before = subscription(
        status=SubscriptionStatus.ACTIVE,
        start_date=CREATED,
        end_date=ONE_MONTH_ON,
        last_payment_id="pay-1",
        active_payment_id=pointer,
    )
    result = settle(payment, before, fetched(payment), NOW)
    paid = settled(payment, P.SUCCESS)
    assert (result.concern, result.payment) == (Concern.SUBSCRIPTION_NOT_EXTENDED, paid)
    assert_writes(result.changes, updated=[Update(payment, paid)])


def test_a_subscription_already_extended_by_this_payment_still_releases_a_pointer_at_it() -> None:
    payment = subscription_payment()
    before = subscription(status=SubscriptionStatus.ACTIVE, last_payment_id="pay-1", active_payment_id="pay-1")
    result = settle(payment, before, fetched(payment), NOW)
    assert result.concern is Concern.SUBSCRIPTION_NOT_EXTENDED
    assert_writes(result.changes, updated=[Update(payment, result.payment), Update(before, released(before))])


def test_money_for_a_missing_subscription_is_recorded_and_flagged() -> None:
    payment = subscription_payment()
    result = settle(payment, None, fetched(payment), NOW)
    assert (result.outcome, result.concern) == (SyncOutcome.APPLIED, Concern.SUBSCRIPTION_NOT_EXTENDED)
    assert_writes(result.changes, updated=[Update(payment, settled(payment, P.SUCCESS))])


@given(st.integers(min_value=0, max_value=30), st.sampled_from(list(SubscriptionType)))
def test_paying_twice_in_a_row_adds_two_periods(days_left, kind) -> None:
    """GIVEN a running subscription WHEN two payments settle one after the other THEN the second period
    starts where the first ended: nothing paid for is lost."""
    end = NOW + timedelta(days=days_left)
    first = subscription_payment(payment_id="pay-1", subscription_type=kind)
    second = subscription_payment(payment_id="pay-2", subscription_type=kind)
    before = subscription(status=SubscriptionStatus.ACTIVE, start_date=CREATED, end_date=end)
    once = settle(first, before, fetched(first), NOW).changes.updated[-1].after
    assert isinstance(once, Subscription)
    twice = settle(second, once, fetched(second), NOW).changes.updated[-1].after
    assert isinstance(twice, Subscription) and once.end_date is not None and twice.end_date is not None
    assert once.end_date > end and twice.end_date > once.end_date
    assert (twice.last_payment_id, twice.version) == ("pay-2", before.version + 2)


# ---------------------------------------------------------------- settle: canceled
@pytest.mark.parametrize("payment_type", list(PaymentType))
@pytest.mark.parametrize("pointer", [None, "pay-2"])
def test_a_canceled_payment_leaves_a_subject_pointing_elsewhere_untouched(payment_type, pointer) -> None:
    payment, before = payment_of(payment_type), subject_of(payment_type, active_payment_id=pointer)
    result = settle(payment, before, fetched(payment, ProviderStatus.CANCELED, cancellation_reason="x"), NOW)
    assert result.outcome is SyncOutcome.APPLIED
    assert_writes(result.changes, updated=[Update(payment, result.payment)])


@pytest.mark.parametrize("payment_type", list(PaymentType))
def test_a_canceled_payment_without_its_subject_writes_only_itself(payment_type) -> None:
    payment = payment_of(payment_type)
    result = settle(payment, None, fetched(payment, ProviderStatus.CANCELED, cancellation_reason="x"), NOW)
    assert result.payment.status is P.FAILED
    assert result.concern is None
    assert_writes(result.changes, updated=[Update(payment, result.payment)])


@pytest.mark.parametrize(
    ("payment_type", "reason", "status"),
    [(ORDER, reason, P.CANCELED) for reason in NOT_FAILURES]
    + [(ORDER, reason, P.FAILED) for reason in ["general_decline", "fraud_suspected", "card_expired", None]]
    + [(SUB, reason, P.FAILED) for reason in [*NOT_FAILURES, "general_decline", None]],
)
def test_a_canceled_payment_is_closed_as_canceled_or_failed_by_its_reason(payment_type, reason, status) -> None:
    """GIVEN a pending payment WHEN YooKassa cancels it THEN an order walked away from is canceled, any
    decline failed; a subscription payment always failed. Its reason and party are YooKassa's."""
    payment = payment_of(payment_type)
    fact = fetched(payment, ProviderStatus.CANCELED, cancellation_reason=reason, cancellation_party="merchant")
    result = settle(payment, subject_of(payment_type), fact, NOW)
    assert (result.payment.status, result.payment.cancellation_reason) == (status, reason)
    assert (result.payment.cancellation_party, result.payment.paid_at) == ("merchant", None)


def test_a_cancel_says_why() -> None:
    payment = order_payment()
    fact = fetched(payment, ProviderStatus.CANCELED, cancellation_reason="expired_on_confirmation")
    assert settle(payment, order(), fact, NOW).why == "expired_on_confirmation"


# ---------------------------------------------------------------- mismatch_reason
@pytest.mark.parametrize("payment_type", list(PaymentType))
def test_a_fetched_payment_that_agrees_in_everything_is_ours(payment_type) -> None:
    payment = payment_of(payment_type)
    assert mismatch_reason(payment, fetched(payment)) is None


def test_a_payment_not_yet_attached_matches_any_yookassa_id() -> None:
    payment = order_payment(yookassa_id=None)
    assert mismatch_reason(payment, fetched(payment, id="yk-whatever")) is None


@pytest.mark.parametrize("payment_type", list(PaymentType))
@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("id", "yk-2", "yookassa_id"),
        ("currency", "USD", "currency"),
        ("currency", "rub", "currency"),
        ("amount", "+1", "amount"),
        ("amount", "-1", "amount"),
    ],
)
def test_a_fetched_payment_that_differs_in_a_field_is_not_ours(payment_type, field, value, reason) -> None:
    payment = payment_of(payment_type)
    if field == "amount":
        value = payment.amount + int(value)
    assert mismatch_reason(payment, fetched(payment, **{field: value})) == reason


@pytest.mark.parametrize(
    ("payment_type", "key", "reason"),
    [
        (ORDER, "paymentId", "metadata_payment_id"),
        (ORDER, "userId", "metadata_user_id"),
        (ORDER, "orderId", "metadata_order_id"),
        (SUB, "paymentId", "metadata_payment_id"),
        (SUB, "userId", "metadata_user_id"),
        (SUB, "subscriptionId", "metadata_subscription_id"),
    ],
)
@pytest.mark.parametrize("forged", ["other", None, ""])
def test_metadata_naming_another_payment_user_or_subject_is_not_ours(payment_type, key, reason, forged) -> None:
    """GIVEN what YooKassa says we sent WHEN one metadata key names something else (or is missing) THEN
    the object is not this payment, whatever else agrees: a forged notification can't pay for another."""
    payment = payment_of(payment_type)
    metadata = metadata_of(payment)
    if forged is None:
        del metadata[key]
    else:
        metadata[key] = forged
    assert mismatch_reason(payment, fetched(payment, metadata=metadata)) == reason


def test_an_order_id_in_a_subscription_payments_metadata_does_not_make_it_match() -> None:
    payment = subscription_payment()
    metadata = {"paymentId": "pay-1", "userId": "alice", "orderId": "s1"}
    assert mismatch_reason(payment, fetched(payment, metadata=metadata)) == "metadata_subscription_id"


def test_the_first_disagreement_is_reported() -> None:
    payment = order_payment()
    assert mismatch_reason(payment, fetched(payment, id="yk-2", currency="USD", amount=1, metadata={})) == (
        "yookassa_id"
    )


# ---------------------------------------------------------------- starting a payment
def test_a_new_order_payment_is_pending_version_one_and_of_the_order() -> None:
    payment = new_payment("pay-9", "alice", ORDER_PRICE, NOW, "Clean House, заказ o1", order_id="o1")
    assert payment == Payment(
        payment_id="pay-9",
        type=ORDER,
        user_id="alice",
        amount=ORDER_PRICE,
        status=P.PENDING,
        created_at=NOW,
        updated_at=NOW,
        description="Clean House, заказ o1",
        order_id="o1",
        version=1,
    )
    assert (payment.yookassa_id, payment.payment_url, payment.refunded_amount, payment.refund_reserved) == (
        None,
        None,
        0,
        0,
    )


def test_a_new_payment_without_an_order_is_a_subscription_payment() -> None:
    payment = new_payment(
        "pay-9",
        "alice",
        MONTHLY_PRICE,
        NOW,
        "d",
        subscription_id="s1",
        plan_id="basic",
        subscription_type=SubscriptionType.YEARLY,
    )
    assert (payment.type, payment.subject_id, payment.plan_id, payment.subscription_type) == (
        SUB,
        "s1",
        "basic",
        SubscriptionType.YEARLY,
    )
    assert (payment.status, payment.version, payment.order_id) == (P.PENDING, 1, None)


@pytest.mark.parametrize(
    ("length", "kept"), [(0, 0), (1, 1), (DESCRIPTION_LIMIT - 1, 127), (DESCRIPTION_LIMIT, 128), (500, 128)]
)
def test_a_description_is_cut_to_yookassas_128_characters(length, kept) -> None:
    description = ("Уборка " * 100)[:length]
    payment = new_payment("p", "alice", 100, NOW, description, order_id="o1")
    assert payment.description == description[:kept]
    assert len(payment.description) == kept
    assert DESCRIPTION_LIMIT == 128


def test_descriptions_name_the_order_or_the_plan_and_period() -> None:
    assert order_payment_description(order(description="Окна")) == "Clean House, заказ o1: Окна"
    assert subscription_payment_description("Базовый", SubscriptionType.MONTHLY) == (
        "Clean House, подписка «Базовый» на месяц"
    )
    assert subscription_payment_description("Базовый", SubscriptionType.YEARLY) == (
        "Clean House, подписка «Базовый» на год"
    )


def test_starting_an_order_payment_creates_it_and_points_the_order_at_it() -> None:
    before, payment = order(active_payment_id=None, version=3), order_payment(payment_id="pay-9", version=1)
    changes = start_order_payment(before, payment)
    assert_writes(
        changes,
        created=[payment],
        updated=[Update(before, replace(before, active_payment_id="pay-9", version=4))],
    )


def test_a_new_order_payment_replaces_a_stale_pointer() -> None:
    before, payment = order(active_payment_id="pay-1"), order_payment(payment_id="pay-9", version=1)
    [update] = start_order_payment(before, payment).updated
    assert update == Update(before, replace(before, active_payment_id="pay-9", version=before.version + 1))


def test_a_paid_order_can_not_start_another_payment() -> None:
    paid = order(status=OrderStatus.PAID, paid_payment_id="pay-1", active_payment_id=None)
    with pytest.raises(OrderAlreadyPaid):
        start_order_payment(paid, order_payment(payment_id="pay-9"))


def test_a_first_subscription_payment_creates_the_subscription_pending_and_pointing_at_it() -> None:
    payment = subscription_payment(
        payment_id="pay-9", plan_id="premium", subscription_type=SubscriptionType.YEARLY
    )
    changes = start_subscription_payment(None, payment)
    created = Subscription(
        "s1",
        "alice",
        "premium",
        SubscriptionType.YEARLY,
        status=SubscriptionStatus.PENDING,
        active_payment_id="pay-9",
        version=1,
    )
    assert_writes(changes, created=[payment, created])
    assert (created.start_date, created.end_date, created.last_payment_id) == (None, None, None)


def test_a_payment_for_an_existing_subscription_only_moves_its_pointer() -> None:
    """GIVEN an active subscription WHEN a new payment starts (even for another plan or period) THEN the
    subscription only points at it (version + 1); its plan and period change only once it is paid."""
    before = subscription(
        status=SubscriptionStatus.ACTIVE, start_date=CREATED, end_date=ONE_MONTH_ON, active_payment_id=None
    )
    payment = subscription_payment(
        payment_id="pay-9", plan_id="premium", subscription_type=SubscriptionType.YEARLY
    )
    changes = start_subscription_payment(before, payment)
    after = replace(before, active_payment_id="pay-9", version=before.version + 1)
    assert_writes(changes, created=[payment], updated=[Update(before, after)])


# ---------------------------------------------------------------- reusing a pending payment
TERM = timedelta(minutes=50)


@pytest.mark.parametrize(
    ("age", "reused"),
    [
        (timedelta(0), True),
        (TERM - timedelta(microseconds=1), True),
        (TERM, False),  # exactly at created_at + usable_for: no longer
        (TERM + timedelta(seconds=1), False),
    ],
)
def test_a_pending_payment_is_reusable_only_strictly_before_its_term(age, reused) -> None:
    payment = order_payment(created_at=NOW - age)
    assert (reusable(payment, NOW, TERM) == payment) is reused
    assert (reusable(payment, NOW, TERM) is None) is not reused


@pytest.mark.parametrize("status", [s for s in PaymentStatus if s is not P.PENDING])
def test_a_payment_that_is_no_longer_pending_is_never_reused(status) -> None:
    assert reusable(order_payment(status=status, created_at=NOW), NOW, TERM) is None


def test_no_payment_is_nothing_to_reuse() -> None:
    assert reusable(None, NOW, TERM) is None


@pytest.mark.parametrize(
    ("changed", "fits"),
    [
        ({}, True),
        ({"amount": ORDER_PRICE + 1}, False),
        ({"user_id": "bob"}, False),
        ({"description": "x"}, True),
    ],
)
def test_a_payment_fits_an_order_of_the_same_price_and_owner(changed, fits) -> None:
    assert fits_order(order_payment(), order(**changed)) is fits


# ---------------------------------------------------------------- attaching YooKassa's payment
def test_attaching_yookassas_payment_remembers_its_id_and_url_once() -> None:
    payment = order_payment(yookassa_id=None, payment_url=None)
    update = attach_provider_payment(payment, "yk-9", "https://pay/yk-9", NOW)
    assert update == Update(
        payment, replace(payment, yookassa_id="yk-9", payment_url="https://pay/yk-9", updated_at=NOW, version=3)
    )


def test_attaching_the_same_payment_again_writes_nothing() -> None:
    assert attach_provider_payment(order_payment(yookassa_id="yk-1"), "yk-1", "https://pay/other", NOW) is None


@pytest.mark.parametrize("status", list(PaymentStatus))
def test_attaching_another_yookassa_payment_is_a_provider_error(status) -> None:
    """GIVEN a payment attached to yk-1 WHEN YooKassa answers with yk-2 THEN never overwrite: it is an
    error (two YooKassa payments for one of ours would take the money twice)."""
    with pytest.raises(ProviderError):
        attach_provider_payment(order_payment(yookassa_id="yk-1", status=status), "yk-2", "https://pay", NOW)


@pytest.mark.parametrize("status", [s for s in PaymentStatus if s is not P.PENDING])
def test_a_url_learnt_for_a_payment_that_can_no_longer_be_paid_is_dropped(status) -> None:
    payment = order_payment(yookassa_id=None, payment_url=None, status=status)
    update = attach_provider_payment(payment, "yk-9", "https://pay/yk-9", NOW)
    assert update is not None
    assert update.after == replace(payment, yookassa_id="yk-9", payment_url=None, updated_at=NOW, version=3)


def test_attaching_without_a_url_keeps_the_one_known() -> None:
    payment = order_payment(yookassa_id=None, payment_url="https://pay/old")
    update = attach_provider_payment(payment, "yk-9", None, NOW)
    assert update is not None
    assert (update.after.payment_url, update.after.yookassa_id) == ("https://pay/old", "yk-9")


# ---------------------------------------------------------------- closing before / without YooKassa
@pytest.mark.parametrize("payment_type", list(PaymentType))
def test_a_payment_yookassa_refused_to_create_fails_by_the_merchant_and_frees_its_subject(payment_type) -> None:
    payment, before = payment_of(payment_type, yookassa_id=None), subject_of(payment_type)
    result = fail_before_provider(payment, before, "invalid_request", NOW)
    failed = replace(
        payment,
        status=P.FAILED,
        cancellation_reason="invalid_request",
        cancellation_party=MERCHANT,
        updated_at=NOW,
        version=payment.version + 1,
    )
    assert MERCHANT == "merchant"
    assert (result.outcome, result.payment, result.concern) == (SyncOutcome.APPLIED, failed, None)
    assert_writes(result.changes, updated=[Update(payment, failed), Update(before, released(before))])


@pytest.mark.parametrize("payment_type", list(PaymentType))
@pytest.mark.parametrize("pointer", [None, "pay-2"])
def test_failing_a_payment_leaves_a_subject_that_points_elsewhere_alone(payment_type, pointer) -> None:
    payment, before = payment_of(payment_type), subject_of(payment_type, active_payment_id=pointer)
    result = fail_before_provider(payment, before, "provider_error", NOW)
    assert_writes(result.changes, updated=[Update(payment, result.payment)])


def test_failing_a_payment_without_its_subject_writes_only_the_payment() -> None:
    payment = order_payment()
    result = fail_before_provider(payment, None, "provider_error", NOW)
    assert_writes(result.changes, updated=[Update(payment, result.payment)])


def test_closing_without_a_reason_or_party_keeps_the_ones_known() -> None:
    payment = order_payment(cancellation_reason="earlier", cancellation_party="yoo_money")
    result = close_payment(payment, None, P.CANCELED, None, None, NOW)
    assert (result.payment.status, result.payment.cancellation_reason, result.payment.cancellation_party) == (
        P.CANCELED,
        "earlier",
        "yoo_money",
    )
    assert (result.payment.version, result.payment.updated_at, result.payment.paid_at) == (3, NOW, None)
