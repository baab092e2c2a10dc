from tests.conftest import Stack


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
    }
    assert stack.sandbox.secret_key not in str(body)
