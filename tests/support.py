"""Test helpers: event builders from events/, a DynamoDB server, the sandbox."""

import copy
import functools
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import requests
from boto3.dynamodb.conditions import Key
from moto.server import ThreadedMotoServer

from local import lambda_runtime
from local.dynamodb import isolated_dynamodb_transactions
from local.template import table_definition, ttl_attribute
from payments.domain import AuditEntry

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "events"


def load_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return event


def http_event(
    function: str,
    *,
    path_params: dict[str, str] | None = None,
    body: Any = None,
    raw_body: str | None = None,
    sub: str | None = "alice",
    scopes: tuple[str, ...] = (),
    headers: dict[str, str] | None = None,
    route: str | None = None,
) -> dict[str, Any]:
    """The function's committed event with this request's body, caller and path parameters; ``route``
    (``"GET /subscriptions"``) picks another of the function's routes than its event's."""
    event = copy.deepcopy(load_event(function))
    if route is not None:
        event["routeKey"] = route
        event["requestContext"]["routeKey"] = route
        event["requestContext"]["http"]["method"] = route.split(" ", 1)[0]
    route = event["routeKey"].split(" ", 1)[1]
    path = route
    for name, value in (path_params or {}).items():
        path = path.replace("{" + name + "}", value)
    event["rawPath"] = path
    event["requestContext"]["http"]["path"] = path
    event["pathParameters"] = path_params or {}
    event["headers"] = {k: v for k, v in event["headers"].items() if k != "content-type"}
    if raw_body is not None or body is not None:
        event["body"] = raw_body if raw_body is not None else json.dumps(body)
        event["headers"]["content-type"] = "application/json"
    else:
        event.pop("body", None)
    event["headers"].update({k.lower(): v for k, v in (headers or {}).items()})
    if sub is None:
        event["requestContext"].pop("authorizer", None)
    else:
        event["requestContext"]["authorizer"] = {
            "jwt": {"claims": {"sub": sub, "scope": " ".join(scopes)}, "scopes": list(scopes)}
        }
    return event


def invoke(function: str, event: dict[str, Any]) -> tuple[int, Any]:
    result = lambda_runtime.invoke(function, event)
    body = result.get("body")
    return result["statusCode"], json.loads(body) if body else None


@contextmanager
def dynamodb_server() -> Iterator[str]:
    """moto's DynamoDB server on loopback, with transactions isolated as DynamoDB's are."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    with isolated_dynamodb_transactions():
        server.start()
        host, port = server.get_host_and_port()
        try:
            yield f"http://{host}:{port}"
        finally:
            server.stop()


def create_table(endpoint: str, table_name: str) -> None:
    client = boto3.client("dynamodb", endpoint_url=endpoint)
    existing = client.list_tables()["TableNames"]
    if table_name in existing:
        client.delete_table(TableName=table_name)
    client.create_table(**table_definition(table_name=table_name))
    ttl = ttl_attribute()
    if ttl:
        client.update_time_to_live(
            TableName=table_name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl}
        )


def sandbox_call(base_url: str, method: str, path: str, body: Any = None) -> Any:
    response = requests.request(method, f"{base_url}{path}", json=body, timeout=10)
    response.raise_for_status()
    return response.json() if response.content else None


def env(**values: str) -> dict[str, str]:
    """A copy of os.environ with some values changed."""
    return {**os.environ, **values}


@functools.cache
def _table(endpoint: str, table_name: str) -> Any:
    """A boto3 Table, built once per endpoint and name: building one costs more than a call to moto."""
    return boto3.resource("dynamodb", endpoint_url=endpoint).Table(table_name)


def raw_item(endpoint: str, table_name: str, pk: str, sk: str = "META") -> dict[str, Any] | None:
    """One item as stored (attribute name -> plain value), read past our adapter."""
    item: dict[str, Any] | None = (
        _table(endpoint, table_name).get_item(Key={"PK": pk, "SK": sk}, ConsistentRead=True).get("Item")
    )
    return item


def set_raw_attribute(endpoint: str, table_name: str, pk: str, name: str, value: str, sk: str = "META") -> None:
    """Write one attribute past our adapter, as another writer or an older version of the code would."""
    _table(endpoint, table_name).update_item(
        Key={"PK": pk, "SK": sk},
        UpdateExpression="SET #name = :value",
        ExpressionAttributeNames={"#name": name},
        ExpressionAttributeValues={":value": value},
    )


def audit_entries(endpoint: str, table_name: str, object_id: str) -> list[AuditEntry]:
    """One YooKassa object's webhook audit trail, oldest first, read past our adapter (README "Data")."""
    query = _table(endpoint, table_name).query(
        KeyConditionExpression=Key("PK").eq(f"WEBHOOK#{object_id}"), ConsistentRead=True
    )
    return [
        AuditEntry(
            event=item["event"],
            object_id=item["objectId"],
            fetched_status=item.get("fetchedStatus"),
            outcome=item["outcome"],
            source_ip=item["sourceIp"],
            payment_id=item.get("paymentId"),
            received_at=datetime.strptime(item["receivedAt"], "%Y-%m-%dT%H:%M:%S.%f%z"),
            expires_at=datetime.fromtimestamp(int(item["expiresAt"]), UTC),
        )
        for item in query["Items"]
        if str(item["SK"]).startswith("AUDIT#")
    ]
