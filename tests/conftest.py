"""Shared fixtures: DynamoDB on moto's server, the YooKassa sandbox over HTTP, and real events.

Nothing of ours is mocked: handlers run in-process with API Gateway HTTP API v2 events from
``events/``, talk to a moto DynamoDB server through PynamoDB, and to the sandbox through our client.
"""

import os

os.environ.update(
    AWS_DEFAULT_REGION="eu-central-1",
    AWS_REGION="eu-central-1",
    AWS_ACCESS_KEY_ID="test",
    AWS_SECRET_ACCESS_KEY="test",
    TABLE_NAME="payments-test",
    FRONTEND_URL="http://127.0.0.1:3000",
    POWERTOOLS_SERVICE_NAME="payments",
    POWERTOOLS_METRICS_NAMESPACE="CleanHouse/Payments",
    POWERTOOLS_TRACE_DISABLED="1",
    POWERTOOLS_METRICS_DISABLED="1",
    YOOKASSA_BUDGET_SECONDS="6",
    YOOKASSA_READ_TIMEOUT="3",
)
os.environ.pop("AWS_PROFILE", None)
os.environ.pop("YOOKASSA_SECRET_ARN", None)

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from tests.support import create_table, dynamodb_server, http_event, invoke


@pytest.fixture(scope="session")
def dynamodb_endpoint() -> Iterator[str]:
    with dynamodb_server() as url:
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = url
        yield url


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Any]:
    from local.yookassa_sandbox import start_sandbox

    with start_sandbox() as running:
        os.environ.update(
            YOOKASSA_API_URL=running.api_url,
            YOOKASSA_SHOP_ID=running.shop_id,
            YOOKASSA_SECRET_KEY=running.secret_key,
        )
        yield running


@dataclass
class Stack:
    """The service as a test sees it: handlers in-process, DynamoDB and YooKassa over HTTP."""

    sandbox: Any
    dynamodb: str

    def call(self, function: str, **request: Any) -> tuple[int, Any]:
        return invoke(function, http_event(function, **request))

    def put_order(self, order_id: str, user: str, amount: int, description: str = "Уборка квартиры") -> None:
        status, body = self.call(
            "PutOrderFunction",
            path_params={"orderId": order_id},
            body={"userId": user, "amount": amount, "description": description},
            sub="ops",
            scopes=("payments/admin",),
        )
        assert status == 200, body

    def put_plan(self, plan_id: str, monthly: int, yearly: int, name: str = "Базовый") -> None:
        status, body = self.call(
            "PutPlanFunction",
            path_params={"planId": plan_id},
            body={"name": name, "prices": {"monthly": monthly, "yearly": yearly}},
            sub="ops",
            scopes=("payments/admin",),
        )
        assert status == 200, body

    def create_order_payment(
        self, order_id: str, amount: int, sub: str = "alice", **kw: Any
    ) -> tuple[int, Any]:
        return self.call(
            "CreateOrderPaymentFunction", body={"orderId": order_id, "amount": amount}, sub=sub, **kw
        )

    def status(
        self, payment_id: str, sub: str = "alice", function: str = "PaymentStatusFunction"
    ) -> tuple[int, Any]:
        return self.call(function, path_params={"paymentId": payment_id}, sub=sub)

    def sandbox_post(self, path: str, body: Any = None) -> Any:
        response = requests.post(f"{self.sandbox.base_url}{path}", json=body or {}, timeout=10)
        response.raise_for_status()
        return response.json() if response.content else None

    def sandbox_get(self, path: str) -> Any:
        response = requests.get(f"{self.sandbox.base_url}{path}", timeout=10)
        response.raise_for_status()
        return response.json()

    def provider_payments(self) -> list[dict[str, Any]]:
        response = requests.get(
            f"{self.sandbox.api_url}/payments",
            params={"limit": 100},
            auth=(self.sandbox.shop_id, self.sandbox.secret_key),
            timeout=10,
        )
        response.raise_for_status()
        items: list[dict[str, Any]] = response.json()["items"]
        return items


@pytest.fixture
def stack(dynamodb_endpoint: str, sandbox: Any) -> Iterator[Stack]:
    from payments import runtime

    create_table(dynamodb_endpoint, os.environ["TABLE_NAME"])
    requests.post(f"{sandbox.base_url}/sandbox/reset", timeout=10).raise_for_status()
    sandbox.webhook_urls.clear()
    runtime.reset()
    yield Stack(sandbox=sandbox, dynamodb=dynamodb_endpoint)
    runtime.reset()
