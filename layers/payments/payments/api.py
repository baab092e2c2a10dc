"""The HTTP edge every handler imports: the resolver, the Lambda entry points, the caller.

A handler is ``app = make_resolver()``, its routes (parse -> one service call -> ``json_response``) and
``handler = http_handler(app)`` (``webhook_handler`` for YooKassa's notifications). Errors are mapped
to the one envelope here, whoever raises them; refusals made before the resolver are in ``edge``.
Each request ends with one log line: route, HTTP status and, bound where it is known, our error code.
"""

from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError as RouteNotFound
from aws_lambda_powertools.event_handler.exceptions import ResponseSizeExceededError, ServiceError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    OpenAPIMergeError,
    RequestUnsupportedContentType,
    RequestValidationError,
    SerializationError,
    ValidationException,
)
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from aws_lambda_powertools.utilities.typing import LambdaContext

from payments import errors
from payments.domain import Caller
from payments.domain.receipts import is_email, normalize_phone
from payments.edge import canonical_media_type, check_api_request, has_body, read_notification
from payments.fields import is_user_id
from payments.observability import bind, handled, logger
from payments.responses import answers, error_response, json_response, proxy_result
from payments.schemas import YooKassaNotification

__all__ = [
    "ADMIN_SCOPE",
    "answers",
    "caller_of",
    "http_handler",
    "json_response",
    "make_resolver",
    "notification_of",
    "webhook_handler",
]

ADMIN_SCOPE = "payments/admin"
# Path parameters that become log keys: ids only, never bodies or headers.
LOG_KEYS = frozenset({"paymentId", "orderId", "planId", "subscriptionId"})
_NOTIFICATION = "notification"  # the resolver's context key of the webhook's parsed body

Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]
Admission = Callable[[APIGatewayProxyEventV2], None]


def caller_of(app: APIGatewayHttpResolver, scope: str | None = None) -> Caller:
    """The user the JWT authorizer verified (``sub``), with the token's scopes.

    The ``sub`` is opaque (``auth0|5f7c...``, ``google-oauth2|1098...``): any ``schemas.UserId`` (1 to 255
    printable characters, OIDC's own limit) is a user. Anything else is refused as ``unauthorized``
    before any read or write: the id becomes part of keys, log lines and YooKassa's metadata, and a
    token we cannot name a user by identifies nobody. API Gateway already enforces each route's
    scopes; ``scope`` checks again here so that a template mistake cannot open an admin route.
    """
    authorizer = app.current_event.request_context.authorizer
    claims = authorizer.jwt_claim
    user_id = claims.get("sub")
    if not isinstance(user_id, str) or not user_id:
        raise errors.Unauthorized()
    if not is_user_id(user_id):  # never logged: it may be 10 KB or hold control characters
        raise errors.Unauthorized("The token's subject (sub) is not a user id this service accepts")
    scopes = set(authorizer.jwt_scopes or [])
    scopes.update(str(claims.get("scope", "")).split())
    caller = Caller(user_id=user_id, scopes=frozenset(scopes), **receipt_contact_claims(claims))
    bind(userId=user_id)
    if scope is not None and not caller.has(scope):
        raise errors.Forbidden(f"This operation needs the {scope} scope")
    return caller


def receipt_contact_claims(claims: Mapping[str, object]) -> dict[str, str | None]:
    """Where a receipt may go, from the token's standard claims (``email``, ``phone_number``): kept only
    when they are an address and a phone number YooKassa accepts, never required by this step."""
    email, phone = claims.get("email"), claims.get("phone_number")
    return {
        "email": email if isinstance(email, str) and is_email(email) else None,
        "phone": normalize_phone(phone) if isinstance(phone, str) else None,
    }


def notification_of(app: APIGatewayHttpResolver) -> YooKassaNotification:
    """The notification ``webhook_handler`` parsed from this request's body (``edge.read_notification``)."""
    notification = app.context.get(_NOTIFICATION)
    if not isinstance(notification, YooKassaNotification):
        raise errors.PaymentsError("The notification was not read at the edge")  # a wiring mistake: 500
    return notification


def make_resolver() -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver(enable_validation=True)

    @app.exception_handler(errors.PaymentsError)
    def _known(exc: errors.PaymentsError) -> Response[Any]:
        response = _refused(exc)
        if exc.status >= 500:  # ours to look into; the line carries the bound errorCode
            logger.warning("request failed", extra={"cause": repr(exc.__cause__)})
        return response

    @app.exception_handler(RequestValidationError)
    def _invalid(exc: RequestValidationError) -> Response[Any]:
        return _refused(_validation_problem(exc))

    @app.exception_handler(RequestUnsupportedContentType)
    def _unsupported(exc: RequestUnsupportedContentType) -> Response[Any]:
        # The edge lets only JSON through (edge.canonical_media_type); this is the backstop.
        return _refused(errors.UnsupportedMediaType())

    @app.not_found
    def _no_route(exc: RouteNotFound) -> Response[Any]:
        return _refused(errors.NotFound("No such route"))

    @app.exception_handler(ServiceError)
    def _framework_refusal(exc: ServiceError) -> Response[Any]:
        # Powertools' HTTP errors (BadRequestError...) would answer their own {"statusCode", "message"}.
        error = _service_problem(exc)
        if error.status >= 500:
            logger.warning("request failed", extra={"frameworkError": type(exc).__name__})
        return _refused(error)

    # Deliberately 500: each of these says our side is wrong, never the request. Our answer does not
    # fit its schema (ResponseValidationError, raised only if response validation is turned on) or
    # cannot be encoded (SerializationError) or is too large (ResponseSizeExceededError, ALB only);
    # the OpenAPI document cannot be built (SchemaValidationError, OpenAPIMergeError). The request-side
    # ValidationExceptions are mapped above; Powertools raises their base class itself nowhere.
    @app.exception_handler(
        [ValidationException, SerializationError, OpenAPIMergeError, ResponseSizeExceededError]
    )
    def _server_side(exc: Exception) -> Response[Any]:
        logger.exception("the HTTP framework failed on our side")
        return _refused(errors.PaymentsError())

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response[Any]:
        logger.exception("unexpected error")
        return _refused(errors.PaymentsError())

    return app


def http_handler(app: APIGatewayHttpResolver) -> Handler:
    """The Lambda entry point of an HTTP API function: bodies up to ``edge.API_BODY_LIMIT``."""
    return _entry_point(app, check_api_request)


def webhook_handler(app: APIGatewayHttpResolver) -> Handler:
    """The Lambda entry point of the webhook: its body parsed once at the edge (up to
    ``edge.WEBHOOK_BODY_LIMIT``), then read by the route with ``notification_of(app)``."""

    def admit(request: APIGatewayProxyEventV2) -> None:
        if has_body(request):
            app.append_context(**{_NOTIFICATION: read_notification(request)})

    return _entry_point(app, admit)


def _entry_point(app: APIGatewayHttpResolver, admit: Admission) -> Handler:
    """Correlation ids and metrics around ``admit`` (what is refused unread), then the resolver."""

    # Never the event logged, whatever POWERTOOLS_LOGGER_LOG_EVENT says: it carries the Authorization header.
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        event = canonical_media_type(event)  # before anything reads Content-Type, the resolver included
        request = APIGatewayProxyEventV2(event)
        bind(**{key: str(value)[:64] for key, value in request.path_parameters.items() if key in LOG_KEYS})
        try:
            admit(request)
        except errors.PaymentsError as refused:
            bind(errorCode=refused.code)
            result = proxy_result(refused)
        else:
            result = app.resolve(event, context)
        _log_outcome(request, result)
        return result

    return handled(handler, correlation_paths.API_GATEWAY_HTTP)


def _refused(error: errors.PaymentsError) -> Response[Any]:
    """The error's envelope, its code bound to this request's log lines (the outcome line too)."""
    bind(errorCode=error.code)
    return error_response(error)


# Powertools' ServiceError by HTTP status, in our vocabulary; each answers its own message, never the
# raiser's ``msg`` (which may be a dict, or name internals).
_SERVICE_ERRORS: dict[int, type[errors.PaymentsError]] = {
    400: errors.BadRequest,
    401: errors.Unauthorized,
    403: errors.Forbidden,
    404: errors.NotFound,
    408: errors.RequestTimeout,
    413: errors.PayloadTooLarge,
    500: errors.PaymentsError,  # InternalServerError: ours by definition
    503: errors.StoreUnavailable,  # ServiceUnavailableError: a retry may succeed; same envelope code
}


def _service_problem(exc: ServiceError) -> errors.PaymentsError:
    """A Powertools ``ServiceError`` as ours: by its status; an unknown 4xx is still the client's
    (``bad_request``), an unknown 5xx ours (``internal_error``)."""
    known = _SERVICE_ERRORS.get(int(exc.status_code))
    if known is errors.StoreUnavailable:
        return errors.StoreUnavailable("The service is temporarily unavailable")
    if known is not None:
        return known()
    return errors.BadRequest() if 400 <= int(exc.status_code) < 500 else errors.PaymentsError()


def _validation_problem(exc: RequestValidationError) -> errors.PaymentsError:
    """Powertools' validation errors in our vocabulary: no body, malformed JSON, or which field."""
    problems = exc.errors()
    if any(p.get("type") == "json_invalid" for p in problems):
        return errors.MalformedJson()
    if any(p.get("type") == "missing" and tuple(p.get("loc", ())) == ("body",) for p in problems):
        return errors.BadRequest("A JSON body is required")
    details = [
        {"field": ".".join(str(part) for part in p.get("loc", ())[1:]) or "body", "problem": p.get("msg", "")}
        for p in problems
    ]
    return errors.ValidationFailed(details=details)


def _log_outcome(request: APIGatewayProxyEventV2, result: dict[str, Any]) -> None:
    """One line per request: the route and the status (``errorCode`` and ids are bound keys)."""
    route = request.get("routeKey") or "$default"
    if route == "$default":  # a Function URL: no route key
        route = f"{request.request_context.http.method} {request.raw_path}"
    status = result.get("statusCode")
    # A read that answered is routine (a poll every 2 s): DEBUG. Writes and every failure: INFO.
    routine = request.request_context.http.method == "GET" and isinstance(status, int) and status < 400
    (logger.debug if routine else logger.info)("request handled", extra={"route": route, "httpStatus": status})
