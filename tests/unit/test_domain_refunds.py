"""Refunds as pure decisions: hold an amount, learn YooKassa's refund, record it once, or give it back.

The money rule: a kopeck is refunded at most once. A request's amount is held on the payment
(``refund_reserved``) until YooKassa answers, so what is held plus what is refunded never exceeds what was
paid; the property test at the end drives any sequence of requests, answers and releases through the
domain and checks the books after every step.
"""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from payments.domain import (
    AppliedRefund,
    Changes,
    Order,
    OrderStatus,
    Payment,
    PaymentStatus,
    ProviderRefund,
    ProviderRefundStatus,
    RefundRequest,
    RefundState,
    ScheduledChange,
    Subscription,
    SubscriptionStatus,
    SubscriptionType,
    Update,
)
from payments.domain.refunds import (
    AUTO_REFUND_KEY,
    CANCELED_BY_PROVIDER,
    UNKNOWN_OUTCOME_EXPIRED,
    RefundExceedsRecord,
    record_refund,
    refund_accepted,
    refund_request_hash,
    refund_request_id,
    release_refund,
    reserve_refund,
    takes_back,
)
from payments.errors import PaymentNotRefundable, RefundExceedsPayment

from .builders import (
    CREATED,
    MONTHLY_PRICE,
    NOW,
    PAID_FROM,
    PAID_UNTIL,
    active_subscription,
    assert_writes,
    order,
    paid_payment,
    refund_request,
    subscription,
    subscription_payment,
)

P, R = PaymentStatus, RefundState
CLOSED_STATES = [R.SUCCEEDED, R.CANCELED, R.FAILED]


def provider_refund(amount: int, refund_id: str = "rf-1", **fields: object) -> ProviderRefund:
    refund = ProviderRefund(
        id=refund_id,
        payment_id="yk-1",
        status=ProviderRefundStatus.SUCCEEDED,
        amount=amount,
        currency="RUB",
        metadata={"refundRequestId": "req-1", "paymentId": "pay-1"},
    )
    return replace(refund, **fields)  # type: ignore[arg-type]


# ---------------------------------------------------------------- reserve_refund
def test_a_refund_request_holds_its_amount_on_the_payment() -> None:
    """GIVEN a paid payment WHEN a refund of part of it is requested THEN a RESERVED request of that amount
    is created and the payment holds it (refund_reserved + amount, version + 1), in one Changes."""
    payment = paid_payment(1000, refund_reserved=100, refunded_amount=200)
    held, request, changes = reserve_refund(payment, "req-9", "hash-9", 300, NOW)
    assert request == RefundRequest(
        payment_id="pay-1",
        request_id="req-9",
        amount=300,
        request_hash="hash-9",
        state=R.RESERVED,
        created_at=NOW,
        updated_at=NOW,
    )
    assert held == replace(payment, refund_reserved=400, updated_at=NOW, version=payment.version + 1)
    assert_writes(changes, created=[request], updated=[Update(payment, held)])
    assert held.refunded_amount == 200 and held.status is P.PAID


@pytest.mark.parametrize(
    ("refunded", "reserved", "rest"), [(0, 0, 1000), (400, 0, 600), (0, 250, 750), (400, 250, 350), (999, 0, 1)]
)
def test_a_request_without_an_amount_takes_all_that_is_left(refunded, reserved, rest) -> None:
    payment = paid_payment(1000, refunded_amount=refunded, refund_reserved=reserved)
    held, request, changes = reserve_refund(payment, "req-9", "h", None, NOW)
    assert request.amount == rest
    assert held.refund_reserved == reserved + rest
    assert held.refund_available == 0
    assert changes.updated == (Update(payment, held),)


@pytest.mark.parametrize(("refunded", "reserved"), [(0, 0), (300, 0), (0, 300), (300, 300)])
def test_exactly_what_is_left_can_be_held(refunded, reserved) -> None:
    payment = paid_payment(1000, refunded_amount=refunded, refund_reserved=reserved)
    _, request, _ = reserve_refund(payment, "req-9", "h", 1000 - refunded - reserved, NOW)
    assert request.amount == 1000 - refunded - reserved


@pytest.mark.parametrize(
    ("refunded", "reserved", "amount"),
    [
        (0, 0, 0),
        (0, 0, -1),
        (0, 0, 1001),
        (400, 0, 601),
        (0, 400, 601),  # held by a request in flight: never refunded twice
        (400, 300, 301),
        (1000, 0, 1),
        (0, 1000, 1),
        (0, 1000, None),  # nothing left: not even "the rest"
        (600, 400, None),
    ],
)
def test_a_refund_of_nothing_or_of_more_than_is_left_is_refused(refunded, reserved, amount) -> None:
    payment = paid_payment(1000, refunded_amount=refunded, refund_reserved=reserved)
    with pytest.raises(RefundExceedsPayment):
        reserve_refund(payment, "req-9", "h", amount, NOW)


@pytest.mark.parametrize("status", [P.PENDING, P.FAILED, P.CANCELED, P.REFUNDED])
def test_only_a_paid_payment_can_be_refunded(status) -> None:
    with pytest.raises(PaymentNotRefundable):
        reserve_refund(paid_payment(1000, status=status), "req-9", "h", 100, NOW)


def test_a_paid_subscription_payment_can_be_refunded() -> None:
    payment = subscription_payment(status=P.SUCCESS, paid_at=CREATED)
    _, request, _ = reserve_refund(payment, "req-9", "h", None, NOW)
    assert request.amount == payment.amount


def test_a_payment_yookassa_never_named_can_not_be_refunded() -> None:
    with pytest.raises(PaymentNotRefundable):
        reserve_refund(paid_payment(1000, yookassa_id=None), "req-9", "h", 100, NOW)


# ---------------------------------------------------------------- refund_accepted
def test_yookassas_refund_id_is_remembered_on_a_reserved_request() -> None:
    request = refund_request()
    assert refund_accepted(request, "rf-9", NOW) == Update(
        request, replace(request, state=R.PENDING, yookassa_refund_id="rf-9", updated_at=NOW)
    )


def test_remembering_the_same_refund_id_again_writes_nothing() -> None:
    request = refund_request(state=R.PENDING, yookassa_refund_id="rf-9")
    assert refund_accepted(request, "rf-9", NOW) is None


@pytest.mark.parametrize("state", [R.PENDING, *CLOSED_STATES])
def test_a_request_that_moved_on_is_not_moved_back_to_pending(state) -> None:
    """GIVEN a request already pending with another id, or closed WHEN a (late) create answer arrives THEN
    nothing is written: the state only moves forward."""
    request = refund_request(state=state, yookassa_refund_id="rf-1")
    assert refund_accepted(request, "rf-9", NOW) is None


@pytest.mark.parametrize("state", CLOSED_STATES)
def test_a_closed_request_without_an_id_is_not_reopened(state) -> None:
    assert refund_accepted(refund_request(state=state), "rf-9", NOW) is None


# ---------------------------------------------------------------- record_refund
def test_a_partial_refund_is_added_once_and_the_payment_stays_paid() -> None:
    payment = paid_payment(1000, refunded_amount=100)
    refunded, changes = record_refund(payment, provider_refund(300), None, NOW)
    assert refunded == replace(payment, refunded_amount=400, updated_at=NOW, version=payment.version + 1)
    assert_writes(
        changes, created=[AppliedRefund("pay-1", "rf-1", 300, NOW)], updated=[Update(payment, refunded)]
    )


@pytest.mark.parametrize(("before", "refund"), [(0, 1000), (400, 600), (999, 1)])
def test_the_refund_that_reaches_the_amount_exactly_makes_the_payment_refunded(before, refund) -> None:
    payment = paid_payment(1000, refunded_amount=before)
    refunded, _ = record_refund(payment, provider_refund(refund), None, NOW)
    assert (refunded.refunded_amount, refunded.status) == (1000, P.REFUNDED)


def test_a_fully_refunded_subscription_payment_is_refunded() -> None:
    payment = subscription_payment(status=P.SUCCESS, subscription_type=SubscriptionType.YEARLY)
    refunded, _ = record_refund(payment, provider_refund(payment.amount), None, NOW)
    assert refunded.status is P.REFUNDED


@pytest.mark.parametrize(("before", "refund"), [(0, 1001), (400, 601), (1000, 1)])
def test_a_refund_beyond_what_our_record_says_is_left_is_never_applied(before, refund) -> None:
    payment = paid_payment(1000, refunded_amount=before)
    with pytest.raises(RefundExceedsRecord):
        record_refund(payment, provider_refund(refund), None, NOW)


@pytest.mark.parametrize("state", [R.RESERVED, R.PENDING])
def test_our_requests_hold_becomes_the_refund_in_the_same_write(state) -> None:
    """GIVEN a payment holding 300 for our open request WHEN YooKassa's refund of it succeeded THEN the
    payment's refunded grows by 300 and its hold shrinks by 300 (never counted twice), the request is
    SUCCEEDED with YooKassa's id, and the refund is created once: all in one Changes."""
    payment = paid_payment(1000, refunded_amount=100, refund_reserved=500)
    held = refund_request(amount=300, state=state, yookassa_refund_id="rf-1" if state is R.PENDING else None)
    refunded, changes = record_refund(payment, provider_refund(300), held, NOW)
    assert refunded == replace(
        payment, refunded_amount=400, refund_reserved=200, updated_at=NOW, version=payment.version + 1
    )
    done = replace(held, state=R.SUCCEEDED, yookassa_refund_id="rf-1", updated_at=NOW)
    assert_writes(
        changes,
        created=[AppliedRefund("pay-1", "rf-1", 300, NOW)],
        updated=[Update(payment, refunded), Update(held, done)],
    )


def test_the_last_held_refund_makes_the_payment_refunded_and_holds_nothing() -> None:
    payment = paid_payment(1000, refunded_amount=600, refund_reserved=400)
    refunded, _ = record_refund(payment, provider_refund(400), refund_request(amount=400), NOW)
    assert (refunded.status, refunded.refunded_amount, refunded.refund_reserved) == (P.REFUNDED, 1000, 0)


@pytest.mark.parametrize("state", CLOSED_STATES)
def test_a_request_that_is_no_longer_open_never_gives_its_hold_back_twice(state) -> None:
    """GIVEN a payment holding 300 for request B, and request A (300) that already ended (its hold given
    back) WHEN a refund is recorded with A passed as the held request THEN A is ignored: it is not moved
    out of its final state (a refund request's state only moves forward), B's 300 stay held, and the
    refund is recorded exactly as one without a request of ours."""
    payment = paid_payment(1000, refund_reserved=300)
    closed = refund_request(amount=300, state=state)
    refunded, changes = record_refund(payment, provider_refund(300), closed, NOW)
    assert (refunded, changes) == record_refund(payment, provider_refund(300), None, NOW)
    assert refunded == replace(payment, refunded_amount=300, updated_at=NOW, version=payment.version + 1)
    assert refunded.refund_reserved == 300
    assert_writes(
        changes, created=[AppliedRefund("pay-1", "rf-1", 300, NOW)], updated=[Update(payment, refunded)]
    )


@pytest.mark.parametrize("state", CLOSED_STATES)
def test_a_closed_request_is_ignored_even_when_its_refund_completes_the_payment(state) -> None:
    payment = paid_payment(1000, refunded_amount=700)
    refunded, changes = record_refund(
        payment, provider_refund(300), refund_request(amount=300, state=state), NOW
    )
    assert (refunded.status, refunded.refunded_amount, refunded.refund_reserved) == (P.REFUNDED, 1000, 0)
    assert not [u for u in changes.updated if isinstance(u.before, RefundRequest)]


# ---------------------------------------------------------------- a full refund takes back what it bought
PAID_ORDER = {
    "status": OrderStatus.PAID,
    "paid_payment_id": "pay-1",
    "paid_at": CREATED,
    "active_payment_id": None,
}
COMPLETED_ORDER = PAID_ORDER | {
    "status": OrderStatus.COMPLETED,
    "completed_at": NOW,
    "settlement_receipt_id": "rc-1",
}
TWO_MONTHS_PAID = {
    "end_date": datetime(2027, 1, 10, 10, 0, tzinfo=UTC),
    "periods_paid": 2,
    "last_payment_id": "pay-1",
}


def paid_subscription_payment(**fields: object) -> Payment:
    """``pay-1`` paid for a month of ``basic`` and delivered, as a refund finds it."""
    defaults: dict[str, object] = {
        "status": P.SUCCESS,
        "paid_at": CREATED,
        "payment_url": None,
        "delivered": True,
    }
    return subscription_payment(**(defaults | fields))


def subject_updates(changes: Changes) -> list[Update]:
    return [u for u in changes.updated if isinstance(u.after, Order | Subscription)]


@pytest.mark.parametrize("paid", [PAID_ORDER, COMPLETED_ORDER], ids=["paid", "completed"])
@pytest.mark.parametrize("delivered", [True, None], ids=["delivered", "settled before delivered was recorded"])
def test_a_full_refund_of_the_payment_that_paid_an_order_makes_the_order_refunded_in_the_same_write(
    paid, delivered
) -> None:
    """GIVEN an order paid (or completed) by ``pay-1`` WHEN a refund of all of ``pay-1`` succeeds THEN, in
    the same Changes as the refund, the order is ``refunded`` (version + 1, nothing else changed)."""
    payment, before = paid_payment(1000, delivered=delivered), order(**paid)
    refunded, changes = record_refund(payment, provider_refund(1000), None, NOW, before)
    after = replace(before, status=OrderStatus.REFUNDED, version=before.version + 1)
    assert refunded.status is P.REFUNDED
    assert_writes(
        changes,
        created=[AppliedRefund("pay-1", "rf-1", 1000, NOW)],
        updated=[Update(payment, refunded), Update(before, after)],
    )


def test_the_refund_that_completes_a_full_refund_in_parts_refunds_the_order_with_its_request() -> None:
    payment = paid_payment(1000, refunded_amount=600, refund_reserved=400, delivered=True)
    before, held = order(**PAID_ORDER), refund_request(amount=400)
    refunded, changes = record_refund(payment, provider_refund(400), held, NOW, before)
    done = replace(held, state=R.SUCCEEDED, yookassa_refund_id="rf-1", updated_at=NOW)
    after = replace(before, status=OrderStatus.REFUNDED, version=before.version + 1)
    assert_writes(
        changes,
        created=[AppliedRefund("pay-1", "rf-1", 400, NOW)],
        updated=[Update(payment, refunded), Update(held, done), Update(before, after)],
    )


@pytest.mark.parametrize(
    "subject",
    [
        order(status=OrderStatus.PAID, paid_payment_id="pay-2", paid_at=CREATED, active_payment_id=None),
        order(active_payment_id=None),
        order(active_payment_id="pay-1"),
        order(status=OrderStatus.REFUNDED, paid_payment_id="pay-1", paid_at=CREATED, active_payment_id=None),
        None,
    ],
    ids=["paid by another payment", "never paid", "pointing at it, unpaid", "refunded already", "missing"],
)
def test_a_full_refund_takes_back_only_an_order_this_payment_paid_and_only_once(subject) -> None:
    payment = paid_payment(1000, delivered=True)
    refunded, changes = record_refund(payment, provider_refund(1000), None, NOW, subject)
    assert refunded.status is P.REFUNDED
    assert_writes(
        changes, created=[AppliedRefund("pay-1", "rf-1", 1000, NOW)], updated=[Update(payment, refunded)]
    )


@pytest.mark.parametrize(("before", "amount"), [(0, 1), (0, 999), (400, 300)])
@pytest.mark.parametrize("subject_of", ["order", "subscription"])
def test_a_partial_refund_changes_neither_the_order_nor_the_subscriptions_dates(
    before, amount, subject_of
) -> None:
    subject: Order | Subscription
    if subject_of == "order":
        payment, subject = paid_payment(1000, refunded_amount=before, delivered=True), order(**PAID_ORDER)
    else:
        payment = paid_subscription_payment(amount=1000, refunded_amount=before)
        subject = active_subscription(**TWO_MONTHS_PAID)
    refunded, changes = record_refund(payment, provider_refund(amount), None, NOW, subject)
    assert refunded.status is payment.status
    assert subject_updates(changes) == []


@pytest.mark.parametrize("subject_of", ["order", "subscription"])
def test_the_full_refund_of_money_that_bought_nothing_takes_nothing_back(subject_of) -> None:
    """GIVEN a payment recorded as not delivered (its money was refunded as undeliverable) and a subject
    another payment paid WHEN its refund completes THEN the subject is not touched."""
    subject: Order | Subscription
    if subject_of == "order":
        payment, subject = paid_payment(1000, delivered=False), order(**PAID_ORDER)
    else:
        payment, subject = paid_subscription_payment(delivered=False), active_subscription(**TWO_MONTHS_PAID)
    refunded, changes = record_refund(payment, provider_refund(payment.amount), None, NOW, subject)
    assert refunded.status is P.REFUNDED
    assert subject_updates(changes) == []


@pytest.mark.parametrize("delivered", [True, None], ids=["delivered", "settled before delivered was recorded"])
def test_a_full_refund_of_a_monthly_payment_takes_back_a_month_in_the_same_write(delivered) -> None:
    payment, before = paid_subscription_payment(delivered=delivered), active_subscription(**TWO_MONTHS_PAID)
    refunded, changes = record_refund(payment, provider_refund(payment.amount), None, NOW, before)
    after = replace(before, end_date=PAID_UNTIL, periods_paid=1, version=before.version + 1)
    assert refunded.status is P.REFUNDED
    assert_writes(
        changes,
        created=[AppliedRefund("pay-1", "rf-1", payment.amount, NOW)],
        updated=[Update(payment, refunded), Update(before, after)],
    )


def test_a_full_refund_of_a_yearly_payment_takes_back_a_year_whatever_the_subscriptions_type() -> None:
    payment = paid_subscription_payment(subscription_type=SubscriptionType.YEARLY)
    before = active_subscription(end_date=datetime(2027, 12, 10, 10, 0, tzinfo=UTC), periods_paid=2)
    [update] = subject_updates(record_refund(payment, provider_refund(payment.amount), None, NOW, before)[1])
    assert update == Update(before, replace(before, end_date=PAID_UNTIL, periods_paid=1, version=5))


def test_a_payment_of_no_recorded_type_takes_back_a_period_of_the_subscriptions_type() -> None:
    payment = paid_subscription_payment(subscription_type=None)
    before = active_subscription(
        subscription_type=SubscriptionType.YEARLY, end_date=datetime(2027, 12, 10, 10, 0, tzinfo=UTC)
    )
    [update] = subject_updates(record_refund(payment, provider_refund(payment.amount), None, NOW, before)[1])
    assert update.after.end_date == PAID_UNTIL


def test_refunding_the_only_period_paid_cancels_the_subscription() -> None:
    payment, before = paid_subscription_payment(), active_subscription(last_payment_id="pay-1")
    [update] = subject_updates(record_refund(payment, provider_refund(payment.amount), None, NOW, before)[1])
    assert update == Update(
        before,
        replace(before, status=SubscriptionStatus.CANCELED, end_date=PAID_FROM, periods_paid=0, version=5),
    )


def test_a_subscription_refunded_in_full_drops_the_change_scheduled_within_the_month_taken_back() -> None:
    change = ScheduledChange("premium", SubscriptionType.MONTHLY, PAID_UNTIL)
    payment = paid_subscription_payment(plan_id="premium")
    before = active_subscription(scheduled_change=change, **TWO_MONTHS_PAID)
    [update] = subject_updates(record_refund(payment, provider_refund(payment.amount), None, NOW, before)[1])
    assert update.after == replace(
        before, end_date=PAID_UNTIL, periods_paid=1, scheduled_change=None, version=5
    )


@pytest.mark.parametrize("subject", [None, subscription()], ids=["missing", "never paid (no end)"])
def test_a_full_refund_takes_nothing_back_from_a_subscription_without_paid_time(subject) -> None:
    payment = paid_subscription_payment()
    refunded, changes = record_refund(payment, provider_refund(payment.amount), None, NOW, subject)
    assert refunded.status is P.REFUNDED
    assert subject_updates(changes) == []


def test_without_its_subject_a_full_refund_writes_only_the_refund() -> None:
    payment = paid_payment(1000, delivered=True)
    assert record_refund(payment, provider_refund(1000), None, NOW) == record_refund(
        payment, provider_refund(1000), None, NOW, None
    )


def test_a_refund_beyond_our_record_is_refused_before_anything_is_taken_back() -> None:
    with pytest.raises(RefundExceedsRecord):
        record_refund(paid_payment(1000, delivered=True), provider_refund(1001), None, NOW, order(**PAID_ORDER))


@pytest.mark.parametrize(
    ("refunded", "amount", "delivered", "takes"),
    [
        (0, 1000, True, True),
        (0, 1000, None, True),
        (0, 1000, False, False),
        (600, 400, True, True),
        (600, 400, False, False),
        (0, 999, True, False),
        (600, 300, None, False),
        (0, 1, True, False),
    ],
)
def test_takes_back_exactly_when_the_refund_completes_a_full_refund_of_money_that_was_not_undeliverable(
    refunded, amount, delivered, takes
) -> None:
    payment = paid_payment(1000, refunded_amount=refunded, delivered=delivered)
    assert takes_back(payment, provider_refund(amount)) is takes


# Fails against the domain as it is (see the report): ``delivered is None`` is read as "delivered", but
# payments settled before it was recorded were already refunded automatically when undeliverable.
def test_an_automatic_refund_reserved_before_delivered_was_recorded_takes_nothing_back() -> None:
    """GIVEN ``pay-1`` settled before ``delivered`` was recorded (None) as undeliverable: its period was
    paid by another payment, and all of it is held by the automatic refund WHEN that refund succeeds
    THEN the subscription keeps the period the other payment paid."""
    payment = paid_subscription_payment(delivered=None, refund_reserved=MONTHLY_PRICE)
    held = refund_request(request_id=refund_request_id("pay-1", AUTO_REFUND_KEY), amount=MONTHLY_PRICE)
    before = active_subscription()
    _, changes = record_refund(payment, provider_refund(MONTHLY_PRICE), held, NOW, before)
    assert subject_updates(changes) == []


# ---------------------------------------------------------------- request ids and hashes (YooKassa keys)
# Pinned: a request id is the Idempotence-Key we send YooKassa (``refund-<id>``) and the key our store
# finds the request by; a change in either derivation makes a retry over a deploy a second refund.
@pytest.mark.parametrize(
    ("payment_id", "key", "request_id"),
    [
        ("pay-1", "auto-refund", "aea9da9162468da77ed5abc850835e73"),
        ("0b6e5c1a-7f3d-4c2e-9a1b-5d8e2f4a6c3b", "auto-refund", "b78fbe17ce3e3ea53dc852bee7d65afe"),
        ("pay-1", "amount-rest", "5d11bb69554a65b2b51bbbf48e5bcffb"),
        ("pay-1", "amount-40000", "2deaaa21dc15f50104f9513431b66da0"),
        ("pay-1", "admin-key-1", "50ff6ed088cd3e3dc1194ff647ffbb12"),
    ],
)
def test_a_refund_request_id_is_exactly_this_for_a_payment_and_key(payment_id, key, request_id) -> None:
    assert refund_request_id(payment_id, key) == request_id


def test_the_automatic_refunds_key_is_auto_refund() -> None:
    assert AUTO_REFUND_KEY == "auto-refund"
    assert refund_request_id("pay-1", AUTO_REFUND_KEY) == "aea9da9162468da77ed5abc850835e73"


@pytest.mark.parametrize(
    ("amount", "request_hash"),
    [
        (None, "2ccd94e2ba19c54ed10b40a18c17a6122ae49060dad6bb43051c9a65894d578b"),
        (0, "e6a312b1d452aa705e11d045f19ba9f7097fbbc3a7ef956573c98e6d81203b6a"),
        (1, "c2b11e657e12fd177359627ca89412018e2274d0873cfbfcf1fc50f685582e9e"),
        (40_000, "c5f993fbf6d383508a5ee3857bcd9950b8880b77a7eb85e901d5a357127d1d4d"),
        (150_000, "ab3cfe23968ef87a07d065dc005a24cd96fbb97261c02805fc1602aab406e90f"),
    ],
)
def test_a_refund_request_hash_is_exactly_this_for_an_amount(amount, request_hash) -> None:
    """``{"amount":N}`` / ``{"amount":null}``, compact, as first hashed."""
    assert refund_request_hash(amount) == request_hash


@given(st.text(min_size=1, max_size=40), st.text(min_size=1, max_size=40), st.text(min_size=1, max_size=40))
def test_a_request_id_is_32_hex_characters_and_its_own_per_payment_and_per_key(payment_id, key, other) -> None:
    request_id = refund_request_id(payment_id, key)
    assert len(request_id) == 32 and set(request_id) <= set("0123456789abcdef")
    assert refund_request_id(payment_id, key) == request_id
    if other != key:
        assert refund_request_id(payment_id, other) != request_id
    if other != payment_id:
        assert refund_request_id(other, key) != request_id


@given(
    st.one_of(st.none(), st.integers(min_value=0, max_value=10**12)), st.integers(min_value=0, max_value=10**12)
)
def test_a_request_hash_tells_every_amount_and_the_rest_apart(amount, other) -> None:
    assert refund_request_hash(amount) == refund_request_hash(amount)
    if other != amount:
        assert refund_request_hash(other) != refund_request_hash(amount)
    assert len(refund_request_hash(amount)) == 64


# ---------------------------------------------------------------- release_refund
@pytest.mark.parametrize("open_state", [R.RESERVED, R.PENDING])
@pytest.mark.parametrize(
    ("state", "reason"),
    [(R.CANCELED, CANCELED_BY_PROVIDER), (R.CANCELED, "payment_expired"), (R.FAILED, UNKNOWN_OUTCOME_EXPIRED)],
)
def test_a_refused_or_forgotten_request_gives_its_hold_back(open_state, state, reason) -> None:
    payment = paid_payment(1000, refunded_amount=100, refund_reserved=500)
    request = refund_request(amount=300, state=open_state)
    released, changes = release_refund(payment, request, state, reason, NOW)
    assert released == replace(payment, refund_reserved=200, updated_at=NOW, version=payment.version + 1)
    assert released.refunded_amount == 100 and released.status is P.PAID
    closed = replace(request, state=state, failure_reason=reason, updated_at=NOW)
    assert_writes(changes, updated=[Update(request, closed), Update(payment, released)])


def test_a_request_whose_refund_was_recorded_without_it_ends_succeeded_keeping_its_reason() -> None:
    payment = paid_payment(1000, refunded_amount=300, refund_reserved=300)
    request = refund_request(amount=300, state=R.PENDING, failure_reason="earlier")
    released, changes = release_refund(payment, request, R.SUCCEEDED, None, NOW)
    assert (released.refund_reserved, released.refunded_amount) == (0, 300)
    [request_update] = [u for u in changes.updated if isinstance(u.after, RefundRequest)]
    assert (request_update.after.state, request_update.after.failure_reason) == (R.SUCCEEDED, "earlier")


@pytest.mark.parametrize("state", CLOSED_STATES)
def test_a_closed_request_is_never_released_again(state) -> None:
    with pytest.raises(AssertionError):
        release_refund(
            paid_payment(1000, refund_reserved=300), refund_request(state=state), R.CANCELED, "x", NOW
        )


@pytest.mark.parametrize("state", [R.RESERVED, R.PENDING])
def test_releasing_always_ends_the_request(state) -> None:
    with pytest.raises(AssertionError):
        release_refund(paid_payment(1000, refund_reserved=300), refund_request(), state, None, NOW)


# ---------------------------------------------------------------- the books, whatever happens
class RefundBooks(RuleBasedStateMachine):
    """One paid payment; any sequence of requests (some refused), YooKassa accepting them, their refunds
    succeeding, YooKassa canceling them, holds expiring, and refunds made from YooKassa's dashboard."""

    def __init__(self) -> None:
        super().__init__()
        self.payment: Payment = paid_payment(10_000)
        self.requests: dict[str, RefundRequest] = {}
        self.applied: list[int] = []
        self.dashboard_refunds = 0
        self.writes = 0

    def _open(self) -> list[str]:
        return sorted(r for r, request in self.requests.items() if request.is_open)

    def _wrote(self, after: Payment) -> None:
        assert after.version == self.payment.version + 1
        self.payment = after
        self.writes += 1

    @rule(amount=st.one_of(st.none(), st.integers(min_value=-5, max_value=10_500)))
    def request_a_refund(self, amount: int | None) -> None:
        available = self.payment.amount - self.payment.refunded_amount - self.payment.refund_reserved
        refundable = self.payment.status is P.PAID
        wanted = available if amount is None else amount
        request_id = f"req-{len(self.requests)}"
        if not refundable:
            with pytest.raises(PaymentNotRefundable):
                reserve_refund(self.payment, request_id, "h", amount, NOW)
            return
        if wanted <= 0 or wanted > available:
            with pytest.raises(RefundExceedsPayment):
                reserve_refund(self.payment, request_id, "h", amount, NOW)
            return
        held, request, changes = reserve_refund(self.payment, request_id, "h", amount, NOW)
        assert request.amount == wanted and request.state is R.RESERVED
        assert changes.updated == (Update(self.payment, held),) and changes.created == (request,)
        self._wrote(held)
        self.requests[request_id] = request

    @precondition(lambda self: self._open())
    @rule(data=st.data())
    def yookassa_accepts(self, data: st.DataObject) -> None:
        request = self.requests[data.draw(st.sampled_from(self._open()))]
        update = refund_accepted(request, f"rf-{request.request_id}", NOW)
        if request.state is R.RESERVED:
            assert update is not None and update.after.state is R.PENDING
            self.requests[request.request_id] = update.after
        else:
            assert update is None

    @precondition(lambda self: self._open())
    @rule(data=st.data())
    def the_refund_succeeds(self, data: st.DataObject) -> None:
        request = self.requests[data.draw(st.sampled_from(self._open()))]
        refund = provider_refund(request.amount, f"rf-{request.request_id}")
        if self.payment.refunded_amount + request.amount > self.payment.amount:
            # Only after a dashboard refund counted the same kopecks: our record refuses, alarms.
            assert self.dashboard_refunds
            with pytest.raises(RefundExceedsRecord):
                record_refund(self.payment, refund, request, NOW)
            return
        refunded, changes = record_refund(self.payment, refund, request, NOW)
        [applied] = changes.created
        assert isinstance(applied, AppliedRefund) and applied.amount == request.amount
        [done] = [u.after for u in changes.updated if isinstance(u.after, RefundRequest)]
        assert done.state is R.SUCCEEDED
        self._wrote(refunded)
        self.requests[request.request_id] = done
        self.applied.append(request.amount)

    @precondition(lambda self: self._open())
    @rule(data=st.data(), state=st.sampled_from(CLOSED_STATES))
    def the_hold_is_released(self, data: st.DataObject, state: RefundState) -> None:
        request = self.requests[data.draw(st.sampled_from(self._open()))]
        released, changes = release_refund(self.payment, request, state, CANCELED_BY_PROVIDER, NOW)
        [closed] = [u.after for u in changes.updated if isinstance(u.after, RefundRequest)]
        assert closed.state is state and not changes.created
        self._wrote(released)
        self.requests[request.request_id] = closed

    @precondition(lambda self: self.payment.refunded_amount < self.payment.amount)
    @rule(data=st.data())
    def a_refund_is_made_in_yookassas_dashboard(self, data: st.DataObject) -> None:
        """YooKassa lets its dashboard refund up to what it knows is left: it knows nothing of our holds."""
        amount = data.draw(
            st.integers(min_value=1, max_value=self.payment.amount - self.payment.refunded_amount)
        )
        refunded, _ = record_refund(self.payment, provider_refund(amount, f"dash-{self.writes}"), None, NOW)
        self._wrote(refunded)
        self.applied.append(amount)
        self.dashboard_refunds += 1

    @invariant()
    def holds_are_exactly_the_open_requests(self) -> None:
        assert self.payment.refund_reserved == sum(self.requests[r].amount for r in self._open())
        assert self.payment.refund_reserved >= 0

    @invariant()
    def refunded_is_exactly_the_applied_refunds_and_never_more_than_paid(self) -> None:
        assert 0 <= self.payment.refunded_amount == sum(self.applied) <= self.payment.amount
        assert (self.payment.status is P.REFUNDED) is (self.payment.refunded_amount == self.payment.amount)

    @invariant()
    def held_and_refunded_never_exceed_what_was_paid(self) -> None:
        """Our own requests alone never hold more than is left; only a refund made outside them (the
        dashboard) can count the same kopecks twice, and then nothing more can be requested."""
        total = self.payment.refunded_amount + self.payment.refund_reserved
        if not self.dashboard_refunds:
            assert total <= self.payment.amount
        if total >= self.payment.amount:
            assert self.payment.refund_available == 0
        assert 0 <= self.payment.refund_available <= self.payment.amount - self.payment.refunded_amount


TestRefundBooks = RefundBooks.TestCase
TestRefundBooks.settings = settings(
    max_examples=60, stateful_step_count=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def test_refund_times_are_the_decision_time() -> None:
    payment = paid_payment(1000)
    later = NOW + timedelta(hours=1)
    _, request, _ = reserve_refund(payment, "req-9", "h", 100, later)
    assert (request.created_at, request.updated_at) == (later, later)
    refunded, changes = record_refund(payment, provider_refund(100), None, later)
    assert refunded.updated_at == later
    assert changes.created == (AppliedRefund("pay-1", "rf-1", 100, later),)
