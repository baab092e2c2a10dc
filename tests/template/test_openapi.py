"""openapi.json: generated from the code, committed, and in step with template.yaml."""

import json
from typing import Any

import schemathesis
from schemathesis.core.result import Ok

from local.template import functions, http_routes
from scripts.openapi import JWT_SCHEME, METHODS, OPENAPI_PATH, WEBHOOK_FUNCTION, WEBHOOK_PATH, build, render


def committed() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(OPENAPI_PATH.read_text())
    return document


def operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


def test_the_committed_document_is_what_the_code_generates() -> None:
    assert OPENAPI_PATH.read_text() == render(build()), "openapi.json is stale: run `make openapi`"


def test_every_template_route_is_documented_and_nothing_else() -> None:
    documented = {key for key, op in operations(committed()).items() if "servers" not in op}
    assert documented == {(route.method, route.path) for route in http_routes()}


def test_the_webhook_is_documented_on_its_function_url() -> None:
    assert functions()[WEBHOOK_FUNCTION].function_url
    webhook = operations(committed())[("POST", WEBHOOK_PATH)]
    assert webhook["x-function"] == WEBHOOK_FUNCTION
    assert webhook["security"] == []
    assert "lambda-url" in webhook["servers"][0]["url"]


def test_auth_and_scopes_follow_the_template() -> None:
    documented = operations(committed())
    assert committed()["components"]["securitySchemes"][JWT_SCHEME]["scheme"] == "bearer"
    for route in http_routes():
        operation = documented[(route.method, route.path)]
        assert operation["x-function"] == route.function
        assert operation["security"] == ([{JWT_SCHEME: []}] if route.auth else [])
        assert operation.get("x-required-scopes", []) == list(route.scopes)


def test_every_error_is_documented_as_the_envelope() -> None:
    """Ours always; a 401/403 of a JWT route may also be API Gateway's own ``{"message"}``."""
    envelope = {"$ref": "#/components/schemas/ErrorEnvelope"}
    gateway = {"anyOf": [{"$ref": "#/components/schemas/GatewayError"}, envelope]}
    for (method, path), operation in operations(committed()).items():
        guarded = bool(operation["security"])
        for status, answer in operation["responses"].items():
            if int(status) >= 400:
                schema = answer["content"]["application/json"]["schema"]
                refused_by_gateway = guarded and status in {"401", "403"}
                assert schema == (gateway if refused_by_gateway else envelope), (method, path, status)


def test_schemathesis_reads_every_operation() -> None:
    schema = schemathesis.openapi.from_path(str(OPENAPI_PATH))
    loaded = set()
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result.err()
        operation = result.ok()
        loaded.add((operation.method.upper(), operation.path))
    assert loaded == set(operations(committed()))
