"""A payment's life as pure decisions: start it (``payments``), attach YooKassa's payment, settle it or
close it (``settlement``): deliver it, capture or cancel a held two-stage payment, refund in full money
that can no longer buy its subject.

Each test checks the outcome, the payment as it becomes, and exactly which items the ``Changes`` write
(every ``Update`` as a before/after pair, compared whole): a stray field, a missing version bump or an
extra write is a failure.
"""

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from payments.domain import (
    MERCHANT,
    Changes,
    Order,
    OrderStatus,
    Payment,
    PaymentStatus,
    PaymentType,
    ProviderRefund,
    ProviderRefundStatus,
    ProviderStatus,
    RefundRequest,
    RefundState,
    ScheduledChange,
    Subscription,
    SubscriptionStatus,
    SubscriptionType,
    Update,
)
from payments.domain.delivery import Concern
from payments.domain.payments import (
    DESCRIPTION_LIMIT,
    METADATA_VALUE_LIMIT,
    attach_provider_payment,
    new_payment,
    next_period,
    order_payment_description,
    provider_metadata,
    reusable,
    start_order_payment,
    start_subscription_payment,
    subscription_payment_description,
)
from payments.domain.refunds import record_refund
from payments.domain.settlement import (
    Hold,
    Settlement,
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
    PAID_UNTIL,
    active_subscription,
    assert_writes,
    fetched,
    order,
    order_payment,
    payment_of,
    subject_of,
    subscription,
    subscription_payment,
    undeliverable_cases,
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
    """Paid, and it bought its subject (``delivered``)."""
    return replace(
        payment, status=status, paid_at=NOW, updated_at=NOW, delivered=True, version=payment.version + 1
    )


def released(subject: Order | Subscription) -> Order | Subscription:
    return replace(subject, active_payment_id=None, version=subject.version + 1)


# refund_request_id("pay-1", "auto-refund") and refund_request_hash(None), pinned: the automatic refund
# of pay-1 reaches YooKassa as Idempotence-Key refund-<this id>, on every retry and over every deploy.
AUTO_REFUND_OF_PAY_1 = "aea9da9162468da77ed5abc850835e73"
FULL_REFUND_HASH = "2ccd94e2ba19c54ed10b40a18c17a6122ae49060dad6bb43051c9a65894d578b"
UNDELIVERABLE = [pytest.param(*case, id=name) for name, case in undeliverable_cases().items()]


def auto_refunded(payment: Payment) -> tuple[Payment, RefundRequest]:
    """``pay-1`` paid (not delivered) and holding all of its amount for the automatic refund, in one write
    (version + 2: paid, then held), and the refund request reserved for it."""
    assert payment.payment_id == "pay-1"
    status = P.PAID if payment.type is ORDER else P.SUCCESS
    held = replace(
        payment,
        status=status,
        paid_at=NOW,
        updated_at=NOW,
        refund_reserved=payment.amount,
        delivered=False,
        version=payment.version + 2,
    )
    request = RefundRequest(
        payment_id="pay-1",
        request_id=AUTO_REFUND_OF_PAY_1,
        amount=payment.amount,
        request_hash=FULL_REFUND_HASH,
        state=RefundState.RESERVED,
        created_at=NOW,
        updated_at=NOW,
    )
    return held, request


def assert_auto_refunded(
    result: Settlement, payment: Payment, concern: Concern, subject_updates: list[Update]
) -> None:
    """The money is recorded and, in the same Changes, all of it reserved for a refund: the request
    created, the payment's one update pending -> paid + held, and only the given subject updates."""
    held, request = auto_refunded(payment)
    assert (result.outcome, result.concern, result.hold) == (SyncOutcome.APPLIED, concern, None)
    assert (result.payment, result.refund) == (held, request)
    assert_writes(result.changes, created=[request], updated=[Update(payment, held), *subject_updates])
    assert [u.before for u in result.changes.updated if isinstance(u.before, Payment)] == [payment]
    assert (held.refund_available, held.refunded_amount, held.refund_reserved) == (0, 0, payment.amount)


# ---------------------------------------------------------------- settle: every cell
@pytest.mark.parametrize("payment_type", list(PaymentType))
@pytest.mark.parametrize("current", list(PaymentStatus))
@pytest.mark.parametrize("provider", list(ProviderStatus))
@pytest.mark.parametrize("reason", REASONS)
@pytest.mark.parametrize("capture", [True, False])
def test_settle_every_cell(payment_type, current, provider, reason, capture) -> None:
    """GIVEN a one- or two-stage payment of either type in any status of ours, its subject deliverable
    and pointing at it, WHEN YooKassa reports any status with any class of cancel reason THEN settle's
    outcome is the table's; only an applied cell writes, and it writes exactly the payment moved forward
    once (status, paid_at or the cancellation, updated_at, version + 1) and its subject paid, extended
    or released. A held two-stage payment (pending here, waiting_for_capture there) is to be captured."""
    payment = payment_of(payment_type, status=current, capture=capture)
    subject = subject_of(payment_type)
    fact = fetched(payment, provider, cancellation_reason=reason, cancellation_party="yoo_money")

    result = settle(payment, subject, fact, NOW)

    outcome = expected_outcome(current, provider)
    held = not capture and current is P.PENDING and provider is ProviderStatus.WAITING_FOR_CAPTURE
    assert result.outcome is outcome
    assert (result.concern, result.refund) == (None, None)
    assert result.hold is (Hold.CAPTURE if held else None)
    if held:  # to be captured: the decision claims the subject for this payment, nothing else
        assert result.payment == payment
        assert result.changes == Changes(updated=(claimed(subject, payment),))
        return
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
                periods_paid=1,
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
@pytest.mark.parametrize("capture", [True, False])
def test_needs_subject_exactly_when_settle_will_decide_on_the_payment(
    payment_type, current, provider, capture
) -> None:
    """GIVEN any cell WHEN the service asks whether to read the subject THEN yes exactly when settle
    decides on it: a pending payment and a final YooKassa status (settle applies it), or a pending
    two-stage payment that YooKassa holds (settle chooses capture or cancel)."""
    payment = payment_of(payment_type, status=current, capture=capture)
    applies = expected_outcome(current, provider) is SyncOutcome.APPLIED
    held = not capture and current is P.PENDING and provider is ProviderStatus.WAITING_FOR_CAPTURE
    assert needs_subject(payment, fetched(payment, provider)) is (applies or held)


@pytest.mark.parametrize(
    ("provider", "capture"),
    [
        (ProviderStatus.PENDING, True),
        (ProviderStatus.PENDING, False),
        (ProviderStatus.WAITING_FOR_CAPTURE, True),  # one-stage: YooKassa captures it by itself
    ],
)
@pytest.mark.parametrize("payment_type", list(PaymentType))
def test_settle_leaves_a_payment_yookassa_has_not_decided_unchanged_even_without_its_subject(
    provider, capture, payment_type
) -> None:
    payment = payment_of(payment_type, capture=capture)
    result = settle(payment, None, fetched(payment, provider), NOW)
    assert (result.outcome, result.payment, result.changes) == (SyncOutcome.UNCHANGED, payment, Changes())
    assert (result.hold, result.concern, result.refund) == (None, None, None)


# ---------------------------------------------------------------- settle: an order paid
def test_a_paid_order_payment_marks_its_order_paid_in_the_same_write() -> None:
    """GIVEN a pending order payment and its order (same price, same owner, pointing at it) WHEN YooKassa
    says succeeded THEN the payment is paid and the order paid by it, its pointer released, both
    versions bumped, in one Changes."""
    payment, before = order_payment(), order()
    result = settle(payment, before, fetched(payment), NOW)
    paid = replace(payment, status=P.PAID, paid_at=NOW, updated_at=NOW, delivered=True, version=3)
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
    "changed",
    [
        {"amount": ORDER_PRICE + 100},
        {"amount": ORDER_PRICE - 100},
        {"user_id": "bob"},
        {"amount": 1, "user_id": "bob"},
    ],
)
def test_money_for_an_order_whose_price_or_owner_changed_is_recorded_and_refunded_in_full(changed) -> None:
    """GIVEN an order whose price or owner changed after the payment started, still pointing at it WHEN
    the payment succeeds THEN the payment is paid (the money arrived) and holds all of it for an
    automatic refund reserved in the same write; the order is NOT marked paid, only its pointer at this
    payment is released: ORDER_CHANGED."""
    payment, before = order_payment(), order(active_payment_id="pay-1", **changed)
    result = settle(payment, before, fetched(payment), NOW)
    assert_auto_refunded(result, payment, Concern.ORDER_CHANGED, [Update(before, released(before))])


@pytest.mark.parametrize("pointer", [None, "pay-2"])
def test_an_order_that_changed_and_points_elsewhere_is_not_written_at_all(pointer) -> None:
    payment, before = order_payment(), order(amount=ORDER_PRICE + 1, active_payment_id=pointer)
    result = settle(payment, before, fetched(payment), NOW)
    assert_auto_refunded(result, payment, Concern.ORDER_CHANGED, [])


@pytest.mark.parametrize("pointer", [None, "pay-3"])
def test_money_for_an_order_another_payment_already_paid_is_refunded_in_full(pointer) -> None:
    """GIVEN an order another payment already paid (two tabs, two checkouts) WHEN this one succeeds too
    THEN this payment is paid and refunded in full; the order keeps its first payment untouched:
    ORDER_PAID_BY_ANOTHER."""
    payment = order_payment()
    before = order(status=OrderStatus.PAID, paid_payment_id="pay-2", paid_at=CREATED, active_payment_id=pointer)
    result = settle(payment, before, fetched(payment), NOW)
    assert_auto_refunded(result, payment, Concern.ORDER_PAID_BY_ANOTHER, [])


def test_an_order_paid_by_another_still_releases_a_pointer_at_this_payment() -> None:
    payment = order_payment()
    before = order(status=OrderStatus.PAID, paid_payment_id="pay-2", active_payment_id="pay-1")
    result = settle(payment, before, fetched(payment), NOW)
    assert_auto_refunded(result, payment, Concern.ORDER_PAID_BY_ANOTHER, [Update(before, released(before))])


@pytest.mark.parametrize("changed", [{}, {"amount": ORDER_PRICE + 1}, {"user_id": "bob"}])
@pytest.mark.parametrize("capture", [True, False])
def test_an_order_that_already_records_this_payment_is_no_concern_and_is_not_rewritten(
    changed, capture
) -> None:
    """GIVEN an order that already says this payment paid it (our payment record lagged) WHEN YooKassa
    says succeeded THEN the payment is just marked paid: no concern, no refund, the order left as it is
    (even where its price or owner changed since: it was paid by this payment)."""
    payment = order_payment(capture=capture)
    before = order(
        status=OrderStatus.PAID, paid_payment_id="pay-1", paid_at=CREATED, active_payment_id=None, **changed
    )
    result = settle(payment, before, fetched(payment), NOW)
    assert (result.outcome, result.concern, result.refund, result.hold) == (
        SyncOutcome.APPLIED,
        None,
        None,
        None,
    )
    assert result.payment == settled(payment, P.PAID)
    assert_writes(result.changes, updated=[Update(payment, settled(payment, P.PAID))])


def test_money_for_a_missing_order_is_recorded_and_refunded_in_full() -> None:
    payment = order_payment()
    result = settle(payment, None, fetched(payment), NOW)
    assert_auto_refunded(result, payment, Concern.ORDER_MISSING, [])


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
def test_a_paid_subscription_payment_extends_by_the_period_it_paid_for_and_schedules_another_choice(
    paid_type, paid_plan, end, new_end, was
) -> None:
    """GIVEN a ``basic`` subscription (any type, never started, lapsed or running) pointing at a pending
    payment for some plan and period WHEN YooKassa says succeeded THEN the subscription is active,
    extended from max(now, end) by 1 or 12 calendar months (the period paid for), its last payment this
    one, its pointer released, version + 1; the payment is success. Not running, or the same plan and
    type: it takes the plan and type paid for at once. Running with another plan or type: it keeps its
    own, and the one paid for is scheduled from the end of the paid time (never underpriced)."""
    start = None if end is None else end - timedelta(days=31)
    payment = subscription_payment(subscription_type=paid_type, plan_id=paid_plan)
    before = subscription(subscription_type=was, start_date=start, end_date=end, version=5)
    result = settle(payment, before, fetched(payment), NOW)
    running = end is not None and end >= NOW
    switches = not running or (paid_plan, paid_type) == ("basic", was)
    extended = Subscription(
        "s1",
        "alice",
        paid_plan if switches else "basic",
        paid_type if switches else was,
        status=SubscriptionStatus.ACTIVE,
        start_date=start if running else NOW,
        end_date=new_end,
        active_payment_id=None,
        last_payment_id="pay-1",
        version=6,
        periods_paid=1,
        scheduled_change=None if switches else ScheduledChange(paid_plan, paid_type, end),
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
    assert subscription_update.after.periods_paid == before.periods_paid + 1


@pytest.mark.parametrize("pointer", [None, "pay-2", "pay-1"])
@pytest.mark.parametrize("capture", [True, False])
def test_a_subscription_this_payment_already_extended_is_not_extended_twice(pointer, capture) -> None:
    """GIVEN a subscription whose last payment is this one WHEN YooKassa says succeeded (our payment record
    lagged) THEN the payment is just marked success: no concern, no refund, and the subscription is not
    written at all (not extended again, its pointer left as it is)."""
    payment = subscription_payment(capture=capture)
    before = subscription(
        status=SubscriptionStatus.ACTIVE,
        start_date=CREATED,
        end_date=ONE_MONTH_ON,
        last_payment_id="pay-1",
        active_payment_id=pointer,
        periods_paid=1,
    )
    result = settle(payment, before, fetched(payment), NOW)
    paid = settled(payment, P.SUCCESS)
    assert (result.outcome, result.concern, result.refund, result.payment) == (
        SyncOutcome.APPLIED,
        None,
        None,
        paid,
    )
    assert_writes(result.changes, updated=[Update(payment, paid)])


@pytest.mark.parametrize("period", [1, None])
def test_money_for_a_missing_subscription_is_recorded_and_refunded_in_full(period) -> None:
    payment = subscription_payment(period=period)
    result = settle(payment, None, fetched(payment), NOW)
    assert_auto_refunded(result, payment, Concern.SUBSCRIPTION_MISSING, [])


@pytest.mark.parametrize("pointer", [None, "pay-1"])
def test_money_for_another_users_subscription_is_refunded_and_never_extends_it(pointer) -> None:
    payment, before = subscription_payment(), subscription(user_id="bob", active_payment_id=pointer)
    result = settle(payment, before, fetched(payment), NOW)
    unpointed = replace(before, active_payment_id=None, version=before.version + 1)
    updates = [Update(before, unpointed)] if pointer == "pay-1" else []
    assert_auto_refunded(result, payment, Concern.SUBSCRIPTION_MISSING, updates)


@given(st.integers(min_value=0, max_value=30), st.sampled_from(list(SubscriptionType)))
def test_paying_twice_in_a_row_adds_two_periods(days_left, kind) -> None:
    """GIVEN a running subscription WHEN the payments for its next two periods settle one after the other
    THEN the second period starts where the first ended: nothing paid for is lost, two periods counted."""
    end = NOW + timedelta(days=days_left)
    first = subscription_payment(payment_id="pay-1", subscription_type=kind, period=1)
    second = subscription_payment(payment_id="pay-2", subscription_type=kind, period=2)
    before = subscription(status=SubscriptionStatus.ACTIVE, start_date=CREATED, end_date=end)
    once = settle(first, before, fetched(first), NOW).changes.updated[-1].after
    assert isinstance(once, Subscription)
    twice = settle(second, once, fetched(second), NOW).changes.updated[-1].after
    assert isinstance(twice, Subscription) and once.end_date is not None and twice.end_date is not None
    assert once.end_date > end and twice.end_date > once.end_date
    assert (twice.last_payment_id, twice.version) == ("pay-2", before.version + 2)
    assert (once.periods_paid, twice.periods_paid) == (1, 2)


# ---------------------------------------------------------------- settle: a period starts at YooKassa's capture
CAPTURED = NOW - timedelta(hours=3)  # YooKassa took the money; we learn of it (NOW) three hours later


@pytest.mark.parametrize(
    ("kind", "end"),
    [
        (SubscriptionType.MONTHLY, datetime(2026, 12, 27, 7, 0, tzinfo=UTC)),
        (SubscriptionType.YEARLY, datetime(2027, 11, 27, 7, 0, tzinfo=UTC)),
    ],
)
def test_a_first_period_starts_when_yookassa_captured_the_money_not_when_we_learn_of_it(kind, end) -> None:
    """GIVEN a subscription never paid WHEN the webhook arrives three hours after YooKassa captured the
    money THEN the period runs from the capture (a late webhook shifts nothing); the payment is paid
    when we learnt of it, and delivered."""
    payment, before = subscription_payment(subscription_type=kind), subscription(subscription_type=kind)
    result = settle(payment, before, fetched(payment, captured_at=CAPTURED), NOW)
    activated = replace(
        before,
        status=SubscriptionStatus.ACTIVE,
        start_date=CAPTURED,
        end_date=end,
        last_payment_id="pay-1",
        active_payment_id=None,
        periods_paid=1,
        version=before.version + 1,
    )
    paid = settled(payment, P.SUCCESS)
    assert (result.outcome, result.concern, result.payment) == (SyncOutcome.APPLIED, None, paid)
    assert (paid.paid_at, paid.delivered) == (NOW, True)
    assert_writes(result.changes, updated=[Update(payment, paid), Update(before, activated)])


def test_a_period_captured_before_the_paid_time_ended_follows_it_even_when_processed_after() -> None:
    """GIVEN a subscription paid until an hour before NOW WHEN the payment for its next period was captured
    two hours before its end but is processed only NOW THEN it was still running at the capture: the new
    period follows the old one without a gap (start kept), not from NOW."""
    end = NOW - timedelta(hours=1)
    before = subscription(
        status=SubscriptionStatus.ACTIVE, start_date=CREATED - timedelta(days=30), end_date=end
    )
    payment = subscription_payment()
    result = settle(payment, before, fetched(payment, captured_at=end - timedelta(hours=2)), NOW)
    [update] = [u for u in result.changes.updated if isinstance(u.after, Subscription)]
    assert (update.after.start_date, update.after.end_date) == (
        before.start_date,
        datetime(2026, 12, 27, 9, 0, tzinfo=UTC),
    )


def test_a_subscription_that_lapsed_before_the_capture_starts_again_at_the_capture() -> None:
    before = subscription(
        status=SubscriptionStatus.EXPIRED,
        start_date=NOW - timedelta(days=60),
        end_date=NOW - timedelta(days=30),
    )
    payment = subscription_payment()
    result = settle(payment, before, fetched(payment, captured_at=CAPTURED), NOW)
    [update] = [u for u in result.changes.updated if isinstance(u.after, Subscription)]
    assert (update.after.status, update.after.start_date, update.after.end_date) == (
        SubscriptionStatus.ACTIVE,
        CAPTURED,
        datetime(2026, 12, 27, 7, 0, tzinfo=UTC),
    )


@pytest.mark.parametrize("captured_at", [None, CAPTURED, NOW - timedelta(days=1)])
def test_a_running_period_is_extended_from_its_end_whenever_the_money_was_captured(captured_at) -> None:
    before = active_subscription()
    payment = subscription_payment(period=2)
    result = settle(payment, before, fetched(payment, captured_at=captured_at), NOW)
    [update] = [u for u in result.changes.updated if isinstance(u.after, Subscription)]
    assert update.after == replace(
        before,
        end_date=datetime(2027, 1, 10, 10, 0, tzinfo=UTC),
        last_payment_id="pay-1",
        periods_paid=2,
        version=5,
    )


def test_without_a_capture_time_the_period_starts_when_the_payment_is_processed() -> None:
    payment, before = subscription_payment(), subscription()
    result = settle(payment, before, fetched(payment, captured_at=None), NOW)
    [update] = [u for u in result.changes.updated if isinstance(u.after, Subscription)]
    assert (update.after.start_date, update.after.end_date) == (NOW, ONE_MONTH_ON)


def test_another_plan_captured_while_paid_time_runs_is_scheduled_from_its_end() -> None:
    before = active_subscription()
    payment = subscription_payment(plan_id="premium", subscription_type=SubscriptionType.YEARLY, period=2)
    result = settle(payment, before, fetched(payment, captured_at=CAPTURED), NOW)
    [update] = [u for u in result.changes.updated if isinstance(u.after, Subscription)]
    assert update.after == replace(
        before,
        end_date=datetime(2027, 12, 10, 10, 0, tzinfo=UTC),
        last_payment_id="pay-1",
        periods_paid=2,
        version=5,
        scheduled_change=ScheduledChange("premium", SubscriptionType.YEARLY, PAID_UNTIL),
    )


def test_an_order_is_paid_when_we_learn_of_the_payment_whenever_it_was_captured() -> None:
    payment, before = order_payment(), order()
    result = settle(payment, before, fetched(payment, captured_at=CAPTURED), NOW)
    assert result.payment == settled(payment, P.PAID)
    assert_writes(
        result.changes, updated=[Update(payment, result.payment), Update(before, paid_order(before, payment))]
    )


# ---------------------------------------------------------------- settle: a refunded order
REFUNDED_ORDER = {"status": OrderStatus.REFUNDED, "paid_payment_id": "pay-0", "paid_at": CREATED}


@pytest.mark.parametrize("pointer", [None, "pay-1"])
def test_money_for_a_refunded_order_is_refunded_in_full_until_the_order_is_set_up_anew(pointer) -> None:
    """GIVEN an order whose payment was refunded in full (``refunded``) WHEN another payment for it
    succeeds THEN that money buys nothing: it is refunded in full (the order still names the payment
    that paid it) and the order is left as it is, but for a pointer at this payment."""
    payment, before = order_payment(), order(active_payment_id=pointer, **REFUNDED_ORDER)
    result = settle(payment, before, fetched(payment), NOW)
    updates: list[Update] = [Update(before, released(before))] if pointer == "pay-1" else []
    assert_auto_refunded(result, payment, Concern.ORDER_PAID_BY_ANOTHER, updates)


def test_a_held_payment_for_a_refunded_order_is_released() -> None:
    payment = order_payment(capture=False)
    result = settle(payment, order(**REFUNDED_ORDER), fetched(payment, WAITING), NOW)
    assert_held(result, payment, Hold.CANCEL, Concern.ORDER_PAID_BY_ANOTHER)


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


# ---------------------------------------------------------------- settle: a held two-stage payment
WAITING = ProviderStatus.WAITING_FOR_CAPTURE


def assert_held(
    result: Settlement,
    payment: Payment,
    hold: Hold,
    concern: Concern | None,
    subject: Order | Subscription | None = None,
) -> None:
    """The payment stays pending and no refund is reserved; YooKassa is to capture or cancel it. A
    capture claims the subject for this payment (its pointer, version + 1); a cancel writes nothing."""
    assert (result.outcome, result.hold, result.concern) == (SyncOutcome.UNCHANGED, hold, concern)
    assert (result.payment, result.refund) == (payment, None)
    if hold is Hold.CAPTURE:
        assert subject is not None
        assert result.changes == Changes(updated=(claimed(subject, payment),))
    else:
        assert result.changes == Changes()
        assert not result.changes


def claimed(subject: Order | Subscription, payment: Payment) -> Update[Order] | Update[Subscription]:
    if isinstance(subject, Order):
        return Update(
            subject, replace(subject, active_payment_id=payment.payment_id, version=subject.version + 1)
        )
    return Update(subject, replace(subject, active_payment_id=payment.payment_id, version=subject.version + 1))


@pytest.mark.parametrize("payment_type", list(PaymentType))
@pytest.mark.parametrize("pointer", ["pay-1", None])
def test_a_held_payment_that_can_still_be_delivered_is_to_be_captured_and_claims_its_subject(
    payment_type, pointer
) -> None:
    """GIVEN a pending two-stage payment that YooKassa holds, its order unpaid at its price or its
    subscription waiting for its period, pointing at it or at nothing WHEN settled THEN capture it:
    outcome UNCHANGED, and the subject claimed for it (the only write)."""
    payment = payment_of(payment_type, capture=False)
    subject = subject_of(payment_type, active_payment_id=pointer)
    fact = fetched(payment, WAITING)
    assert needs_subject(payment, fact)
    result = settle(payment, subject, fact, NOW)
    assert_held(result, payment, Hold.CAPTURE, None, subject)
    assert result.why == "held: capture"


@pytest.mark.parametrize("payment_type", list(PaymentType))
def test_a_held_payment_whose_subject_points_at_another_payment_is_released(payment_type) -> None:
    payment = payment_of(payment_type, capture=False)
    result = settle(
        payment, subject_of(payment_type, active_payment_id="pay-2"), fetched(payment, WAITING), NOW
    )
    assert_held(result, payment, Hold.CANCEL, Concern.SUPERSEDED)


@pytest.mark.parametrize(("payment_type", "subject", "concern"), UNDELIVERABLE)
def test_a_held_payment_that_can_no_longer_be_delivered_is_to_be_canceled_and_nothing_is_written(
    payment_type, subject, concern
) -> None:
    """GIVEN a pending two-stage payment that YooKassa holds WHEN its subject can no longer be bought
    (each concern) THEN cancel it, naming the concern: nobody is charged, nothing is refunded, and
    nothing is written (not even the subject's pointer: that is released once YooKassa confirms)."""
    payment = payment_of(payment_type, capture=False)
    fact = fetched(payment, WAITING)
    assert needs_subject(payment, fact)
    result = settle(payment, subject, fact, NOW)
    assert_held(result, payment, Hold.CANCEL, Concern(concern))
    assert result.why == "held: cancel"


@pytest.mark.parametrize("periods_paid", [0, 3])
def test_a_held_payment_started_before_periods_were_counted_is_to_be_captured(periods_paid) -> None:
    payment = subscription_payment(capture=False, period=None)
    subject = subscription(periods_paid=periods_paid)
    result = settle(payment, subject, fetched(payment, WAITING), NOW)
    assert_held(result, payment, Hold.CAPTURE, None, subject)


def test_a_held_payment_is_judged_by_its_subject_as_read_now() -> None:
    """GIVEN the same held payment WHEN its order is read unpaid, then paid by another payment THEN the
    first answer is capture and the second cancel: the decision is made afresh on every notification."""
    payment = order_payment(capture=False)
    fact = fetched(payment, WAITING)
    assert settle(payment, order(), fact, NOW).hold is Hold.CAPTURE
    paid = order(status=OrderStatus.PAID, paid_payment_id="pay-2", active_payment_id="pay-1")
    assert settle(payment, paid, fact, NOW).hold is Hold.CANCEL


@pytest.mark.parametrize(("payment_type", "subject", "concern"), UNDELIVERABLE)
def test_a_one_stage_payment_waiting_for_capture_is_left_to_yookassa_whatever_its_subject(
    payment_type, subject, concern
) -> None:
    """GIVEN a one-stage payment (``capture=True``: YooKassa captures it by itself) passing through
    waiting_for_capture WHEN settled THEN nothing to decide: no hold, no concern, nothing written."""
    payment = payment_of(payment_type)
    fact = fetched(payment, WAITING)
    assert not needs_subject(payment, fact)
    result = settle(payment, subject, fact, NOW)
    assert (result.outcome, result.payment, result.changes) == (SyncOutcome.UNCHANGED, payment, Changes())
    assert (result.hold, result.concern, result.refund) == (None, None, None)


@pytest.mark.parametrize("status", [s for s in PaymentStatus if s is not P.PENDING])
@pytest.mark.parametrize(("payment_type", "subject", "concern"), UNDELIVERABLE)
def test_a_two_stage_payment_that_is_no_longer_pending_here_is_never_captured_or_canceled(
    status, payment_type, subject, concern
) -> None:
    payment = payment_of(payment_type, capture=False, status=status)
    fact = fetched(payment, WAITING)
    assert not needs_subject(payment, fact)
    result = settle(payment, subject, fact, NOW)
    assert (result.outcome, result.payment, result.changes) == (SyncOutcome.UNCHANGED, payment, Changes())
    assert (result.hold, result.concern, result.refund) == (None, None, None)


@pytest.mark.parametrize("payment_type", list(PaymentType))
def test_a_captured_two_stage_payment_is_delivered_like_any_other(payment_type) -> None:
    """GIVEN a held payment we decided to capture WHEN YooKassa then says succeeded THEN it pays its order
    or extends its subscription exactly as a one-stage payment does."""
    two_stage, one_stage = payment_of(payment_type, capture=False), payment_of(payment_type)
    subject = subject_of(payment_type)
    assert settle(two_stage, subject, fetched(two_stage, WAITING), NOW).hold is Hold.CAPTURE
    result = settle(two_stage, subject, fetched(two_stage), NOW)
    reference = settle(one_stage, subject, fetched(one_stage), NOW)
    assert result.payment == replace(reference.payment, capture=False)
    assert (result.outcome, result.concern, result.refund, result.hold) == (
        SyncOutcome.APPLIED,
        None,
        None,
        None,
    )
    assert [u.after for u in result.changes.updated if not isinstance(u.after, Payment)] == [
        u.after for u in reference.changes.updated if not isinstance(u.after, Payment)
    ]


@pytest.mark.parametrize(
    ("payment_type", "status"), [(ORDER, P.CANCELED), (SUB, P.FAILED)], ids=["order", "subscription"]
)
def test_a_canceled_hold_closes_the_payment_and_frees_its_subject_without_any_refund(
    payment_type, status
) -> None:
    """GIVEN a held payment we decided to cancel (its order was repriced, its period paid) WHEN YooKassa
    confirms the cancel THEN the payment is closed (an order payment canceled by the merchant, a
    subscription payment failed), its subject's pointer at it released, and nothing refunded."""
    payment = payment_of(payment_type, capture=False)
    changed = {"amount": ORDER_PRICE + 1} if payment_type is ORDER else {"periods_paid": 1}
    subject = subject_of(payment_type, **changed)
    assert settle(payment, subject, fetched(payment, WAITING), NOW).hold is Hold.CANCEL
    fact = fetched(payment, ProviderStatus.CANCELED, cancellation_reason="canceled_by_merchant")
    result = settle(payment, subject, replace(fact, cancellation_party="merchant"), NOW)
    closed = replace(
        payment,
        status=status,
        cancellation_reason="canceled_by_merchant",
        cancellation_party="merchant",
        updated_at=NOW,
        version=payment.version + 1,
    )
    assert (result.outcome, result.payment, result.refund, result.hold) == (
        SyncOutcome.APPLIED,
        closed,
        None,
        None,
    )
    assert_writes(result.changes, updated=[Update(payment, closed), Update(subject, released(subject))])


def test_of_two_held_payments_for_one_order_only_the_one_that_claims_it_is_captured() -> None:
    """GIVEN two tabs, two held payments for one unpaid order WHEN the first is judged THEN it is to be
    captured and claims the order (its pointer, version + 1, in the decision's Changes); the second,
    judged on the claimed order, is released (SUPERSEDED): only one of them is ever charged."""
    first, second = order_payment(payment_id="pay-0", capture=False), order_payment(capture=False)
    unpaid = order(active_payment_id=None)
    decided = settle(first, unpaid, fetched(first, WAITING), NOW)
    assert decided.hold is Hold.CAPTURE
    [claim] = decided.changes.updated
    claimed_order = replace(unpaid, active_payment_id="pay-0", version=unpaid.version + 1)
    assert claim == Update(unpaid, claimed_order)
    released = settle(second, claimed_order, fetched(second, WAITING), NOW)
    assert (released.hold, released.concern, bool(released.changes)) == (Hold.CANCEL, Concern.SUPERSEDED, False)


def test_a_held_payment_for_an_order_that_points_at_a_newer_payment_is_released() -> None:
    older = order_payment(payment_id="pay-0", capture=False)
    result = settle(older, order(active_payment_id="pay-1"), fetched(older, WAITING), NOW)
    assert (result.hold, result.concern) == (Hold.CANCEL, Concern.SUPERSEDED)


# ---------------------------------------------------------------- settle: money that cannot buy its subject
@pytest.mark.parametrize(("payment_type", "subject", "concern"), UNDELIVERABLE)
@pytest.mark.parametrize("capture", [True, False])
def test_money_that_can_no_longer_buy_its_subject_is_recorded_and_all_of_it_reserved_for_a_refund(
    payment_type, subject, concern, capture
) -> None:
    """GIVEN a pending payment (one-stage, or two-stage and captured) whose subject can no longer be
    bought WHEN YooKassa says succeeded THEN, in one Changes: the refund request is created (RESERVED,
    the whole amount, the automatic refund's id and the full-refund hash), the payment's single update
    goes from pending to paid holding that amount (version + 2), the subject's pointer is released where
    it pointed at this payment and nothing else of the subject is written; the concern is named."""
    payment = payment_of(payment_type, capture=capture)
    result = settle(payment, subject, fetched(payment), NOW)
    pointed = subject is not None and subject.active_payment_id == "pay-1"
    updates = [Update(subject, released(subject))] if pointed else []
    assert_auto_refunded(result, payment, Concern(concern), updates)


@pytest.mark.parametrize("amount", [100, ORDER_PRICE, 35_000_000])
def test_the_automatic_refund_is_of_the_whole_amount_paid(amount) -> None:
    payment, before = order_payment(amount=amount), order(amount=ORDER_PRICE + 1, active_payment_id=None)
    result = settle(payment, before, fetched(payment), NOW)
    assert result.refund is not None
    assert (result.refund.amount, result.payment.refund_reserved, result.payment.amount) == (amount,) * 3
    assert_auto_refunded(result, payment, Concern.ORDER_CHANGED, [])


def test_the_automatic_refund_has_the_same_id_and_key_on_every_retry_and_its_own_per_payment() -> None:
    """The request id (so YooKassa's Idempotence-Key ``refund-<id>``) is derived from the payment alone:
    a settle retried after a lost write reaches the same refund, never a second one."""
    payment, missing = order_payment(), None
    first, again = (
        settle(payment, missing, fetched(payment), NOW),
        settle(payment, missing, fetched(payment), NOW),
    )
    assert first == again
    assert first.refund is not None
    assert first.refund.request_id == AUTO_REFUND_OF_PAY_1
    assert first.refund.idempotence_key() == "refund-aea9da9162468da77ed5abc850835e73"
    other = order_payment(payment_id="0b6e5c1a-7f3d-4c2e-9a1b-5d8e2f4a6c3b")
    refund = settle(other, missing, fetched(other), NOW).refund
    assert refund is not None
    assert refund.request_id == "b78fbe17ce3e3ea53dc852bee7d65afe"


def test_a_second_success_notification_never_reserves_a_second_refund() -> None:
    payment = order_payment()
    result = settle(payment, None, fetched(payment), NOW)
    again = settle(result.payment, None, fetched(result.payment), NOW)
    assert (again.outcome, again.changes, again.refund, again.payment) == (
        SyncOutcome.DUPLICATE,
        Changes(),
        None,
        result.payment,
    )


@pytest.mark.parametrize("payment_type", list(PaymentType))
def test_the_reserved_automatic_refund_once_made_leaves_the_payment_refunded_and_holding_nothing(
    payment_type,
) -> None:
    payment = payment_of(payment_type)
    result = settle(payment, None, fetched(payment), NOW)
    assert result.refund is not None
    refund = ProviderRefund("rf-1", "yk-1", ProviderRefundStatus.SUCCEEDED, payment.amount, "RUB")
    refunded, _ = record_refund(result.payment, refund, result.refund, NOW)
    assert (refunded.status, refunded.refunded_amount, refunded.refund_reserved) == (
        P.REFUNDED,
        payment.amount,
        0,
    )


@pytest.mark.parametrize(("payment_type", "subject", "concern"), UNDELIVERABLE)
def test_the_automatic_refund_once_made_takes_nothing_back_from_a_subject_it_never_bought(
    payment_type, subject, concern
) -> None:
    """GIVEN money that could not buy its subject (each concern), recorded as not delivered and held for
    the automatic refund WHEN that refund succeeds in full, the subject read again THEN only the payment,
    the request and the refund are written: the order another payment paid stays paid, the subscription
    keeps the period another payment paid."""
    payment = payment_of(payment_type)
    result = settle(payment, subject, fetched(payment), NOW)
    assert result.refund is not None and result.payment.delivered is False
    now_read = next((u.after for u in result.changes.updated if u.before == subject), subject)
    assert isinstance(now_read, Order | Subscription | None)
    refund = ProviderRefund("rf-1", "yk-1", ProviderRefundStatus.SUCCEEDED, payment.amount, "RUB")
    refunded, changes = record_refund(result.payment, refund, result.refund, NOW, now_read)
    assert refunded.status is P.REFUNDED
    assert {type(u.after) for u in changes.updated} == {Payment, RefundRequest}


# ---------------------------------------------------------------- subscription periods
@pytest.mark.parametrize(
    ("subscription_before", "period"),
    [
        (None, 1),
        (subscription(periods_paid=0), 1),
        (subscription(periods_paid=1), 2),
        (subscription(periods_paid=11), 12),
    ],
)
def test_a_new_payment_pays_the_period_after_those_already_paid(subscription_before, period) -> None:
    assert next_period(subscription_before) == period


def test_the_first_payment_of_a_subscription_pays_period_one_and_counts_it() -> None:
    """GIVEN no subscription WHEN its first payment starts and succeeds THEN the payment is for period 1,
    the subscription is created with no period paid, and the payment makes it active with one paid."""
    payment = new_payment(
        "pay-1",
        "alice",
        MONTHLY_PRICE,
        CREATED,
        "d",
        subscription_id="s1",
        plan_id="basic",
        subscription_type=SubscriptionType.MONTHLY,
        period=next_period(None),
    )
    assert payment.period == 1
    [_, created] = start_subscription_payment(None, payment).created
    assert isinstance(created, Subscription) and created.periods_paid == 0
    attached = attach_provider_payment(payment, "yk-1", "https://pay/yk-1", CREATED)
    assert attached is not None
    result = settle(attached.after, created, fetched(attached.after), NOW)
    activated = replace(
        created,
        status=SubscriptionStatus.ACTIVE,
        start_date=NOW,
        end_date=ONE_MONTH_ON,
        last_payment_id="pay-1",
        active_payment_id=None,
        periods_paid=1,
        version=2,
    )
    assert (result.outcome, result.concern, result.refund) == (SyncOutcome.APPLIED, None, None)
    assert_writes(
        result.changes,
        updated=[Update(attached.after, settled(attached.after, P.SUCCESS)), Update(created, activated)],
    )


def test_a_renewal_pays_period_two_and_extends_from_the_end_of_the_first() -> None:
    before = subscription(
        status=SubscriptionStatus.ACTIVE,
        start_date=CREATED,
        end_date=ONE_MONTH_ON,
        last_payment_id="pay-0",
        active_payment_id=None,
        periods_paid=1,
        version=3,
    )
    payment = subscription_payment(period=next_period(before))
    assert payment.period == 2
    [pointed_update] = start_subscription_payment(before, payment).updated
    pointed = pointed_update.after
    assert isinstance(pointed, Subscription)
    result = settle(payment, pointed, fetched(payment), NOW)
    renewed = replace(
        pointed,
        end_date=datetime(2027, 1, 27, 10, 0, tzinfo=UTC),
        last_payment_id="pay-1",
        active_payment_id=None,
        periods_paid=2,
        version=5,
    )
    assert (result.outcome, result.concern, result.refund) == (SyncOutcome.APPLIED, None, None)
    assert_writes(
        result.changes, updated=[Update(payment, settled(payment, P.SUCCESS)), Update(pointed, renewed)]
    )


def test_two_payments_for_one_period_pay_it_once_and_the_second_is_refunded_in_full() -> None:
    """GIVEN two payments started for the same period (the second while the first was still pending)
    WHEN both succeed THEN the first pays the period, and the second, finding that period paid, is
    refunded in full; the subscription is extended once and only its pointer at the second released."""
    before = subscription(active_payment_id=None)
    first = subscription_payment(payment_id="pay-0", period=next_period(before))
    [first_started] = start_subscription_payment(before, first).updated
    assert isinstance(first_started.after, Subscription)
    second = subscription_payment(payment_id="pay-1", period=next_period(first_started.after))
    assert (first.period, second.period) == (1, 1)
    [second_started] = start_subscription_payment(first_started.after, second).updated
    assert isinstance(second_started.after, Subscription)

    paid_by_first = settle(first, second_started.after, fetched(first), NOW)
    [extended_update] = [u for u in paid_by_first.changes.updated if isinstance(u.after, Subscription)]
    extended = extended_update.after
    assert (extended.periods_paid, extended.last_payment_id, extended.active_payment_id) == (
        1,
        "pay-0",
        "pay-1",
    )

    result = settle(second, extended, fetched(second), NOW)
    assert_auto_refunded(
        result, second, Concern.SUBSCRIPTION_PERIOD_PAID, [Update(extended, released(extended))]
    )
    two_stage = replace(second, capture=False)
    assert_held(
        settle(two_stage, extended, fetched(two_stage, WAITING), NOW),
        two_stage,
        Hold.CANCEL,
        Concern.SUBSCRIPTION_PERIOD_PAID,
    )


@pytest.mark.parametrize("periods_paid", [0, 1, 4])
def test_a_payment_started_before_periods_were_counted_extends_and_counts_one_more_period(periods_paid) -> None:
    payment = subscription_payment(period=None)
    before = subscription(
        status=SubscriptionStatus.ACTIVE, start_date=CREATED, end_date=ONE_MONTH_ON, periods_paid=periods_paid
    )
    result = settle(payment, before, fetched(payment), NOW)
    assert (result.concern, result.refund) == (None, None)
    [update] = [u for u in result.changes.updated if isinstance(u.after, Subscription)]
    assert (update.after.periods_paid, update.after.last_payment_id) == (periods_paid + 1, "pay-1")
    assert update.after.end_date == datetime(2027, 1, 27, 10, 0, tzinfo=UTC)


def test_money_for_a_period_already_paid_never_extends_the_subscription() -> None:
    paid_up = subscription(
        status=SubscriptionStatus.ACTIVE,
        start_date=CREATED,
        end_date=ONE_MONTH_ON,
        last_payment_id="pay-0",
        active_payment_id=None,
        periods_paid=1,
    )
    payment = subscription_payment(period=1)
    result = settle(payment, paid_up, fetched(payment), NOW)
    assert result.concern is Concern.SUBSCRIPTION_PERIOD_PAID
    assert not [u for u in result.changes.updated if isinstance(u.after, Subscription)]


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
    metadata = provider_metadata(payment)
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


# ---------------------------------------------------------------- provider_metadata
LONG_A = "a" * 513
LONG_A_DIGEST = "sha256:02425c0f5b0dabf3d2b9115f3f7723a02ad8bcfb1534a0d231614fd42b8188f6"  # sha256("a" * 513)
LONG_ZHE_DIGEST = "sha256:fdc57f6afb9067d4986622bedfd51bcf6aa83d955bf5fe0e3263b4d26660be80"  # sha256("ж" * 513)
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
METADATA_FIELDS = {
    "paymentId": "payment_id",
    "userId": "user_id",
    "orderId": "order_id",
    "subscriptionId": "subscription_id",
    "planId": "plan_id",
}
CHECKED = {
    "paymentId": "metadata_payment_id",
    "userId": "metadata_user_id",
    "orderId": "metadata_order_id",
    "subscriptionId": "metadata_subscription_id",
}
KEYS_OF = {ORDER: ["paymentId", "userId", "orderId"], SUB: ["paymentId", "userId", "subscriptionId", "planId"]}
LONG_VALUE_CASES = [(t, key) for t, keys in KEYS_OF.items() for key in keys]


def test_an_order_payments_metadata_names_the_payment_its_user_and_its_order() -> None:
    assert provider_metadata(order_payment()) == {"paymentId": "pay-1", "userId": "alice", "orderId": "o1"}


@pytest.mark.parametrize("kind", list(SubscriptionType))
def test_a_subscription_payments_metadata_names_the_payment_user_subscription_plan_and_type(kind) -> None:
    assert provider_metadata(subscription_payment(subscription_type=kind, plan_id="premium")) == {
        "paymentId": "pay-1",
        "userId": "alice",
        "subscriptionId": "s1",
        "planId": "premium",
        "subscriptionType": kind.value,
    }


@settings(max_examples=50)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "status": st.sampled_from(list(PaymentStatus)),
            "version": st.integers(min_value=0, max_value=10**6),
            "yookassa_id": st.one_of(st.none(), st.text(max_size=20)),
            "payment_url": st.one_of(st.none(), st.text(max_size=20)),
            "amount": st.integers(min_value=0, max_value=10**9),
            "description": st.text(max_size=40),
            "refunded_amount": st.integers(min_value=0, max_value=10**9),
            "refund_reserved": st.integers(min_value=0, max_value=10**9),
            "cancellation_reason": st.one_of(st.none(), st.text(max_size=20)),
            "capture": st.booleans(),
            "period": st.one_of(st.none(), st.integers(min_value=0, max_value=100)),
            "paid_at": st.one_of(st.none(), st.just(NOW)),
            "updated_at": st.one_of(st.none(), st.just(NOW)),
        },
    ),
    st.sampled_from(list(PaymentType)),
)
def test_the_metadata_sent_at_creation_never_changes_as_the_payment_moves_on(changes, payment_type) -> None:
    """What a notification is matched against is computed again from our record each time: it depends on
    the payment's id, user and subject only, never on anything that changes after the create."""
    payment = payment_of(payment_type)
    assert provider_metadata(replace(payment, **changes)) == provider_metadata(payment)


@pytest.mark.parametrize(("payment_type", "key"), LONG_VALUE_CASES)
@pytest.mark.parametrize("length", [1, 511, 512])
def test_a_value_of_up_to_512_characters_is_sent_as_it_is(payment_type, key, length) -> None:
    value = ("ж" if length == 512 else "a") * length
    payment = payment_of(payment_type, **{METADATA_FIELDS[key]: value})
    assert provider_metadata(payment)[key] == value
    assert METADATA_VALUE_LIMIT == 512


@pytest.mark.parametrize(("payment_type", "key"), LONG_VALUE_CASES)
def test_a_value_of_513_characters_is_sent_as_its_stable_digest_and_nothing_else_changes(
    payment_type, key
) -> None:
    payment = payment_of(payment_type)
    long = payment_of(payment_type, **{METADATA_FIELDS[key]: LONG_A})
    assert provider_metadata(long) == provider_metadata(payment) | {key: LONG_A_DIGEST}


def test_the_digest_counts_characters_and_hashes_their_utf8() -> None:
    assert provider_metadata(order_payment(user_id="ж" * 513))["userId"] == LONG_ZHE_DIGEST


@pytest.mark.parametrize("length", [513, 600, 4096, 100_000])
def test_every_long_value_becomes_a_digest_well_within_the_limit(length) -> None:
    digest = provider_metadata(order_payment(user_id="x" * length))["userId"]
    assert DIGEST.fullmatch(digest)
    assert len(digest) == 71 <= METADATA_VALUE_LIMIT


def test_the_same_long_value_gives_the_same_digest_in_any_payment_and_another_value_another() -> None:
    one = provider_metadata(order_payment(payment_id="pay-7", user_id=LONG_A))["userId"]
    two = provider_metadata(subscription_payment(payment_id="pay-8", user_id=LONG_A))["userId"]
    other = provider_metadata(order_payment(user_id="a" * 512 + "b"))["userId"]
    assert one == two == LONG_A_DIGEST
    assert other != one and DIGEST.fullmatch(other)


@pytest.mark.parametrize(
    "sub",
    [
        "auth0|5f7c8ec7c33c6c004bbafe82",
        "google-oauth2|104683271535468893411",
        "Алиса",
        "a" * 255,
    ],
)
def test_the_subs_of_real_identity_providers_are_sent_as_they_are(sub) -> None:
    assert provider_metadata(order_payment(user_id=sub))["userId"] == sub


@pytest.mark.parametrize(("payment_type", "key"), [(t, k) for t, k in LONG_VALUE_CASES if k in CHECKED])
def test_yookassa_echoing_the_digest_of_a_long_value_matches_the_payment(payment_type, key) -> None:
    """GIVEN a payment whose id, user or subject is over 512 characters WHEN YooKassa echoes what we sent
    (the digest) THEN it is our payment."""
    payment = payment_of(payment_type, **{METADATA_FIELDS[key]: LONG_A})
    echoed = fetched(payment)
    assert echoed.metadata[key] == LONG_A_DIGEST
    assert mismatch_reason(payment, echoed) is None


@pytest.mark.parametrize(("payment_type", "key"), [(t, k) for t, k in LONG_VALUE_CASES if k in CHECKED])
@pytest.mark.parametrize("forged", [LONG_A, "a" * 512, "sha256:" + "0" * 64, LONG_A_DIGEST.upper()])
def test_a_raw_long_value_or_another_digest_in_the_metadata_does_not_match(payment_type, key, forged) -> None:
    """GIVEN a payment whose id, user or subject is over 512 characters WHEN the fetched metadata carries
    the raw value (never what we sent), its 512-character prefix or another digest THEN it is not ours."""
    payment = payment_of(payment_type, **{METADATA_FIELDS[key]: LONG_A})
    metadata = provider_metadata(payment) | {key: forged}
    assert mismatch_reason(payment, fetched(payment, metadata=metadata)) == CHECKED[key]


@settings(max_examples=60)
@given(
    st.text(min_size=1, max_size=700),
    st.text(min_size=1, max_size=700),
    st.text(min_size=1, max_size=700),
    st.sampled_from(list(PaymentType)),
)
def test_metadata_stays_within_yookassas_limits_and_always_matches_its_payment(
    payment_id, user_id, subject_id, payment_type
) -> None:
    """Any ids at all: at most 16 keys of at most 32 characters, values of at most 512; and what is sent
    is what matching expects."""
    subject = {"order_id": subject_id} if payment_type is ORDER else {"subscription_id": subject_id}
    payment = payment_of(payment_type, payment_id=payment_id, user_id=user_id, **subject)
    metadata = provider_metadata(payment)
    assert len(metadata) <= 16
    assert all(len(key) <= 32 and len(value) <= METADATA_VALUE_LIMIT for key, value in metadata.items())
    assert mismatch_reason(payment, fetched(payment)) is None


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


def test_a_new_payment_is_one_stage_and_of_no_counted_period_unless_told() -> None:
    payment = new_payment("pay-9", "alice", ORDER_PRICE, NOW, "d", order_id="o1")
    assert (payment.capture, payment.period) == (True, None)


@pytest.mark.parametrize("capture", [True, False])
@pytest.mark.parametrize("period", [None, 1, 7])
def test_a_new_payment_keeps_its_capture_mode_and_period(capture, period) -> None:
    """The capture mode is fixed at creation (every retry of the create sends the same), and a
    subscription payment carries the period it pays."""
    payment = new_payment(
        "pay-9",
        "alice",
        MONTHLY_PRICE,
        NOW,
        "d",
        subscription_id="s1",
        plan_id="basic",
        subscription_type=SubscriptionType.MONTHLY,
        period=period,
        capture=capture,
    )
    plain = new_payment(
        "pay-9",
        "alice",
        MONTHLY_PRICE,
        NOW,
        "d",
        subscription_id="s1",
        plan_id="basic",
        subscription_type=SubscriptionType.MONTHLY,
    )
    assert payment == replace(plain, capture=capture, period=period)


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
        updated=[
            Update(before, replace(before, active_payment_id="pay-9", last_payment_id="pay-9", version=4))
        ],
    )


def test_a_new_order_payment_replaces_a_stale_pointer() -> None:
    before, payment = order(active_payment_id="pay-1"), order_payment(payment_id="pay-9", version=1)
    [update] = start_order_payment(before, payment).updated
    pointed = replace(before, active_payment_id="pay-9", last_payment_id="pay-9", version=before.version + 1)
    assert update == Update(before, pointed)


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
