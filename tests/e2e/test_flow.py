"""The payment flow end to end against `python -m local dev`, over HTTP only."""

import os
import socket
import subprocess
import uuid
from pathlib import Path

import pytest
import requests

from local.template import ROOT
from tests.e2e.conftest import START_TIMEOUT, Client, DevStack, yookassa_id

pytestmark = pytest.mark.e2e


def test_the_stack_is_ready_within_30_seconds_and_healthy(dev_stack: DevStack, client: Client) -> None:
    assert dev_stack.startup_seconds < START_TIMEOUT

    health = client.call("GET", "/health", user=None)

    assert health.status_code == 200, health.text
    assert health.json()["status"] == "ok"


def test_the_demo_data_is_seeded(client: Client) -> None:
    alice, bob = client.demo_data("alice"), client.demo_data("bob")

    alice_orders = {o["orderId"]: o["amount"] for o in alice["orders"]}
    assert alice_orders["test-uuid"] == 100, "the product spec's curl example needs it"
    assert len(alice_orders) >= 2 and bob["orders"]
    assert not set(alice_orders) & {o["orderId"] for o in bob["orders"]}
    plans = {p["planId"]: p["prices"] for p in alice["plans"]}
    assert plans["basic"] == {"monthly": 100_000, "yearly": 1_000_000}
    assert "premium" in plans


def test_an_order_payment_turns_paid_after_the_customer_pays(client: Client) -> None:
    order_id = client.put_order("alice", 150_000)

    created = client.create_order_payment(order_id, 150_000)

    assert created["status"] == "pending"
    assert created["paymentId"] and created["paymentUrl"]
    client.sandbox(f"/sandbox/payments/{yookassa_id(created['paymentUrl'])}/succeed", {})
    payment = client.wait_for_status(created["paymentId"], {"paid", "failed", "canceled"})
    assert payment["status"] == "paid"
    assert payment["type"] == "order"
    assert payment["orderId"] == order_id
    assert payment["amount"] == 150_000
    by_kind = client.call("GET", f"/orders/payment/status/{created['paymentId']}")
    assert (by_kind.status_code, by_kind.json()["status"]) == (200, "paid")
    orders = {o["orderId"]: o for o in client.demo_data("alice")["orders"]}
    assert orders[order_id]["status"] == "paid"


def test_a_subscription_payment_succeeds_and_activates_the_subscription(client: Client) -> None:
    subscription_id = str(uuid.uuid4())
    body = {
        "subscriptionId": subscription_id,
        "subscriptionType": "monthly",
        "planId": "basic",
        "amount": 100_000,
    }

    response = client.call("POST", "/subscriptions/payment/create", json=body)

    assert response.status_code in (200, 201), response.text
    created = response.json()
    assert created["status"] == "pending"
    client.sandbox(f"/sandbox/payments/{yookassa_id(created['paymentUrl'])}/succeed", {})
    payment = client.wait_for_status(created["paymentId"], {"success", "failed"})
    assert payment["status"] == "success"
    assert payment["type"] == "subscription"
    assert payment["subscriptionId"] == subscription_id
    by_kind = client.call("GET", f"/subscriptions/payment/status/{created['paymentId']}")
    assert (by_kind.status_code, by_kind.json()["status"]) == (200, "success")
    subscriptions = {s["subscriptionId"]: s for s in client.demo_data("alice")["subscriptions"]}
    assert subscriptions[subscription_id]["status"] == "active"
    assert subscriptions[subscription_id]["endDate"]


def test_a_declined_card_ends_failed(client: Client) -> None:
    order_id = client.put_order("alice", 42_000)
    created = client.create_order_payment(order_id, 42_000)

    client.sandbox(
        f"/sandbox/payments/{yookassa_id(created['paymentUrl'])}/cancel",
        {"reason": "insufficient_funds", "party": "payment_network"},
    )

    payment = client.wait_for_status(created["paymentId"], {"failed", "canceled", "paid"})
    assert payment["status"] == "failed"
    assert payment["cancellationReason"] == "insufficient_funds"


def test_bob_cannot_see_alices_payment(client: Client) -> None:
    order_id = client.put_order("alice", 10_000)
    created = client.create_order_payment(order_id, 10_000)

    for path in (f"/payment-status/{created['paymentId']}", f"/orders/payment/status/{created['paymentId']}"):
        response = client.call("GET", path, "bob")
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"
    assert client.call("GET", f"/payment-status/{created['paymentId']}", "alice").status_code == 200


def test_calls_without_a_valid_token_never_reach_a_handler(client: Client) -> None:
    missing = client.call("GET", "/payment-status/anything", user=None)
    garbled = client.call(
        "GET", "/payment-status/anything", user=None, headers={"Authorization": "Bearer x.y.z"}
    )
    not_admin = client.call("PUT", "/admin/plans/basic", "alice", json={"name": "x", "prices": {}})

    assert (missing.status_code, missing.json()) == (401, {"message": "Unauthorized"})
    assert (garbled.status_code, garbled.json()) == (401, {"message": "Unauthorized"})
    assert (not_admin.status_code, not_admin.json()) == (403, {"message": "Forbidden"})


def test_the_readme_curl_examples_work_as_printed(dev_stack: DevStack, tmp_path: Path) -> None:
    """README: `TOKEN=$(make -s token SUB=alice)` and the product spec's own create curl."""
    port = dev_stack.ports["API_PORT"]
    script = f"""
set -euo pipefail
TOKEN=$(make -s token SUB=alice)
curl -sS -X POST http://localhost:{port}/orders/payment/create \\
  -H "Content-Type: application/json" \\
  -H "Authorization: Bearer $TOKEN" \\
  -d '{{"orderId":"test-uuid","amount":100}}' > "$OUT/created.json"
PAYMENT_ID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["paymentId"])' "$OUT/created.json")
curl -sS -H "Authorization: Bearer $TOKEN" http://localhost:{port}/payment-status/$PAYMENT_ID
"""
    env = {**os.environ, "API_PORT": str(port), "OUT": str(tmp_path)}

    done = subprocess.run(
        ["bash", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )

    assert done.returncode == 0, done.stderr
    created = (tmp_path / "created.json").read_text()
    assert '"paymentUrl"' in created and '"status":"pending"' in created.replace(" ", ""), created
    assert '"status":"pending"' in done.stdout.replace(" ", ""), done.stdout


def test_sigterm_stops_everything_with_exit_0() -> None:
    stack = DevStack.start()
    requests.get(f"{stack.api}/health", timeout=10)

    code = stack.stop()

    assert code == 0, stack.output()[-3000:]
    assert "stopped" in stack.output()
    for name, port in stack.ports.items():
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0, f"{name} {port} still answers"
