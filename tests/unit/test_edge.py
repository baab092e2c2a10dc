"""What the HTTP edge refuses before any resolver or service runs (payments/edge.py), per function.

API routes take at most 16 KiB, the webhook 64 KiB (README.md); the webhook's body is parsed here
once, and each of its refusals is counted as ``WebhookRejected`` with its reason.
"""

import base64
import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from local import lambda_runtime
from payments import runtime
from payments.edge import (
    API_BODY_LIMIT,
    WEBHOOK_BODY_LIMIT,
    canonical_media_type,
    check_api_request,
    read_notification,
)
from payments.errors import PaymentsError
from payments.observability import metrics
from tests.support import load_event


def request(function: str, text: str, *, base64_encoded: bool = False, **change: Any) -> APIGatewayProxyEventV2:
    event = copy.deepcopy(load_event(function))
    event["body"] = base64.b64encode(text.encode()).decode() if base64_encoded else text
    event["isBase64Encoded"] = base64_encoded
    event["headers"]["content-type"] = change.pop("content_type", "application/json")
    event["requestContext"]["http"]["method"] = change.pop("method", "POST")
    return APIGatewayProxyEventV2(event)


def notification(size: int = 0) -> str:
    """A notification padded (with a field we ignore) to at least ``size`` bytes."""
    payment: dict[str, str] = {"id": "30f1d2a4-000f-5000"}
    body = {"type": "notification", "event": "payment.succeeded", "object": payment}
    shortfall = size - len(json.dumps(body))
    if shortfall > 0:
        payment["description"] = "x" * shortfall
    return json.dumps(body)


@pytest.fixture
def emitted_metrics(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """EMF on (conftest turns it off): the reasons are read from stdout; nothing is left for later flushes."""
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "0")
    yield
    metrics.clear_metrics()


def reasons_emitted(capsys: pytest.CaptureFixture[str]) -> list[str]:
    blobs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    return [blob["reason"] for blob in blobs if "WebhookRejected" in blob and "reason" in blob]


@pytest.mark.parametrize("base64_encoded", [False, True])
@pytest.mark.parametrize("size", [0, API_BODY_LIMIT + 1_000, WEBHOOK_BODY_LIMIT - 100])
def test_notifications_up_to_64_kib_are_read(size: int, base64_encoded: bool) -> None:
    parsed = read_notification(
        request("YooKassaWebhookFunction", notification(size), base64_encoded=base64_encoded)
    )

    assert (parsed.type, parsed.event, parsed.object.id) == (
        "notification",
        "payment.succeeded",
        "30f1d2a4-000f-5000",
    )


WEBHOOK_REFUSALS = [
    pytest.param(
        notification(WEBHOOK_BODY_LIMIT + 1), {}, 413, "payload_too_large", "too_large", id="too-large"
    ),
    pytest.param(
        notification(WEBHOOK_BODY_LIMIT + 1),
        {"base64_encoded": True},
        413,
        "payload_too_large",
        "too_large",
        id="too-large-base64",
    ),
    pytest.param("{not json", {}, 400, "malformed_json", "malformed_json", id="not-json"),
    pytest.param("", {}, 400, "bad_request", "malformed_notification", id="no-body"),
    pytest.param("[]", {}, 422, "validation_error", "malformed_notification", id="array"),
    pytest.param(
        '{"type": "event"}', {}, 400, "bad_request", "malformed_notification", id="not-a-notification"
    ),
    pytest.param(
        notification().replace("30f1d2a4-000f-5000", "../me"),
        {},
        400,
        "bad_request",
        "malformed_notification",
        id="id-walking-paths",
    ),
    pytest.param(
        notification(),
        {"content_type": "text/plain"},
        415,
        "unsupported_media_type",
        "malformed_notification",
        id="text",
    ),
]


@pytest.mark.parametrize(("text", "change", "status", "code", "reason"), WEBHOOK_REFUSALS)
def test_webhook_refusals_are_counted_by_reason(
    text: str,
    change: dict[str, Any],
    status: int,
    code: str,
    reason: str,
    emitted_metrics: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(PaymentsError) as refused:
        read_notification(request("YooKassaWebhookFunction", text, **change))

    assert (refused.value.status, refused.value.code) == (status, code)
    assert reasons_emitted(capsys) == [reason]


def test_a_body_that_is_not_base64_or_not_utf8_is_malformed_json(
    emitted_metrics: None, capsys: pytest.CaptureFixture[str]
) -> None:
    for raw in ("!!!", base64.b64encode(b"\xff\xfe{}").decode()):
        event = request("YooKassaWebhookFunction", "")
        event.raw_event.update(body=raw, isBase64Encoded=True)
        with pytest.raises(PaymentsError) as refused:
            read_notification(APIGatewayProxyEventV2(event.raw_event))
        assert refused.value.code == "malformed_json"
    assert reasons_emitted(capsys) == ["malformed_json", "malformed_json"]


API_REFUSALS = [
    pytest.param('{"orderId": "' + "x" * API_BODY_LIMIT + '"}', {}, 413, "payload_too_large", id="over-16-kib"),
    pytest.param("{", {}, 400, "malformed_json", id="not-json"),
    pytest.param('{"amount": ' + "9" * 5000 + "}", {}, 400, "malformed_json", id="huge-integer"),
    pytest.param("[{}]", {}, 422, "validation_error", id="array"),
    pytest.param(
        "a=b", {"content_type": "application/x-www-form-urlencoded"}, 415, "unsupported_media_type", id="form"
    ),
    pytest.param("{}", {"content_type": "TEXT/PLAIN"}, 415, "unsupported_media_type", id="text-upper-case"),
    pytest.param("{}", {"content_type": "application/json5"}, 415, "unsupported_media_type", id="json-prefix"),
    pytest.param("{}", {"content_type": ""}, 415, "unsupported_media_type", id="no-media-type"),
]


@pytest.mark.parametrize(("text", "change", "status", "code"), API_REFUSALS)
def test_api_bodies_are_refused_unread(text: str, change: dict[str, Any], status: int, code: str) -> None:
    with pytest.raises(PaymentsError) as refused:
        check_api_request(request("CreateOrderPaymentFunction", text, **change))

    assert (refused.value.status, refused.value.code) == (status, code)


@pytest.mark.parametrize(
    ("text", "method"),
    [('{"orderId": "o", "amount": 100}', "POST"), ("", "POST"), ("{", "GET")],
    ids=["an-object", "no-body-left-to-the-route", "a-gets-body-is-ignored"],
)
def test_api_bodies_that_pass(text: str, method: str) -> None:
    check_api_request(request("CreateOrderPaymentFunction", text, method=method))


@pytest.mark.parametrize(
    ("sent", "canonical"),
    [
        ("application/json", "application/json"),
        ("APPLICATION/JSON", "application/json"),
        ("Application/Json", "application/json"),
        ("application/JSON; charset=utf-8", "application/json; charset=utf-8"),
        (" Application/JSON ;charset=UTF-8", "application/json;charset=UTF-8"),
        ("TEXT/PLAIN", "text/plain"),  # still refused, now in the words the edge compares
    ],
)
def test_the_media_type_reaches_the_resolver_in_lower_case(sent: str, canonical: str) -> None:
    """Media types are case-insensitive; Powertools compares them as sent (a 500 for ``APPLICATION/JSON``)."""
    event = request("CreateOrderPaymentFunction", "{}", content_type=sent).raw_event
    before = copy.deepcopy(event)

    normalised = canonical_media_type(event)

    assert normalised["headers"]["content-type"] == canonical
    assert {k: v for k, v in normalised["headers"].items() if k != "content-type"} == {
        k: v for k, v in event["headers"].items() if k != "content-type"
    }
    assert event == before  # the caller's event is not changed


def test_a_content_type_header_is_found_in_any_case() -> None:
    event = request("CreateOrderPaymentFunction", "{}").raw_event
    event["headers"] = {"Content-Type": "APPLICATION/JSON", "authorization": "Bearer t"}

    assert canonical_media_type(event)["headers"] == {
        "content-type": "application/json",
        "authorization": "Bearer t",
    }


@pytest.mark.parametrize("sent", ["multipart/form-data", "TEXT/PLAIN", "APPLICATION/JSON"])
def test_without_a_body_the_content_type_is_dropped(sent: str) -> None:
    """Nothing to describe: Powertools would otherwise parse no body as a form or multipart, and crash."""
    event = request("CreateOrderPaymentFunction", "", content_type=sent).raw_event

    assert "content-type" not in canonical_media_type(event)["headers"]


def test_an_event_without_a_content_type_is_passed_as_it_is() -> None:
    event = request("CreateOrderPaymentFunction", "").raw_event
    del event["headers"]["content-type"]

    assert canonical_media_type(event) is event
    assert canonical_media_type({**event, "headers": None})["headers"] is None


@pytest.mark.parametrize(
    "content_type", ["APPLICATION/JSON", "Application/Json", "application/JSON; charset=utf-8"]
)
def test_json_in_any_case_passes_the_edge(content_type: str) -> None:
    check_api_request(request("CreateOrderPaymentFunction", '{"orderId": "o"}', content_type=content_type))
    read_notification(request("YooKassaWebhookFunction", notification(), content_type=content_type))


@pytest.fixture
def handlers() -> Iterator[None]:
    """The handlers as loaded by the local runner; adapters built for this test are forgotten after it."""
    yield
    runtime.reset()


def test_each_function_has_its_own_limit(handlers: None) -> None:
    """Through the handlers: 17 KB passes the webhook's edge (a foreign peer then gets the service's
    403, before any I/O) and is refused at the API's."""
    event = request("YooKassaWebhookFunction", notification(API_BODY_LIMIT + 1_000)).raw_event
    event["requestContext"]["http"]["sourceIp"] = "203.0.113.10"
    api_event = request("CreateOrderPaymentFunction", notification(API_BODY_LIMIT + 1_000)).raw_event

    assert lambda_runtime.invoke("YooKassaWebhookFunction", event)["statusCode"] == 403
    assert lambda_runtime.invoke("CreateOrderPaymentFunction", api_event)["statusCode"] == 413
