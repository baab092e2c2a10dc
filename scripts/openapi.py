"""One OpenAPI document for the whole HTTP API, generated from the handlers' own models.

Every function's Powertools resolver describes its routes (``app.get_openapi_json_schema()``: request
models, path and header parameters, the documented answers). This merges them, adds what only
``template.yaml`` knows (which routes need the JWT and which scope), and documents the YooKassa webhook
(a Function URL, not the HTTP API) on its own server. ``make openapi`` writes ``openapi.json``;
tests/template/test_openapi.py fails when the committed document and the code drift apart.
"""

import dataclasses
import json
import sys
from typing import Any

from local import lambda_runtime
from local.template import ROOT, Function, functions, http_routes

OPENAPI_PATH = ROOT / "openapi.json"
TITLE = "Clean House payments API"
VERSION = "1.0.0"
JWT_SCHEME = "jwt"
WEBHOOK_FUNCTION = "YooKassaWebhookFunction"
WEBHOOK_PATH = "/webhooks/yookassa"  # also served on "/" (the Function URL's root): same operation
METHODS = ("get", "put", "post", "delete", "patch")
ENVELOPE_REF = "#/components/schemas/ErrorEnvelope"
GATEWAY_ERROR_REF = "#/components/schemas/GatewayError"
GATEWAY_ERROR = {
    "title": "GatewayError",
    "description": "The JWT authorizer's own refusal: 401 without a valid token, 403 without the scope",
    "type": "object",
    "properties": {"message": {"type": "string", "examples": ["Unauthorized", "Forbidden"]}},
    "required": ["message"],
}

DESCRIPTION = """\
YooKassa payments for Clean House orders and subscriptions. Amounts are integer kopecks.

Every route but `GET /health` needs `Authorization: Bearer <JWT>` (the API Gateway JWT authorizer: the
issuer and audience are deployment parameters); the user is the token's `sub`. Admin routes also need
the `payments/admin` scope (`x-required-scopes`). Every error of ours answers
`{"error": {"code": "...", "message": "..."}}` (validation errors add `details`); API Gateway's JWT
authorizer refuses a missing or bad token (401) or a missing scope (403) itself, with `{"message": "..."}`.

The YooKassa webhook is not part of the HTTP API: it is served on its own Lambda Function URL (the
stack output `WebhookUrl`), documented here under its own server."""


def _resolver(function: Function) -> Any:
    """The function module's Powertools resolver, ``app``, loaded the way the local runner loads it."""
    return lambda_runtime.load_handler(dataclasses.replace(function, handler="app.app"))


def _schema_of(function: Function) -> dict[str, Any]:
    text = _resolver(function).get_openapi_json_schema(title=TITLE, version=VERSION)
    document: dict[str, Any] = json.loads(text)
    return document


def _merge_components(target: dict[str, Any], source: dict[str, Any], origin: str) -> None:
    for name, schema in source.items():
        if name in target and target[name] != schema:
            raise ValueError(f"{origin} defines the schema {name} differently from another function")
        target[name] = schema


def build() -> dict[str, Any]:
    """The document, deterministic: paths, methods and schemas in sorted order."""
    routes = {(route.method.lower(), route.path): route for route in http_routes()}
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {}
    for logical_id, function in sorted(functions().items()):
        is_webhook = logical_id == WEBHOOK_FUNCTION
        if not is_webhook and not any(route.function == logical_id for route in routes.values()):
            continue  # not an HTTP function (the reconciler)
        document = _schema_of(function)
        _merge_components(schemas, document.get("components", {}).get("schemas", {}), logical_id)
        for path, item in document.get("paths", {}).items():
            if is_webhook and path != WEBHOOK_PATH:
                continue
            for method, operation in item.items():
                if method not in METHODS:
                    continue
                operation["operationId"] = logical_id.removesuffix("Function")
                operation["x-function"] = logical_id
                if is_webhook:
                    _document_webhook(operation)
                else:
                    route = routes.get((method, path))
                    if route is None or route.function != logical_id:
                        raise ValueError(f"{logical_id} serves {method.upper()} {path}, template.yaml does not")
                    _document_auth(operation, route.auth, route.scopes)
                paths.setdefault(path, {})[method] = operation
    if any(name == "YooKassaNotification" for name in schemas) or WEBHOOK_PATH in paths:
        from payments.schemas import YooKassaNotification

        notification = YooKassaNotification.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in notification.pop("$defs", {}).items():
            _merge_components(schemas, {name: definition}, "YooKassaNotification")
        _merge_components(schemas, {"YooKassaNotification": notification}, "YooKassaNotification")
    _merge_components(schemas, {"GatewayError": GATEWAY_ERROR}, "the JWT authorizer")
    return {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": VERSION, "description": DESCRIPTION},
        "servers": [
            {
                "url": "https://{apiId}.execute-api.{region}.amazonaws.com",
                "description": "The HTTP API (stack output ApiUrl)",
                "variables": {"apiId": {"default": "api-id"}, "region": {"default": "eu-central-1"}},
            },
            {"url": "http://127.0.0.1:3000", "description": "make dev"},
        ],
        "paths": {path: dict(sorted(paths[path].items())) for path in sorted(paths)},
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {
                JWT_SCHEME: {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "A token of the configured issuer (Cognito user pool or any OIDC provider)",
                }
            },
        },
    }


def _document_auth(operation: dict[str, Any], auth: bool, scopes: tuple[str, ...]) -> None:
    if not auth:
        operation["security"] = []
        return
    operation["security"] = [{JWT_SCHEME: []}]  # bearer schemes carry no scopes in OpenAPI: see below
    # API Gateway's JWT authorizer refuses before our code runs, with its own body.
    refusals = {"401": "Unauthorized: no token, or one the authorizer rejects"}
    if scopes:
        operation["x-required-scopes"] = list(scopes)
        operation["description"] = f"Needs the {' or '.join(scopes)} scope."
        refusals["403"] = "Forbidden: the token lacks the scope"
    for status, description in refusals.items():
        operation["responses"][status] = {
            "description": description,
            "content": {
                "application/json": {"schema": {"anyOf": [{"$ref": GATEWAY_ERROR_REF}, {"$ref": ENVELOPE_REF}]}}
            },
        }


def _document_webhook(operation: dict[str, Any]) -> None:
    operation["security"] = []
    operation["servers"] = [
        {
            "url": "https://{urlId}.lambda-url.{region}.on.aws",
            "description": "The webhook's Function URL (stack output WebhookUrl); make dev: http://127.0.0.1:3001",
            "variables": {"urlId": {"default": "url-id"}, "region": {"default": "eu-central-1"}},
        }
    ]
    operation["description"] = (
        "YooKassa's HTTP notifications (also accepted on the URL's root). Accepted only from YooKassa's "
        "networks (the TCP peer); the object is re-fetched from YooKassa and only that is acted on."
    )
    operation["requestBody"] = {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/YooKassaNotification"}}},
    }


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    OPENAPI_PATH.write_text(render(build()))
    sys.stdout.write(f"wrote {OPENAPI_PATH}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
