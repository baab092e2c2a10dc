"""A table of bad requests per route: each gets a clear 4xx in our envelope, never a 500."""

from typing import Any

import pytest

from tests.conftest import Stack
from tests.support import http_event, invoke

LONG_ID = "x" * 65
ORDER_OK = {"orderId": "order-1", "amount": 150000}
SUB_OK = {"subscriptionId": "sub-1", "subscriptionType": "monthly", "planId": "basic", "amount": 100000}


_seen: dict[str, int] = {}


def case(function: str, status: int, code: str, **request: Any) -> Any:
    name = f"{function.removesuffix('Function')}-{code}"
    _seen[name] = _seen.get(name, 0) + 1
    return pytest.param(function, status, code, request, id=f"{name}-{_seen[name]}")


CASES = [
    # amounts: strict integer kopecks within limits
    case("CreateOrderPaymentFunction", 422, "validation_error", body={**ORDER_OK, "amount": 1.5}),
    case("CreateOrderPaymentFunction", 422, "validation_error", body={**ORDER_OK, "amount": 1500.0}),
    case("CreateOrderPaymentFunction", 422, "validation_error", body={**ORDER_OK, "amount": "150000"}),
    case("CreateOrderPaymentFunction", 422, "validation_error", body={**ORDER_OK, "amount": True}),
    case("CreateOrderPaymentFunction", 422, "validation_error", body={**ORDER_OK, "amount": 0}),
    case("CreateOrderPaymentFunction", 422, "validation_error", body={**ORDER_OK, "amount": -100}),
    case("CreateOrderPaymentFunction", 422, "validation_error", body={**ORDER_OK, "amount": 35_000_001}),
    case("CreateOrderPaymentFunction", 422, "validation_error", body={**ORDER_OK, "amount": 99}),
    case("CreateOrderPaymentFunction", 422, "validation_error", body={**ORDER_OK, "amount": 10**30}),
    case("CreateOrderPaymentFunction", 422, "validation_error", body={**ORDER_OK, "amount": None}),
    case("CreateOrderPaymentFunction", 422, "validation_error", body={"orderId": "order-1"}),
    # ids: non-empty, at most 64 safe characters
    case("CreateOrderPaymentFunction", 422, "validation_error", body={**ORDER_OK, "orderId": ""}),
    case("CreateOrderPaymentFunction", 422, "validation_error", body={**ORDER_OK, "orderId": LONG_ID}),
    case("CreateOrderPaymentFunction", 422, "validation_error", body={**ORDER_OK, "orderId": "a/b"}),
    case("CreateOrderPaymentFunction", 422, "validation_error", body={**ORDER_OK, "orderId": "<script>"}),
    case("CreateOrderPaymentFunction", 422, "validation_error", body={**ORDER_OK, "orderId": 42}),
    case("CreateOrderPaymentFunction", 422, "validation_error", body={**ORDER_OK, "orderId": ["a"]}),
    # body shape
    case("CreateOrderPaymentFunction", 422, "validation_error", body={**ORDER_OK, "currency": "RUB"}),
    case("CreateOrderPaymentFunction", 422, "validation_error", body=[ORDER_OK]),
    case("CreateOrderPaymentFunction", 422, "validation_error", body="order-1"),
    case("CreateOrderPaymentFunction", 400, "malformed_json", raw_body='{"orderId": "order-1",'),
    case("CreateOrderPaymentFunction", 400, "malformed_json", raw_body="\x00\x01"),
    case(
        "CreateOrderPaymentFunction",
        400,
        "malformed_json",
        raw_body='{"orderId": "o", "amount": ' + "9" * 5000 + "}",
    ),
    case("CreateOrderPaymentFunction", 400, "bad_request"),
    case("CreateOrderPaymentFunction", 413, "payload_too_large", body={**ORDER_OK, "pad": "x" * 20_000}),
    case(
        "CreateOrderPaymentFunction",
        415,
        "unsupported_media_type",
        raw_body="orderId=order-1&amount=100",
        headers={"content-type": "application/x-www-form-urlencoded"},
    ),
    case("CreateOrderPaymentFunction", 401, "unauthorized", body=ORDER_OK, sub=None),
    case(
        "CreateOrderPaymentFunction",
        422,
        "validation_error",
        body=ORDER_OK,
        headers={"Idempotency-Key": "k" * 65},
    ),
    # subscriptions
    case(
        "CreateSubscriptionPaymentFunction",
        422,
        "validation_error",
        body={**SUB_OK, "subscriptionType": "weekly"},
    ),
    case("CreateSubscriptionPaymentFunction", 422, "validation_error", body={**SUB_OK, "amount": 1000.5}),
    case("CreateSubscriptionPaymentFunction", 422, "validation_error", body={**SUB_OK, "planId": ""}),
    case(
        "CreateSubscriptionPaymentFunction", 422, "validation_error", body={**SUB_OK, "subscriptionId": LONG_ID}
    ),
    case("CreateSubscriptionPaymentFunction", 422, "validation_error", body={**SUB_OK, "extra": 1}),
    case("CreateSubscriptionPaymentFunction", 422, "amount_mismatch", body={**SUB_OK, "amount": 100001}),
    case(
        "CreateSubscriptionPaymentFunction",
        422,
        "amount_mismatch",
        body={**SUB_OK, "subscriptionType": "yearly"},
    ),
    case("CreateSubscriptionPaymentFunction", 404, "not_found", body={**SUB_OK, "planId": "no-such-plan"}),
    case("CreateSubscriptionPaymentFunction", 400, "malformed_json", raw_body="{"),
    case("CreateSubscriptionPaymentFunction", 401, "unauthorized", body=SUB_OK, sub=None),
    # status routes
    case("PaymentStatusFunction", 404, "not_found", path_params={"paymentId": "unknown"}),
    case("PaymentStatusFunction", 422, "validation_error", path_params={"paymentId": LONG_ID}),
    case("PaymentStatusFunction", 401, "unauthorized", path_params={"paymentId": "x"}, sub=None),
    case("OrderPaymentStatusFunction", 404, "not_found", path_params={"paymentId": "unknown"}),
    case("SubscriptionPaymentStatusFunction", 404, "not_found", path_params={"paymentId": "unknown"}),
    # admin routes: scope, shapes
    case(
        "PutOrderFunction",
        403,
        "forbidden",
        path_params={"orderId": "o"},
        body={"userId": "alice", "amount": 100, "description": "d"},
    ),
    case(
        "PutOrderFunction",
        422,
        "validation_error",
        path_params={"orderId": "o"},
        scopes=("payments/admin",),
        body={"userId": "alice", "amount": 1.0, "description": "d"},
    ),
    case(
        "PutOrderFunction",
        422,
        "validation_error",
        path_params={"orderId": "o"},
        scopes=("payments/admin",),
        body={"userId": "alice", "amount": 100, "description": "d" * 129},
    ),
    case(
        "PutOrderFunction",
        422,
        "validation_error",
        path_params={"orderId": "o"},
        scopes=("payments/admin",),
        body={"userId": "", "amount": 100, "description": "d"},
    ),
    case(
        "PutPlanFunction",
        403,
        "forbidden",
        path_params={"planId": "p"},
        body={"name": "n", "prices": {"monthly": 1, "yearly": 2}},
    ),
    case(
        "PutPlanFunction",
        422,
        "validation_error",
        path_params={"planId": "p"},
        scopes=("payments/admin",),
        body={"name": "n", "prices": {"monthly": 100}},
    ),
    case(
        "PutPlanFunction",
        422,
        "validation_error",
        path_params={"planId": "p"},
        scopes=("payments/admin",),
        body={"name": "n", "prices": {"monthly": 100, "yearly": "1000"}},
    ),
]


@pytest.mark.parametrize(("function", "status", "code", "request_"), CASES)
def test_bad_requests_get_a_clear_4xx(
    stack: Stack, function: str, status: int, code: str, request_: dict
) -> None:
    stack.put_order("order-1", "alice", 150000)
    stack.put_plan("basic", 100000, 1000000)

    got_status, body = invoke(function, http_event(function, **request_))

    assert got_status == status, body
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert "Traceback" not in str(body)
    assert stack.provider_payments() == []


def test_validation_errors_name_the_field_without_echoing_input(stack: Stack) -> None:
    status, body = stack.create_order_payment("order-1", -5)
    assert status == 422
    assert body["error"]["details"] == [{"field": "amount", "problem": "Input should be greater than 0"}]
