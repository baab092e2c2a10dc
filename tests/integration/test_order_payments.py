"""Creating and polling order payments: handlers with real events, moto DynamoDB, the sandbox over HTTP."""

import os
import threading
import time
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from payments import runtime
from payments.domain import Caller, PaymentStatus
from payments.errors import PaymentsError
from payments.schemas import CreateOrderPaymentRequest, PaymentCreated
from payments.services.payments import create_order_payment
from tests.conftest import Stack
from tests.integration.support import notify, payments_of_user, succeed, yookassa_id_of


def store():  # the same adapter the handlers use, built from the same settings
    return runtime.store()


def _yookassa_id(payment_url: str) -> str:
    return parse_qs(urlparse(payment_url).query)["orderId"][0]


def test_creating_an_order_payment_returns_the_checkout_url_and_a_pending_payment(stack: Stack) -> None:
    stack.put_order("order-1", "alice", 150000)

    status, created = stack.create_order_payment("order-1", 150000)

    assert status == 200, created
    assert set(created) == {"paymentUrl", "paymentId", "status"}
    assert created["status"] == "pending"
    assert created["paymentUrl"].startswith(stack.sandbox.base_url + "/checkout/")
    [provider] = stack.provider_payments()
    assert provider["id"] == _yookassa_id(created["paymentUrl"])
    assert provider["amount"] == {"value": "1500.00", "currency": "RUB"}
    assert provider["metadata"]["paymentId"] == created["paymentId"]
    assert provider["metadata"]["userId"] == "alice"
    assert provider["metadata"]["orderId"] == "order-1"
    assert provider["confirmation"]["return_url"] == (
        f"http://127.0.0.1:3000/payment/result?paymentId={created['paymentId']}&type=order"
    )
    assert len(provider["description"]) <= 128


def test_the_status_routes_show_the_owner_their_payment(stack: Stack) -> None:
    stack.put_order("order-1", "alice", 150000)
    _, created = stack.create_order_payment("order-1", 150000)

    for function in ("PaymentStatusFunction", "OrderPaymentStatusFunction"):
        status, view = stack.status(created["paymentId"], function=function)
        assert status == 200, view
        assert view["paymentId"] == created["paymentId"]
        assert view["type"] == "order"
        assert view["status"] == "pending"
        assert view["amount"] == 150000
        assert view["refundedAmount"] == 0
        assert view["orderId"] == "order-1"
        assert "createdAt" in view
        assert "paidAt" not in view


def test_nobody_else_sees_a_payment_and_the_other_type_route_denies_it(stack: Stack) -> None:
    stack.put_order("order-1", "alice", 150000)
    _, created = stack.create_order_payment("order-1", 150000)

    assert stack.status(created["paymentId"], sub="bob")[0] == 404
    status, body = stack.status(created["paymentId"], function="SubscriptionPaymentStatusFunction")
    assert status == 404
    assert body == {"error": {"code": "not_found", "message": "Payment not found"}}
    assert stack.status("no-such-payment")[0] == 404


def test_paying_on_the_checkout_settles_the_payment_through_the_poll(stack: Stack) -> None:
    """The sandbox takes the money; the poll shows it once YooKassa's word reaches us."""
    stack.put_order("order-1", "alice", 150000)
    _, created = stack.create_order_payment("order-1", 150000)
    stack.sandbox_post(f"/sandbox/payments/{_yookassa_id(created['paymentUrl'])}/succeed")
    provider = stack.provider_payments()[0]
    assert provider["status"] == "succeeded"


def test_a_second_create_returns_the_same_pending_payment(stack: Stack) -> None:
    stack.put_order("order-1", "alice", 150000)
    first = stack.create_order_payment("order-1", 150000)[1]
    second = stack.create_order_payment("order-1", 150000)[1]
    assert first == second
    assert len(stack.provider_payments()) == 1


def test_twenty_concurrent_creates_make_exactly_one_yookassa_payment(stack: Stack) -> None:
    """Threads drive the service itself: one process's handlers share Powertools' current event,
    whereas every Lambda invocation has its own; the store and YooKassa are the real ones."""
    stack.put_order("order-1", "alice", 150000)
    request = CreateOrderPaymentRequest(orderId="order-1", amount=150000)
    caller = Caller("alice")
    results: list[object] = []
    barrier = threading.Barrier(20)

    def create() -> None:
        barrier.wait()
        try:
            results.append(
                create_order_payment(runtime.store(), runtime.yookassa(), runtime.settings(), caller, request)
            )
        except PaymentsError as error:
            results.append(error)

    threads = [threading.Thread(target=create) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert all(isinstance(result, PaymentCreated) for result in results), results
    assert len({result.payment_id for result in results if isinstance(result, PaymentCreated)}) == 1
    assert len({result.payment_url for result in results if isinstance(result, PaymentCreated)}) == 1
    assert len(stack.provider_payments()) == 1
    assert stack.create_order_payment("order-1", 150000)[1]["paymentId"] == results[0].payment_id  # type: ignore[attr-defined]


def test_the_amount_must_be_the_orders_price(stack: Stack) -> None:
    stack.put_order("order-1", "alice", 150000)
    status, body = stack.create_order_payment("order-1", 149999)
    assert status == 422
    assert body["error"]["code"] == "amount_mismatch"
    assert stack.provider_payments() == []


def test_someone_elses_order_is_not_found(stack: Stack) -> None:
    stack.put_order("order-1", "alice", 150000)
    status, body = stack.create_order_payment("order-1", 150000, sub="bob")
    assert (status, body["error"]["code"]) == (404, "not_found")
    assert stack.create_order_payment("no-such-order", 150000)[0] == 404
    assert stack.provider_payments() == []


def test_a_refused_payment_is_failed_and_the_next_create_starts_afresh(stack: Stack) -> None:
    stack.put_order("order-1", "alice", 150000)
    os.environ["YOOKASSA_SECRET_KEY"] = "wrong-secret"  # YooKassa answers 401: a definite "no"
    runtime.reset()
    try:
        status, body = stack.create_order_payment("order-1", 150000)
    finally:
        os.environ["YOOKASSA_SECRET_KEY"] = stack.sandbox.secret_key
        runtime.reset()
    assert (status, body["error"]["code"]) == (502, "provider_error")
    refused = payments_of_user("alice")
    assert [(p.status, p.cancellation_reason) for p in refused] == [
        (PaymentStatus.FAILED, "invalid_credentials")
    ]

    status, created = stack.create_order_payment("order-1", 150000)
    assert status == 200, created
    assert created["paymentId"] != refused[0].payment_id
    assert len(stack.provider_payments()) == 1


@pytest.mark.parametrize(
    "fault",
    [
        {"fault": "500_applied", "count": 2},
        {"fault": "500", "count": 2},
        {"fault": "202", "count": 2},
        {"fault": "429", "count": 2},
        {"fault": "drop_connection", "count": 2},
    ],
)
def test_transient_provider_failures_are_retried_with_the_same_key(stack: Stack, fault: dict) -> None:
    stack.put_order("order-1", "alice", 150000)
    stack.sandbox_post("/sandbox/faults", {"route": "POST /v3/payments", **fault})

    status, created = stack.create_order_payment("order-1", 150000)

    assert status == 200, created
    [provider] = stack.provider_payments()
    assert provider["metadata"]["paymentId"] == created["paymentId"]


def test_an_unknown_outcome_is_504_and_the_next_create_converges_on_the_same_payment(stack: Stack) -> None:
    stack.put_order("order-1", "alice", 150000)
    stack.sandbox_post("/sandbox/faults", {"route": "POST /v3/payments", "fault": "500_applied", "count": 50})

    status, body = stack.create_order_payment("order-1", 150000)

    assert (status, body["error"]["code"]) == (504, "provider_timeout")
    requests.delete(f"{stack.sandbox.base_url}/sandbox/faults", timeout=5).raise_for_status()
    status, created = stack.create_order_payment("order-1", 150000)
    assert status == 200, created
    [provider] = stack.provider_payments()  # the 500s were applied once: the retry found that payment
    assert provider["metadata"]["paymentId"] == created["paymentId"]


def test_a_hung_provider_is_bounded_by_the_budget(stack: Stack) -> None:
    stack.put_order("order-1", "alice", 150000)
    stack.sandbox_post(
        "/sandbox/faults", {"route": "POST /v3/payments", "fault": "delay", "delayMs": 3500, "count": 50}
    )
    started = time.monotonic()
    status, body = stack.create_order_payment("order-1", 150000)
    elapsed = time.monotonic() - started
    assert (status, body["error"]["code"]) == (504, "provider_timeout")
    assert elapsed < 15  # bounded by the 6 s test budget (an unbounded client would wait 50 x 3.5 s)
    # the sandbox finishes the requests we stopped waiting for before the next test resets it
    assert stack.sandbox.wait_idle(timeout=30)


def test_an_already_paid_order_is_409(stack: Stack) -> None:
    stack.put_order("order-1", "alice", 150000)
    _, created = stack.create_order_payment("order-1", 150000)
    succeed(stack, yookassa_id_of(created["paymentUrl"]))
    assert notify(stack, "payment.succeeded", yookassa_id_of(created["paymentUrl"]))[0] == 200

    status, body = stack.create_order_payment("order-1", 150000)

    assert (status, body["error"]["code"]) == (409, "order_already_paid")
    assert stack.status(created["paymentId"])[1]["status"] == "paid"
    assert len(stack.provider_payments()) == 1


def test_idempotency_key_replays_the_response_and_refuses_another_body(stack: Stack) -> None:
    stack.put_order("order-1", "alice", 150000)
    stack.put_order("order-2", "alice", 5000)
    headers = {"Idempotency-Key": "client-key-1"}
    first = stack.create_order_payment("order-1", 150000, headers=headers)
    again = stack.create_order_payment("order-1", 150000, headers=headers)
    other = stack.create_order_payment("order-2", 5000, headers=headers)
    assert first == again
    assert other[0] == 409
    assert other[1]["error"]["code"] == "idempotency_key_reused"
    # keys are per user: bob's same key is his own
    stack.put_order("order-3", "bob", 5000)
    assert stack.create_order_payment("order-3", 5000, sub="bob", headers=headers)[0] == 200
