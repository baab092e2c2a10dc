"""Automatic renewal and the customer's subscriptions, as use cases on the fakes: a period is charged at
most once, declines go past due and then expire, a revoked card stops at once, cancel and resume, and
subscriptions whose paid time ends unrenewed end."""

from datetime import datetime, timedelta

import pytest

from payments.domain import Caller, PaymentStatus, Plan, SubscriptionStatus, SubscriptionType
from payments.domain.subscriptions import add_months
from payments.errors import NotFound, SubscriptionNotResumable
from payments.schemas import CreateSubscriptionPaymentRequest
from payments.services.payments import create_subscription_payment
from payments.services.refunds import refund_payment
from payments.services.renewal import RenewalSummary, renew
from payments.services.status import latest_order_payment
from payments.services.subscriptions import (
    cancel_subscription,
    get_subscription,
    list_subscriptions,
    resume_subscription,
)
from tests.fake_yookassa import FakeYooKassa
from tests.fakes import InMemoryStore
from tests.services.conftest import ALICE, NOW, SETTINGS, pay_order, settle

MONTH_END = add_months(NOW, 1)
DUE = MONTH_END - timedelta(hours=1)  # within RENEW_BEFORE_HOURS (24) of the paid time's end
BOB = Caller("bob")


@pytest.fixture
def plans(store: InMemoryStore) -> InMemoryStore:
    store.save_plan(
        Plan("basic", "Базовый", {SubscriptionType.MONTHLY: 99_000, SubscriptionType.YEARLY: 990_000})
    )
    store.save_plan(
        Plan("premium", "Премиум", {SubscriptionType.MONTHLY: 250_000, SubscriptionType.YEARLY: 2_500_000})
    )
    return store


def subscribe(
    store: InMemoryStore,
    yookassa: FakeYooKassa,
    *,
    auto_renew: bool = True,
    plan: str = "basic",
    kind: SubscriptionType = SubscriptionType.MONTHLY,
    at: datetime = NOW,
) -> str:
    """Alice pays for ``s-1`` on the checkout page (her card saved with ``auto_renew``)."""
    price = store.plans[plan].prices[kind]
    request = CreateSubscriptionPaymentRequest(
        subscriptionId="s-1", subscriptionType=kind, planId=plan, amount=price, autoRenew=auto_renew
    )
    created = create_subscription_payment(store, yookassa, SETTINGS, ALICE, request, at)
    settle(store, yookassa, created.payment_id, at)
    return created.payment_id


def run(store: InMemoryStore, yookassa: FakeYooKassa, at: datetime) -> RenewalSummary:
    return renew(store, yookassa, SETTINGS, at, lambda: 600_000)


def charges(yookassa: FakeYooKassa) -> list[str]:
    """The YooKassa payments made with a saved card (renewals), in order."""
    return [p.id for p in yookassa.payments.values() if p.confirmation_url is None]


def test_a_paid_subscription_with_auto_renew_keeps_the_card_and_shows_the_next_charge(
    plans: InMemoryStore, yookassa: FakeYooKassa
) -> None:
    subscribe(plans, yookassa)
    view = get_subscription(plans, SETTINGS, ALICE, "s-1")
    assert (view.status, view.auto_renew, view.end_date) == (SubscriptionStatus.ACTIVE, True, MONTH_END)
    assert view.payment_method is not None and view.payment_method.card_last4 == "4477"
    assert view.next_charge_at == MONTH_END - timedelta(hours=24)
    dumped = view.model_dump(mode="json", exclude_none=True)
    assert dumped["paymentMethod"] == {"cardLast4": "4477", "cardType": "Visa"}


def test_without_auto_renew_no_card_is_kept_and_nothing_is_charged(
    plans: InMemoryStore, yookassa: FakeYooKassa
) -> None:
    subscribe(plans, yookassa, auto_renew=False)
    view = get_subscription(plans, SETTINGS, ALICE, "s-1")
    assert (view.auto_renew, view.payment_method, view.next_charge_at) == (False, None, None)
    assert run(plans, yookassa, DUE).charged == 0
    assert charges(yookassa) == []


def test_a_period_is_charged_once_however_often_the_run_repeats(
    plans: InMemoryStore, yookassa: FakeYooKassa
) -> None:
    first = subscribe(plans, yookassa)
    assert run(plans, yookassa, DUE - timedelta(hours=24)).charged == 0  # not due yet
    summary = run(plans, yookassa, DUE)
    assert (summary.charged, summary.renewed) == (1, 1)
    for _ in range(3):
        assert run(plans, yookassa, DUE).charged == 0
    [charge] = charges(yookassa)
    subscription = plans.subscriptions["s-1"]
    assert subscription.end_date == add_months(MONTH_END, 1)
    assert (subscription.periods_paid, subscription.status) == (2, SubscriptionStatus.ACTIVE)
    renewal = plans.find_payment_by_yookassa_id(charge)
    assert renewal is not None and renewal.payment_id != first
    assert (renewal.status, renewal.amount, renewal.period, renewal.renewal_attempt) == (
        PaymentStatus.SUCCESS,
        99_000,
        2,
        1,
    )
    assert yookassa.payments[charge].metadata["subscriptionId"] == "s-1"


def test_a_charge_whose_answer_was_lost_is_finished_under_the_same_key(
    plans: InMemoryStore, yookassa: FakeYooKassa
) -> None:
    subscribe(plans, yookassa)
    yookassa.time_out(applied=True)  # YooKassa charged the card; we never heard
    assert run(plans, yookassa, DUE).errors == 1
    pending = plans.payments[plans.subscriptions["s-1"].active_payment_id or ""]
    assert (pending.status, pending.yookassa_id) == (PaymentStatus.PENDING, None)
    assert run(plans, yookassa, DUE).renewed == 1
    assert len(charges(yookassa)) == 1  # the same key reached the same charge
    keys = [key for op, key in yookassa.calls if op == "create_payment" and key == pending.idempotence_key()]
    assert len(keys) == 2
    assert plans.subscriptions["s-1"].periods_paid == 2


def test_a_declined_renewal_goes_past_due_is_retried_and_then_expires(
    plans: InMemoryStore, yookassa: FakeYooKassa
) -> None:
    subscribe(plans, yookassa)
    method = plans.subscriptions["s-1"].payment_method
    assert method is not None
    yookassa.next_charge[method.method_id] = "insufficient_funds"
    assert run(plans, yookassa, DUE).declined == 1
    subscription = plans.subscriptions["s-1"]
    assert (subscription.status, subscription.renewal_failures, subscription.first_failure_at) == (
        SubscriptionStatus.PAST_DUE,
        1,
        DUE,
    )
    view = get_subscription(plans, SETTINGS, ALICE, "s-1")
    assert view.next_charge_at == DUE + timedelta(days=1)
    assert run(plans, yookassa, DUE + timedelta(hours=23)).charged == 0
    for days, status in (
        (1, SubscriptionStatus.PAST_DUE),
        (3, SubscriptionStatus.PAST_DUE),
        (5, SubscriptionStatus.EXPIRED),
    ):
        yookassa.next_charge[method.method_id] = "insufficient_funds"
        assert run(plans, yookassa, DUE + timedelta(days=days)).declined == 1
        assert run(plans, yookassa, DUE + timedelta(days=days)).charged == 0  # re-run: nothing new
        assert plans.subscriptions["s-1"].status is status
    expired = plans.subscriptions["s-1"]
    assert (expired.auto_renew, expired.payment_method, expired.end_date) == (False, None, MONTH_END)
    assert len(charges(yookassa)) == 4
    assert run(plans, yookassa, DUE + timedelta(days=30)).charged == 0


def test_a_retry_that_goes_through_starts_the_period_when_it_was_paid(
    plans: InMemoryStore, yookassa: FakeYooKassa
) -> None:
    subscribe(plans, yookassa)
    method = plans.subscriptions["s-1"].payment_method
    assert method is not None
    yookassa.next_charge[method.method_id] = "insufficient_funds"
    run(plans, yookassa, DUE)
    retry = DUE + timedelta(days=1)
    assert run(plans, yookassa, retry).renewed == 1
    renewed = plans.subscriptions["s-1"]
    assert (renewed.status, renewed.renewal_failures, renewed.first_failure_at) == (
        SubscriptionStatus.ACTIVE,
        0,
        None,
    )
    assert renewed.end_date == add_months(
        retry, 1
    )  # its paid time had ended: the new period starts at the charge


def test_a_revoked_card_stops_renewal_at_once(plans: InMemoryStore, yookassa: FakeYooKassa) -> None:
    subscribe(plans, yookassa)
    method = plans.subscriptions["s-1"].payment_method
    assert method is not None
    yookassa.next_charge[method.method_id] = "permission_revoked"
    assert run(plans, yookassa, DUE).declined == 1
    subscription = plans.subscriptions["s-1"]
    assert (subscription.status, subscription.auto_renew, subscription.payment_method) == (
        SubscriptionStatus.EXPIRED,
        False,
        None,
    )
    for days in (1, 3, 5):
        assert run(plans, yookassa, DUE + timedelta(days=days)).charged == 0
    assert len(charges(yookassa)) == 1


def test_cancel_keeps_the_paid_period_charges_nothing_and_ends_canceled(
    plans: InMemoryStore, yookassa: FakeYooKassa
) -> None:
    subscribe(plans, yookassa)
    view = cancel_subscription(plans, SETTINGS, ALICE, "s-1", NOW)
    assert (view.status, view.auto_renew, view.next_charge_at, view.end_date) == (
        SubscriptionStatus.ACTIVE,
        False,
        None,
        MONTH_END,
    )
    assert cancel_subscription(plans, SETTINGS, ALICE, "s-1", NOW) == view  # idempotent
    assert run(plans, yookassa, DUE).charged == 0
    assert plans.subscriptions["s-1"].status is SubscriptionStatus.ACTIVE
    assert run(plans, yookassa, MONTH_END).ended == 1
    ended = plans.subscriptions["s-1"]
    assert (ended.status, ended.payment_method) == (SubscriptionStatus.CANCELED, None)
    assert charges(yookassa) == []
    with pytest.raises(SubscriptionNotResumable):
        resume_subscription(plans, SETTINGS, ALICE, "s-1", MONTH_END)


def test_resume_turns_renewal_back_on_while_the_period_runs(
    plans: InMemoryStore, yookassa: FakeYooKassa
) -> None:
    subscribe(plans, yookassa)
    cancel_subscription(plans, SETTINGS, ALICE, "s-1", NOW)
    view = resume_subscription(plans, SETTINGS, ALICE, "s-1", NOW)
    assert (view.auto_renew, view.next_charge_at) == (True, MONTH_END - timedelta(hours=24))
    assert resume_subscription(plans, SETTINGS, ALICE, "s-1", NOW) == view  # idempotent
    assert run(plans, yookassa, DUE).renewed == 1


def test_resume_needs_a_saved_card(plans: InMemoryStore, yookassa: FakeYooKassa) -> None:
    subscribe(plans, yookassa, auto_renew=False)
    with pytest.raises(SubscriptionNotResumable):
        resume_subscription(plans, SETTINGS, ALICE, "s-1", NOW)


def test_a_subscription_without_renewal_expires_when_its_time_is_up(
    plans: InMemoryStore, yookassa: FakeYooKassa
) -> None:
    subscribe(plans, yookassa, auto_renew=False)
    assert run(plans, yookassa, MONTH_END - timedelta(seconds=1)).ended == 0
    assert run(plans, yookassa, MONTH_END).ended == 1
    assert plans.subscriptions["s-1"].status is SubscriptionStatus.EXPIRED
    assert run(plans, yookassa, MONTH_END + timedelta(days=1)).checked == 0  # out of the index


def test_a_renewal_that_arrives_after_cancel_is_refunded(plans: InMemoryStore, yookassa: FakeYooKassa) -> None:
    subscribe(plans, yookassa)
    yookassa.time_out()  # the charge is sent but nothing is made, and we do not know
    run(plans, yookassa, DUE)
    cancel_subscription(plans, SETTINGS, ALICE, "s-1", DUE)
    run(plans, yookassa, DUE + timedelta(minutes=5))  # the run finishes the charge in flight: paid
    [charge] = charges(yookassa)
    renewal = plans.find_payment_by_yookassa_id(charge)
    assert renewal is not None and (renewal.status, renewal.delivered) == (PaymentStatus.REFUNDED, False)
    assert [r.amount for r in yookassa.refunds.values()] == [99_000]
    assert plans.subscriptions["s-1"].end_date == MONTH_END


def test_a_renewal_charges_the_choice_scheduled_for_its_period(
    plans: InMemoryStore, yookassa: FakeYooKassa
) -> None:
    """Basic monthly with renewal, then premium yearly paid while basic runs: premium starts when basic
    ends (never underpriced), and the renewal at the end of it charges premium yearly."""
    subscribe(plans, yookassa)
    subscribe(plans, yookassa, plan="premium", kind=SubscriptionType.YEARLY, at=NOW + timedelta(days=1))
    subscription = plans.subscriptions["s-1"]
    assert subscription.scheduled_change is not None and subscription.scheduled_change.starts_at == MONTH_END
    end = add_months(MONTH_END, 12)
    assert subscription.end_date == end
    assert run(plans, yookassa, DUE).charged == 0
    assert run(plans, yookassa, end - timedelta(hours=1)).renewed == 1
    [charge] = charges(yookassa)
    assert yookassa.payments[charge].amount == 2_500_000
    renewed = plans.subscriptions["s-1"]
    assert (renewed.plan_id, renewed.subscription_type, renewed.end_date) == (
        "premium",
        SubscriptionType.YEARLY,
        add_months(end, 12),
    )


def test_subscriptions_are_their_owners_only(plans: InMemoryStore, yookassa: FakeYooKassa) -> None:
    subscribe(plans, yookassa)
    assert [v.subscription_id for v in list_subscriptions(plans, SETTINGS, ALICE).subscriptions] == ["s-1"]
    assert list_subscriptions(plans, SETTINGS, BOB).subscriptions == []
    for act in (get_subscription, cancel_subscription, resume_subscription):
        with pytest.raises(NotFound):
            act(plans, SETTINGS, BOB, "s-1")
    assert plans.subscriptions["s-1"].auto_renew


def test_an_orders_latest_payment_is_found_by_its_order(store: InMemoryStore, yookassa: FakeYooKassa) -> None:
    with pytest.raises(NotFound):
        latest_order_payment(store, ALICE, "o-1")  # never paid for
    payment_id = pay_order(store, yookassa)
    assert latest_order_payment(store, ALICE, "o-1").payment_id == payment_id
    settle(store, yookassa, payment_id)
    assert latest_order_payment(store, ALICE, "o-1").status is PaymentStatus.PAID
    with pytest.raises(NotFound):
        latest_order_payment(store, BOB, "o-1")


def test_turning_renewal_off_after_an_early_decline_keeps_the_paid_time(
    plans: InMemoryStore, yookassa: FakeYooKassa
) -> None:
    """The first charge is made a day before the paid time ends; its decline makes the subscription
    past due, but the customer who then turns renewal off still has that day."""
    subscribe(plans, yookassa)
    method = plans.subscriptions["s-1"].payment_method
    assert method is not None
    yookassa.next_charge[method.method_id] = "insufficient_funds"
    run(plans, yookassa, DUE)
    assert resume_subscription(plans, SETTINGS, ALICE, "s-1", DUE).status is SubscriptionStatus.PAST_DUE  # on
    view = cancel_subscription(plans, SETTINGS, ALICE, "s-1", DUE + timedelta(minutes=10))
    assert (view.status, view.auto_renew, view.end_date, view.next_charge_at) == (
        SubscriptionStatus.ACTIVE,
        False,
        MONTH_END,
        None,
    )
    assert run(plans, yookassa, DUE + timedelta(days=1)).ended == 1  # the paid time is over: canceled
    assert plans.subscriptions["s-1"].status is SubscriptionStatus.CANCELED
    assert len(charges(yookassa)) == 1


def test_a_period_whose_renewal_was_refunded_is_charged_anew_as_a_new_payment(
    plans: InMemoryStore, yookassa: FakeYooKassa
) -> None:
    subscribe(plans, yookassa)
    run(plans, yookassa, DUE)
    [first] = charges(yookassa)
    renewal = plans.find_payment_by_yookassa_id(first)
    assert renewal is not None
    refund_payment(plans, yookassa, renewal.payment_id, None, None, requested_by="ops", now=DUE)
    assert plans.subscriptions["s-1"].end_date == MONTH_END  # the period taken back; renewal still on
    assert run(plans, yookassa, DUE + timedelta(minutes=5)).renewed == 1
    second = [c for c in charges(yookassa) if c != first]
    again = plans.find_payment_by_yookassa_id(second[0])
    assert again is not None and again.payment_id != renewal.payment_id
    assert plans.subscriptions["s-1"].end_date == add_months(MONTH_END, 1)


def test_a_renewal_that_cannot_be_priced_fails_until_the_end_then_lapses(
    plans: InMemoryStore, yookassa: FakeYooKassa
) -> None:
    subscribe(plans, yookassa)
    plans.save_plan(Plan("basic", "Базовый", {SubscriptionType.YEARLY: 990_000}))  # monthly withdrawn
    assert run(plans, yookassa, DUE).errors == 1  # an operator can still fix the plan
    assert plans.subscriptions["s-1"].status is SubscriptionStatus.ACTIVE
    assert run(plans, yookassa, MONTH_END).ended == 1
    lapsed = plans.subscriptions["s-1"]
    assert (lapsed.status, lapsed.auto_renew) == (SubscriptionStatus.EXPIRED, False)
    assert charges(yookassa) == []
