"""A whole payment, in-process, with every byte of log and metric output captured and scanned.

Create an order payment with a JWT in the event, pay it in the sandbox with a test card, poll its
status (a stale poll asks YooKassa), deliver YooKassa's notification (whose object carries the card's
first6/last4), refund part of it. Then: no secret key, no JWT, no card number, no Basic credentials
anywhere in the output; every line of ours is JSON with the correlation keys; the EMF metrics are there.
"""

import base64
import contextlib
import copy
import io
import json
import logging
import secrets
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from local import lambda_runtime
from local.template import functions
from payments import runtime
from payments.observability import logger
from tests.conftest import Stack
from tests.support import http_event, invoke, load_event

CARD = "5555555555554444"
YOOKASSA_IP = "185.71.76.1"
# In-process servers of the test bed (moto, the sandbox): not the service's output.
NOT_OURS = ("local", "moto", "werkzeug", "tests")


def fake_jwt() -> str:
    """Token-shaped and unique, so finding it in the output can only mean it leaked."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    signature = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    header, claims = part({"alg": "RS256", "kid": "k1"}), part({"sub": "alice", "jti": secrets.token_hex(8)})
    return f"{header}.{claims}.{signature}"


class _OursOnly(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.name.startswith(NOT_OURS) and record.name != "payments"  # payments: below


@contextlib.contextmanager
def captured() -> Iterator[tuple[io.StringIO, io.StringIO, io.StringIO]]:
    """(Powertools JSON log lines, every other logger's records, stdout: EMF blobs) while inside."""
    ours, others, stdout = io.StringIO(), io.StringIO(), io.StringIO()
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    previous_stream, previous_level = handler.stream, logger.log_level
    handler.setStream(ours)
    logger.setLevel("DEBUG")  # the worst case: whatever DEBUG would print must be clean too
    root = logging.getLogger()
    catch_all = logging.StreamHandler(others)
    catch_all.setFormatter(logger.registered_formatter)
    catch_all.addFilter(_OursOnly())
    root.addHandler(catch_all)
    try:
        with contextlib.redirect_stdout(stdout):
            yield ours, others, stdout
    finally:
        root.removeHandler(catch_all)
        handler.setStream(previous_stream)
        logger.setLevel(previous_level)


def call(function: str, jwt: str, **request: Any) -> tuple[int, Any, str]:
    event = http_event(function, headers={"Authorization": f"Bearer {jwt}"}, **request)
    event["requestContext"]["requestId"] = request_id = str(uuid.uuid4())
    status, body = invoke(function, event)
    return status, body, request_id


def webhook(notification: dict[str, Any]) -> tuple[int, Any, str]:
    event = copy.deepcopy(load_event("YooKassaWebhookFunction"))
    event["body"] = json.dumps(notification, ensure_ascii=False)
    event["headers"]["content-length"] = str(len(event["body"].encode()))
    event["requestContext"]["http"]["sourceIp"] = YOOKASSA_IP
    event["requestContext"]["requestId"] = request_id = str(uuid.uuid4())
    result = lambda_runtime.invoke("YooKassaWebhookFunction", event)
    return result["statusCode"], json.loads(result["body"]), request_id


def records(text: str) -> list[dict[str, Any]]:
    lines = [line for line in text.splitlines() if line.strip()]
    parsed = []
    for line in lines:
        record = json.loads(line)  # every line of ours is one JSON object
        assert isinstance(record, dict), line
        parsed.append(record)
    return parsed


def emf_metrics(text: str) -> set[str]:
    names: set[str] = set()
    for record in records(text):
        for directive in record.get("_aws", {}).get("CloudWatchMetrics", []):
            names.update(metric["Name"] for metric in directive["Metrics"])
    return names


@pytest.fixture
def flow_env(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Stack:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "0")  # conftest turns EMF off; here we read it
    monkeypatch.setenv("STALE_PENDING_SECONDS", "0")  # every poll of a pending payment asks YooKassa
    monkeypatch.setenv("PROVIDER_REFRESH_INTERVAL_SECONDS", "0")
    runtime.reset()
    return stack


def test_a_whole_payment_logs_no_secret_and_carries_its_correlation_keys(flow_env: Stack) -> None:
    stack = flow_env
    jwt = fake_jwt()
    stack.put_order("obs-order", "alice", 150_000)
    with captured() as (ours, others, stdout):
        status, created, create_request = call(
            "CreateOrderPaymentFunction", jwt, body={"orderId": "obs-order", "amount": 150_000}
        )
        assert status == 200, created
        payment_id = created["paymentId"]
        [provider] = [p for p in stack.provider_payments() if p["metadata"].get("paymentId") == payment_id]
        stack.sandbox_post(f"/sandbox/payments/{provider['id']}/succeed", {"card": CARD})

        status, polled, _ = call("PaymentStatusFunction", jwt, path_params={"paymentId": payment_id})
        assert (status, polled["status"]) == (200, "paid"), polled

        paid = requests.get(
            f"{stack.sandbox.api_url}/payments/{provider['id']}",
            auth=(stack.sandbox.shop_id, stack.sandbox.secret_key),
            timeout=10,
        ).json()
        assert paid["payment_method"]["card"]["last4"] == CARD[-4:]  # the body we deliver carries card data
        if "YooKassaWebhookFunction" in functions():
            status, answer, webhook_request = webhook(
                {"type": "notification", "event": "payment.succeeded", "object": paid}
            )
            assert status == 200, answer

        if "RefundPaymentFunction" in functions():
            status, refund, _ = call(
                "RefundPaymentFunction",
                jwt,
                path_params={"paymentId": payment_id},
                body={"amount": 50_000},
                sub="ops",
                scopes=("payments/admin",),
            )
            assert status == 200, refund

    everything = ours.getvalue() + others.getvalue() + stdout.getvalue()
    basic = base64.b64encode(f"{stack.sandbox.shop_id}:{stack.sandbox.secret_key}".encode()).decode()
    forbidden = {
        "the sandbox's secret key": stack.sandbox.secret_key,
        "the JWT": jwt,
        "the JWT's signature": jwt.rsplit(".", 1)[1],
        "the card number": CARD,
        "Basic credentials": "Basic ",
        "the Basic credentials' base64": basic,
    }
    leaked = [what for what, needle in forbidden.items() if needle in everything]
    assert not leaked, f"found in the logs: {leaked}"

    lines = records(ours.getvalue())
    handled = [r for r in lines if r.get("message") == "request handled"]
    create_line = next(r for r in handled if r.get("correlation_id") == create_request)
    assert create_line["userId"] == "alice"
    assert create_line["paymentId"] == payment_id
    assert create_line["httpStatus"] == 200
    assert create_line["route"] == "POST /orders/payment/create"
    calls = [r for r in lines if r.get("message") == "yookassa call"]
    assert calls and all(isinstance(r["durationMs"], float) for r in calls)
    assert {r["operation"] for r in calls} >= {"POST /payments", "GET /payments/{id}"}
    if "YooKassaWebhookFunction" in functions():
        webhook_lines = [r for r in lines if r.get("correlation_id") == webhook_request]
        assert any(r.get("yookassaId") == provider["id"] for r in webhook_lines)
        assert any(r.get("paymentId") == payment_id for r in webhook_lines)

    emitted = emf_metrics(stdout.getvalue())
    assert {"PaymentCreated", "PaymentSucceeded", "ProviderLatency"} <= emitted, emitted
    if "YooKassaWebhookFunction" in functions():
        assert "WebhookAccepted" in emitted
    if "RefundPaymentFunction" in functions():
        assert "RefundSucceeded" in emitted


def test_a_rejected_notification_is_counted_by_reason(flow_env: Stack) -> None:
    if "YooKassaWebhookFunction" not in functions():
        pytest.skip("no webhook function yet")
    event = copy.deepcopy(load_event("YooKassaWebhookFunction"))
    event["requestContext"]["http"]["sourceIp"] = "203.0.113.10"
    with captured() as (_, _, stdout):
        result = lambda_runtime.invoke("YooKassaWebhookFunction", event)
    assert result["statusCode"] == 403
    blobs = records(stdout.getvalue())
    rejected = [b for b in blobs if "WebhookRejected" in b]
    assert rejected, blobs
    assert any(b.get("service") == "payments" for b in rejected)
    # The reason travels with it: as a dimension (count(..., reason=...)) or as EMF metadata.
    assert any((b.get("reason") or b.get("rejectReason")) == "source_ip" for b in rejected), rejected


def test_the_capture_sees_every_way_a_careless_line_could_print() -> None:
    with captured() as (ours, others, stdout):
        logger.info("powertools", extra={"leak": "needle-1"})
        logging.getLogger("payments.yookassa").warning("child %s", "needle-2")
        logging.getLogger("urllib3.connectionpool").warning("library %s", "needle-3")
        print("needle-4")
    everything = ours.getvalue() + others.getvalue() + stdout.getvalue()
    assert all(f"needle-{n}" in everything for n in range(1, 5)), everything


def test_a_routine_poll_logs_nothing_at_info_and_lines_carry_no_static_context(flow_env: Stack) -> None:
    """Quiet logs: a poll that answers is DEBUG; what CloudWatch already knows (the function's name,
    memory, ARN) is on no line; the request id and correlation id are."""
    stack = flow_env
    jwt = fake_jwt()
    stack.put_order("quiet-order", "alice", 150_000)
    status, created, _ = call(
        "CreateOrderPaymentFunction", jwt, body={"orderId": "quiet-order", "amount": 150_000}
    )
    assert status == 200, created
    with captured() as (ours, _, _):
        logger.setLevel("INFO")  # what a deployed stage logs
        status, _, poll_request = call(
            "PaymentStatusFunction", jwt, path_params={"paymentId": created["paymentId"]}
        )
        assert status == 200
        status, _, refused_request = call(
            "PaymentStatusFunction", jwt, path_params={"paymentId": "no-such-payment"}
        )
        assert status == 404
    lines = records(ours.getvalue())
    assert not [
        r for r in lines if r.get("correlation_id") == poll_request and r["message"] == "request handled"
    ]
    [refused] = [
        r for r in lines if r.get("correlation_id") == refused_request and r["message"] == "request handled"
    ]
    assert (refused["httpStatus"], refused["errorCode"]) == (404, "not_found")
    assert refused["function_request_id"]
    for line in lines:
        assert not {"function_name", "function_memory_size", "function_arn"} & set(line), line
