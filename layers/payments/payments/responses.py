"""What every HTTP function answers: its model in camelCase, or one error envelope.

Shared by the resolver's routes and exception handlers (``api``) and by the refusals made before the
resolver runs (``edge``), so that an error looks the same whoever answers it.
"""

import json
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from pydantic import BaseModel

from payments.errors import PaymentsError
from payments.schemas import ErrorEnvelope

NO_STORE = {"Cache-Control": "no-store"}  # answers are per user and per moment: never cached


def json_response(model: BaseModel, status: int = 200) -> Response[Any]:
    """The answer of every route, by its wire (camelCase) names, absent fields left out.

    Annotate the route ``-> Response[Any]`` and document the model with ``responses=answers(Model, ...)``:
    an annotated ``Response[Model]`` would be re-validated and re-serialized by Powertools with ``null``
    for every absent field."""
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=model.model_dump(mode="json", by_alias=True, exclude_none=True),
        headers=NO_STORE,
    )


def error_response(error: PaymentsError) -> Response[Any]:
    return Response(
        status_code=error.status,
        content_type=content_types.APPLICATION_JSON,
        body=_envelope(error),
        headers=NO_STORE,
    )


def proxy_result(error: PaymentsError) -> dict[str, Any]:
    """``error`` as the Lambda proxy result the resolver would have built: for refusals made before it."""
    return {
        "statusCode": error.status,
        "headers": {"Content-Type": content_types.APPLICATION_JSON, **NO_STORE},
        "body": _envelope(error),
        "isBase64Encoded": False,
        "cookies": [],
    }


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


def _envelope(error: PaymentsError) -> str:
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.details:
        body["details"] = error.details
    return json.dumps({"error": body}, ensure_ascii=False)
