"""HTTP glue shared by every API handler: the resolver, the caller, and errors mapped in one place."""

import base64
import json
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError as RouteNotFound
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from payments import errors
from payments.domain import Caller
from payments.observability import bind, logger, metrics
from payments.schemas import ErrorEnvelope

ADMIN_SCOPE = "payments/admin"
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
MAX_BODY_BYTES = 16_384


def caller_of(app: APIGatewayHttpResolver, scope: str | None = None) -> Caller:
    """The user the JWT authorizer verified (``sub``), with the token's scopes.

    API Gateway already enforces each route's scopes; ``scope`` checks again here so that a template
    mistake cannot open an admin route.
    """
    jwt = (app.current_event.raw_event.get("requestContext") or {}).get("authorizer", {}).get("jwt") or {}
    claims = jwt.get("claims") or {}
    user_id = claims.get("sub")
    if not isinstance(user_id, str) or not user_id:
        raise errors.Unauthorized()
    scopes = set(jwt.get("scopes") or [])
    scopes.update(str(claims.get("scope", "")).split())
    caller = Caller(user_id=user_id, scopes=frozenset(scopes))
    bind(userId=user_id)
    if scope is not None and not caller.has(scope):
        raise errors.Forbidden(f"This operation needs the {scope} scope")
    return caller


def answers(model: type[BaseModel], *error_statuses: int, status: int = 200) -> dict[int, Any]:
    """OpenAPI responses for a route: its model on success, the error envelope otherwise.

    Routes declare their model here rather than as the return annotation, because Powertools would
    re-serialize an annotated model with its ``null`` fields; we leave absent fields out.
    """
    documented: dict[int, Any] = {
        status: {"description": "OK", "content": {"application/json": {"model": model}}}
    }
    for error_status in sorted({400, 422, 500, 503, *error_statuses}):
        documented[error_status] = {
            "description": HTTPStatus(error_status).phrase,
            "content": {"application/json": {"model": ErrorEnvelope}},
        }
    return documented


def json_response(model: BaseModel, status: int = 200) -> Response[Any]:
    """The answer of every route. Annotate the route ``-> Response[Any]`` and document the model with
    ``responses=answers(Model, ...)``: an annotated ``Response[Model]`` would be re-validated and
    re-serialized by Powertools with ``null`` for every absent field."""
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=model.model_dump(mode="json", exclude_none=True),
        headers={"Cache-Control": "no-store"},
    )


def error_response(error: errors.PaymentsError) -> Response[Any]:
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.details:
        body["details"] = error.details
    return Response(
        status_code=error.status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps({"error": body}, ensure_ascii=False),
        headers={"Cache-Control": "no-store"},
    )


def _unreadable(event: dict[str, Any]) -> errors.PaymentsError | None:
    """What we refuse before parsing anything: oversized and non-JSON bodies.

    Checked on the raw event, ahead of the resolver, whose request validation would otherwise
    answer first with a less precise 422.
    """
    method = ((event.get("requestContext") or {}).get("http") or {}).get("method", "")
    if method not in BODY_METHODS:
        return None
    body = event.get("body") or ""
    limit = MAX_BODY_BYTES * 4 // 3 + 4 if event.get("isBase64Encoded") else MAX_BODY_BYTES
    if len(body) > limit:
        return errors.PayloadTooLarge()
    headers = {str(k).lower(): v for k, v in (event.get("headers") or {}).items()}
    content_type = str(headers.get("content-type") or "").split(";")[0].strip().lower()
    if body and content_type != "application/json":
        return errors.UnsupportedMediaType()
    if not body:
        return None
    text = body
    if event.get("isBase64Encoded"):
        # API Gateway base64-encodes what is not text: Powertools would crash decoding non-UTF-8 (a 500).
        try:
            text = base64.b64decode(body).decode("utf-8")
        except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
            return errors.MalformedJson()
    # Parsed once here (at most 16 KiB): what Python's parser refuses — including integers of more
    # than 4300 digits — is malformed JSON, not a crash; and Powertools would take the first element
    # of a JSON array as the body.
    try:
        parsed = json.loads(text)
    except ValueError:
        return errors.MalformedJson()
    if not isinstance(parsed, dict):
        return errors.ValidationFailed(details=[{"field": "body", "problem": "must be a JSON object"}])
    return None


def _proxy_error(error: errors.PaymentsError) -> dict[str, Any]:
    response = error_response(error)
    return {
        "statusCode": response.status_code,
        "headers": {"Content-Type": content_types.APPLICATION_JSON, "Cache-Control": "no-store"},
        "body": response.body,
        "isBase64Encoded": False,
        "cookies": [],
    }


def _validation_error(exc: RequestValidationError) -> Response[Any]:
    problems = exc.errors()
    if any(p.get("type") == "json_invalid" for p in problems):
        return error_response(errors.MalformedJson())
    if any(p.get("type") == "missing" and tuple(p.get("loc", ())) == ("body",) for p in problems):
        return error_response(errors.BadRequest("A JSON body is required"))
    details = [
        {"field": ".".join(str(part) for part in p.get("loc", ())[1:]) or "body", "problem": p.get("msg", "")}
        for p in problems
    ]
    return error_response(errors.ValidationFailed(details=details))


def make_resolver() -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver(enable_validation=True)

    @app.exception_handler(errors.PaymentsError)
    def _known(exc: errors.PaymentsError) -> Response[Any]:
        if exc.status >= 500:
            logger.warning("request failed", extra={"error_code": exc.code, "cause": repr(exc.__cause__)})
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    def _invalid(exc: RequestValidationError) -> Response[Any]:
        return _validation_error(exc)

    @app.not_found
    def _no_route(exc: RouteNotFound) -> Response[Any]:
        return error_response(errors.NotFound("No such route"))

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response[Any]:
        logger.exception("unexpected error")
        return error_response(errors.PaymentsError())

    return app


def http_handler(app: APIGatewayHttpResolver) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    """The Lambda entry point for an HTTP API function: correlation ids, metrics, then the resolver."""

    # log_event=False whatever POWERTOOLS_LOGGER_LOG_EVENT says: an event carries the Authorization header.
    @logger.inject_lambda_context(
        correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True, log_event=False
    )
    @metrics.log_metrics(capture_cold_start_metric=True)
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        path_parameters = event.get("pathParameters") or {}
        bind(**{key: str(value)[:64] for key, value in path_parameters.items() if key in LOG_KEYS})
        refused = _unreadable(event)
        result: dict[str, Any] = _proxy_error(refused) if refused else app.resolve(event, context)
        _log_outcome(event, result)
        return result

    return handler


# Path parameters and answer fields that become log keys: ids only, never bodies or headers.
LOG_KEYS = frozenset({"paymentId", "orderId", "planId"})


def _log_outcome(event: dict[str, Any], result: dict[str, Any]) -> None:
    """One line per request: the route, the status, our error code; the new paymentId of a create."""
    status = result.get("statusCode")
    outcome: dict[str, Any] = {}
    body = result.get("body")
    if isinstance(body, str) and body.startswith("{") and len(body) <= MAX_BODY_BYTES:
        try:
            answer = json.loads(body)
        except ValueError:
            answer = {}
        if isinstance(answer, dict):
            error = answer.get("error")
            if isinstance(error, dict) and isinstance(error.get("code"), str):
                outcome["errorCode"] = error["code"]
            if isinstance(answer.get("paymentId"), str):
                bind(paymentId=answer["paymentId"])
    route = event.get("routeKey") or "$default"
    if route == "$default":  # a Function URL: no route key
        http = (event.get("requestContext") or {}).get("http") or {}
        route = f"{http.get('method', '')} {event.get('rawPath', '')}"
    logger.info("request handled", extra={"route": route, "httpStatus": status, **outcome})
