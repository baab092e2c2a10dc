"""The chaos run's checks on made-up records: each invariant holds for a consistent day and catches the bug
it is named after. (The run itself is tests/chaos/test_chaos.py.)"""

from datetime import UTC, datetime
from typing import Any

import pytest

from chaos.client import Answer, Recorder, envelope_code
from chaos.invariants import (
    INVARIANTS,
    Observed,
    add_months,
    by_invariant,
    check,
    kopecks,
    outcome_of,
    periods_between,
)
from chaos.plan import OrderCheckout, make_plan
from chaos.scenarios import AcceptedRefund
from tests.chaos.test_chaos import CI_PAYMENTS, CI_SEED

CAPTURED = "2026-11-29T20:00:00.123Z"
START = "2026-11-29T20:00:00.123000Z"


def yookassa(
    payment_id: str,
    amount: int = 150_000,
    status: str = "succeeded",
    refunded: int = 0,
    order: str | None = "order-1",
    subscription: str | None = None,
    captured: str = CAPTURED,
    yid: str | None = None,
    reason: str = "general_decline",
) -> dict[str, Any]:
    metadata: dict[str, str] = {"paymentId": payment_id, "userId": "alice"}
    if subscription is not None:
        metadata["subscriptionId"] = subscription
    elif order is not None:
        metadata["orderId"] = order
    payment: dict[str, Any] = {
        "id": yid or f"yk-{payment_id}",
        "status": status,
        "amount": {"value": f"{amount / 100:.2f}", "currency": "RUB"},
        "metadata": metadata,
    }
    if status == "succeeded":
        payment["refunded_amount"] = {"value": f"{refunded / 100:.2f}", "currency": "RUB"}
        payment["captured_at"] = captured
    if status == "canceled":
        payment["cancellation_details"] = {"reason": reason, "party": "payment_network"}
    return payment


def ours(
    payment_id: str,
    amount: int = 150_000,
    status: str = "paid",
    refunded: int = 0,
    order: str | None = "order-1",
    subscription: str | None = None,
) -> dict[str, Any]:
    view: dict[str, Any] = {
        "paymentId": payment_id,
        "type": "subscription" if subscription else "order",
        "status": status,
        "amount": amount,
        "refundedAmount": refunded,
    }
    if subscription:
        view["subscriptionId"] = subscription
    else:
        view["orderId"] = order
    return view


def refund(payment_id: str, amount: int, refund_id: str = "rf-1") -> dict[str, Any]:
    return {
        "id": refund_id,
        "payment_id": f"yk-{payment_id}",
        "status": "succeeded",
        "amount": {"value": f"{amount / 100:.2f}", "currency": "RUB"},
    }


def subscription_view(start: str | None, end: str | None, status: str = "active") -> dict[str, Any]:
    return {"subscriptionType": "monthly", "status": status, "startDate": start, "endDate": end}


def observed(**overrides: Any) -> Observed:
    values: dict[str, Any] = {
        "yookassa_payments": [yookassa("p1")],
        "yookassa_refunds": [],
        "ours": {"p1": ours("p1")},
        "created": {"p1"},
        "orders": {"order-1": {"orderId": "order-1", "status": "paid"}},
        "subscriptions": {},
        "accepted_refunds": [],
        "final_reconcile": {"checked": 0, "fixed": 0},
    }
    values.update(overrides)
    return Observed(**values)


def violated(data: Observed) -> dict[str, int]:
    return {name: n for name, n in by_invariant(check(data)).items() if n}


def test_a_consistent_day_violates_nothing() -> None:
    data = observed(
        yookassa_payments=[
            yookassa("p1", refunded=50_000),
            yookassa("p2", order="order-2", status="canceled"),
            yookassa("p3", order="order-3", refunded=150_000),
            yookassa("s1", amount=99_000, subscription="sub-1"),
            yookassa("s2", amount=99_000, subscription="sub-1", refunded=99_000),  # the second tab, given back
        ],
        yookassa_refunds=[refund("p1", 50_000), refund("p3", 150_000, "rf-3"), refund("s2", 99_000, "rf-s2")],
        ours={
            "p1": ours("p1", refunded=50_000),
            "p2": ours("p2", status="failed", order="order-2"),
            "p3": ours("p3", status="refunded", refunded=150_000, order="order-3"),
            "s1": ours("s1", 99_000, "success", subscription="sub-1"),
            "s2": ours("s2", 99_000, "refunded", 99_000, subscription="sub-1"),
        },
        orders={
            "order-1": {"status": "paid"},
            "order-2": {"status": "new"},
            "order-3": {"status": "refunded"},
        },
        subscriptions={"sub-1": subscription_view(START, "2026-12-29T20:00:00.123000Z")},
        accepted_refunds=[AcceptedRefund("p1", "rf-1", 50_000, "admin-1")],
    )

    assert violated(data) == {}


def test_an_order_paid_twice_is_caught() -> None:
    data = observed(
        yookassa_payments=[yookassa("p1"), yookassa("p2")],
        ours={"p1": ours("p1"), "p2": ours("p2")},
    )

    assert violated(data) == {"paid_once": 1}


def test_money_kept_for_an_order_that_is_not_paid_is_caught() -> None:
    data = observed(orders={"order-1": {"status": "new"}})

    assert violated(data) == {"no_money_for_nothing": 1}


def test_a_paid_order_whose_money_went_back_is_caught() -> None:
    data = observed(
        yookassa_payments=[yookassa("p1", refunded=150_000)],
        yookassa_refunds=[refund("p1", 150_000)],
        ours={"p1": ours("p1", status="refunded", refunded=150_000)},
    )

    assert violated(data) == {"money_matches_delivery": 1}


def test_a_state_yookassa_does_not_have_is_caught() -> None:
    data = observed(
        yookassa_payments=[yookassa("p1", status="canceled")],
        orders={"order-1": {"status": "paid"}},
    )

    found = violated(data)

    assert found["state_matches_yookassa"] == 1


def test_paid_with_no_payment_at_yookassa_is_caught() -> None:
    data = observed(yookassa_payments=[], orders={"order-1": {"status": "new"}})

    assert violated(data) == {"state_matches_yookassa": 1}


@pytest.mark.parametrize(
    "change",
    [
        {"ours": {"p1": ours("p1", status="pending")}},
        {"yookassa_payments": [yookassa("p1", status="pending")], "ours": {"p1": ours("p1", status="pending")}},
        {"final_reconcile": {"checked": 3, "fixed": 0}},
        {"final_reconcile": {"checked": 0, "deferred": 2}},
    ],
)
def test_anything_pending_after_reconciliation_is_caught(change: dict[str, Any]) -> None:
    assert "none_pending" in violated(observed(**change))


def test_a_yookassa_payment_without_our_record_is_caught() -> None:
    data = observed(yookassa_payments=[yookassa("p1"), yookassa("ghost", order="order-9")])

    assert violated(data) == {"yookassa_payment_has_record": 1}


def test_two_yookassa_payments_for_one_of_ours_are_caught() -> None:
    data = observed(yookassa_payments=[yookassa("p1"), yookassa("p1", yid="yk-other")])

    assert violated(data)["yookassa_payment_has_record"] == 1


def test_a_record_with_another_amount_is_caught() -> None:
    data = observed(ours={"p1": ours("p1", amount=140_000)})

    assert violated(data) == {"yookassa_payment_has_record": 1}


def test_refunds_that_do_not_add_up_to_the_kopeck_are_caught() -> None:
    data = observed(
        yookassa_payments=[yookassa("p1", refunded=50_000)],
        yookassa_refunds=[refund("p1", 50_000)],
        ours={"p1": ours("p1", refunded=49_999)},
    )

    assert violated(data) == {"refunds_add_up": 1}


def test_yookassa_refunds_that_do_not_sum_to_its_refunded_amount_are_caught() -> None:
    data = observed(
        yookassa_payments=[yookassa("p1", refunded=50_000)],
        yookassa_refunds=[refund("p1", 40_000)],
        ours={"p1": ours("p1", refunded=50_000)},
    )

    assert violated(data) == {"refunds_add_up": 1}


def test_admins_told_of_more_refunds_than_paid_is_caught() -> None:
    data = observed(
        yookassa_payments=[yookassa("p1", refunded=150_000)],
        yookassa_refunds=[refund("p1", 100_000, "rf-1"), refund("p1", 50_000, "rf-2")],
        ours={"p1": ours("p1", status="refunded", refunded=150_000)},
        orders={"order-1": {"status": "refunded"}},
        accepted_refunds=[
            AcceptedRefund("p1", "rf-1", 100_000, "admin-1"),
            AcceptedRefund("p1", "rf-2", 50_000, "admin-2"),
            AcceptedRefund("p1", "rf-3", 60_000, "admin-3"),  # told, but YooKassa has no such refund
        ],
    )

    assert violated(data) == {"refund_within_paid": 1, "refunds_add_up": 1}


def test_a_subscription_period_paid_twice_is_caught() -> None:
    data = observed(
        yookassa_payments=[
            yookassa("s1", 99_000, subscription="sub-1"),
            yookassa("s2", 99_000, subscription="sub-1", captured="2026-11-29T20:00:05.000Z"),
        ],
        ours={
            "s1": ours("s1", 99_000, "success", subscription="sub-1"),
            "s2": ours("s2", 99_000, "success", subscription="sub-1"),
        },
        orders={},
        subscriptions={"sub-1": subscription_view(START, "2026-12-29T20:00:00.123000Z")},
    )

    assert violated(data) == {"paid_once": 1}


def test_time_granted_without_money_is_caught() -> None:
    data = observed(
        yookassa_payments=[yookassa("s1", 99_000, subscription="sub-1")],
        ours={"s1": ours("s1", 99_000, "success", subscription="sub-1")},
        orders={},
        subscriptions={"sub-1": subscription_view(START, "2027-01-29T20:00:00.123000Z")},
    )

    assert violated(data) == {"money_matches_delivery": 1}


def test_money_kept_for_a_subscription_never_started_is_caught() -> None:
    data = observed(
        yookassa_payments=[yookassa("s1", 99_000, subscription="sub-1")],
        ours={"s1": ours("s1", 99_000, "success", subscription="sub-1")},
        orders={},
        subscriptions={"sub-1": subscription_view(None, None, "pending")},
    )

    assert violated(data) == {"no_money_for_nothing": 1}


def test_payments_before_the_paid_time_began_belong_to_an_earlier_stretch() -> None:
    data = observed(
        yookassa_payments=[
            yookassa("s1", 99_000, subscription="sub-1", captured="2026-10-01T10:00:00.000Z"),
            yookassa("s2", 99_000, subscription="sub-1"),
        ],
        ours={
            "s1": ours("s1", 99_000, "success", subscription="sub-1"),
            "s2": ours("s2", 99_000, "success", subscription="sub-1"),
        },
        orders={},
        subscriptions={"sub-1": subscription_view(START, "2026-12-29T20:00:00.123000Z")},
    )

    assert violated(data) == {}


def test_a_renewal_kept_after_the_customer_turned_renewal_off_is_caught() -> None:
    data = observed(
        yookassa_payments=[
            yookassa("s1", 99_000, subscription="sub-1"),
            yookassa("r1", 99_000, subscription="sub-1", captured="2026-12-29T19:00:00.000Z"),
        ],
        ours={
            "s1": ours("s1", 99_000, "success", subscription="sub-1"),
            "r1": ours("r1", 99_000, "success", subscription="sub-1"),
        },
        created={"s1"},
        orders={},
        subscriptions={"sub-1": subscription_view(START, "2027-01-29T20:00:00.123000Z", "active")},
        renewal_canceled={"sub-1"},
    )

    assert violated(data) == {"no_money_for_nothing": 1}


def test_receipts_that_are_missing_or_do_not_add_up_are_caught() -> None:
    receipt = {
        "id": "rt-1",
        "type": "payment",
        "items": [
            {"quantity": "2", "amount": {"value": "500.00"}},
            {"quantity": 1, "amount": {"value": "499.99"}},
        ],
    }
    data = observed(
        yookassa_payments=[yookassa("p1", refunded=50_000)],
        yookassa_refunds=[refund("p1", 50_000)],
        ours={"p1": ours("p1", refunded=50_000)},
        receipts={"yk-p1": [receipt]},
    )

    assert violated(data) == {"receipts_add_up": 2}  # 1 499,99 for 1 500,00; the refund has none


def settlement_ledger(settled: int, refund_first: bool) -> list[dict[str, Any]]:
    def receipt(kind: str, amount: int, **extra: Any) -> dict[str, Any]:
        item = {"quantity": 1, "amount": {"value": f"{amount / 100:.2f}"}}
        return {"id": f"rt-{kind}-{amount}", "type": kind, "items": [item], **extra}

    prepayment = receipt("payment", 150_000)
    returned = receipt("refund", 50_000, refund_id="rf-1")
    settlement = receipt(
        "payment", settled, settlements=[{"type": "prepayment", "amount": {"value": f"{settled / 100:.2f}"}}]
    )
    return [prepayment, returned, settlement] if refund_first else [prepayment, settlement, returned]


@pytest.mark.parametrize(
    ("settled", "refund_first", "expected"),
    [
        (100_000, True, {}),  # 1 500 prepaid, 500 returned, then the 1 000 left is settled
        (150_000, False, {}),  # settled in full, then 500 returned after the sale
        (150_000, True, {"settlement_settles_what_is_left": 1}),  # settles 1 500 where 1 000 was left
    ],
)
def test_a_settlement_receipt_settles_the_prepayment_still_held(
    settled: int, refund_first: bool, expected: dict[str, int]
) -> None:
    data = observed(
        yookassa_payments=[yookassa("p1", refunded=50_000)],
        yookassa_refunds=[refund("p1", 50_000)],
        ours={"p1": ours("p1", refunded=50_000)},
        receipts={"yk-p1": settlement_ledger(settled, refund_first)},
    )

    assert violated(data) == expected


def test_answers_are_classified_as_the_readme_says() -> None:
    recorder = Recorder()
    timeout = {"error": {"code": "provider_timeout", "message": "YooKassa gave no definite answer"}}
    internal = {"error": {"code": "internal_error", "message": "Internal error"}}
    recorder.record("POST /orders/payment/create", Answer(504, timeout, envelope_code(timeout)), "")
    recorder.record("POST /orders/payment/create", Answer(500, internal, envelope_code(internal)), "")
    recorder.record("GET /payment-status/{paymentId}", Answer(503, {"message": "Service Unavailable"}), "")
    recorder.record("GET /payment-status/{paymentId}", Answer(None, None), "no answer within 45 s")
    recorder.record("GET /payment-status/{paymentId}", Answer(409, {"error": {"code": "x"}}), "")

    found = violated(observed(recorder=recorder))

    assert found == {"no_5xx": 2, "errors_in_envelope": 2, "no_hang": 1}
    assert recorder.expected_5xx == {"504 provider_timeout": 1}


def test_a_split_double_click_and_a_crash_are_caught() -> None:
    data = observed(split_double_clicks=["checkout 3 (alice): p1 and p2"], crashes=["X raised; answering 500"])

    assert violated(data) == {"double_click_one_payment": 1, "no_unhandled_exception": 1}


def test_every_invariant_is_reported_even_when_it_holds() -> None:
    assert set(by_invariant([])) == set(INVARIANTS)


def test_amounts_are_exact_kopecks() -> None:
    assert kopecks({"value": "1500.00"}) == 150_000
    assert kopecks({"value": "0.10"}) == 10
    assert kopecks(None) == 0
    with pytest.raises(ValueError):
        kopecks({"value": "1.005"})


def test_periods_follow_calendar_months_as_a_paid_period_does() -> None:
    jan31 = datetime(2027, 1, 31, 12, tzinfo=UTC)

    assert add_months(jan31, 1) == datetime(2027, 2, 28, 12, tzinfo=UTC)
    assert periods_between(jan31, add_months(add_months(jan31, 1), 1), 1) == 2
    assert periods_between(jan31, jan31, 1) == 0
    assert periods_between(jan31, datetime(2027, 2, 15, tzinfo=UTC), 1) is None


def test_outcomes_name_what_became_of_each_payment() -> None:
    assert outcome_of(ours("p1"), [yookassa("p1")], True, False) == "order: paid"
    renewal = ours("r1", status="refunded", refunded=150_000, subscription="sub-1")
    assert (
        outcome_of(renewal, [yookassa("r1", refunded=150_000)], False, False)
        == "renewal: refunded in full automatically (undeliverable)"
    )
    expired = yookassa("p2", status="canceled", reason="expired_on_confirmation")
    assert outcome_of(ours("p2", status="canceled"), [expired], True, False) == "order: expired unpaid"


def test_the_ci_mix_completes_partly_refunded_orders() -> None:
    """The CI run checks settlement_settles_what_is_left (the bug the chaos run found, fixed in 392f650)
    only while its seed completes orders after a partial refund (a discount for a shorter cleaning)."""
    plan = make_plan(CI_SEED, CI_PAYMENTS)

    assert sum(isinstance(c, OrderCheckout) and c.partly_refunded_then_completed for c in plan.checkouts) >= 3


def test_the_seed_reproduces_every_choice() -> None:
    first, again, other = make_plan(7, 60), make_plan(7, 60), make_plan(8, 60)

    assert first == again
    assert first.checkouts != other.checkouts
    assert len(first.checkouts) == 60
    assert {c.kind for c in first.checkouts} == {"order", "subscription"}
