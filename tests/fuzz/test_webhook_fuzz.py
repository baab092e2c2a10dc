"""Fuzzing YooKassa's notification parsing with hypothesis: the edge's parser and the whole webhook handler.

The webhook is public (a Function URL with AuthType NONE): whatever bytes arrive, the answer is a 2xx
or a 4xx in our envelope, never a 5xx (a 5xx would make YooKassa redeliver junk for 24 hours) and never
a crash. Bodies are arbitrary bytes, arbitrary JSON, and notification-shaped JSON with hostile fields.
"""

import base64
import copy
import json
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from local import lambda_runtime
from local.template import functions
from payments.edge import read_notification
from payments.errors import BadRequest, ValidationFailed
from payments.schemas import YooKassaNotification
from tests.conftest import Stack
from tests.support import load_event

EVENTS = ["payment.succeeded", "payment.canceled", "payment.waiting_for_capture", "refund.succeeded"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
ids = st.one_of(
    st.from_regex(r"\A[0-9a-f]{8}-000f-5000-8000-[0-9a-f]{12}\Z"),  # YooKassa's shape
    st.text(max_size=80),
    st.integers(),
    st.none(),
)
notification_shaped = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["notification", "Notification", ""]) | st.text(max_size=12),
        "event": st.sampled_from(EVENTS) | st.text(max_size=70),
        "object": st.fixed_dictionaries({"id": ids}, optional={"status": json_values, "amount": json_values})
        | json_values,
    },
    optional={"extra": json_values},
)
bodies = st.one_of(
    st.binary(max_size=256),
    json_values.map(lambda v: json.dumps(v).encode()),
    notification_shaped.map(lambda v: json.dumps(v, ensure_ascii=False).encode()),
)


def parse_notification(raw: bytes) -> YooKassaNotification:
    """What the webhook's edge reads from a body of exactly these bytes (base64, as API Gateway sends
    what is not text)."""
    event = copy.deepcopy(load_event("YooKassaWebhookFunction"))
    event.update(body=base64.b64encode(raw).decode(), isBase64Encoded=True)
    return read_notification(APIGatewayProxyEventV2(event))


@settings(max_examples=500, deadline=None, derandomize=True)
@given(bodies)
def test_the_parser_returns_a_notification_or_a_4xx(raw: bytes) -> None:
    try:
        notification = parse_notification(raw)
    except BadRequest as refused:  # MalformedJson is one
        assert refused.status == 400
        return
    except ValidationFailed as refused:  # JSON, but not an object
        assert refused.status == 422
        return
    assert notification.type == "notification"
    assert 1 <= len(notification.event) <= 64
    assert 1 <= len(notification.object.id) <= 64


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.sampled_from(EVENTS), st.from_regex(r"\A[0-9a-f]{8}-000f-5000-8000-[0-9a-f]{12}\Z"))
def test_a_real_notifications_event_and_object_id_come_through(event: str, object_id: str) -> None:
    body = {"type": "notification", "event": event, "object": {"id": object_id, "status": "succeeded"}}
    parsed = parse_notification(json.dumps(body).encode())
    assert (parsed.event, parsed.object.id) == (event, object_id)


def _event(raw: bytes, base64_encoded: bool, source_ip: str) -> dict[str, Any]:
    event = copy.deepcopy(load_event("YooKassaWebhookFunction"))
    if base64_encoded:
        event["body"] = base64.b64encode(raw).decode()
    else:
        event["body"] = raw.decode("utf-8", errors="surrogateescape").encode("utf-8", "replace").decode()
    event["isBase64Encoded"] = base64_encoded
    event["requestContext"]["http"]["sourceIp"] = source_ip
    return event


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(bodies, st.booleans(), st.sampled_from(["185.71.76.1", "77.75.156.11", "203.0.113.10", "::1", "junk"]))
def test_the_webhook_never_answers_5xx_to_any_body(
    stack: Stack, raw: bytes, base64_encoded: bool, source_ip: str
) -> None:
    if "YooKassaWebhookFunction" not in functions():
        pytest.skip("no webhook function yet")
    result = lambda_runtime.invoke("YooKassaWebhookFunction", _event(raw, base64_encoded, source_ip))
    status, answer = result["statusCode"], json.loads(result["body"])
    assert status < 500, (status, answer)
    if status >= 400:
        assert set(answer) == {"error"} and {"code", "message"} <= set(answer["error"]), answer
    else:
        assert source_ip in {"185.71.76.1", "77.75.156.11"}, "only YooKassa's networks get past the door"
