"""The calls the code really makes are all allowed by its function's policy.

Runs every function through its flows in-process (DynamoDB on moto's server, YooKassa the sandbox) and
records each AWS call the function makes, at the botocore level (PynamoDB and boto3 both go through
it): the operation, and for writes the item's partition key. A transaction is checked per item, as IAM
authorizes it (Put → PutItem, Update → UpdateItem, ...). Each call must be allowed by the grants read
from the translated template, ``dynamodb:LeadingKeys`` patterns included.
"""

import copy
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import botocore.client
import pytest
import requests

from local import lambda_runtime
from local.template import functions
from payments import runtime
from payments.domain.subscriptions import add_months
from tests.conftest import Stack
from tests.support import load_event
from tests.template.policies import SECRET, TABLE, allowed

YOOKASSA_IP = "185.71.76.1"
TRANSACT = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


@dataclass(frozen=True)
class Call:
    function: str
    action: str  # IAM action, e.g. dynamodb:PutItem
    resource: str  # TABLE, TABLE/index/<name>, SECRET
    leading_key: str | None = None


def _pk(key: dict[str, Any] | None) -> str | None:
    value = (key or {}).get("PK", {})
    return value.get("S") if isinstance(value, dict) else None


def _as_calls(function: str, service: str, operation: str, params: dict[str, Any]) -> list[Call]:
    if service == "secretsmanager":
        return [Call(function, f"secretsmanager:{operation}", SECRET)]
    if service != "dynamodb":
        return [Call(function, f"{service}:{operation}", "?")]
    if operation == "TransactWriteItems":
        calls = []
        for entry in params["TransactItems"]:
            [(kind, body)] = entry.items()
            calls.append(
                Call(function, f"dynamodb:{TRANSACT[kind]}", TABLE, _pk(body.get("Key") or body.get("Item")))
            )
        return calls
    resource = TABLE + (f"/index/{params['IndexName']}" if params.get("IndexName") else "")
    if operation == "Query":
        return [Call(function, "dynamodb:Query", resource, _queried_partition(params))]
    return [Call(function, f"dynamodb:{operation}", resource, _pk(params.get("Key") or params.get("Item")))]


def _queried_partition(params: dict[str, Any]) -> str | None:
    """The partition a Query reads: the value its key condition binds to ``PK`` (None on an index)."""
    if params.get("IndexName"):
        return None
    names = {alias: name for alias, name in params.get("ExpressionAttributeNames", {}).items()}
    for alias, name in names.items():
        if name == "PK":
            match = re.search(rf"{re.escape(alias)}\s*=\s*(:\w+)", params["KeyConditionExpression"])
            if match:
                value: str = params["ExpressionAttributeValues"][match.group(1)]["S"]
                return value
    raise AssertionError(f"cannot read the partition of {params}")


@pytest.fixture
def recorded(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Call]]:
    calls: list[Call] = []
    current: list[str] = []
    make_api_call = botocore.client.BaseClient._make_api_call  # type: ignore[attr-defined]
    invoke_function = lambda_runtime.invoke

    def recording_call(client: Any, operation: str, params: dict[str, Any]) -> Any:
        if current:
            service = client.meta.service_model.service_name
            calls.extend(_as_calls(current[-1], service, operation, params))
        return make_api_call(client, operation, params)

    def recording_invoke(logical_id: str, event: dict[str, Any]) -> Any:
        current.append(logical_id)
        try:
            return invoke_function(logical_id, event)
        finally:
            current.pop()

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording_call)
    monkeypatch.setattr(lambda_runtime, "invoke", recording_invoke)
    for name, value in {
        "STALE_PENDING_SECONDS": "0",  # every poll of a pending payment asks YooKassa
        "PROVIDER_REFRESH_INTERVAL_SECONDS": "0",
        "RECONCILE_AFTER_SECONDS": "0",
    }.items():
        monkeypatch.setenv(name, value)
    runtime.reset()
    yield calls
    runtime.reset()


def _admin(stack: Stack, function: str, **request: Any) -> tuple[int, Any]:
    return stack.call(function, sub="ops", scopes=("payments/admin",), **request)


def _provider_id(stack: Stack, payment_id: str) -> str:
    [found] = [p for p in stack.provider_payments() if p["metadata"].get("paymentId") == payment_id]
    return str(found["id"])


def _webhook(stack: Stack, event_name: str, kind: str, object_id: str) -> tuple[int, Any]:
    obj = requests.get(
        f"{stack.sandbox.api_url}/{kind}/{object_id}",
        auth=(stack.sandbox.shop_id, stack.sandbox.secret_key),
        timeout=10,
    ).json()
    event = copy.deepcopy(load_event("YooKassaWebhookFunction"))
    event["body"] = json.dumps({"type": "notification", "event": event_name, "object": obj})
    event["requestContext"]["http"]["sourceIp"] = YOOKASSA_IP
    event["requestContext"]["requestId"] = str(uuid.uuid4())
    result = lambda_runtime.invoke("YooKassaWebhookFunction", event)
    return result["statusCode"], json.loads(result["body"])


def _a_month_after(captured_at: str) -> str:
    """An hour before a monthly period paid at ``captured_at`` ends: its renewal is due."""
    return (add_months(datetime.fromisoformat(captured_at), 1) - timedelta(hours=1)).isoformat()


def _run_every_flow(stack: Stack) -> None:
    assert (
        _admin(
            stack,
            "PutPlanFunction",
            path_params={"planId": "basic"},
            body={"name": "Базовый", "prices": {"monthly": 99_000, "yearly": 990_000}},
        )[0]
        == 200
    )
    for order in ("pol-paid", "pol-hooked", "pol-canceled", "pol-reconciled"):
        stack.put_order(order, "alice", 150_000)
    assert stack.call("HealthFunction", sub=None)[0] == 200

    # An order paid and found by a stale poll; created with an Idempotency-Key, asked twice.
    created = []
    for order in ("pol-paid", "pol-hooked", "pol-canceled", "pol-reconciled"):
        status, body = stack.create_order_payment(order, 150_000, headers={"Idempotency-Key": f"k-{order}"})
        assert status == 200, body
        created.append(body["paymentId"])
    assert stack.create_order_payment("pol-paid", 150_000, headers={"Idempotency-Key": "k-pol-paid"})[0] == 200
    # A create that fails gives its Idempotency-Key back (both create routes).
    assert stack.create_order_payment("pol-paid", 1, headers={"Idempotency-Key": "k-wrong-amount"})[0] == 422
    status, _ = stack.call(
        "CreateSubscriptionPaymentFunction",
        body={"subscriptionId": "pol-sub", "subscriptionType": "monthly", "planId": "basic", "amount": 1},
        headers={"Idempotency-Key": "k-wrong-amount"},
    )
    assert status == 422
    paid, hooked, canceled, reconciled = created
    stack.sandbox_post(f"/sandbox/payments/{_provider_id(stack, paid)}/succeed", {"card": "5555555555554444"})
    assert stack.status(paid, function="OrderPaymentStatusFunction")[1]["status"] == "paid"
    assert stack.status(paid)[1]["status"] == "paid"
    # The cleaning was done: the paid order is completed (twice: the second changes nothing).
    if "CompleteOrderFunction" in functions():
        for _ in range(2):
            status, completed = _admin(stack, "CompleteOrderFunction", path_params={"orderId": "pol-paid"})
            assert (status, completed.get("status")) == (200, "completed"), completed

    # A subscription paid and found by a stale poll.
    status, sub = stack.call(
        "CreateSubscriptionPaymentFunction",
        body={"subscriptionId": "pol-sub", "subscriptionType": "monthly", "planId": "basic", "amount": 99_000},
    )
    assert status == 200, sub
    stack.sandbox_post(f"/sandbox/payments/{_provider_id(stack, sub['paymentId'])}/succeed", {})
    polled = stack.status(sub["paymentId"], function="SubscriptionPaymentStatusFunction")[1]
    assert polled["status"] == "success", polled

    # A subscription with automatic renewal: listed and read, renewal off and on, the hourly run charges
    # its next period to the saved card; and an order's latest payment for a result page without its id.
    status, auto = stack.call(
        "CreateSubscriptionPaymentFunction",
        body={
            "subscriptionId": "pol-auto",
            "subscriptionType": "monthly",
            "planId": "basic",
            "amount": 99_000,
            "autoRenew": True,
        },
    )
    assert status == 200, auto
    stack.sandbox_post(f"/sandbox/payments/{_provider_id(stack, auto['paymentId'])}/succeed", {})
    assert stack.status(auto["paymentId"])[1]["status"] == "success"
    if "SubscriptionsFunction" in functions():
        status, listed = stack.call("SubscriptionsFunction", route="GET /subscriptions")
        assert status == 200 and "pol-auto" in {s["subscriptionId"] for s in listed["subscriptions"]}, listed
        status, one = stack.call("SubscriptionsFunction", path_params={"subscriptionId": "pol-auto"})
        assert (status, one["autoRenew"]) == (200, True), one
    if "AutoRenewFunction" in functions():
        for action in ("cancel", "resume"):
            status, changed = stack.call(
                "AutoRenewFunction",
                route=f"POST /subscriptions/{{subscriptionId}}/{action}",
                path_params={"subscriptionId": "pol-auto"},
            )
            assert status == 200, changed
    if "RenewalFunction" in functions():
        [renewing] = [p for p in stack.provider_payments() if p["metadata"].get("subscriptionId") == "pol-auto"]
        event = {**load_event("RenewalFunction"), "time": _a_month_after(renewing["captured_at"])}
        summary = lambda_runtime.invoke("RenewalFunction", event)
        assert summary["renewed"] == 1, summary
    if "OrderPaymentFunction" in functions():
        status, latest = stack.call("OrderPaymentFunction", path_params={"orderId": "pol-paid"})
        assert (status, latest["paymentId"]) == (200, paid), latest

    # A canceled one found by a poll, one settled by its notification, one left to the reconciler.
    stack.sandbox_post(
        f"/sandbox/payments/{_provider_id(stack, canceled)}/cancel",
        {"reason": "insufficient_funds", "party": "payment_network"},
    )
    assert stack.status(canceled)[1]["status"] in {"canceled", "failed"}
    if "YooKassaWebhookFunction" in functions():
        yookassa_id = _provider_id(stack, hooked)
        stack.sandbox_post(f"/sandbox/payments/{yookassa_id}/succeed", {})
        assert _webhook(stack, "payment.succeeded", "payments", yookassa_id)[0] == 200
    if "ReconcilerFunction" in functions():
        stack.sandbox_post(f"/sandbox/payments/{_provider_id(stack, reconciled)}/succeed", {})
        lambda_runtime.invoke("ReconcilerFunction", load_event("ReconcilerFunction"))

    # Money for an order whose price changed while it was pending is refunded at once (CAPTURE_MODE=auto),
    # by whichever function learns of it: a stale poll, the notification, the reconciler.
    changed = {}
    for name in ("poll", "hook", "reconciled"):
        order, customer = f"pol-changed-{name}", f"changer-{name}"
        stack.put_order(order, customer, 150_000)
        status, body = stack.create_order_payment(order, 150_000, sub=customer)
        assert status == 200, body
        stack.put_order(order, customer, 140_000)
        changed[name] = (body["paymentId"], customer)
        stack.sandbox_post(f"/sandbox/payments/{_provider_id(stack, body['paymentId'])}/succeed", {})
    polled = stack.status(changed["poll"][0], sub=changed["poll"][1], function="OrderPaymentStatusFunction")[1]
    assert polled["status"] == "refunded", polled
    if "YooKassaWebhookFunction" in functions():
        assert (
            _webhook(stack, "payment.succeeded", "payments", _provider_id(stack, changed["hook"][0]))[0] == 200
        )
    if "ReconcilerFunction" in functions():
        lambda_runtime.invoke("ReconcilerFunction", load_event("ReconcilerFunction"))

    # A full refund of a subscription payment takes its period back (and of an order: the order).
    if "RefundPaymentFunction" in functions():
        status, whole = _admin(
            stack, "RefundPaymentFunction", path_params={"paymentId": sub["paymentId"]}, body={}
        )
        assert status == 200, whole

    # A partial refund, then its notification.
    if "RefundPaymentFunction" in functions():
        status, refund = _admin(
            stack, "RefundPaymentFunction", path_params={"paymentId": paid}, body={"amount": 50_000}
        )
        assert status == 200, refund
        if "YooKassaWebhookFunction" in functions():
            assert _webhook(stack, "refund.succeeded", "refunds", refund["refundId"])[0] == 200


def test_every_call_the_code_makes_is_allowed(recorded: list[Call], stack: Stack) -> None:
    _run_every_flow(stack)
    denied = sorted(
        {c for c in recorded if not allowed(c.function, c.action, c.resource, c.leading_key)}, key=str
    )
    observed: dict[str, set[str]] = {}
    for c in recorded:
        observed.setdefault(c.function, set()).add(
            f"{c.action.split(':')[1]} {(c.leading_key or c.resource).split('#')[0]}"
        )
    print("\nobserved per function:\n" + "\n".join(f"  {f}: {sorted(a)}" for f, a in sorted(observed.items())))
    assert not denied, "calls the template does not allow:\n" + "\n".join(map(str, denied))
    assert set(observed) == set(functions()), f"flows did not exercise {set(functions()) - set(observed)}"
