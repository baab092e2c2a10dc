"""Helpers for the webhook, reconciler, refund and stale-poll tests (this module holds no tests).

Notifications reach the webhook function the way a Lambda Function URL delivers them: a payload v2.0
event built from ``events/YooKassaWebhookFunction.json``, with the TCP peer in
``requestContext.http.sourceIp``. ``WebhookBridge`` does the same over real HTTP for the sandbox's own
deliveries (peer = the connecting socket's address).
"""

import base64
import copy
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import boto3
import requests
from boto3.dynamodb.conditions import Attr, Key

from local import lambda_runtime
from payments import runtime
from payments.domain import Order, Payment, Subscription
from payments.domain.subscriptions import add_months
from payments.dynamodb import DynamoStore
from tests.conftest import Stack
from tests.support import http_event, load_event

WEBHOOK = "YooKassaWebhookFunction"
YOOKASSA_IP = "185.71.76.1"
FOREIGN_IP = "203.0.113.10"


def store() -> DynamoStore:
    """The same adapter the handlers use, built from the same settings."""
    return runtime.store()


def payments_of_user(user_id: str) -> list[Payment]:
    """Every payment of ``user_id``, oldest first: a scan, which only tests may afford."""
    table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
    scan = table.scan(FilterExpression=Attr("kind").eq("payment") & Attr("userId").eq(user_id))
    payments = [payment_of(str(item["PK"]).removeprefix("PAYMENT#")) for item in scan["Items"]]
    return sorted(payments, key=lambda payment: payment.created_at)


def audit_of(object_id: str) -> list[dict[str, Any]]:
    """The webhook audit trail of one YooKassa object, as stored (camelCase attribute names)."""
    table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
    items: list[dict[str, Any]] = table.query(KeyConditionExpression=Key("PK").eq(f"WEBHOOK#{object_id}"))[
        "Items"
    ]
    return items


def payment_of(payment_id: str) -> Payment:
    found = store().get_payment(payment_id)
    assert found is not None, payment_id
    return found


def order_of(order_id: str) -> Order:
    found = store().get_order(order_id)
    assert found is not None, order_id
    return found


def subscription_of(subscription_id: str) -> Subscription:
    found = store().get_subscription(subscription_id)
    assert found is not None, subscription_id
    return found


def one_month_long(subscription: Subscription, months: int = 1) -> bool:
    assert subscription.start_date is not None and subscription.end_date is not None
    return subscription.end_date == add_months(subscription.start_date, months)


def webhook_event(
    body: Any = None,
    *,
    raw_body: str | None = None,
    source_ip: str = YOOKASSA_IP,
    headers: dict[str, str] | None = None,
    path: str = "/webhooks/yookassa",
    method: str = "POST",
    base64_encoded: bool = False,
) -> dict[str, Any]:
    event = copy.deepcopy(load_event(WEBHOOK))
    text = raw_body if raw_body is not None else json.dumps(body, ensure_ascii=False)
    event["rawPath"] = path
    event["requestContext"]["http"].update(path=path, method=method, sourceIp=source_ip)
    event["requestContext"]["requestId"] = str(uuid.uuid4())
    event["headers"]["x-forwarded-for"] = source_ip
    event["headers"].update({k.lower(): v for k, v in (headers or {}).items()})
    event["headers"]["content-length"] = str(len(text.encode()))
    event["body"] = base64.b64encode(text.encode()).decode() if base64_encoded else text
    event["isBase64Encoded"] = base64_encoded
    return event


def send(event: dict[str, Any]) -> tuple[int, Any]:
    result = lambda_runtime.invoke(WEBHOOK, event)
    body = result.get("body")
    return result["statusCode"], json.loads(body) if body else None


def notification(event: str, obj: dict[str, Any]) -> dict[str, Any]:
    return {"type": "notification", "event": event, "object": obj}


def notify(stack: Stack, event: str, object_id: str, **kw: Any) -> tuple[int, Any]:
    """Deliver ``event`` for YooKassa's object as YooKassa would: the object as the sandbox has it now."""
    kind = "refunds" if event.startswith("refund.") else "payments"
    obj = provider_get(stack, f"/{kind}/{object_id}") or {"id": object_id}
    return send(webhook_event(notification(event, obj), **kw))


def provider_get(stack: Stack, path: str) -> dict[str, Any] | None:
    response = requests.get(
        f"{stack.sandbox.api_url}{path}", auth=(stack.sandbox.shop_id, stack.sandbox.secret_key), timeout=10
    )
    if response.status_code == 404:
        return None
    response.raise_for_status()
    found: dict[str, Any] = response.json()
    return found


def provider_post(stack: Stack, path: str, body: dict[str, Any], key: str | None = None) -> dict[str, Any]:
    """Straight to the sandbox's API, as another integration (or the merchant's dashboard) would."""
    response = requests.post(
        f"{stack.sandbox.api_url}{path}",
        json=body,
        auth=(stack.sandbox.shop_id, stack.sandbox.secret_key),
        headers={"Idempotence-Key": key or str(uuid.uuid4())},
        timeout=10,
    )
    response.raise_for_status()
    created: dict[str, Any] = response.json()
    return created


def foreign_payment(stack: Stack, amount: str, metadata: dict[str, str]) -> dict[str, Any]:
    return provider_post(
        stack,
        "/payments",
        {
            "amount": {"value": amount, "currency": "RUB"},
            "capture": True,
            "confirmation": {"type": "redirect", "return_url": "https://elsewhere.example/return"},
            "description": "not created by our service",
            "metadata": metadata,
        },
    )


def provider_refunds(stack: Stack, yookassa_id: str) -> list[dict[str, Any]]:
    """YooKassa's refunds of one payment, as the sandbox keeps them."""
    response = requests.get(
        f"{stack.sandbox.api_url}/refunds",
        params={"payment_id": yookassa_id, "limit": "100"},
        auth=(stack.sandbox.shop_id, stack.sandbox.secret_key),
        timeout=10,
    )
    response.raise_for_status()
    return [r for r in response.json()["items"] if r["payment_id"] == yookassa_id]


def yookassa_id_of(payment_url: str) -> str:
    return parse_qs(urlparse(payment_url).query)["orderId"][0]


def order_payment(
    stack: Stack, order_id: str = "order-1", amount: int = 150000, sub: str = "alice"
) -> tuple[str, str]:
    """A pending order payment created through our API: (our payment id, YooKassa's id)."""
    stack.put_order(order_id, sub, amount)
    status, created = stack.create_order_payment(order_id, amount, sub=sub)
    assert status == 200, created
    return created["paymentId"], yookassa_id_of(created["paymentUrl"])


def subscription_payment(
    stack: Stack, subscription_id: str = "sub-1", plan_id: str = "plan-1", period: str = "monthly"
) -> tuple[str, str]:
    stack.put_plan(plan_id, 99000, 990000)
    amount = 99000 if period == "monthly" else 990000
    status, created = stack.call(
        "CreateSubscriptionPaymentFunction",
        body={
            "subscriptionId": subscription_id,
            "subscriptionType": period,
            "planId": plan_id,
            "amount": amount,
        },
        sub="alice",
    )
    assert status == 200, created
    return created["paymentId"], yookassa_id_of(created["paymentUrl"])


def succeed(stack: Stack, yookassa_id: str) -> None:
    stack.sandbox_post(f"/sandbox/payments/{yookassa_id}/succeed", {})


def decline(stack: Stack, yookassa_id: str, reason: str = "insufficient_funds") -> None:
    stack.sandbox_post(
        f"/sandbox/payments/{yookassa_id}/cancel", {"reason": reason, "party": "payment_network"}
    )


def refund_event(payment_id: str, amount: int | None = None, key: str | None = None) -> dict[str, Any]:
    return http_event(
        "RefundPaymentFunction",
        path_params={"paymentId": payment_id},
        body={} if amount is None else {"amount": amount},
        sub="ops",
        scopes=("payments/admin",),
        headers={"Idempotency-Key": key} if key else None,
    )


def refund(stack: Stack, payment_id: str, amount: int | None = None, key: str | None = None) -> tuple[int, Any]:
    return send_to("RefundPaymentFunction", refund_event(payment_id, amount, key))


def send_to(function_id: str, event: dict[str, Any]) -> tuple[int, Any]:
    result = lambda_runtime.invoke(function_id, event)
    body = result.get("body")
    return result["statusCode"], json.loads(body) if body else None


def wait_for(condition: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@contextmanager
def environment(**values: str) -> Iterator[None]:
    """Settings as a fresh cold start would read them; restored afterwards."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    runtime.reset()  # the next invocation builds its adapters from the changed environment
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        runtime.reset()


class WebhookBridge:
    """A tiny Function URL: HTTP requests become payload v2.0 events for the webhook function.

    ``sourceIp`` is the peer of the TCP connection, exactly what AWS puts there.
    """

    def __init__(self) -> None:
        bridge = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                event = webhook_event(
                    raw_body=body,
                    source_ip=self.client_address[0],
                    path=self.path,
                    headers={k: v for k, v in self.headers.items() if k.lower() != "x-forwarded-for"},
                )
                status, answer = send(event)
                bridge.answers.append(status)
                payload = json.dumps(answer).encode() if answer is not None else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.answers: list[int] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/yookassa"

    def __enter__(self) -> "WebhookBridge":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
