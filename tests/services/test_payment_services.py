"""The use cases on the in-memory fakes: every service rule in milliseconds.

The fakes are held to the DynamoDB adapter by tests/contract and the sandbox checks the real client, so
these tests exercise our services' own rules, not an emulator. Nothing of ours is mocked.
"""

from datetime import UTC, datetime, timedelta

import pytest

from payments.domain import (
    Caller,
    OrderStatus,
    PaymentStatus,
    Plan,
    ProviderStatus,
    RefundState,
    SubscriptionStatus,
    SubscriptionType,
)
from payments.domain.refunds import AUTO_REFUND_KEY, refund_request_id
from payments.errors import (
    AmountMismatch,
    NotFound,
    OrderAlreadyPaid,
    PaidOrderChanged,
    ProviderError,
    ProviderTimeout,
    RefundExceedsPayment,
    TooManyPendingPayments,
)
from payments.schemas import CreateOrderPaymentRequest, CreateSubscriptionPaymentRequest, PutOrderRequest
from payments.services.admin import put_order
from payments.services.payments import create_order_payment, create_subscription_payment
from payments.services.reconcile import reconcile
from payments.services.refunds import refund_payment
from payments.services.status import get_payment_status
from payments.services.sync import SyncOutcome, apply_provider_payment
from payments.settings import Settings
from tests.fake_yookassa import FakeYooKassa
from tests.fakes import InMemoryStore
from tests.services.conftest import ALICE, NOW, SETTINGS, pay_order, settle


def test_a_create_makes_one_yookassa_payment_under_the_payments_own_key(
    store: InMemoryStore, yookassa: FakeYooKassa
) -> None:
    payment_id = pay_order(store, yookassa)

    payment = store.get_payment(payment_id)
    assert payment is not None and payment.status is PaymentStatus.PENDING
    assert payment.yookassa_id == yookassa.only_payment().id
    assert yookassa.calls == [("create_payment", f"create-{payment_id}")]
    order = store.get_order("o-1")
    assert order is not None and order.active_payment_id == payment_id


def test_a_second_create_joins_the_pending_payment(store: InMemoryStore, yookassa: FakeYooKassa) -> None:
    assert pay_order(store, yookassa) == pay_order(store, yookassa)
    assert len(yookassa.payments) == 1


def test_a_wrong_amount_another_users_order_and_a_paid_order_are_refused(
    store: InMemoryStore, yookassa: FakeYooKassa
) -> None:
    with pytest.raises(AmountMismatch):
        pay_order(store, yookassa, amount=100)
    with pytest.raises(NotFound):
        create_order_payment(
            store, yookassa, SETTINGS, Caller("bob"), CreateOrderPaymentRequest(orderId="o-1", amount=150000)
        )
    settle(store, yookassa, pay_order(store, yookassa))
    with pytest.raises(OrderAlreadyPaid):
        pay_order(store, yookassa)


def test_a_refused_create_fails_the_payment_and_frees_the_order(
    store: InMemoryStore, yookassa: FakeYooKassa
) -> None:
    yookassa.refuse("invalid_credentials")
    with pytest.raises(ProviderError):
        pay_order(store, yookassa)
    [failed] = store.payments.values()
    assert (failed.status, failed.cancellation_reason, failed.cancellation_party) == (
        PaymentStatus.FAILED,
        "invalid_credentials",
        "merchant",
    )
    order = store.get_order("o-1")
    assert order is not None and order.active_payment_id is None
    assert pay_order(store, yookassa) != failed.payment_id


def test_a_create_whose_answer_was_lost_is_finished_under_the_same_key(
    store: InMemoryStore, yookassa: FakeYooKassa
) -> None:
    yookassa.time_out(applied=True)
    with pytest.raises(ProviderTimeout):
        pay_order(store, yookassa)

    payment_id = pay_order(store, yookassa)

    assert len(yookassa.payments) == 1
    assert [key for _, key in yookassa.calls] == [f"create-{payment_id}"] * 2
    payment = store.get_payment(payment_id)
    assert payment is not None and payment.yookassa_id == yookassa.only_payment().id


def test_a_succeeded_payment_pays_its_order_once(store: InMemoryStore, yookassa: FakeYooKassa) -> None:
    payment_id = pay_order(store, yookassa)

    assert settle(store, yookassa, payment_id) is SyncOutcome.APPLIED
    assert settle(store, yookassa, payment_id) is SyncOutcome.DUPLICATE

    order = store.get_order("o-1")
    assert order is not None
    assert (order.status, order.paid_payment_id, order.active_payment_id) == (
        OrderStatus.PAID,
        payment_id,
        None,
    )
    payment = store.get_payment(payment_id)
    assert payment is not None and (payment.status, payment.paid_at) == (PaymentStatus.PAID, NOW)


def test_money_for_an_order_whose_price_changed_is_refunded_in_full_at_once(
    store: InMemoryStore, yookassa: FakeYooKassa
) -> None:
    payment_id = pay_order(store, yookassa)
    put_order(store, "o-1", PutOrderRequest(userId="alice", amount=100000, description="Уборка"))

    assert settle(store, yookassa, payment_id) is SyncOutcome.APPLIED

    order = store.get_order("o-1")
    assert order is not None and order.status is OrderStatus.NEW and order.active_payment_id is None
    payment = store.payments[payment_id]
    assert (payment.status, payment.refunded_amount, payment.refund_reserved) == (
        PaymentStatus.REFUNDED,
        150000,
        0,
    )
    [refund] = yookassa.refunds.values()
    assert refund.amount == 150000
    assert yookassa.calls[-1][1] == f"refund-{refund_request_id(payment_id, AUTO_REFUND_KEY)}"
    assert settle(store, yookassa, payment_id) is SyncOutcome.DUPLICATE  # a redelivery refunds nothing more
    assert len(yookassa.refunds) == 1


def test_a_paid_orders_price_cannot_change(store: InMemoryStore, yookassa: FakeYooKassa) -> None:
    settle(store, yookassa, pay_order(store, yookassa))
    with pytest.raises(PaidOrderChanged):
        put_order(store, "o-1", PutOrderRequest(userId="alice", amount=1, description="Уборка"))
    renamed = put_order(store, "o-1", PutOrderRequest(userId="alice", amount=150000, description="Новое"))
    assert renamed.description == "Новое"


def test_a_declined_order_payment_fails_and_frees_the_order(
    store: InMemoryStore, yookassa: FakeYooKassa
) -> None:
    payment_id = pay_order(store, yookassa)
    payment = store.payments[payment_id]
    assert payment.yookassa_id is not None
    yookassa.cancel(payment.yookassa_id)

    result = apply_provider_payment(store, yookassa, payment, yookassa.get_payment(payment.yookassa_id), NOW)

    assert (result.outcome, result.payment.status) == (SyncOutcome.APPLIED, PaymentStatus.FAILED)
    order = store.get_order("o-1")
    assert order is not None and order.active_payment_id is None


def test_subscription_periods_follow_the_payments(store: InMemoryStore, yookassa: FakeYooKassa) -> None:
    store.save_plan(
        Plan("basic", "Базовый", {SubscriptionType.MONTHLY: 100000, SubscriptionType.YEARLY: 1000000})
    )
    request = CreateSubscriptionPaymentRequest(
        subscriptionId="sub-1", subscriptionType="monthly", planId="basic", amount=100000
    )
    first = create_subscription_payment(store, yookassa, SETTINGS, ALICE, request, NOW).payment_id
    settle(store, yookassa, first, datetime(2026, 1, 31, tzinfo=UTC))
    second = create_subscription_payment(store, yookassa, SETTINGS, ALICE, request, NOW).payment_id
    settle(store, yookassa, second, datetime(2026, 2, 10, tzinfo=UTC))

    subscription = store.get_subscription("sub-1")
    assert subscription is not None
    assert subscription.status is SubscriptionStatus.ACTIVE
    assert (subscription.start_date, subscription.end_date) == (
        datetime(2026, 1, 31, tzinfo=UTC),
        datetime(2026, 3, 28, tzinfo=UTC),
    )
    assert subscription.last_payment_id == second


def test_refunds_never_exceed_the_payment_and_a_retry_is_the_same_refund(
    store: InMemoryStore, yookassa: FakeYooKassa
) -> None:
    payment_id = pay_order(store, yookassa)
    settle(store, yookassa, payment_id)

    part = refund_payment(store, yookassa, payment_id, 50000, None, requested_by="ops", now=NOW)
    again = refund_payment(store, yookassa, payment_id, 50000, None, requested_by="ops", now=NOW)
    with pytest.raises(RefundExceedsPayment):
        refund_payment(store, yookassa, payment_id, 150000, "too-much", requested_by="ops", now=NOW)
    rest = refund_payment(store, yookassa, payment_id, None, None, requested_by="ops", now=NOW)

    assert again.refund_id == part.refund_id
    assert (rest.amount, rest.refunded_amount, rest.payment_status) == (100000, 150000, PaymentStatus.REFUNDED)
    payment = store.payments[payment_id]
    assert (payment.refunded_amount, payment.refund_reserved) == (150000, 0)
    assert len(yookassa.refunds) == 2


def test_a_refused_refund_gives_its_hold_back(store: InMemoryStore, yookassa: FakeYooKassa) -> None:
    payment_id = pay_order(store, yookassa)
    settle(store, yookassa, payment_id)
    yookassa.refuse()

    with pytest.raises(ProviderError):
        refund_payment(store, yookassa, payment_id, 50000, "k-1", requested_by="ops", now=NOW)

    assert store.payments[payment_id].refund_reserved == 0
    [request] = store.refund_requests.values()
    assert request.state is RefundState.CANCELED


def test_a_refund_whose_answer_was_lost_keeps_its_hold_until_the_retry(
    store: InMemoryStore, yookassa: FakeYooKassa
) -> None:
    payment_id = pay_order(store, yookassa)
    settle(store, yookassa, payment_id)
    yookassa.time_out(applied=True)
    with pytest.raises(ProviderTimeout):
        refund_payment(store, yookassa, payment_id, 50000, "k-1", requested_by="ops", now=NOW)
    assert store.payments[payment_id].refund_reserved == 50000

    accepted = refund_payment(store, yookassa, payment_id, 50000, "k-1", requested_by="ops", now=NOW)

    assert accepted.refunded_amount == 50000
    assert len(yookassa.refunds) == 1
    assert (store.payments[payment_id].refunded_amount, store.payments[payment_id].refund_reserved) == (
        50000,
        0,
    )


def test_the_reconciler_settles_a_payment_whose_webhook_was_lost(
    store: InMemoryStore, yookassa: FakeYooKassa
) -> None:
    payment_id = pay_order(store, yookassa)
    yookassa.succeed(yookassa.only_payment().id)

    summary = reconcile(store, yookassa, SETTINGS, NOW + timedelta(minutes=10), lambda: 600_000)

    assert (summary.checked, summary.fixed) == (1, 1)
    assert store.payments[payment_id].status is PaymentStatus.PAID
    assert list(store.pending_payments(NOW + timedelta(hours=1))) == []


def test_a_stale_poll_asks_yookassa_at_most_once_per_interval(
    store: InMemoryStore, yookassa: FakeYooKassa
) -> None:
    payment_id = pay_order(store, yookassa)
    later = NOW + timedelta(seconds=SETTINGS.stale_pending_seconds + 1)

    get_payment_status(store, lambda: yookassa, SETTINGS, ALICE, payment_id, now=later)
    get_payment_status(store, lambda: yookassa, SETTINGS, ALICE, payment_id, now=later + timedelta(seconds=1))
    yookassa.succeed(yookassa.only_payment().id)
    paid = get_payment_status(
        store, lambda: yookassa, SETTINGS, ALICE, payment_id, now=later + timedelta(minutes=1)
    )

    assert [operation for operation, _ in yookassa.calls].count("get_payment") == 2
    assert paid.status is PaymentStatus.PAID


TWO_STAGE = Settings(table_name="payments", frontend_url="https://app.example", capture_mode="two_stage")


def test_a_held_two_stage_payment_that_can_be_delivered_is_captured(
    store: InMemoryStore, yookassa: FakeYooKassa
) -> None:
    created = create_order_payment(
        store, yookassa, TWO_STAGE, ALICE, CreateOrderPaymentRequest(orderId="o-1", amount=150000), NOW
    )
    payment = store.payments[created.payment_id]
    assert payment.capture is False
    held = yookassa.succeed(yookassa.only_payment().id)
    assert held.status is ProviderStatus.WAITING_FOR_CAPTURE

    result = apply_provider_payment(store, yookassa, payment, held, NOW)

    assert (result.outcome, result.payment.status) == (SyncOutcome.APPLIED, PaymentStatus.PAID)
    assert ("capture_payment", f"capture-{payment.payment_id}") in yookassa.calls
    order = store.get_order("o-1")
    assert order is not None and order.paid_payment_id == payment.payment_id


def test_a_held_two_stage_payment_for_a_changed_order_is_released_not_charged(
    store: InMemoryStore, yookassa: FakeYooKassa
) -> None:
    created = create_order_payment(
        store, yookassa, TWO_STAGE, ALICE, CreateOrderPaymentRequest(orderId="o-1", amount=150000), NOW
    )
    put_order(store, "o-1", PutOrderRequest(userId="alice", amount=90000, description="Уборка"))
    held = yookassa.succeed(yookassa.only_payment().id)

    result = apply_provider_payment(store, yookassa, store.payments[created.payment_id], held, NOW)

    assert (result.payment.status, result.payment.cancellation_reason) == (
        PaymentStatus.CANCELED,
        "canceled_by_merchant",
    )
    assert yookassa.only_payment().status is ProviderStatus.CANCELED
    assert yookassa.refunds == {}  # nothing was charged, so nothing to refund
    order = store.get_order("o-1")
    assert order is not None and order.status is OrderStatus.NEW


def test_the_sixth_payable_payment_of_a_user_is_refused(store: InMemoryStore, yookassa: FakeYooKassa) -> None:
    for n in range(SETTINGS.max_pending_payments_per_user + 1):
        put_order(store, f"o-{n}", PutOrderRequest(userId="alice", amount=10000, description="Уборка"))
    for n in range(SETTINGS.max_pending_payments_per_user):
        create_order_payment(
            store, yookassa, SETTINGS, ALICE, CreateOrderPaymentRequest(orderId=f"o-{n}", amount=10000), NOW
        )
    sixth = CreateOrderPaymentRequest(orderId=f"o-{SETTINGS.max_pending_payments_per_user}", amount=10000)

    with pytest.raises(TooManyPendingPayments):
        create_order_payment(store, yookassa, SETTINGS, ALICE, sixth, NOW)
    # Payments past their term no longer count: a day later the customer may pay again.
    create_order_payment(store, yookassa, SETTINGS, ALICE, sixth, NOW + timedelta(days=1))


def test_a_refused_keyless_refund_can_be_asked_again(store: InMemoryStore, yookassa: FakeYooKassa) -> None:
    payment_id = pay_order(store, yookassa)
    settle(store, yookassa, payment_id)
    yookassa.refuse()
    with pytest.raises(ProviderError):
        refund_payment(store, yookassa, payment_id, None, None, requested_by="ops", now=NOW)

    again = refund_payment(store, yookassa, payment_id, None, None, requested_by="ops", now=NOW)
    replayed = refund_payment(store, yookassa, payment_id, None, None, requested_by="ops", now=NOW)

    assert again.refunded_amount == 150000
    assert replayed.refund_id == again.refund_id  # the accepted attempt is replayed, not repeated
    assert len(yookassa.refunds) == 1


def test_a_payment_yookassa_does_not_know_stays_pending_and_is_counted(
    store: InMemoryStore, yookassa: FakeYooKassa
) -> None:
    payment_id = pay_order(store, yookassa)
    yookassa.payments.clear()  # as if we asked another shop or URL

    summary = reconcile(store, yookassa, SETTINGS, NOW + timedelta(days=1), lambda: 600_000)

    assert (summary.checked, summary.fixed, summary.conflicts) == (1, 0, 1)
    assert store.payments[payment_id].status is PaymentStatus.PENDING


def test_a_second_payment_for_an_already_paid_period_is_refunded(
    store: InMemoryStore, yookassa: FakeYooKassa
) -> None:
    store.save_plan(
        Plan("basic", "Базовый", {SubscriptionType.MONTHLY: 100000, SubscriptionType.YEARLY: 1000000})
    )
    monthly = CreateSubscriptionPaymentRequest(
        subscriptionId="sub-1", subscriptionType="monthly", planId="basic", amount=100000
    )
    yearly = CreateSubscriptionPaymentRequest(
        subscriptionId="sub-1", subscriptionType="yearly", planId="basic", amount=1000000
    )
    first = create_subscription_payment(store, yookassa, SETTINGS, ALICE, monthly, NOW).payment_id
    second = create_subscription_payment(store, yookassa, SETTINGS, ALICE, yearly, NOW).payment_id  # other tab

    settle(store, yookassa, first)
    settle(store, yookassa, second)

    subscription = store.get_subscription("sub-1")
    assert subscription is not None and (subscription.periods_paid, subscription.last_payment_id) == (1, first)
    assert store.payments[second].status is PaymentStatus.REFUNDED
    assert store.payments[first].status is PaymentStatus.SUCCESS


def test_a_pending_payment_for_a_period_paid_meanwhile_is_not_handed_out_again(
    store: InMemoryStore, yookassa: FakeYooKassa
) -> None:
    prices = {SubscriptionType.MONTHLY: 100000, SubscriptionType.YEARLY: 1000000}
    store.save_plan(Plan("basic", "Базовый", prices))
    monthly = CreateSubscriptionPaymentRequest(
        subscriptionId="sub-1", subscriptionType="monthly", planId="basic", amount=100000
    )
    first = create_subscription_payment(store, yookassa, SETTINGS, ALICE, monthly, NOW).payment_id
    later = NOW + timedelta(minutes=56)  # past the first's reuse window: a second link for period 1
    second = create_subscription_payment(store, yookassa, SETTINGS, ALICE, monthly, later).payment_id
    settle(store, yookassa, first)  # the first link is paid after all: period 1 is paid

    third = create_subscription_payment(store, yookassa, SETTINGS, ALICE, monthly, later).payment_id

    assert len({first, second, third}) == 3  # not the second again: its period is paid
    assert store.payments[third].period == 2
