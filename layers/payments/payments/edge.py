"""What a function refuses before its resolver runs: bodies too large, not JSON, not an object.

Why before the resolver: Powertools runs request validation ahead of any middleware, so a check made
in a middleware would come after a less precise 422 (or a crash decoding a non-UTF-8 base64 body).
``api.http_handler`` and ``api.webhook_handler`` call these on the raw event first.

The body limits of every function are here, side by side: 16 KiB for the API's routes, 64 KiB for
YooKassa's notifications (README.md, "API" and "Webhooks"). The webhook's body is read and parsed here
once, into the ``YooKassaNotification`` its service receives; each of its refusals is counted as
``WebhookRejected`` by reason (template.yaml alarms on the total and charts the reasons).

Media types are case-insensitive (RFC 9110, 8.3.1) but Powertools compares ``Content-Type`` to
``application/json`` case-sensitively and raises on anything else: ``canonical_media_type`` rewrites the
header before the resolver sees it, so ``APPLICATION/JSON`` is served as JSON.
"""

import json
from typing import Any

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from pydantic import ValidationError

from payments.errors import (
    BadRequest,
    MalformedJson,
    PayloadTooLarge,
    PaymentsError,
    UnsupportedMediaType,
    ValidationFailed,
)
from payments.observability import count
from payments.schemas import YooKassaNotification

API_BODY_LIMIT = 16 * 1024  # every route of the HTTP API: its bodies are a few hundred bytes
WEBHOOK_BODY_LIMIT = 64 * 1024  # YooKassa's notifications carry a whole payment object: a few KiB
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
JSON = "application/json"
_CONTENT_TYPE = "content-type"


def canonical_media_type(event: dict[str, Any]) -> dict[str, Any]:
    """The event with its ``Content-Type`` as the resolver can read it; the caller's event is unchanged.

    With a body, the media type is lower-cased (its parameters are kept): Powertools would refuse
    ``Application/Json`` with an exception of its own, and read anything but JSON as a form. Without
    a body there is nothing for the header to describe: it is dropped, so that a route that needs a
    body answers ``bad_request`` whatever the client put there (Powertools would otherwise try to parse
    the nothing as a form or a multipart body, and fail on its own). Header names are matched in any
    case, although API Gateway and Function URLs already send them in lower case.
    """
    headers = event.get("headers") or {}
    sent = [str(value) for name, value in headers.items() if name.lower() == _CONTENT_TYPE]
    if not sent:
        return event
    kept = {name: value for name, value in headers.items() if name.lower() != _CONTENT_TYPE}
    if event.get("body"):
        media_type, separator, parameters = ",".join(sent).partition(";")
        kept[_CONTENT_TYPE] = media_type.strip().lower() + separator + parameters
    return {**event, "headers": kept}


def has_body(request: APIGatewayProxyEventV2) -> bool:
    """Whether the method carries a body we read (a GET's is ignored, as the routes do)."""
    return request.request_context.http.method in BODY_METHODS


def check_api_request(request: APIGatewayProxyEventV2) -> None:
    """An API route's body, if any, is at most 16 KiB of JSON holding one object; else raises.

    No body is let through: the resolver answers ``bad_request`` where a route needs one. The body is
    parsed here only to refuse it precisely: Python's parser refuses what Powertools' would choke on
    (integers of more than 4300 digits are malformed JSON, not a crash), and Powertools would take
    the first element of a JSON array as the body.
    """
    if not has_body(request):
        return
    text = _body_text(request, API_BODY_LIMIT)
    if text is not None:
        _json_object(text)


def read_notification(request: APIGatewayProxyEventV2) -> YooKassaNotification:
    """The webhook's body as a notification (JSON, ``type``, ``event``, ``object.id``), or raises.

    Every refusal is counted: ``too_large``, ``malformed_json`` (not JSON, bad base64 or UTF-8) or
    ``malformed_notification`` (no body, not JSON's media type, not an object, not a notification).
    """
    try:
        text = _body_text(request, WEBHOOK_BODY_LIMIT)
        if text is None:
            raise BadRequest("A notification body is required")
        try:
            return YooKassaNotification.model_validate(_json_object(text))
        except ValidationError as exc:
            raise BadRequest("Not a YooKassa notification") from exc
    except PaymentsError as refused:
        # The total feeds the alarm; the per-reason breakdown the dashboard. Reasons are a fixed vocabulary.
        count("WebhookRejected", reason=_rejection_reason(refused))
        raise


def _body_text(request: APIGatewayProxyEventV2, limit: int) -> str | None:
    """The body as text (base64 decoded), ``None`` when there is none; raises what we refuse unread."""
    body = request.body or ""
    # Refuse by size before decoding anything: the encoded form bounds the decoded one.
    if len(body) > (limit * 4 // 3 + 4 if request.is_base64_encoded else limit):
        raise PayloadTooLarge()
    if not body:
        return None
    if _media_type(request) != JSON:
        raise UnsupportedMediaType()
    try:
        # API Gateway base64-encodes what is not text; what is not UTF-8 cannot be JSON.
        return request.decoded_body
    except ValueError as exc:  # binascii.Error and UnicodeDecodeError are ValueErrors
        raise MalformedJson() from exc


def _media_type(request: APIGatewayProxyEventV2) -> str:
    """The media type without its parameters, in lower case: compared case-insensitively everywhere."""
    return str(request.headers.get(_CONTENT_TYPE) or "").split(";")[0].strip().lower()


def _json_object(text: str) -> dict[str, Any]:
    try:
        parsed = json.loads(text)
    except ValueError as exc:
        raise MalformedJson() from exc
    if not isinstance(parsed, dict):
        raise ValidationFailed(details=[{"field": "body", "problem": "must be a JSON object"}])
    return parsed


def _rejection_reason(refused: PaymentsError) -> str:
    if isinstance(refused, PayloadTooLarge):
        return "too_large"
    if isinstance(refused, MalformedJson):
        return "malformed_json"
    return "malformed_notification"
