"""The storage ports' contract (payments/ports.py), run against the fake and DynamoDB alike.

What a service may rely on: reads give back exactly what was written; ``commit`` writes a decision
all or nothing and refuses, with ``ConcurrentUpdate``, an item that exists already or one that moved on
since it was read; the pending and held iterators list exactly what the reconciler must look at.
"""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from payments.domain import (
    IDEMPOTENCY_IN_PROGRESS,
    AppliedRefund,
    AuditEntry,
    Changes,
    IdempotencyRecord,
    Order,
    OrderStatus,
    Payment,
    PaymentStatus,
    PaymentType,
    Plan,
    RefundRequest,
    RefundState,
    ScheduledChange,
    Subscription,
    SubscriptionStatus,
    SubscriptionType,
    Update,
)
from payments.domain.receipts import Contact, PaymentMode, Receipt, ReceiptLine
from payments.errors import ConcurrentUpdate
from tests.contract.conftest import Subject
from tests.support import raw_item

T0 = datetime(2026, 3, 1, 12, 0, 0, 123_456, tzinfo=UTC)  # microseconds: times keep them


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def a_payment(payment_id: str = "pay-1", **fields: object) -> Payment:
    """A pending order payment as ``new_payment`` makes it, any field overridable."""
    payment = Payment(
        payment_id=payment_id,
        type=PaymentType.ORDER,
        user_id="alice",
        amount=150_000,
        status=PaymentStatus.PENDING,
        created_at=T0,
        updated_at=T0,
        description="Clean House, заказ o1: Уборка квартиры",
        order_id="o1",
        version=1,
    )
    return replace(payment, **fields)  # type: ignore[arg-type]


def an_order(**fields: object) -> Order:
    return replace(Order("o1", "alice", 150_000, "Уборка квартиры", version=1), **fields)  # type: ignore[arg-type]


def a_request(request_id: str = "req-1", **fields: object) -> RefundRequest:
    request = RefundRequest("pay-1", request_id, 50_000, "hash-1", RefundState.RESERVED, T0, updated_at=T0)
    return replace(request, **fields)  # type: ignore[arg-type]


def advanced[E: (Payment, Order, Subscription)](entity: E, **fields: object) -> Update[E]:
    """``entity`` as a decision changes it: the fields, and the next version."""
    return Update(entity, replace(entity, version=entity.version + 1, **fields))  # type: ignore[arg-type]


# ---------------------------------------------------------------- round trips
def test_a_payment_with_every_field_reads_back_as_written(subject: Subject) -> None:
    payment = a_payment(
        status=PaymentStatus.REFUNDED,
        yookassa_id="yk-1",
        payment_url="https://yookassa.test/checkout/yk-1",
        paid_at=at(60),
        refunded_amount=100_000,
        refund_reserved=50_000,
        cancellation_reason="general_decline",
        cancellation_party="merchant",
        provider_checked_at=at(30),
        updated_at=at(90),
        version=7,
        delivered=False,
    )
    subject.store.commit(Changes(created=(payment,)))
    assert subject.store.get_payment("pay-1") == payment
    delivered = replace(payment, payment_id="pay-2", yookassa_id="yk-2", delivered=True)
    subject.store.commit(Changes(created=(delivered,)))
    assert subject.store.get_payment("pay-2") == delivered


def test_a_subscription_payment_without_optional_fields_reads_back_as_written(subject: Subject) -> None:
    payment = Payment(
        payment_id="pay-2",
        type=PaymentType.SUBSCRIPTION,
        user_id="bob",
        amount=49_900,
        status=PaymentStatus.PENDING,
        created_at=T0,
        description="Clean House, подписка «Базовый» на месяц",
        subscription_id="s1",
        plan_id="basic",
        subscription_type=SubscriptionType.MONTHLY,
    )
    subject.store.commit(Changes(created=(payment,)))
    assert subject.store.get_payment("pay-2") == payment


def test_orders_read_back_as_written_with_and_without_their_payment_fields(subject: Subject) -> None:
    paid = an_order(
        order_id="o2", status=OrderStatus.PAID, paid_payment_id="p", active_payment_id="q", paid_at=at(1)
    )
    subject.store.commit(Changes(created=(an_order(), paid)))
    assert subject.store.get_order("o1") == an_order()
    assert subject.store.get_order("o2") == paid


def test_subscriptions_read_back_as_written_with_and_without_their_period(subject: Subject) -> None:
    new = Subscription("s1", "alice", "basic", SubscriptionType.MONTHLY, version=1)
    active = Subscription(
        "s2",
        "alice",
        "premium",
        SubscriptionType.YEARLY,
        SubscriptionStatus.ACTIVE,
        start_date=T0,
        end_date=at(86_400 * 365),
        active_payment_id="pay-3",
        last_payment_id="pay-2",
        version=4,
        scheduled_change=ScheduledChange("basic", SubscriptionType.MONTHLY, at(86_400 * 365)),
    )
    subject.store.commit(Changes(created=(new, active)))
    assert subject.store.get_subscription("s1") == new
    assert subject.store.get_subscription("s2") == active
    # a scheduled change that takes effect is removed from the item
    applied = replace(active, plan_id="basic", scheduled_change=None, version=5)
    subject.store.commit(Changes(updated=(Update(active, applied),)))
    assert subject.store.get_subscription("s2") == applied


def test_refund_requests_read_back_as_written_with_and_without_optional_fields(subject: Subject) -> None:
    failed = a_request(
        "req-2", state=RefundState.CANCELED, yookassa_refund_id="rf-2", failure_reason="rejected"
    )
    minimal = a_request("req-3", updated_at=None)
    subject.store.commit(Changes(created=(a_request(), failed, minimal)))
    assert subject.store.get_refund_request("pay-1", "req-1") == a_request()
    assert subject.store.get_refund_request("pay-1", "req-2") == failed
    assert subject.store.get_refund_request("pay-1", "req-3") == minimal


def test_a_plan_is_saved_whole_and_replaced_whole(subject: Subject) -> None:
    plan = Plan("basic", "Базовый", {SubscriptionType.MONTHLY: 99_000, SubscriptionType.YEARLY: 990_000})
    subject.store.save_plan(plan)
    assert subject.store.get_plan("basic") == plan
    cheaper = Plan("basic", "Базовый+", {SubscriptionType.MONTHLY: 89_000})
    subject.store.save_plan(cheaper)
    assert subject.store.get_plan("basic") == cheaper


def test_what_was_never_written_reads_as_absent(subject: Subject) -> None:
    store = subject.store
    assert store.get_payment("nope") is None
    assert store.find_payment_by_yookassa_id("nope") is None
    assert store.get_order("nope") is None
    assert store.get_plan("nope") is None
    assert store.get_subscription("nope") is None
    assert store.get_refund_request("nope", "nope") is None
    assert store.find_refund_request("nope", "nope") is None
    assert store.refund_recorded("nope", "nope") is False
    assert store.get_idempotency_record("alice", "nope", T0) is None
    assert list(store.pending_payments(at(3600))) == []
    assert list(store.held_refund_requests(at(3600))) == []


# ---------------------------------------------------------------- 54-FZ receipts
LINES = (
    ReceiptLine("Генеральная уборка, 2 комнаты", 1, 120_000, 11),
    ReceiptLine("Мойка окна «под ключ»", 3, 10_000, 1),
)


def a_receipt(**fields: object) -> Receipt:
    receipt = Receipt(
        Contact(email="alice@example.com", phone="79001234567"), LINES, PaymentMode.FULL_PREPAYMENT, 2, None
    )
    return replace(receipt, **fields)  # type: ignore[arg-type]


def test_an_orders_receipt_fields_read_back_as_written(subject: Subject) -> None:
    lined = an_order(vat_code=11, receipt_lines=LINES)
    completed = an_order(
        order_id="o2",
        status=OrderStatus.COMPLETED,
        paid_payment_id="p",
        paid_at=at(1),
        vat_code=4,
        completed_at=at(86_400),
        settlement_receipt_id="rct-1",
    )
    subject.store.commit(Changes(created=(lined, completed)))
    assert subject.store.get_order("o1") == lined
    assert subject.store.get_order("o2") == completed


def test_an_order_without_receipt_fields_reads_as_the_domain_defaults(subject: Subject) -> None:
    subject.store.commit(Changes(created=(an_order(),)))
    order = subject.store.get_order("o1")
    assert order is not None
    assert (order.vat_code, order.receipt_lines, order.completed_at, order.settlement_receipt_id) == (
        None,
        (),
        None,
        None,
    )


def test_completing_an_order_writes_its_completion_and_keeps_its_lines(subject: Subject) -> None:
    paid = an_order(status=OrderStatus.PAID, paid_payment_id="pay-1", paid_at=at(1), receipt_lines=LINES)
    subject.store.commit(Changes(created=(paid,)))
    completed = advanced(
        paid, status=OrderStatus.COMPLETED, completed_at=at(3600), settlement_receipt_id="rct-1"
    )
    subject.store.commit(Changes(updated=(completed,)))
    assert subject.store.get_order("o1") == completed.after
    relined = advanced(completed.after, receipt_lines=(), vat_code=1)  # lines dropped: one line again
    subject.store.commit(Changes(updated=(relined,)))
    assert subject.store.get_order("o1") == relined.after


def test_a_payments_receipt_reads_back_whole_as_written(subject: Subject) -> None:
    full = a_payment(receipt=a_receipt(), receipt_registration="succeeded")
    settlement = a_payment(
        "pay-2",
        receipt=a_receipt(
            customer=Contact(phone="79001234567"),
            payment_mode=PaymentMode.FULL_PAYMENT,
            tax_system_code=None,
            settled_prepayment=150_000,
        ),
    )
    subject.store.commit(Changes(created=(full, settlement)))
    assert subject.store.get_payment("pay-1") == full
    assert subject.store.get_payment("pay-2") == settlement


def test_a_payments_receipt_registration_moves_on_and_its_receipt_stays(subject: Subject) -> None:
    payment = a_payment(receipt=a_receipt(), receipt_registration="pending")
    subject.store.commit(Changes(created=(payment,)))
    registered = advanced(payment, status=PaymentStatus.PAID, paid_at=at(5), receipt_registration="succeeded")
    subject.store.commit(Changes(updated=(registered,)))
    assert subject.store.get_payment("pay-1") == registered.after


def test_a_plans_vat_code_is_saved_and_replaced_with_the_plan(subject: Subject) -> None:
    plan = Plan("basic", "Базовый", {SubscriptionType.MONTHLY: 99_000}, vat_code=7)
    subject.store.save_plan(plan)
    assert subject.store.get_plan("basic") == plan
    without = replace(plan, vat_code=None)
    subject.store.save_plan(without)
    assert subject.store.get_plan("basic") == without


def test_receipts_are_stored_under_readmes_attribute_names_and_absent_when_empty(dynamodb: Subject) -> None:
    """DynamoDB only (README "Data"): the new attributes' names and forms; an item without them is an
    item written before receipts existed, and reads as the defaults above."""
    assert dynamodb.endpoint is not None and dynamodb.table is not None
    order = an_order(
        status=OrderStatus.COMPLETED,
        vat_code=11,
        receipt_lines=LINES,
        completed_at=at(60),
        settlement_receipt_id="r",
    )
    payment = a_payment(receipt=a_receipt(), receipt_registration="pending")
    dynamodb.store.commit(Changes(created=(order, payment, a_payment("pay-2"), an_order(order_id="o2"))))
    dynamodb.store.save_plan(Plan("basic", "Базовый", {SubscriptionType.MONTHLY: 99_000}, vat_code=7))

    stored_order = raw_item(dynamodb.endpoint, dynamodb.table, "ORDER#o1")
    assert stored_order is not None
    assert (stored_order["status"], stored_order["vatCode"], stored_order["settlementReceiptId"]) == (
        "completed",
        11,
        "r",
    )
    assert stored_order["completedAt"].startswith("2026-03-01T12:01:00.123456")
    assert stored_order["receiptItems"] == (
        '[{"description":"Генеральная уборка, 2 комнаты","quantity":1,"amount":120000,"vatCode":11},'
        '{"description":"Мойка окна «под ключ»","quantity":3,"amount":10000,"vatCode":1}]'
    )
    stored_payment = raw_item(dynamodb.endpoint, dynamodb.table, "PAYMENT#pay-1")
    assert stored_payment is not None and stored_payment["receiptRegistration"] == "pending"
    assert stored_payment["receipt"].startswith(
        '{"customer":{"email":"alice@example.com","phone":"79001234567"},"items":[{"description":'
    )
    assert stored_payment["receipt"].endswith('"paymentMode":"full_prepayment","taxSystemCode":2}')
    plan = raw_item(dynamodb.endpoint, dynamodb.table, "PLAN#basic")
    assert plan is not None and plan["vatCode"] == 7

    bare_order = raw_item(dynamodb.endpoint, dynamodb.table, "ORDER#o2")
    bare_payment = raw_item(dynamodb.endpoint, dynamodb.table, "PAYMENT#pay-2")
    assert bare_order is not None and bare_payment is not None
    assert not {"vatCode", "receiptItems", "completedAt", "settlementReceiptId"} & set(bare_order)
    assert not {"receipt", "receiptRegistration"} & set(bare_payment)


# ---------------------------------------------------------------- creating
def test_creating_an_item_that_exists_fails_and_writes_nothing_of_the_decision(subject: Subject) -> None:
    subject.store.commit(Changes(created=(an_order(),)))
    with pytest.raises(ConcurrentUpdate):
        subject.store.commit(Changes(created=(a_payment(), an_order(amount=1))))
    assert subject.store.get_payment("pay-1") is None
    assert subject.store.get_order("o1") == an_order()


def test_an_applied_refund_is_recorded_once(subject: Subject) -> None:
    applied = AppliedRefund("pay-1", "rf-1", 50_000, T0)
    subject.store.commit(Changes(created=(applied,)))
    assert subject.store.refund_recorded("pay-1", "rf-1")
    assert not subject.store.refund_recorded("pay-1", "rf-2")
    assert not subject.store.refund_recorded("pay-2", "rf-1")
    with pytest.raises(ConcurrentUpdate):
        subject.store.commit(Changes(created=(replace(applied, amount=1),)))


# ---------------------------------------------------------------- updating
def test_an_update_writes_the_new_state_and_drops_what_became_absent(subject: Subject) -> None:
    payment = a_payment(payment_url="https://yookassa.test/checkout/yk-1", cancellation_reason="x")
    subject.store.commit(Changes(created=(payment,)))
    update = advanced(payment, status=PaymentStatus.FAILED, payment_url=None, cancellation_reason=None)
    subject.store.commit(Changes(updated=(update,)))
    assert subject.store.get_payment("pay-1") == update.after


def test_a_stale_update_fails_and_nothing_of_the_decision_is_written(subject: Subject) -> None:
    payment, order = a_payment(), an_order()
    subject.store.commit(Changes(created=(payment, order)))
    first = advanced(payment, status=PaymentStatus.CANCELED)
    subject.store.commit(Changes(updated=(first,)))
    stale = Changes(
        updated=(advanced(payment, status=PaymentStatus.PAID), advanced(order, status=OrderStatus.PAID))
    )
    with pytest.raises(ConcurrentUpdate):
        subject.store.commit(stale)
    assert subject.store.get_payment("pay-1") == first.after
    assert subject.store.get_order("o1") == order


def test_a_failed_condition_on_a_created_item_keeps_the_updates_of_the_decision_unwritten(
    subject: Subject,
) -> None:
    payment, order = a_payment(), an_order()
    subject.store.commit(Changes(created=(payment, order)))
    decision = Changes(created=(a_payment(),), updated=(advanced(order, active_payment_id="pay-1"),))
    with pytest.raises(ConcurrentUpdate):
        subject.store.commit(decision)
    assert subject.store.get_order("o1") == order


def test_an_update_of_an_item_that_does_not_exist_fails(subject: Subject) -> None:
    with pytest.raises(ConcurrentUpdate):
        subject.store.commit(Changes(updated=(advanced(an_order(), status=OrderStatus.PAID),)))
    assert subject.store.get_order("o1") is None


def test_a_refund_request_moves_on_only_from_the_state_it_was_read_in(subject: Subject) -> None:
    request = a_request()
    subject.store.commit(Changes(created=(request,)))
    accepted = replace(request, state=RefundState.PENDING, yookassa_refund_id="rf-1", updated_at=at(5))
    subject.store.commit(Changes(updated=(Update(request, accepted),)))
    canceled = replace(request, state=RefundState.CANCELED, updated_at=at(6))
    with pytest.raises(ConcurrentUpdate):
        subject.store.commit(Changes(updated=(Update(request, canceled),)))
    assert subject.store.get_refund_request("pay-1", "req-1") == accepted


def test_an_update_keeps_a_provider_check_claimed_since_the_read(subject: Subject) -> None:
    payment = a_payment()
    subject.store.commit(Changes(created=(payment,)))
    assert subject.store.claim_provider_check("pay-1", at(10), at(0))
    update = advanced(payment, status=PaymentStatus.PAID, paid_at=at(11))
    subject.store.commit(Changes(updated=(update,)))
    assert subject.store.get_payment("pay-1") == replace(update.after, provider_checked_at=at(10))


def test_an_update_that_changes_nothing_is_a_mistake(subject: Subject) -> None:
    order = an_order()
    subject.store.commit(Changes(created=(order,)))
    with pytest.raises(ValueError, match="changes nothing"):
        subject.store.commit(Changes(updated=(Update(order, order),)))


def test_two_writes_of_one_item_in_one_decision_are_a_mistake(subject: Subject) -> None:
    order = an_order()
    subject.store.commit(Changes(created=(order,)))
    twice = Changes(updated=(advanced(order, amount=1), advanced(order, amount=2)))
    with pytest.raises(ValueError, match="one write per item"):
        subject.store.commit(twice)
    assert subject.store.get_order("o1") == order


# ---------------------------------------------------------------- YooKassa's payment id
def test_a_payment_is_found_by_its_yookassa_id_once_attached(subject: Subject) -> None:
    payment = a_payment()
    subject.store.commit(Changes(created=(payment,)))
    assert subject.store.find_payment_by_yookassa_id("yk-1") is None
    attached = advanced(payment, yookassa_id="yk-1", payment_url="https://yookassa.test/checkout/yk-1")
    subject.store.commit(Changes(updated=(attached,)))
    assert subject.store.find_payment_by_yookassa_id("yk-1") == attached.after
    later = advanced(attached.after, status=PaymentStatus.PAID)  # the id stays: no second lookup
    subject.store.commit(Changes(updated=(later,)))
    assert subject.store.find_payment_by_yookassa_id("yk-1") == later.after


def test_a_payment_created_with_its_yookassa_id_is_found_by_it(subject: Subject) -> None:
    payment = a_payment(yookassa_id="yk-1")
    subject.store.commit(Changes(created=(payment,)))
    assert subject.store.find_payment_by_yookassa_id("yk-1") == payment


def test_one_yookassa_id_cannot_be_attached_to_two_payments(subject: Subject) -> None:
    first, second = a_payment(), a_payment("pay-2")
    subject.store.commit(Changes(created=(first, second)))
    subject.store.commit(Changes(updated=(advanced(first, yookassa_id="yk-1"),)))
    with pytest.raises(ConcurrentUpdate):
        subject.store.commit(Changes(updated=(advanced(second, yookassa_id="yk-1"),)))
    assert subject.store.get_payment("pay-2") == second
    found = subject.store.find_payment_by_yookassa_id("yk-1")
    assert found is not None and found.payment_id == "pay-1"


# ---------------------------------------------------------------- what the reconciler looks at
def test_pending_payments_are_those_pending_since_before_the_cutoff(subject: Subject) -> None:
    old = [a_payment(f"old-{n}", created_at=at(n)) for n in range(5)]
    young = a_payment("young", created_at=at(100))
    paid = a_payment("paid", status=PaymentStatus.PAID, created_at=at(1))
    subject.store.commit(Changes(created=(*old, young, paid)))
    found = {p.payment_id: p for p in subject.store.pending_payments(at(50))}
    assert found == {p.payment_id: p for p in old}


def test_pending_payments_come_oldest_first_across_every_shard(subject: Subject) -> None:
    """A flood of fresh payments in one shard must not starve older ones in another: the reconciler
    reads them in creation order whatever shard each landed in."""
    payments = [a_payment(f"p-{n:02d}", created_at=at(30 - n)) for n in range(24)]  # spread over shards
    subject.store.commit(Changes(created=tuple(payments)))
    found = [p.payment_id for p in subject.store.pending_payments(at(50))]
    assert found == [p.payment_id for p in sorted(payments, key=lambda p: p.created_at)]


def test_payable_pending_payments_are_counted_per_user_since_a_moment(subject: Subject) -> None:
    alices = [a_payment(f"a-{n}", created_at=at(n * 10)) for n in range(4)]
    bobs = a_payment("b-1", user_id="bob", created_at=at(25))
    paid = a_payment("a-paid", status=PaymentStatus.PAID, created_at=at(35))
    subject.store.commit(Changes(created=(*alices, bobs, paid)))
    assert subject.store.payable_pending_count("alice", at(-1)) == 4
    assert subject.store.payable_pending_count("alice", at(15)) == 2  # created after 15 s: 20 and 30
    assert subject.store.payable_pending_count("bob", at(-1)) == 1
    assert subject.store.payable_pending_count("carol", at(-1)) == 0
    subject.store.commit(Changes(updated=(advanced(alices[3], status=PaymentStatus.FAILED),)))
    assert subject.store.payable_pending_count("alice", at(15)) == 1


def test_a_payment_leaves_the_pending_ones_when_it_settles(subject: Subject) -> None:
    payment = a_payment()
    subject.store.commit(Changes(created=(payment,)))
    subject.store.commit(Changes(updated=(advanced(payment, status=PaymentStatus.PAID, paid_at=at(5)),)))
    assert list(subject.store.pending_payments(at(50))) == []


def test_held_refund_requests_are_the_open_ones_since_before_the_cutoff(subject: Subject) -> None:
    reserved, accepted = (
        a_request("reserved"),
        a_request("accepted", state=RefundState.PENDING, yookassa_refund_id="rf"),
    )
    done = a_request("done", state=RefundState.SUCCEEDED)
    young = a_request("young", created_at=at(100))
    subject.store.commit(Changes(created=(reserved, accepted, done, young)))
    held = {r.request_id: r for r in subject.store.held_refund_requests(at(50))}
    assert held == {"reserved": reserved, "accepted": accepted}


def test_a_refund_request_stops_being_held_when_it_closes(subject: Subject) -> None:
    request = a_request()
    subject.store.commit(Changes(created=(request,)))
    closed = replace(
        request, state=RefundState.FAILED, failure_reason="unknown_outcome_expired", updated_at=at(9)
    )
    subject.store.commit(Changes(updated=(Update(request, closed),)))
    assert list(subject.store.held_refund_requests(at(50))) == []


# ---------------------------------------------------------------- status polls
def test_a_provider_check_is_claimed_once_per_interval(subject: Subject) -> None:
    subject.store.commit(Changes(created=(a_payment(),)))
    interval = timedelta(seconds=10)
    assert subject.store.claim_provider_check("pay-1", at(0), at(0) - interval)
    assert not subject.store.claim_provider_check("pay-1", at(5), at(5) - interval)
    assert subject.store.claim_provider_check("pay-1", at(11), at(11) - interval)
    payment = subject.store.get_payment("pay-1")
    assert payment is not None and payment.provider_checked_at == at(11)
    assert payment.version == 1  # not a state change


def test_a_provider_check_of_an_unknown_payment_is_refused_and_writes_nothing(subject: Subject) -> None:
    assert not subject.store.claim_provider_check("nope", at(0), at(-10))
    assert subject.store.get_payment("nope") is None


# ---------------------------------------------------------------- refunds
def test_a_refund_request_is_found_by_yookassa_refund_id_within_its_payment(subject: Subject) -> None:
    mine = a_request("req-1", state=RefundState.PENDING, yookassa_refund_id="rf-1")
    other = a_request("req-2", state=RefundState.PENDING, yookassa_refund_id="rf-2")
    elsewhere = a_request("req-3", payment_id="pay-9", state=RefundState.PENDING, yookassa_refund_id="rf-3")
    subject.store.commit(Changes(created=(mine, other, elsewhere, AppliedRefund("pay-1", "rf-1", 1, T0))))
    assert subject.store.find_refund_request("pay-1", "rf-1") == mine
    assert subject.store.find_refund_request("pay-1", "rf-2") == other
    assert subject.store.find_refund_request("pay-1", "rf-3") is None


# ---------------------------------------------------------------- idempotency keys
def claim(request_hash: str = "h1", expires_at: datetime | None = None) -> IdempotencyRecord:
    return IdempotencyRecord(request_hash, IDEMPOTENCY_IN_PROGRESS, "", expires_at or at(120))


def answer(request_hash: str = "h1") -> IdempotencyRecord:
    return IdempotencyRecord(request_hash, 200, '{"paymentId": "pay-1"}', at(86_400))


def test_an_idempotency_key_is_claimed_by_one_request_only(subject: Subject) -> None:
    store = subject.store
    assert store.claim_idempotency_key("alice", "k1", claim(), T0)
    assert not store.claim_idempotency_key("alice", "k1", claim("h2"), at(1))
    assert store.claim_idempotency_key("bob", "k1", claim("h2"), at(1))  # keys are per user
    record = store.get_idempotency_record("alice", "k1", at(1))
    assert record is not None and record.in_progress and record.request_hash == "h1"


def test_only_the_claiming_request_stores_its_answer(subject: Subject) -> None:
    store = subject.store
    assert not store.complete_idempotency_key("alice", "k1", answer())  # never claimed
    store.claim_idempotency_key("alice", "k1", claim(), T0)
    assert not store.complete_idempotency_key("alice", "k1", answer("h2"))
    assert store.complete_idempotency_key("alice", "k1", answer())
    assert not store.complete_idempotency_key("alice", "k1", answer())  # answered: no longer a claim
    kept = replace(answer(), expires_at=answer().expires_at.replace(microsecond=0))  # TTL: whole seconds
    assert store.get_idempotency_record("alice", "k1", at(1)) == kept


def test_a_released_claim_frees_the_key_and_nobody_else_releases_it(subject: Subject) -> None:
    store = subject.store
    store.claim_idempotency_key("alice", "k1", claim(), T0)
    store.release_idempotency_key("alice", "k1", "h2")  # not ours: left alone
    assert store.get_idempotency_record("alice", "k1", at(1)) is not None
    store.release_idempotency_key("alice", "k1", "h1")
    assert store.get_idempotency_record("alice", "k1", at(1)) is None
    assert store.claim_idempotency_key("alice", "k1", claim("h2"), at(2))


def test_an_answered_key_is_never_released(subject: Subject) -> None:
    store = subject.store
    store.claim_idempotency_key("alice", "k1", claim(), T0)
    store.complete_idempotency_key("alice", "k1", answer())
    store.release_idempotency_key("alice", "k1", "h1")
    assert store.get_idempotency_record("alice", "k1", at(1)) is not None


def test_an_expired_record_reads_as_absent_and_its_key_can_be_claimed_again(subject: Subject) -> None:
    store = subject.store
    store.claim_idempotency_key("alice", "k1", claim(expires_at=at(60)), T0)
    kept_until = at(60).replace(microsecond=0)  # the table keeps expiries to the second
    assert store.get_idempotency_record("alice", "k1", kept_until) is not None
    assert not store.claim_idempotency_key("alice", "k1", claim("h2"), kept_until)
    just_after = kept_until + timedelta(microseconds=1)
    assert store.get_idempotency_record("alice", "k1", just_after) is None
    assert store.claim_idempotency_key("alice", "k1", claim("h2", at(300)), just_after)
    record = store.get_idempotency_record("alice", "k1", just_after)
    assert record is not None and record.request_hash == "h2"


# ---------------------------------------------------------------- the webhook audit trail
def test_audit_entries_are_added_never_replaced(subject: Subject) -> None:
    entry = AuditEntry(
        "payment.succeeded", "yk-1", "succeeded", "applied", "185.71.76.1", "pay-1", T0, at(86_400)
    )
    bare = AuditEntry("payment.succeeded", "yk-1", None, "unknown_payment", "185.71.76.1", None, T0, at(86_400))
    subject.store.add_audit_entry(entry)
    subject.store.add_audit_entry(bare)  # the same microsecond: both are kept
    subject.store.add_audit_entry(replace(entry, object_id="yk-2"))
    kept = [replace(e, expires_at=e.expires_at.replace(microsecond=0)) for e in (entry, bare)]
    assert sorted(subject.audit_entries("yk-1"), key=repr) == sorted(kept, key=repr)
