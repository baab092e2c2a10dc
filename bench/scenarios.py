"""The data each measured event needs, made the way the service makes it: through our own handlers,
in this process (local/lambda_runtime.py), with YooKassa's side moved by the sandbox's helpers.

Every measured request gets data of its own (a fresh order and user for a create, a fresh paid payment
for a refund...), so each run does the same work, never a replay of the one before.
"""

import copy
import itertools
import json
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from bench.infra import Endpoints
from local import lambda_runtime
from local.template import functions
from tests.support import http_event, load_event

ADMIN = "payments/admin"
ORDER_AMOUNT = 150_000  # kopecks
PLAN_ID = "basic"
PLAN_PRICES = {"monthly": 100_000, "yearly": 1_000_000}
YOOKASSA_IP = "185.71.76.1"  # in YooKassa's published networks (the template's default)
REFUND_AMOUNT = 50_000  # the admin refund measured: a partial one


@dataclass(frozen=True)
class Payment:
    payment_id: str
    yookassa_id: str
    user: str
    subject_id: str  # the order or the subscription


def invoke(function: str, event: dict[str, Any]) -> tuple[int, Any]:
    result = lambda_runtime.invoke(function, event)
    body = result.get("body") if isinstance(result, dict) else None
    status = result.get("statusCode", 200) if isinstance(result, dict) else 200
    return status, json.loads(body) if body else result


def _checked(answer: tuple[int, Any], what: str) -> Any:
    status, body = answer
    if not 200 <= status < 300:
        raise RuntimeError(f"{what}: {status} {body}")
    return body


class Shop:
    """The service and YooKassa's side of it, for making the data the measured events need."""

    def __init__(self, endpoints: Endpoints) -> None:
        self.endpoints = endpoints
        self.http = requests.Session()
        self.auth = (endpoints.shop_id, endpoints.secret_key)
        self._run = uuid.uuid4().hex[:6]
        self._numbers = itertools.count(1)
        self.table = ""

    def use_table(self, table: str) -> None:
        """Point the in-process handlers at ``table`` (their settings are read once, hence the reset)."""
        from payments import runtime

        os.environ["TABLE_NAME"] = self.table = table
        runtime.reset()

    def unique(self, prefix: str) -> str:
        return f"{prefix}-{self._run}-{next(self._numbers)}"

    # ------------------------------------------------------------------------------- events
    @staticmethod
    def poll_event(payment: Payment, function: str = "PaymentStatusFunction") -> dict[str, Any]:
        return http_event(function, path_params={"paymentId": payment.payment_id}, sub=payment.user)

    @staticmethod
    def create_order_event(order_id: str, user: str, amount: int = ORDER_AMOUNT) -> dict[str, Any]:
        return http_event("CreateOrderPaymentFunction", body={"orderId": order_id, "amount": amount}, sub=user)

    @staticmethod
    def create_subscription_event(subscription_id: str, user: str, auto_renew: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {
            "subscriptionId": subscription_id,
            "subscriptionType": "monthly",
            "planId": PLAN_ID,
            "amount": PLAN_PRICES["monthly"],
        }
        if auto_renew:
            body["autoRenew"] = True
        return http_event("CreateSubscriptionPaymentFunction", body=body, sub=user)

    @staticmethod
    def refund_event(payment: Payment, amount: int = REFUND_AMOUNT) -> dict[str, Any]:
        return http_event(
            "RefundPaymentFunction",
            path_params={"paymentId": payment.payment_id},
            body={"amount": amount},
            sub="ops",
            scopes=(ADMIN,),
        )

    @staticmethod
    def put_order_event(order_id: str, user: str, amount: int = ORDER_AMOUNT) -> dict[str, Any]:
        return http_event(
            "PutOrderFunction",
            path_params={"orderId": order_id},
            body={"userId": user, "amount": amount, "description": "Генеральная уборка, 2 комнаты"},
            sub="ops",
            scopes=(ADMIN,),
        )

    @staticmethod
    def put_plan_event(plan_id: str) -> dict[str, Any]:
        return http_event(
            "PutPlanFunction",
            path_params={"planId": plan_id},
            body={"name": "Базовый", "prices": PLAN_PRICES},
            sub="ops",
            scopes=(ADMIN,),
        )

    @staticmethod
    def webhook_event(obj: dict[str, Any], event_name: str = "payment.succeeded") -> dict[str, Any]:
        event = copy.deepcopy(load_event("YooKassaWebhookFunction"))
        body = json.dumps({"type": "notification", "event": event_name, "object": obj})
        event["body"] = body
        event["headers"]["content-length"] = str(len(body.encode()))
        event["requestContext"]["http"]["sourceIp"] = YOOKASSA_IP
        event["requestContext"]["requestId"] = str(uuid.uuid4())
        return event

    @staticmethod
    def scheduled_event(function: str, time: datetime) -> dict[str, Any]:
        event = copy.deepcopy(load_event(function))
        event["time"] = time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return event

    # ------------------------------------------------------------------------------- data
    def put_order(self, order_id: str, user: str, amount: int = ORDER_AMOUNT) -> None:
        _checked(invoke("PutOrderFunction", self.put_order_event(order_id, user, amount)), "put order")

    def put_plan(self, plan_id: str = PLAN_ID) -> None:
        _checked(invoke("PutPlanFunction", self.put_plan_event(plan_id)), "put plan")

    def new_order(self) -> tuple[str, str]:
        """A fresh order of a fresh user (a user may have only a few payments pending)."""
        order_id, user = self.unique("order"), self.unique("user")
        self.put_order(order_id, user)
        return order_id, user

    def create_order_payment(self, order_id: str, user: str) -> Payment:
        created = _checked(
            invoke("CreateOrderPaymentFunction", self.create_order_event(order_id, user)), "create"
        )
        return Payment(created["paymentId"], self.yookassa_id_of(created), user, order_id)

    def create_subscription_payment(self, auto_renew: bool = False) -> Payment:
        subscription_id, user = self.unique("sub"), self.unique("user")
        event = self.create_subscription_event(subscription_id, user, auto_renew)
        created = _checked(invoke("CreateSubscriptionPaymentFunction", event), "create subscription")
        return Payment(created["paymentId"], self.yookassa_id_of(created), user, subscription_id)

    @staticmethod
    def yookassa_id_of(created: dict[str, Any]) -> str:
        [yookassa_id] = parse_qs(urlsplit(created["paymentUrl"]).query)["orderId"]
        return yookassa_id

    def succeed(self, payment: Payment) -> dict[str, Any]:
        """The customer pays on YooKassa's page; no webhook is sent (the sandbox has no URL)."""
        url = f"{self.endpoints.sandbox_url}/sandbox/payments/{payment.yookassa_id}/succeed"
        self.http.post(url, json={}, timeout=10).raise_for_status()
        return self.provider_payment(payment)

    def provider_payment(self, payment: Payment) -> dict[str, Any]:
        url = f"{self.endpoints.yookassa_api_url}/payments/{payment.yookassa_id}"
        answer = self.http.get(url, auth=self.auth, timeout=10)
        answer.raise_for_status()
        found: dict[str, Any] = answer.json()
        return found

    def deliver(self, obj: dict[str, Any]) -> None:
        _checked(invoke("YooKassaWebhookFunction", self.webhook_event(obj)), "webhook")

    def paid_but_unknown(self) -> Payment:
        """An order payment YooKassa has succeeded and we still think pending (its webhook not yet
        delivered, or lost)."""
        payment = self.create_order_payment(*self.new_order())
        self.succeed(payment)
        return payment

    def paid_order_payment(self) -> Payment:
        payment = self.paid_but_unknown()
        self.deliver(self.provider_payment(payment))
        return payment

    def paid_subscription(self, auto_renew: bool = False) -> tuple[Payment, dict[str, Any]]:
        payment = self.create_subscription_payment(auto_renew)
        obj = self.succeed(payment)
        self.deliver(obj)
        return payment, obj


def renewal_time(captured_at: str) -> datetime:
    """An hour before a monthly period paid at ``captured_at`` ends: its renewal is due."""
    from payments.domain.subscriptions import add_months

    return add_months(datetime.fromisoformat(captured_at.replace("Z", "+00:00")), 1) - timedelta(hours=1)


def reconcile_time() -> datetime:
    """A run late enough that every payment made so far is past the reconciler's threshold."""
    return datetime.now(UTC) + timedelta(minutes=10)


def handler_of(logical_id: str) -> Any:
    return lambda_runtime.load_handler(functions()[logical_id])


def context_of(logical_id: str, timeout_seconds: int | None = None) -> lambda_runtime.LambdaContext:
    function = functions()[logical_id]
    return lambda_runtime.LambdaContext(
        function_name=logical_id, timeout_seconds=timeout_seconds or function.timeout
    )
