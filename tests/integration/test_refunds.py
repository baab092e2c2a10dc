"""POST /admin/payments/{paymentId}/refund: full and partial, never more than what is left, idempotent,
and exactly one of two concurrent requests that together exceed the payment.

The refund handler runs in-process with API Gateway events (scope payments/admin); YooKassa is the
sandbox over HTTP, DynamoDB is moto's server.
"""

import threading
from dataclasses import replace
from typing import Any

import pytest
import requests

from payments import runtime
from payments.domain import Payment, ProviderRefund, ProviderRefundStatus, RefundRequest
from payments.errors import PaymentsError, RefundExceedsPayment
from payments.schemas import RefundAccepted
from payments.services.refunds import refund_payment
from payments.yookassa import YooKassaClient
from tests.conftest import Stack
from tests.integration.support import (
    environment,
    notify,
    order_payment,
    payment_of,
    provider_get,
    provider_post,
    provider_refunds,
    refund,
    subscription_payment,
    succeed,
)


def paid_order(stack: Stack, amount: int = 100000) -> tuple[str, str]:
    payment_id, yookassa_id = order_payment(stack, "order-1", amount)
    succeed(stack, yookassa_id)
    assert notify(stack, "payment.succeeded", yookassa_id) == (200, {"outcome": "applied"})
    return payment_id, yookassa_id


def test_a_full_refund_refunds_everything_and_shows_at_once(stack: Stack) -> None:
    payment_id, yookassa_id = paid_order(stack)

    status, accepted = refund(stack, payment_id)

    assert status == 200, accepted
    assert accepted["paymentId"] == payment_id
    assert accepted["amount"] == 100000
    assert accepted["status"] in ("succeeded", "pending")
    [provider] = provider_refunds(stack, yookassa_id)
    assert provider["id"] == accepted["refundId"]
    assert provider["amount"] == {"value": "1000.00", "currency": "RUB"}
    if accepted["status"] == "pending":  # confirmed by YooKassa's notification
        stack.sandbox_post(f"/sandbox/refunds/{accepted['refundId']}/succeed", {})
        notify(stack, "refund.succeeded", accepted["refundId"])
    payment = payment_of(payment_id)
    assert (payment.status, payment.refunded_amount, payment.refund_reserved) == ("refunded", 100000, 0)
    _, view = stack.status(payment_id)
    assert (view["status"], view["refundedAmount"]) == ("refunded", 100000)
    assert (provider_get(stack, f"/payments/{yookassa_id}") or {})["refunded_amount"]["value"] == "1000.00"


def test_partial_refunds_add_up_and_the_rest_refunds_what_is_left(stack: Stack) -> None:
    payment_id, _ = paid_order(stack)

    first = refund(stack, payment_id, 30000, key="partial-1")
    second = refund(stack, payment_id, 20000, key="partial-2")
    too_much = refund(stack, payment_id, 50001, key="partial-3")

    assert first[0] == second[0] == 200
    assert (first[1]["refundedAmount"], first[1]["paymentStatus"]) == (30000, "paid")
    assert (second[1]["refundedAmount"], second[1]["paymentStatus"]) == (50000, "paid")
    assert (too_much[0], too_much[1]["error"]["code"]) == (409, "refund_exceeds_payment")
    assert "50000" in too_much[1]["error"]["message"]

    rest = refund(stack, payment_id)
    assert (rest[0], rest[1]["amount"], rest[1]["paymentStatus"]) == (200, 50000, "refunded")
    nothing_left = refund(stack, payment_id, 100, key="partial-4")
    assert (nothing_left[0], nothing_left[1]["error"]["code"]) == (409, "payment_not_refundable")


def test_two_concurrent_refunds_that_together_exceed_the_payment_one_succeeds(stack: Stack) -> None:
    payment_id, yookassa_id = paid_order(stack)

    results = concurrent_refunds(payment_id, [60000, 60000])

    assert sorted(type(r).__name__ for r in results) == ["RefundAccepted", "RefundExceedsPayment"], results
    assert len(provider_refunds(stack, yookassa_id)) == 1
    payment = payment_of(payment_id)
    assert (payment.refunded_amount, payment.refund_reserved) == (60000, 0)


def test_many_concurrent_partial_refunds_never_exceed_the_payment(stack: Stack) -> None:
    payment_id, yookassa_id = paid_order(stack)

    results = concurrent_refunds(payment_id, [30000] * 8)

    accepted = [r for r in results if isinstance(r, RefundAccepted)]
    assert len(accepted) == 3, results
    assert all(isinstance(r, RefundExceedsPayment) for r in results if r not in accepted)
    assert len({r.refund_id for r in accepted}) == 3
    assert len(provider_refunds(stack, yookassa_id)) == 3
    assert payment_of(payment_id).refunded_amount == 90000


def concurrent_refunds(payment_id: str, amounts: list[int]) -> list[RefundAccepted | PaymentsError]:
    """Admins refunding at the same moment from separate Lambda environments: they share nothing but
    DynamoDB and YooKassa, so the refund service runs in threads on the real store and sandbox client.
    (In-process threads cannot share one handler module: Powertools keeps the current event on a class.)
    """
    barrier = threading.Barrier(len(amounts))
    results: list[RefundAccepted | PaymentsError] = []

    def run(n: int, amount: int) -> None:
        barrier.wait()
        try:
            results.append(
                refund_payment(
                    runtime.store(),
                    runtime.yookassa(),
                    payment_id,
                    amount,
                    f"admin-{n}",
                    requested_by="ops",
                )
            )
        except PaymentsError as refused:
            results.append(refused)

    threads = [threading.Thread(target=run, args=(n, amount)) for n, amount in enumerate(amounts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_the_same_request_is_the_same_refund_and_a_reused_key_with_another_body_is_409(stack: Stack) -> None:
    payment_id, yookassa_id = paid_order(stack)

    first = refund(stack, payment_id, 10000, key="refund-key-1")
    again = refund(stack, payment_id, 10000, key="refund-key-1")
    other = refund(stack, payment_id, 20000, key="refund-key-1")
    # without a key, the amount is the key: a double click is one refund
    click = refund(stack, payment_id, 5000)
    double_click = refund(stack, payment_id, 5000)

    assert first == again
    assert (other[0], other[1]["error"]["code"]) == (409, "idempotency_key_reused")
    assert click[1]["refundId"] == double_click[1]["refundId"]
    assert len(provider_refunds(stack, yookassa_id)) == 2
    assert payment_of(payment_id).refunded_amount == 15000


def test_the_refund_notification_after_the_answer_is_a_no_op(stack: Stack) -> None:
    payment_id, _ = paid_order(stack)
    _, accepted = refund(stack, payment_id, 40000)

    outcomes = [notify(stack, "refund.succeeded", accepted["refundId"])[1]["outcome"] for _ in range(3)]

    assert outcomes == ["duplicate"] * 3
    payment = payment_of(payment_id)
    assert (payment.refunded_amount, payment.refund_reserved, payment.status) == (40000, 0, "paid")


def test_only_paid_payments_can_be_refunded(stack: Stack) -> None:
    pending_id, _ = order_payment(stack)
    status, body = refund(stack, pending_id)
    assert (status, body["error"]["code"]) == (409, "payment_not_refundable")
    assert refund(stack, "no-such-payment")[0] == 404


def test_a_subscription_payment_refunds_too(stack: Stack) -> None:
    payment_id, yookassa_id = subscription_payment(stack)
    succeed(stack, yookassa_id)
    notify(stack, "payment.succeeded", yookassa_id)

    status, accepted = refund(stack, payment_id)

    assert (status, accepted["paymentStatus"], accepted["refundedAmount"]) == (200, "refunded", 99000)


@pytest.mark.parametrize(
    ("sub", "scopes", "expected"),
    [("ops", (), 403), (None, ("payments/admin",), 401)],
)
def test_refunds_need_the_admin_scope(
    stack: Stack, sub: str | None, scopes: tuple[str, ...], expected: int
) -> None:
    payment_id, _ = paid_order(stack)
    status, _ = stack.call(
        "RefundPaymentFunction", path_params={"paymentId": payment_id}, body={}, sub=sub, scopes=scopes
    )
    assert status == expected
    assert payment_of(payment_id).refunded_amount == 0


@pytest.mark.parametrize("body", [{"amount": 0}, {"amount": -5}, {"amount": 1.5}, {"amount": "100"}, {"x": 1}])
def test_a_bad_amount_is_422(stack: Stack, body: dict[str, Any]) -> None:
    payment_id, _ = paid_order(stack)
    status, answer = stack.call(
        "RefundPaymentFunction",
        path_params={"paymentId": payment_id},
        body=body,
        sub="ops",
        scopes=("payments/admin",),
    )
    assert (status, answer["error"]["code"]) == (422, "validation_error")


def test_an_unknown_outcome_keeps_the_amount_held_and_the_retry_converges(stack: Stack) -> None:
    payment_id, yookassa_id = paid_order(stack)
    stack.sandbox_post("/sandbox/faults", {"route": "POST /v3/refunds", "fault": "500_applied", "count": 100})

    with environment(YOOKASSA_BUDGET_SECONDS="1"):
        status, body = refund(stack, payment_id, 70000, key="unknown-outcome")
        assert (status, body["error"]["code"]) == (504, "provider_timeout")
        # the 70 000 are held while the outcome is unknown: no second refund may take them
        assert payment_of(payment_id).refund_reserved == 70000
        assert refund(stack, payment_id, 40000, key="another")[0] == 409

    requests.delete(f"{stack.sandbox.base_url}/sandbox/faults", timeout=5).raise_for_status()
    status, accepted = refund(stack, payment_id, 70000, key="unknown-outcome")

    assert status == 200, accepted
    assert len(provider_refunds(stack, yookassa_id)) == 1  # the retry reached the refund made by the 500
    payment = payment_of(payment_id)
    assert (payment.refunded_amount, payment.refund_reserved) == (70000, 0)


def test_a_refusal_by_yookassa_releases_the_held_amount(stack: Stack) -> None:
    payment_id, yookassa_id = paid_order(stack)
    # refunded in YooKassa's dashboard, and that notification was lost: YooKassa has less left than we think
    provider_post(
        stack, "/refunds", {"payment_id": yookassa_id, "amount": {"value": "900.00", "currency": "RUB"}}
    )

    status, body = refund(stack, payment_id, 50000, key="too-late")

    assert (status, body["error"]["code"]) == (502, "provider_error")
    payment = payment_of(payment_id)
    assert (payment.refunded_amount, payment.refund_reserved) == (0, 0)
    # the refusal is the answer to this key from now on; a new key may try what is really left
    assert refund(stack, payment_id, 50000, key="too-late")[0] == 502
    assert refund(stack, payment_id, 10000, key="what-is-left")[0] == 200


def lost_answer(stack: Stack, payment_id: str, amount: int, key: str) -> None:
    """YooKassa makes the refund but answers 500 until our budget runs out: the admin gets a 504."""
    stack.sandbox_post("/sandbox/faults", {"route": "POST /v3/refunds", "fault": "500_applied", "count": 100})
    with environment(YOOKASSA_BUDGET_SECONDS="1"):
        status, body = refund(stack, payment_id, amount, key=key)
    requests.delete(f"{stack.sandbox.base_url}/sandbox/faults", timeout=5).raise_for_status()
    assert (status, body["error"]["code"]) == (504, "provider_timeout")
    assert payment_of(payment_id).refund_reserved == amount


def test_a_refund_whose_answer_was_lost_is_settled_by_its_notification(stack: Stack) -> None:
    payment_id, yookassa_id = paid_order(stack)
    lost_answer(stack, payment_id, 70000, key="lost-answer")
    [provider] = provider_refunds(stack, yookassa_id)
    assert provider["metadata"]["paymentId"] == payment_id and provider["metadata"]["refundRequestId"]

    assert notify(stack, "refund.succeeded", provider["id"]) == (200, {"outcome": "applied"})

    # the hold became the refund: nothing held, nothing counted twice, and the rest is refundable
    payment = payment_of(payment_id)
    assert (payment.refunded_amount, payment.refund_reserved) == (70000, 0)
    assert notify(stack, "refund.succeeded", provider["id"]) == (200, {"outcome": "duplicate"})
    again = refund(stack, payment_id, 70000, key="lost-answer")  # the admin retries: the same refund
    assert (again[0], again[1]["refundId"], again[1]["refundedAmount"]) == (200, provider["id"], 70000)
    rest = refund(stack, payment_id, 30000, key="the-rest")
    assert (rest[0], rest[1]["refundedAmount"], rest[1]["paymentStatus"]) == (200, 100000, "refunded")
    assert len(provider_refunds(stack, yookassa_id)) == 2
    payment = payment_of(payment_id)
    assert (payment.refunded_amount, payment.refund_reserved, payment.status) == (100000, 0, "refunded")


def test_the_notification_before_the_create_answer_is_recorded_settles_the_hold_once(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """YooKassa notifies (and we apply it) while our create's answer is still on its way to us."""
    payment_id, yookassa_id = paid_order(stack)
    client = runtime.yookassa().with_budget(20)
    create = client.create_refund
    notified: list[tuple[int, Any]] = []

    def create_then_notify(payment: Payment, request: RefundRequest) -> ProviderRefund:
        created = create(payment, request)
        notified.append(notify(stack, "refund.succeeded", created.id))
        return created

    monkeypatch.setattr(client, "create_refund", create_then_notify)
    accepted = refund_payment(runtime.store(), client, payment_id, 70000, "webhook-first", requested_by="ops")

    assert notified == [(200, {"outcome": "applied"})]
    assert (accepted.amount, accepted.refunded_amount, accepted.payment_status) == (70000, 70000, "paid")
    payment = payment_of(payment_id)
    assert (payment.refunded_amount, payment.refund_reserved) == (70000, 0)
    assert refund(stack, payment_id, 30000, key="the-rest")[0] == 200
    assert len(provider_refunds(stack, yookassa_id)) == 2
    assert payment_of(payment_id).refunded_amount == 100000


def test_a_refund_yookassa_canceled_gives_its_hold_back(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    payment_id, yookassa_id = paid_order(stack)
    lost_answer(stack, payment_id, 70000, key="canceled-later")
    [provider] = provider_refunds(stack, yookassa_id)
    # The sandbox's refunds always succeed; here YooKassa is made to say this one was canceled.
    get_refund = YooKassaClient.get_refund

    def canceled(self: YooKassaClient, refund_id: str) -> ProviderRefund:
        return replace(get_refund(self, refund_id), status=ProviderRefundStatus.CANCELED)

    monkeypatch.setattr(YooKassaClient, "get_refund", canceled)

    assert notify(stack, "refund.succeeded", provider["id"]) == (200, {"outcome": "applied"})
    assert notify(stack, "refund.succeeded", provider["id"]) == (200, {"outcome": "duplicate"})

    payment = payment_of(payment_id)
    assert (payment.refunded_amount, payment.refund_reserved) == (0, 0)
    assert refund(stack, payment_id, 70000, key="canceled-later")[0] == 502  # that request's answer now
