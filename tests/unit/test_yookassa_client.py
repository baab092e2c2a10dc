"""The YooKassa client's transport (payments/yookassa/client.py) against a scripted HTTP server.

A real socket on loopback, no sandbox: what goes on the wire (path, Idempotence-Key, credentials, the
body's bytes), what is retried under the same key, and how every outcome maps to our errors.
"""

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from payments.domain import (
    Payment,
    PaymentStatus,
    PaymentType,
    ProviderRefundStatus,
    ProviderStatus,
    RefundRequest,
    RefundState,
)
from payments.errors import ProviderError, ProviderNotFound, ProviderTimeout
from payments.yookassa import YooKassaClient
from payments.yookassa.wire import payment_body, refund_body

SECRET = "test_not-a-real-key"
PAYMENT = Payment(
    payment_id="pay-1",
    type=PaymentType.ORDER,
    user_id="alice",
    amount=150_000,
    status=PaymentStatus.PENDING,
    created_at=datetime(2026, 11, 27, 10, 0, tzinfo=UTC),
    description="Уборка",
    order_id="o1",
    yookassa_id="yk-1",
)
PAYMENT_OBJECT = {
    "id": "yk-1",
    "status": "pending",
    "paid": False,
    "amount": {"value": "1500.00", "currency": "RUB"},
    "confirmation": {"type": "redirect", "confirmation_url": "https://yookassa.test/checkout/yk-1"},
    "metadata": {"paymentId": "pay-1", "userId": "alice", "orderId": "o1"},
}


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Script:
    """The answers to give, in order (status, JSON body); what was received."""

    answers: list[tuple[int, Any]] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)


@pytest.fixture
def server() -> Iterator[tuple[str, Script]]:
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            script.received.append(Received(self.command, self.path, dict(self.headers.items()), body))
            status, payload = script.answers.pop(0) if script.answers else (500, {})
            raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v3", script
    finally:
        httpd.shutdown()
        httpd.server_close()


class FakeTime:
    """A clock that only moves when the client sleeps: retries are instant and deterministic."""

    def __init__(self) -> None:
        self.now = 0.0
        self.pauses: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.now += seconds


def client_for(url: str, time: FakeTime | None = None, **options: Any) -> YooKassaClient:
    time = time or FakeTime()
    return YooKassaClient(url, "shop-1", SECRET, sleep=time.sleep, clock=time.clock, **options)


def test_a_payment_is_created_with_its_body_and_its_own_key(server: tuple[str, Script]) -> None:
    url, script = server
    script.answers.append((200, PAYMENT_OBJECT))
    return_url = "http://127.0.0.1:3000/payment/result?paymentId=pay-1&type=order"

    created = client_for(url).create_payment(PAYMENT, return_url)

    [request] = script.received
    assert (request.method, request.path) == ("POST", "/v3/payments")
    assert request.headers["Idempotence-Key"] == "create-pay-1"
    assert request.headers["Authorization"].startswith("Basic ")
    assert request.body == json.dumps(payment_body(PAYMENT, return_url)).encode()
    assert (created.id, created.status, created.amount) == ("yk-1", ProviderStatus.PENDING, 150_000)
    assert created.confirmation_url == "https://yookassa.test/checkout/yk-1"


def test_a_refund_is_created_under_its_requests_key(server: tuple[str, Script]) -> None:
    url, script = server
    request = RefundRequest("pay-1", "req-1", 70_000, "hash", RefundState.RESERVED, PAYMENT.created_at)
    answer = {
        "id": "rf-1",
        "payment_id": "yk-1",
        "status": "pending",
        "amount": {"value": "700.00", "currency": "RUB"},
    }
    script.answers.append((200, answer))

    refund = client_for(url).create_refund(PAYMENT, request)

    [sent] = script.received
    assert (sent.method, sent.path, sent.headers["Idempotence-Key"]) == ("POST", "/v3/refunds", "refund-req-1")
    assert sent.body == json.dumps(refund_body(PAYMENT, request)).encode()
    assert (refund.id, refund.status, refund.amount) == ("rf-1", ProviderRefundStatus.PENDING, 70_000)


def test_an_unknown_outcome_is_asked_again_with_the_same_key(server: tuple[str, Script]) -> None:
    url, script = server
    script.answers += [(500, {}), (200, ["not", "an", "object"]), (429, {}), (200, PAYMENT_OBJECT)]
    calls: list[tuple[str, int | None]] = []
    time = FakeTime()

    client = client_for(url, time, observer=lambda operation, _, status: calls.append((operation, status)))
    client.create_payment(PAYMENT, "https://app.example/payment/result")

    assert {r.headers["Idempotence-Key"] for r in script.received} == {"create-pay-1"}
    assert len({r.body for r in script.received}) == 1
    assert [status for _, status in calls] == [500, None, 429, 200]
    assert {operation for operation, _ in calls} == {"POST /payments"}
    assert time.pauses == [0.2, 0.4, 0.8]


def test_no_definite_answer_within_the_budget_is_a_timeout(server: tuple[str, Script]) -> None:
    url, script = server  # answers 500 to everything
    time = FakeTime()

    with pytest.raises(ProviderTimeout):
        client_for(url, time, budget_seconds=3.0).get_payment("yk-1")

    assert 1 < len(script.received) < 10
    assert sum(time.pauses) < 3.0
    assert all(r.path == "/v3/payments/yk-1" for r in script.received)


@pytest.mark.parametrize(("own", "narrowed", "bound"), [(20.0, 1.0, 1.0), (1.0, 60.0, 1.0)])
def test_a_narrower_budget_bounds_the_same_client(
    server: tuple[str, Script], own: float, narrowed: float, bound: float
) -> None:
    url, _ = server  # answers 500 to everything
    time = FakeTime()

    with pytest.raises(ProviderTimeout):
        client_for(url, time, budget_seconds=own).with_budget(narrowed).get_refund("rf-1")

    assert 0 < sum(time.pauses) < bound  # never wider than the client's own


def test_refusals_are_provider_errors_with_yookassas_code(server: tuple[str, Script]) -> None:
    url, script = server
    script.answers += [(404, {"type": "error", "code": "not_found"}), (400, {"code": "invalid_request"})]
    client = client_for(url)

    with pytest.raises(ProviderNotFound):
        client.get_payment("yk-404")
    with pytest.raises(ProviderError) as refused:
        client.create_payment(PAYMENT, "https://app.example/payment/result")

    assert (refused.value.http_status, refused.value.provider_code) == (400, "invalid_request")
    assert len(script.received) == 2  # a definite "no" is never retried


def test_an_unreadable_payment_is_a_provider_error(server: tuple[str, Script]) -> None:
    url, script = server
    script.answers.append((200, {**PAYMENT_OBJECT, "status": "refunded"}))

    with pytest.raises(ProviderError):
        client_for(url).get_payment("yk-1")


def test_credentials_are_checked_with_me_and_never_shown(server: tuple[str, Script]) -> None:
    url, script = server
    script.answers += [(200, {"account_id": "shop-1"}), (401, {"code": "invalid_credentials"})]
    client = client_for(url)

    assert client.check_credentials() is True
    assert client.check_credentials() is False
    assert [r.path for r in script.received] == ["/v3/me", "/v3/me"]
    assert SECRET not in repr(client) and SECRET not in repr(client.with_budget(1.0))


# ---------------------------------------------------------------- the Idempotence-Keys, at the wire
# What a record can become between two calls for the same payment (a retry, the reconciler re-sending a
# create, a capture asked again): none of it may change the key, or YooKassa makes a second payment,
# capture or refund. The key is derived from our id alone, exactly as pinned here.
PAYMENT_CHANGES: dict[str, dict[str, Any]] = {
    "as first written": {"version": 1, "yookassa_id": None},
    "attached to YooKassa's payment": {"version": 2, "payment_url": "https://yookassa.test/checkout/yk-1"},
    "re-read by the reconciler": {
        "version": 3,
        "provider_checked_at": datetime(2026, 11, 27, 10, 20, tzinfo=UTC),
    },
    "with another YooKassa id": {"yookassa_id": "yk-2", "version": 9},
    "paid": {"status": PaymentStatus.PAID, "paid_at": datetime(2026, 11, 27, 10, 5, tzinfo=UTC), "version": 4},
    "failed": {"status": PaymentStatus.FAILED, "cancellation_reason": "expired_on_confirmation", "version": 5},
    "partly refunded, a refund in flight": {"refunded_amount": 10_000, "refund_reserved": 5_000, "version": 6},
    "two-stage": {"capture": False, "version": 7},
}
REFUND_CHANGES: dict[str, dict[str, Any]] = {
    "reserved": {},
    "accepted by YooKassa": {"state": RefundState.PENDING, "yookassa_refund_id": "rf-1"},
    "of unknown outcome": {"state": RefundState.FAILED, "failure_reason": "unknown_outcome_expired"},
    "updated": {"updated_at": datetime(2026, 11, 28, 9, 0, tzinfo=UTC), "amount": 1},
}


def keys_sent(script: Script) -> list[str]:
    return [request.headers["Idempotence-Key"] for request in script.received]


@pytest.mark.parametrize("changes", PAYMENT_CHANGES.values(), ids=PAYMENT_CHANGES.keys())
def test_a_payment_is_created_under_create_and_its_id_whatever_its_record_became(
    server: tuple[str, Script], changes: dict[str, Any]
) -> None:
    url, script = server
    script.answers += [(200, PAYMENT_OBJECT)] * 2
    client = client_for(url)

    client.create_payment(PAYMENT, "https://app.example/payment/result")
    client.create_payment(replace(PAYMENT, **changes), "https://app.example/payment/result")

    assert keys_sent(script) == ["create-pay-1", "create-pay-1"]


@pytest.mark.parametrize("changes", PAYMENT_CHANGES.values(), ids=PAYMENT_CHANGES.keys())
def test_a_held_payment_is_captured_and_canceled_under_keys_of_its_id_whatever_its_record_became(
    server: tuple[str, Script], changes: dict[str, Any]
) -> None:
    url, script = server
    script.answers += [(200, PAYMENT_OBJECT)] * 4
    client = client_for(url)
    held = replace(PAYMENT, capture=False)

    client.capture_payment(held)
    client.capture_payment(replace(held, **changes))
    client.cancel_payment(held)
    client.cancel_payment(replace(held, **changes))

    assert keys_sent(script) == ["capture-pay-1", "capture-pay-1", "cancel-pay-1", "cancel-pay-1"]


@pytest.mark.parametrize("changes", REFUND_CHANGES.values(), ids=REFUND_CHANGES.keys())
def test_a_refund_is_created_under_refund_and_its_request_id_whatever_either_record_became(
    server: tuple[str, Script], changes: dict[str, Any]
) -> None:
    url, script = server
    answer = {
        "id": "rf-1",
        "payment_id": "yk-1",
        "status": "pending",
        "amount": {"value": "1.00", "currency": "RUB"},
    }
    script.answers += [(200, answer)] * 2
    client = client_for(url)
    request = RefundRequest("pay-1", "req-1", 100, "hash", RefundState.RESERVED, PAYMENT.created_at)

    client.create_refund(PAYMENT, request)
    client.create_refund(replace(PAYMENT, refund_reserved=100, version=8), replace(request, **changes))

    assert keys_sent(script) == ["refund-req-1", "refund-req-1"]


def test_each_payment_and_each_refund_request_has_its_own_key(server: tuple[str, Script]) -> None:
    url, script = server
    refund = {
        "id": "rf-2",
        "payment_id": "yk-1",
        "status": "pending",
        "amount": {"value": "1.00", "currency": "RUB"},
    }
    script.answers += [(200, PAYMENT_OBJECT)] * 3 + [(200, refund)]
    client = client_for(url)
    other = replace(PAYMENT, payment_id="pay-2", capture=False)
    request = RefundRequest("pay-2", "req-2", 100, "hash", RefundState.RESERVED, PAYMENT.created_at)

    client.create_payment(other, "https://app.example/payment/result")
    client.capture_payment(other)
    client.cancel_payment(other)
    client.create_refund(other, request)

    assert keys_sent(script) == ["create-pay-2", "capture-pay-2", "cancel-pay-2", "refund-req-2"]


def test_reads_carry_no_idempotence_key(server: tuple[str, Script]) -> None:
    url, script = server
    refund = {
        "id": "rf-1",
        "payment_id": "yk-1",
        "status": "pending",
        "amount": {"value": "1.00", "currency": "RUB"},
    }
    script.answers += [(200, PAYMENT_OBJECT), (200, refund)]
    client = client_for(url)

    client.get_payment("yk-1")
    client.get_refund("rf-1")

    assert [("Idempotence-Key" in r.headers) for r in script.received] == [False, False]
