"""API fault injection: every kind, counts, route matching, and what each does to state."""

from __future__ import annotations

import time
import uuid

import pytest
import requests

from local.yookassa_sandbox import Sandbox
from tests.sandbox.support import Api, assert_error, payment_body, wait_until


def add(api: Api, route: str, fault: str, **extra: object) -> dict:
    response = api.helper("POST", "/sandbox/faults", {"route": route, "fault": fault, **extra})
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_500_applied_creates_and_the_same_key_returns_it(api: Api) -> None:
    add(api, "POST /v3/payments", "500_applied")
    key = str(uuid.uuid4())
    failed = api.post("/payments", payment_body(), key=key)
    assert_error(failed, 500, "internal_server_error")
    [created] = api.all_payments()
    retried = api.post("/payments", payment_body(), key=key)
    assert retried.status_code == 200
    assert retried.json()["id"] == created["id"]
    assert len(api.all_payments()) == 1


def test_500_applied_on_capture(api: Api) -> None:
    payment = api.create(capture=False)
    api.succeed(payment["id"])
    add(api, "POST /v3/payments/{payment_id}/capture", "500_applied")
    key = str(uuid.uuid4())
    assert api.post(f"/payments/{payment['id']}/capture", {}, key=key).status_code == 500
    assert api.payment(payment["id"])["status"] == "succeeded"
    assert api.post(f"/payments/{payment['id']}/capture", {}, key=key).json()["status"] == "succeeded"


def test_500_applies_nothing(api: Api) -> None:
    add(api, "POST /v3/payments", "500")
    key = str(uuid.uuid4())
    assert_error(api.post("/payments", payment_body(), key=key), 500, "internal_server_error")
    assert api.all_payments() == []
    assert api.post("/payments", payment_body(), key=key).status_code == 200
    assert len(api.all_payments()) == 1


def test_429_applies_nothing(api: Api) -> None:
    add(api, "POST /v3/refunds", "429")
    payment = api.create()
    api.succeed(payment["id"])
    refund = {"payment_id": payment["id"], "amount": {"value": "1.00", "currency": "RUB"}}
    assert_error(api.post("/refunds", refund), 429, "too_many_requests")
    assert api.payment(payment["id"])["refunded_amount"]["value"] == "0.00"
    assert api.post("/refunds", refund).status_code == 200


def test_202_legacy_processing(api: Api) -> None:
    add(api, "POST /v3/payments", "202")
    response = api.post("/payments", payment_body())
    assert response.status_code == 202
    assert response.json() == {"type": "processing", "description": "Request accepted", "retry_after": 1800}
    assert api.all_payments() == []


def test_delay_then_normal(api: Api) -> None:
    """A one-time delay holds the first call at least that long, and is used up by it."""
    add(api, "GET /v3/me", "delay", delayMs=300)
    started = time.monotonic()
    assert api.get("/me").status_code == 200
    assert time.monotonic() - started >= 0.3
    assert api.helper("GET", "/sandbox/faults").json() == {"items": []}
    assert api.get("/me").status_code == 200


def test_delay_exposes_client_timeouts(api: Api, sandbox: Sandbox) -> None:
    add(api, "POST /v3/payments", "delay", delayMs=600)
    key = str(uuid.uuid4())
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.post(
            f"{sandbox.api_url}/payments",
            json=payment_body(),
            headers={"Idempotence-Key": key},
            auth=api.auth,
            timeout=0.2,
        )
    # the sandbox finishes the request after the client gave up
    [created] = wait_until(api.all_payments)
    assert api.post("/payments", payment_body(), key=key).json()["id"] == created["id"]


def test_drop_connection(api: Api, sandbox: Sandbox) -> None:
    add(api, "POST /v3/payments", "drop_connection")
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.post(
            f"{sandbox.api_url}/payments",
            json=payment_body(),
            headers={"Idempotence-Key": "k"},
            auth=api.auth,
            timeout=5,
        )
    assert api.all_payments() == []
    assert api.post("/payments", payment_body(), key="k").status_code == 200


def test_drop_connection_on_a_keep_alive_session(api: Api) -> None:
    api.create()
    add(api, "GET /v3/payments", "drop_connection")
    with pytest.raises(requests.exceptions.ConnectionError):
        api.get("/payments")
    assert len(api.get("/payments").json()["items"]) == 1


def test_count_and_order(api: Api) -> None:
    add(api, "GET /v3/me", "429", count=2)
    add(api, "GET /v3/me", "500")
    listed = api.helper("GET", "/sandbox/faults").json()["items"]
    assert [(f["fault"], f["count"]) for f in listed] == [("429", 2), ("500", 1)]
    assert [api.get("/me").status_code for _ in range(4)] == [429, 429, 500, 200]
    assert api.helper("GET", "/sandbox/faults").json() == {"items": []}


def test_faults_are_per_route(api: Api) -> None:
    payment = api.create()
    add(api, "GET /v3/payments/{id}", "500")
    assert api.get("/payments").status_code == 200
    assert api.get("/me").status_code == 200
    assert api.get(f"/payments/{payment['id']}").status_code == 500
    assert api.get(f"/payments/{payment['id']}").status_code == 200


def test_unauthenticated_requests_do_not_consume_faults(api: Api, sandbox: Sandbox) -> None:
    add(api, "GET /v3/me", "500")
    assert requests.get(f"{sandbox.api_url}/me", timeout=5).status_code == 401
    assert api.get("/me").status_code == 500


def test_delete_clears(api: Api) -> None:
    add(api, "GET /v3/me", "500", count=10)
    assert api.helper("DELETE", "/sandbox/faults").json() == {"items": []}
    assert api.get("/me").status_code == 200


@pytest.mark.parametrize(
    "route", ["POST /v3/payments/{id}/refund", "GET /v3/nothing", "payments", "", "PATCH /v3/payments"]
)
def test_unknown_routes_are_rejected(api: Api, route: str) -> None:
    response = api.helper("POST", "/sandbox/faults", {"route": route, "fault": "500"})
    assert_error(response, 400, "invalid_request", "route")


@pytest.mark.parametrize(
    "route", ["post /v3/payments", "POST /payments", "POST /v3/payments/", "GET /v3/payments/{paymentId}"]
)
def test_route_spellings_are_normalized(api: Api, route: str) -> None:
    assert add(api, route, "500")["route"].startswith(("POST /v3/payments", "GET /v3/payments/{id}"))


@pytest.mark.parametrize(
    "body",
    [
        {"route": "GET /v3/me", "fault": "drop"},
        {"route": "GET /v3/me", "fault": "500", "count": 0},
        {"route": "GET /v3/me", "fault": "500", "count": "2"},
        {"route": "GET /v3/me", "fault": "delay", "delayMs": 0},
    ],
)
def test_invalid_faults(api: Api, body: dict) -> None:
    assert_error(api.helper("POST", "/sandbox/faults", body), 400, "invalid_request")
