"""A table of bad requests per route: each gets a clear 4xx in our envelope, never a 500.

Also: media types in any case, and every exception Powertools' event handler may raise, each mapped
to our envelope (README.md, "API").
"""

import contextlib
import inspect
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import aws_lambda_powertools.event_handler.exceptions as pt
import aws_lambda_powertools.event_handler.openapi.exceptions as po
import pytest

from local.lambda_runtime import LambdaContext
from payments.api import http_handler, make_resolver
from payments.observability import logger
from tests.conftest import Stack
from tests.integration.support import notification, order_payment, provider_get, send, succeed, webhook_event
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


# Media types are case-insensitive (RFC 9110): Powertools compares them case-sensitively, so these were
# a 500 on every body route until the edge normalised the header (edge.canonical_media_type).
JSON_SPELLINGS = ["APPLICATION/JSON", "Application/Json", "application/JSON; charset=utf-8"]


@pytest.mark.parametrize("content_type", JSON_SPELLINGS)
def test_json_in_any_case_is_served_as_json(stack: Stack, content_type: str) -> None:
    stack.put_order("order-1", "alice", 150000)
    headers = {"Content-Type": content_type}

    status, created = invoke(
        "CreateOrderPaymentFunction", http_event("CreateOrderPaymentFunction", body=ORDER_OK, headers=headers)
    )
    put_status, order = invoke(
        "PutOrderFunction",
        http_event(
            "PutOrderFunction",
            path_params={"orderId": "order-2"},
            body={"userId": "alice", "amount": 100, "description": "d"},
            sub="ops",
            scopes=("payments/admin",),
            headers=headers,
        ),
    )

    assert status == 200, created
    assert created["status"] == "pending"
    assert len(stack.provider_payments()) == 1
    assert (put_status, order["userId"]) == (200, "alice"), order


@pytest.mark.parametrize("content_type", JSON_SPELLINGS)
def test_json_in_any_case_is_still_validated_as_json(stack: Stack, content_type: str) -> None:
    """The route's own answer, whatever the case: a bad field is 422, no body 400."""
    headers = {"Content-Type": content_type}
    bad_field = http_event("CreateOrderPaymentFunction", body={**ORDER_OK, "amount": -1}, headers=headers)
    no_body = http_event("CreateOrderPaymentFunction", headers=headers)

    assert invoke("CreateOrderPaymentFunction", bad_field)[1]["error"]["code"] == "validation_error"
    assert invoke("CreateOrderPaymentFunction", no_body) == (
        400,
        {"error": {"code": "bad_request", "message": "A JSON body is required"}},
    )


@pytest.mark.parametrize(
    ("content_type", "raw_body", "status", "code"),
    [
        pytest.param("TEXT/PLAIN", json.dumps(ORDER_OK), 415, "unsupported_media_type", id="text-upper"),
        pytest.param(
            "Application/X-Www-Form-Urlencoded", "a=b", 415, "unsupported_media_type", id="form-mixed"
        ),
        pytest.param(
            "application/jsonx", json.dumps(ORDER_OK), 415, "unsupported_media_type", id="json-prefix"
        ),
        pytest.param(
            "application/json, text/plain", json.dumps(ORDER_OK), 415, "unsupported_media_type", id="two"
        ),
        # Without a body the header describes nothing: the route answers that its body is missing.
        # (Powertools read these as a form or a multipart body, and crashed on the boundary: a 500.)
        pytest.param("multipart/form-data", None, 400, "bad_request", id="multipart-no-body"),
        pytest.param("TEXT/PLAIN", None, 400, "bad_request", id="text-no-body"),
        pytest.param("application/x-www-form-urlencoded", None, 400, "bad_request", id="form-no-body"),
    ],
)
def test_other_media_types_are_refused_whatever_their_case(
    stack: Stack, content_type: str, raw_body: str | None, status: int, code: str
) -> None:
    stack.put_order("order-1", "alice", 150000)
    event = http_event("CreateOrderPaymentFunction", raw_body=raw_body, headers={"Content-Type": content_type})

    got_status, body = invoke("CreateOrderPaymentFunction", event)

    assert (got_status, body["error"]["code"]) == (status, code), body
    assert stack.provider_payments() == []


@pytest.mark.parametrize("content_type", JSON_SPELLINGS)
def test_the_webhook_reads_json_in_any_case(stack: Stack, content_type: str) -> None:
    """A regression guard: the webhook's body is parsed only at the edge, which compared in lower case
    already; the resolver now sees the normalised header too."""
    payment_id, yookassa_id = order_payment(stack)
    succeed(stack, yookassa_id)
    obj = provider_get(stack, f"/payments/{yookassa_id}")
    assert obj is not None

    delivered = send(
        webhook_event(notification("payment.succeeded", obj), headers={"Content-Type": content_type})
    )

    assert delivered == (200, {"outcome": "applied"})
    assert stack.status(payment_id)[1]["status"] == "paid"


def test_the_webhook_refuses_other_media_types_whatever_their_case(stack: Stack) -> None:
    body = notification("payment.succeeded", {"id": "30f1d2a4-000f-5000"})

    status, answer = send(webhook_event(body, headers={"Content-Type": "TEXT/PLAIN"}))

    assert (status, answer["error"]["code"]) == (415, "unsupported_media_type")


# Every exception Powertools' event handler exports, raised inside a route: each must come out as our
# envelope, 4xx unless it can only mean that our side is wrong. A class Powertools adds later is held
# to 4xx until someone decides otherwise here (and maps it in api.make_resolver).
FRAMEWORK_MODULES = (pt, po)
SERVER_SIDE = {
    pt.InternalServerError: (500, "internal_error"),
    pt.ServiceUnavailableError: (503, "service_unavailable"),
    pt.ResponseSizeExceededError: (500, "internal_error"),
    po.ValidationException: (500, "internal_error"),
    po.ResponseValidationError: (500, "internal_error"),
    po.SchemaValidationError: (500, "internal_error"),
    po.SerializationError: (500, "internal_error"),
    po.OpenAPIMergeError: (500, "internal_error"),
}
CLIENT_SIDE = {
    pt.BadRequestError: (400, "bad_request"),
    pt.UnauthorizedError: (401, "unauthorized"),
    pt.ForbiddenError: (403, "forbidden"),
    pt.NotFoundError: (404, "not_found"),
    pt.RequestTimeoutError: (408, "request_timeout"),
    pt.RequestEntityTooLargeError: (413, "payload_too_large"),
    pt.ServiceError: (400, "bad_request"),  # built with a status we have no code for (418): the client's
    po.RequestValidationError: (422, "validation_error"),
    po.RequestUnsupportedContentType: (415, "unsupported_media_type"),
}
# What each constructor is given, by parameter name; an unknown required parameter fails the test.
SAMPLE_ARGUMENTS: dict[str, Any] = {
    "msg": "m",
    "message": "m",
    "status_code": 418,
    "errors": [{"loc": ("body", "amount"), "type": "int_type", "msg": "Input should be a valid integer"}],
    "actual_size": 7_000_000,
    "max_size": 1_000_000,
}


def exported_exceptions() -> list[type[Exception]]:
    return sorted(
        {
            cls
            for module in FRAMEWORK_MODULES
            for _, cls in inspect.getmembers(module, inspect.isclass)
            if issubclass(cls, Exception)
        },
        key=lambda cls: cls.__qualname__,
    )


def sample(cls: type[Exception]) -> Exception:
    arguments = {
        name: SAMPLE_ARGUMENTS[name]
        for name, parameter in inspect.signature(cls).parameters.items()
        if parameter.default is inspect.Parameter.empty
        and parameter.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    }
    return cls(**arguments)


def test_the_walk_sees_every_class_classified_here() -> None:
    exported = set(exported_exceptions())

    assert set(SERVER_SIDE) <= exported and set(CLIENT_SIDE) <= exported
    assert len(exported) >= 17  # the walk sees them all (17 in Powertools 3.37)


@contextlib.contextmanager
def log_lines() -> Iterator[io.StringIO]:
    """Our logger's JSON lines while inside."""
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    lines = io.StringIO()
    previous = handler.setStream(lines)
    try:
        yield lines
    finally:
        handler.setStream(previous)


@pytest.mark.parametrize("exception", exported_exceptions(), ids=lambda cls: cls.__qualname__)
def test_every_framework_exception_answers_our_envelope(exception: type[Exception]) -> None:
    app = make_resolver()

    @app.post("/orders/payment/create")
    def raises() -> None:
        raise sample(exception)

    context: Any = LambdaContext("CreateOrderPaymentFunction")  # the attributes Lambda's has, no more
    with log_lines() as logged:
        result = http_handler(app)(http_event("CreateOrderPaymentFunction", body=ORDER_OK), context)

    body = json.loads(result["body"])
    assert set(body) == {"error"}, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert "Traceback" not in result["body"]
    expected = SERVER_SIDE.get(exception) or CLIENT_SIDE.get(exception)
    if expected is None:  # new in Powertools: a client's error until decided otherwise
        assert 400 <= result["statusCode"] < 500, (exception, result)
    else:
        assert (result["statusCode"], body["error"]["code"]) == expected
    levels = [json.loads(line)["level"] for line in logged.getvalue().splitlines()]
    if exception not in SERVER_SIDE:  # a client's mistake is no failure of ours: nothing logged as one
        assert levels and set(levels) == {"INFO"}, levels
