import time
from typing import Any

from local.yookassa_sandbox import start_sandbox
from payments import runtime
from tests.conftest import Stack
from tests.integration.support import environment


def test_admin_puts_order_prices_and_a_paid_orders_price_is_frozen(stack: Stack) -> None:
    stack.put_order("order-1", "alice", 150000, "Генеральная уборка")
    status, body = stack.call(
        "PutOrderFunction",
        path_params={"orderId": "order-1"},
        body={"userId": "alice", "amount": 160000, "description": "Генеральная уборка + окна"},
        sub="ops",
        scopes=("payments/admin",),
    )
    assert status == 200
    assert body == {
        "orderId": "order-1",
        "userId": "alice",
        "amount": 160000,
        "description": "Генеральная уборка + окна",
        "status": "new",
    }
    assert stack.create_order_payment("order-1", 150000)[1]["error"]["code"] == "amount_mismatch"
    assert stack.create_order_payment("order-1", 160000)[0] == 200


def test_admin_scope_may_come_from_the_scope_claim(stack: Stack) -> None:
    event_scopes = ("payments/admin",)
    status, body = stack.call(
        "PutPlanFunction",
        path_params={"planId": "premium"},
        body={"name": "Премиум", "prices": {"monthly": 250000, "yearly": 2500000}},
        sub="ops",
        scopes=event_scopes,
    )
    assert status == 200
    assert body["prices"] == {"monthly": 250000, "yearly": 2500000}


def test_health_reports_configuration_without_secrets(stack: Stack) -> None:
    status, body = stack.call("HealthFunction", sub=None)
    assert status == 200
    assert body == {
        "status": "ok",
        "table": "reachable",
        "yookassaCredentials": "configured",
        "yookassaApiUrl": stack.sandbox.api_url,
        "receipts": "off",
        "shopFiscalization": "off",
    }
    assert stack.sandbox.secret_key not in str(body)


# ---------------------------------------------------------------- 54-FZ receipts
def health(stack: Stack) -> tuple[int, Any]:
    return stack.call("HealthFunction", sub=None)


def test_health_reports_receipts_and_the_shops_fiscalisation(stack: Stack) -> None:
    status, body = health(stack)
    assert (status, body["status"], body["receipts"], body["shopFiscalization"]) == (200, "ok", "off", "off")

    with environment(RECEIPTS="on"):
        status, body = health(stack)
    assert (status, body["status"], body["receipts"], body["shopFiscalization"]) == (200, "ok", "on", "off")


def test_health_is_degraded_when_the_shop_requires_receipts_and_the_service_sends_none(stack: Stack) -> None:
    with start_sandbox(fiscalization=True) as fiscal, environment(YOOKASSA_API_URL=fiscal.api_url):
        status, body = health(stack)
        assert (status, body["status"], body["receipts"], body["shopFiscalization"]) == (
            503,
            "degraded",
            "off",
            "on",
        )
        assert (body["table"], body["yookassaCredentials"]) == ("reachable", "configured")
        with environment(RECEIPTS="on"):
            status, body = health(stack)
        assert (status, body["status"], body["shopFiscalization"]) == (200, "ok", "on")


def test_health_says_unknown_when_yookassa_cannot_be_asked(stack: Stack) -> None:
    with environment(YOOKASSA_SECRET_KEY="wrong"):  # YooKassa refuses the credentials
        status, body = health(stack)
    assert (status, body["status"], body["shopFiscalization"]) == (200, "ok", "unknown")
    with environment(YOOKASSA_SHOP_ID="", YOOKASSA_SECRET_KEY=""):  # none configured: YooKassa is not asked
        status, body = health(stack)
    assert (status, body["yookassaCredentials"], body["shopFiscalization"]) == (503, "missing", "unknown")


def test_the_shops_fiscalisation_is_asked_at_most_every_five_minutes(stack: Stack) -> None:
    assert health(stack)[1]["shopFiscalization"] == "off"  # asked, remembered
    stack.sandbox_post("/sandbox/faults", {"route": "GET /v3/me", "fault": "500", "count": 1})

    assert health(stack)[1]["shopFiscalization"] == "off"
    assert len(stack.sandbox_get("/sandbox/faults")["items"]) == 1  # YooKassa was not asked

    later = time.monotonic() + runtime.FISCALIZATION_MAX_AGE_SECONDS
    assert runtime.shop_fiscalization(clock=lambda: later) == "off"  # asked again (a 500, then the answer)
    assert stack.sandbox_get("/sandbox/faults")["items"] == []
