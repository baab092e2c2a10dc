"""The ``Idempotency-Key`` of the create routes is claimed atomically before the request runs.

Of concurrent requests with one key exactly one runs; the others get 409 (another body:
``idempotency_key_reused``; the same body while it runs: ``idempotency_key_in_use``). A request that
fails gives the key back; one that answered is replayed. Threads call ``run_idempotently`` on the real
store (DynamoDB on moto's server): Powertools keeps the current event process-wide, so handlers are
only called from the test's own thread.
"""

import hashlib
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import BaseModel

from payments import runtime
from payments.domain import IDEMPOTENCY_IN_PROGRESS, Caller, IdempotencyRecord
from payments.errors import IdempotencyKeyInUse, IdempotencyKeyReused, PaymentsError, ProviderTimeout
from payments.schemas import CreateOrderPaymentRequest
from payments.services.idempotency import run_idempotently
from tests.conftest import Stack

ROUTE = "orders/payment/create"
ALICE = Caller("alice")


class Answer(BaseModel):
    run: str


def run(key: str, request: CreateOrderPaymentRequest, operation: Callable[[], Answer]) -> Answer:
    return run_idempotently(runtime.store(), runtime.settings(), ALICE, key, ROUTE, request, operation, Answer)


def order(amount: int) -> CreateOrderPaymentRequest:
    return CreateOrderPaymentRequest(orderId="order-1", amount=amount)


def concurrently(*requests: CreateOrderPaymentRequest) -> tuple[list[str], list[Answer | PaymentsError]]:
    """Each request in its own thread, all at once, with the same key. An operation that runs waits
    until every other request has had its answer, so they truly overlap."""
    barrier = threading.Barrier(len(requests))
    others_done = threading.Semaphore(0)
    ran: list[str] = []
    results: list[Answer | PaymentsError] = []

    def request_in_thread(n: int, request: CreateOrderPaymentRequest) -> None:
        def operation() -> Answer:
            ran.append(f"run-{n}")
            for _ in range(len(requests) - 1):
                assert others_done.acquire(timeout=10), "the other requests never answered"
            return Answer(run=f"run-{n}")

        barrier.wait()
        try:
            results.append(run("same-key", request, operation))
        except PaymentsError as refused:
            results.append(refused)
            others_done.release()

    threads = [threading.Thread(target=request_in_thread, args=item) for item in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return ran, results


def test_concurrent_requests_with_one_key_and_different_bodies_run_once(stack: Stack) -> None:
    ran, results = concurrently(order(100000), order(200000))

    assert len(ran) == 1, ran
    assert sorted(type(r).__name__ for r in results) == ["Answer", "IdempotencyKeyReused"], results
    [refused] = [r for r in results if isinstance(r, PaymentsError)]
    assert (refused.status, refused.code) == (409, "idempotency_key_reused")


def test_concurrent_requests_with_one_key_and_the_same_body_run_once(stack: Stack) -> None:
    ran, results = concurrently(*[order(100000)] * 4)

    assert len(ran) == 1, ran
    assert sorted(type(r).__name__ for r in results) == ["Answer"] + ["IdempotencyKeyInUse"] * 3, results
    refused = next(r for r in results if isinstance(r, IdempotencyKeyInUse))
    assert (refused.status, refused.code) == (409, "idempotency_key_in_use")
    # once answered, the same request is replayed, never run again
    assert run("same-key", order(100000), lambda: Answer(run="again")).run == ran[0]


def test_an_answered_key_is_replayed_and_refuses_another_body(stack: Stack) -> None:
    first = run("k-1", order(100000), lambda: Answer(run="first"))

    assert run("k-1", order(100000), lambda: Answer(run="second")) == first
    with pytest.raises(IdempotencyKeyReused):
        run("k-1", order(200000), lambda: Answer(run="other"))
    assert run("k-2", order(200000), lambda: Answer(run="another key")).run == "another key"


def test_a_failed_request_gives_its_key_back(stack: Stack) -> None:
    def times_out() -> Answer:
        raise ProviderTimeout()

    with pytest.raises(ProviderTimeout):
        run("k-fails", order(100000), times_out)

    assert runtime.store().get_idempotency_record("alice", "k-fails", datetime.now(UTC)) is None
    assert run("k-fails", order(100000), lambda: Answer(run="retried")).run == "retried"
    assert run("k-fails", order(100000), lambda: Answer(run="not again")).run == "retried"


def test_the_key_of_a_request_that_died_is_free_after_its_lease(stack: Stack) -> None:
    """A Lambda that timed out never releases its claim: the claim's short lease does."""
    now = datetime.now(UTC)
    lapsed = IdempotencyRecord("some hash", IDEMPOTENCY_IN_PROGRESS, "", now - timedelta(seconds=1))
    assert runtime.store().claim_idempotency_key("alice", "k-died", lapsed, now)

    assert run("k-died", order(100000), lambda: Answer(run="after the lease")).run == "after the lease"


def test_the_route_answers_409_in_use_while_the_first_request_runs(stack: Stack) -> None:
    stack.put_order("order-1", "alice", 150000)
    # The body as every release so far has hashed it: camelCase, absent optional fields left out.
    request_hash = hashlib.sha256(f'{ROUTE}\n{{"orderId":"order-1","amount":150000}}'.encode()).hexdigest()
    # the first request with this key is still running (in another Lambda environment)
    now = datetime.now(UTC)
    claim = IdempotencyRecord(request_hash, IDEMPOTENCY_IN_PROGRESS, "", now + timedelta(minutes=2))
    assert runtime.store().claim_idempotency_key("alice", "k-route", claim, now)

    status, answer = stack.create_order_payment("order-1", 150000, headers={"Idempotency-Key": "k-route"})
    other = stack.create_order_payment("order-1", 150000, headers={"Idempotency-Key": "k-route-2"})

    assert (status, answer["error"]["code"]) == (409, "idempotency_key_in_use")
    assert other[0] == 200  # nothing else is blocked
    assert stack.provider_payments() and len(stack.provider_payments()) == 1
