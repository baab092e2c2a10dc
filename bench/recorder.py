"""What an operation asks of AWS and of YooKassa, recorded in-process; what it costs in DynamoDB request
units; and the same requests replayed bare (plain boto3 and requests), the baseline of warm latency.

Recording wraps ``botocore.client.BaseClient._make_api_call`` (PynamoDB and boto3 both end there, as in
tests/template/test_policy_calls.py) and ``requests.adapters.HTTPAdapter.send`` (the YooKassa client's
transport). Both wrappers stay installed for the whole run, so the bare replay pays for them as the
handlers do; they record only inside ``Recorder.recording()``.
"""

import contextlib
import copy
import math
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.client
import requests
import requests.adapters
from botocore import xform_name
from botocore.config import Config

TRANSACT_KINDS = ("Put", "Update", "Delete", "ConditionCheck")
WRITE_OPERATIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"})


@dataclass
class Written:
    """One item a write touched: its state before and after (the counting pass reads both)."""

    table: str
    key: dict[str, Any]
    kind: str  # Put, Update, Delete, ConditionCheck
    transactional: bool
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


@dataclass
class AwsCall:
    service: str
    operation: str
    params: dict[str, Any]
    response: dict[str, Any] | None = None
    error: str | None = None
    written: list[Written] = field(default_factory=list)


@dataclass
class HttpCall:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None


@dataclass
class Recording:
    calls: list[AwsCall | HttpCall] = field(default_factory=list)  # in the order they were made

    @property
    def aws(self) -> list[AwsCall]:
        return [call for call in self.calls if isinstance(call, AwsCall)]

    @property
    def http(self) -> list[HttpCall]:
        return [call for call in self.calls if isinstance(call, HttpCall)]

    @property
    def dynamodb(self) -> list[AwsCall]:
        return [call for call in self.aws if call.service == "dynamodb"]

    def dynamodb_operations(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for call in self.dynamodb:
            counts[call.operation] = counts.get(call.operation, 0) + 1
        return counts

    def other_aws(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for call in self.aws:
            if call.service != "dynamodb":
                name = f"{call.service}:{call.operation}"
                counts[name] = counts.get(name, 0) + 1
        return counts


def written_items(operation: str, params: dict[str, Any], key_names: tuple[str, ...]) -> list[Written]:
    def key_of(body: dict[str, Any]) -> dict[str, Any]:
        source = body.get("Key") or body.get("Item") or {}
        return {name: source[name] for name in key_names if name in source}

    if operation in ("PutItem", "UpdateItem", "DeleteItem"):
        kind = {"PutItem": "Put", "UpdateItem": "Update", "DeleteItem": "Delete"}[operation]
        return [Written(params["TableName"], key_of(params), kind, False)]
    if operation == "TransactWriteItems":
        found = []
        for entry in params["TransactItems"]:
            [(kind, body)] = entry.items()
            found.append(Written(body["TableName"], key_of(body), kind, True))
        return found
    if operation == "BatchWriteItem":
        found = []
        for table, requests_ in params["RequestItems"].items():
            for entry in requests_:
                if "PutRequest" in entry:
                    found.append(Written(table, key_of(entry["PutRequest"]), "Put", False))
                else:
                    found.append(Written(table, key_of(entry["DeleteRequest"]), "Delete", False))
        return found
    return []


class Recorder:
    def __init__(self, key_names: tuple[str, ...], http_prefix: str) -> None:
        self.key_names = key_names
        self.http_prefix = http_prefix
        self._current: Recording | None = None
        self._images = False
        self._original_call: Callable[..., Any] | None = None
        self._original_send: Callable[..., Any] | None = None

    def install(self) -> None:
        recorder = self
        original_call = botocore.client.BaseClient._make_api_call  # type: ignore[attr-defined]
        original_send = requests.adapters.HTTPAdapter.send
        self._original_call, self._original_send = original_call, original_send

        def recording_call(client: Any, operation: str, params: dict[str, Any]) -> Any:
            current = recorder._current
            if current is None:
                return original_call(client, operation, params)
            service = client.meta.service_model.service_name
            call = AwsCall(service, operation, copy.deepcopy(params))
            if recorder._images and service == "dynamodb" and operation in WRITE_OPERATIONS:
                call.written = written_items(operation, params, recorder.key_names)
                for item in call.written:
                    item.before = recorder._read(client, item)
            current.calls.append(call)
            try:
                call.response = original_call(client, operation, params)
            except Exception as exc:
                call.error = type(exc).__name__
                raise
            finally:
                for item in call.written:
                    item.after = recorder._read(client, item)
            return call.response

        def recording_send(adapter: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
            current = recorder._current
            if current is not None and str(request.url).startswith(recorder.http_prefix):
                body = request.body.encode() if isinstance(request.body, str) else request.body
                current.calls.append(HttpCall(request.method, str(request.url), dict(request.headers), body))
            return original_send(adapter, request, *args, **kwargs)

        botocore.client.BaseClient._make_api_call = recording_call  # type: ignore[attr-defined]
        requests.adapters.HTTPAdapter.send = recording_send  # type: ignore[method-assign,assignment]

    def _read(self, client: Any, item: Written) -> dict[str, Any] | None:
        assert self._original_call is not None
        answer = self._original_call(
            client, "GetItem", {"TableName": item.table, "Key": item.key, "ConsistentRead": True}
        )
        found: dict[str, Any] | None = answer.get("Item")
        return found

    @contextlib.contextmanager
    def recording(self, images: bool = False) -> Iterator[Recording]:
        """Record the calls made inside; with ``images`` also read every written item before and after
        (extra reads, not recorded: only for the counting pass, never while timing)."""
        recording = Recording()
        self._current, self._images = recording, images
        try:
            yield recording
        finally:
            self._current, self._images = None, False


# ------------------------------------------------------------------------------------------ sizes
def value_size(value: dict[str, Any]) -> int:
    """DynamoDB's size of one attribute value, by its documented rules (numbers approximately)."""
    [(kind, inner)] = value.items()
    if kind == "S":
        return len(str(inner).encode())
    if kind == "N":
        digits = str(inner).lstrip("-").replace(".", "").strip("0") or "0"
        return math.ceil(len(digits) / 2) + 1
    if kind == "B":
        return len(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(v).encode()) for v in inner)
    if kind == "NS":
        return sum(value_size({"N": v}) for v in inner)
    if kind == "BS":
        return sum(len(v) for v in inner)
    if kind == "M":
        return 3 + sum(len(name.encode()) + value_size(v) + 1 for name, v in inner.items())
    if kind == "L":
        return 3 + sum(value_size(v) + 1 for v in inner)
    raise ValueError(f"unknown attribute type {kind}")


def item_size(item: dict[str, Any] | None) -> int:
    if not item:
        return 0
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


@dataclass(frozen=True)
class Index:
    name: str
    keys: tuple[str, ...]
    projection: str  # ALL, KEYS_ONLY, INCLUDE
    included: tuple[str, ...] = ()


def indexes_of(table_definition: dict[str, Any]) -> list[Index]:
    found = []
    for gsi in table_definition.get("GlobalSecondaryIndexes", []):
        projection = gsi.get("Projection", {})
        found.append(
            Index(
                gsi["IndexName"],
                tuple(k["AttributeName"] for k in gsi["KeySchema"]),
                projection.get("ProjectionType", "ALL"),
                tuple(projection.get("NonKeyAttributes", ())),
            )
        )
    return found


@dataclass
class Units:
    """Request units one operation consumed, and the requests it made, by kind."""

    read: float = 0.0
    write: float = 0.0
    index_write: float = 0.0  # GSI writes (part of ``write`` too)
    notes: list[str] = field(default_factory=list)

    def add(self, other: "Units") -> None:
        self.read += other.read
        self.write += other.write
        self.index_write += other.index_write


def _read_units(size: int, consistent: bool, transactional: bool = False) -> float:
    blocks = max(1, math.ceil(size / 4096))
    return blocks * (2.0 if transactional else 1.0 if consistent else 0.5)


def _write_units(size: int) -> int:
    return max(1, math.ceil(size / 1024))


def _projected(item: dict[str, Any], index: Index, table_keys: tuple[str, ...]) -> dict[str, Any]:
    if index.projection == "ALL":
        return item
    keep = set(table_keys) | set(index.keys) | set(index.included if index.projection == "INCLUDE" else ())
    return {name: value for name, value in item.items() if name in keep}


def index_writes(written: Written, indexes: list[Index], table_keys: tuple[str, ...]) -> float:
    """GSI write units of one item write: an entry put, updated, deleted, or (key changed) both."""
    units = 0.0
    before, after = written.before or {}, written.after or {}
    for index in indexes:
        was = all(key in before for key in index.keys)
        now = all(key in after for key in index.keys)
        old = _projected(before, index, table_keys) if was else None
        new = _projected(after, index, table_keys) if now else None
        if old == new:
            continue
        if was and now and any(before[key] != after[key] for key in index.keys):
            units += _write_units(item_size(old)) + _write_units(item_size(new))
        else:
            units += _write_units(max(item_size(old), item_size(new)))
    return units


def units_of(call: AwsCall, indexes: list[Index], table_keys: tuple[str, ...]) -> Units:
    """Request units of one DynamoDB call, from what it read (its answer) and wrote (before/after).

    Assumptions, as DynamoDB documents its on-demand metering: reads round up to 4 KB (eventually
    consistent half, transactional double), writes to 1 KB of the larger of before and after, a
    failed conditional write still costs its units, every item of a transaction (ConditionCheck
    included) costs double, and each GSI entry written costs its projected size (not doubled).
    """
    units = Units()
    response = call.response or {}
    params = call.params
    operation = call.operation
    if operation == "GetItem":
        units.read = _read_units(item_size(response.get("Item")), bool(params.get("ConsistentRead")))
    elif operation in ("Query", "Scan"):
        size = sum(item_size(item) for item in response.get("Items", []))
        units.read = _read_units(size, bool(params.get("ConsistentRead")))
    elif operation == "BatchGetItem":
        for table_items in response.get("Responses", {}).values():
            units.read += sum(_read_units(item_size(item), False) for item in table_items)
    elif operation == "TransactGetItems":
        for entry in response.get("Responses", []):
            units.read += _read_units(item_size(entry.get("Item")), True, transactional=True)
    for written in call.written:
        size = max(item_size(written.before), item_size(written.after))
        units.write += _write_units(size) * (2 if written.transactional else 1)
        if written.kind != "ConditionCheck" and call.error is None:
            gsi = index_writes(written, indexes, table_keys)
            units.index_write += gsi
            units.write += gsi
    return units


# ------------------------------------------------------------------------------------------ bare
_TOKEN = re.compile(r"[#:][A-Za-z0-9_]+")
_EXPRESSIONS = ("UpdateExpression", "ConditionExpression", "ProjectionExpression", "KeyConditionExpression")
_ALWAYS_TRUE = "attribute_not_exists(#benchNoSuchAttribute)"


def _unconditional(body: dict[str, Any], keep_condition: bool = False) -> dict[str, Any]:
    """The same request without its condition (a bare client just writes), names and values that only
    the condition used dropped, as DynamoDB refuses unused ones."""
    body = copy.deepcopy(body)
    body.pop("ReturnValuesOnConditionCheckFailure", None)
    if keep_condition:
        body["ConditionExpression"] = _ALWAYS_TRUE
        body["ExpressionAttributeNames"] = {"#benchNoSuchAttribute": "benchNoSuchAttribute"}
        body.pop("ExpressionAttributeValues", None)
        return body
    body.pop("ConditionExpression", None)
    used = set()
    for name in (*_EXPRESSIONS, "FilterExpression"):
        used |= set(_TOKEN.findall(str(body.get(name, ""))))
    for field_name in ("ExpressionAttributeNames", "ExpressionAttributeValues"):
        kept = {token: value for token, value in body.get(field_name, {}).items() if token in used}
        if kept:
            body[field_name] = kept
        else:
            body.pop(field_name, None)
    return body


def bare_dynamodb_request(operation: str, params: dict[str, Any]) -> dict[str, Any]:
    if operation in ("PutItem", "UpdateItem", "DeleteItem"):
        return _unconditional(params)
    if operation == "TransactWriteItems":
        items = []
        for entry in params["TransactItems"]:
            [(kind, body)] = entry.items()
            items.append({kind: _unconditional(body, keep_condition=kind == "ConditionCheck")})
        rest = {k: v for k, v in params.items() if k not in ("TransactItems", "ClientRequestToken")}
        return {**rest, "TransactItems": items}
    return copy.deepcopy(params)


class BareClient:
    """Plain boto3 and requests: the same DynamoDB and YooKassa requests, none of our code."""

    def __init__(self, endpoint: str, region: str, auth: tuple[str, str]) -> None:
        self.dynamodb = boto3.client(
            "dynamodb",
            endpoint_url=endpoint,
            region_name=region,
            config=Config(connect_timeout=2, read_timeout=3, retries={"max_attempts": 2}),
        )
        self.http = requests.Session()
        self.http.auth = auth

    def prepare(self, recording: Recording) -> list[Callable[[], Any]]:
        """The requests of ``recording``, ready to send (built outside the timed part). Writes go to
        the same items without conditions (so the table ends as the handler left it); POSTs get a
        new Idempotence-Key (YooKassa does the work again, as for a new request)."""
        steps: list[Callable[[], Any]] = []
        for call in recording.calls:
            if isinstance(call, AwsCall):
                if call.service != "dynamodb":
                    continue  # a secret read: cached by the runtime, not part of an operation
                method = getattr(self.dynamodb, xform_name(call.operation))
                steps.append(_bind(method, bare_dynamodb_request(call.operation, call.params)))
                continue
            headers = {k: v for k, v in call.headers.items() if k.lower() in ("content-type", "authorization")}
            if call.method == "POST":
                headers["Idempotence-Key"] = str(uuid.uuid4())
            steps.append(_bind_http(self.http, call.method, call.url, headers, call.body))
        return steps

    @staticmethod
    def run(steps: list[Callable[[], Any]]) -> None:
        for step in steps:
            step()


def _bind(method: Callable[..., Any], params: dict[str, Any]) -> Callable[[], Any]:
    return lambda: method(**params)


def _bind_http(
    session: requests.Session, method: str, url: str, headers: dict[str, str], body: bytes | None
) -> Callable[[], Any]:
    def send() -> None:
        session.request(method, url, data=body, headers=headers, timeout=10).raise_for_status()

    return send
