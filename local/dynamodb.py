"""DynamoDB for the local stack: moto's server on loopback (or any endpoint already configured), the table
built from ``template.yaml``, and the demo data.
"""

import contextlib
import functools
import logging
import os
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

import boto3
from botocore.config import Config

from local.template import TEMPLATE, table_definition, ttl_attribute

log = logging.getLogger("local.dynamodb")

DEFAULT_TABLE_NAME = "cleanhouse-payments-local"
REGION = "eu-central-1"


@dataclass(frozen=True)
class DemoOrder:
    order_id: str
    user_id: str
    amount: int  # kopecks
    description: str


@dataclass(frozen=True)
class DemoPlan:
    plan_id: str
    name: str
    prices: dict[str, int] = field(default_factory=dict)  # subscriptionType -> kopecks


# test-uuid (100 kopecks, alice) makes the product spec's own curl example work as written.
DEMO_ORDERS = (
    DemoOrder("test-uuid", "alice", 100, "Тестовый заказ"),
    DemoOrder("alice-apartment-cleaning", "alice", 150_000, "Генеральная уборка квартиры"),
    DemoOrder("alice-window-cleaning", "alice", 350_000, "Мойка окон"),
    DemoOrder("alice-after-repair", "alice", 820_000, "Уборка после ремонта"),
    DemoOrder("bob-regular-cleaning", "bob", 150_000, "Поддерживающая уборка"),
    DemoOrder("bob-office-cleaning", "bob", 420_000, "Уборка офиса"),
)
DEMO_PLANS = (
    DemoPlan("basic", "Базовый", {"monthly": 100_000, "yearly": 1_000_000}),
    DemoPlan("premium", "Премиум", {"monthly": 250_000, "yearly": 2_500_000}),
)


class Seeder(Protocol):
    """Writes one price source; the stack's seeder goes through the admin handlers."""

    def put_order(self, order: DemoOrder) -> None: ...

    def put_plan(self, plan: DemoPlan) -> None: ...


class PortInUse(OSError):
    pass


def ensure_port_free(host: str, port: int, setting: str) -> None:
    """Fail early and say which setting to change (moto's server thread would otherwise die silently on a
    busy port, and its start() wait forever)."""
    if port == 0:
        return
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as our servers bind
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise PortInUse(
                f"{host}:{port} is in use (is another `make dev` running?); set {setting} to a free port"
            ) from exc


# What isolated_dynamodb_transactions shares between nested or concurrent users: one lock, one patch.
_ISOLATION_GUARD = threading.Lock()
_ISOLATION_LOCK = threading.RLock()
_ISOLATION_USERS = 0
_ISOLATED_OPERATIONS = (
    "put_item",
    "get_item",
    "query",
    "scan",
    "update_item",
    "delete_item",
    "transact_write_items",
)
_ORIGINAL_OPERATIONS: dict[str, Callable[..., Any]] = {}
_UNDO_ITEM_LEVEL: list[Callable[[], None]] = []


@contextlib.contextmanager
def isolated_dynamodb_transactions() -> Iterator[None]:
    """Make moto's DynamoDB as isolated as the real one while concurrent requests hit it.

    moto applies a TransactWriteItems item by item and, when a condition fails, restores a copy of the
    whole table taken before it began, with no lock: a concurrent request's committed write in between
    is silently undone (a refund reservation vanished that way). DynamoDB itself isolates transactions,
    so the emulator's operations run one at a time here, whichever thread or process (the stack's Lambda
    workers) sends them: a transaction is all or nothing and a condition is checked and written at once.
    Our code is not touched. Transactions roll back with an item-level undo instead of moto's copy of the
    whole table (``local.moto_patches.item_level_transactions``), applied under the same lock.

    Used by ``make dev``'s moto and the test suite's alike. It patches moto's backend class for the whole
    process, so nested and overlapping uses share one patch: the first patches, the last restores.
    """
    from moto.dynamodb.models import DynamoDBBackend

    from local.moto_patches import item_level_transactions

    global _ISOLATION_USERS  # noqa: PLW0603 - one patch per process, counted
    with _ISOLATION_GUARD:
        if _ISOLATION_USERS == 0:
            undo = item_level_transactions()  # first: the lock below must cover its undo too
            if undo is not None:
                _UNDO_ITEM_LEVEL.append(undo)
            for name in _ISOLATED_OPERATIONS:
                original = getattr(DynamoDBBackend, name)
                _ORIGINAL_OPERATIONS[name] = original
                setattr(DynamoDBBackend, name, _serialized(original))
        _ISOLATION_USERS += 1
    try:
        yield
    finally:
        with _ISOLATION_GUARD:
            _ISOLATION_USERS -= 1
            if _ISOLATION_USERS == 0:
                for name, original in _ORIGINAL_OPERATIONS.items():
                    setattr(DynamoDBBackend, name, original)
                _ORIGINAL_OPERATIONS.clear()
                while _UNDO_ITEM_LEVEL:
                    _UNDO_ITEM_LEVEL.pop()()


def _serialized(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def call(*args: Any, **kwargs: Any) -> Any:
        with _ISOLATION_LOCK:
            return original(*args, **kwargs)

    return call


class LocalDynamoDB:
    """The endpoint to use, and moto's server when we started one (its transactions isolated)."""

    def __init__(
        self, endpoint: str, server: Any = None, isolation: contextlib.ExitStack | None = None
    ) -> None:
        self.endpoint = endpoint
        self._server = server
        self._isolation = isolation

    @property
    def owned(self) -> bool:
        return self._server is not None

    @classmethod
    def start(cls, host: str = "127.0.0.1", port: int = 0) -> "LocalDynamoDB":
        """Use ``AWS_ENDPOINT_URL_DYNAMODB`` when set, otherwise start moto on ``host:port`` (0 = any)."""
        configured = os.environ.get("AWS_ENDPOINT_URL_DYNAMODB")
        if configured:
            return cls(configured)
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request lines
        ensure_port_free(host, port, "DYNAMODB_PORT")
        isolation = contextlib.ExitStack()
        isolation.enter_context(isolated_dynamodb_transactions())
        server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
        try:
            server.start()
        except BaseException:
            isolation.close()
            raise
        bound_host, bound_port = server.get_host_and_port()
        return cls(f"http://{bound_host}:{bound_port}", server, isolation)

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._isolation is not None:
            self._isolation.close()
            self._isolation = None

    @functools.cached_property
    def client(self) -> Any:
        """One low-level client (thread-safe) for the table setup, the seed and the demo listing."""
        return boto3.client(
            "dynamodb",
            endpoint_url=self.endpoint,
            region_name=os.environ.get("AWS_REGION", REGION),
            config=Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 2}),
        )


def ensure_table(client: Any, table_name: str, template: Path = TEMPLATE) -> bool:
    """Create the table exactly as the template declares it (TTL included); ``True`` if it was created."""
    if table_name in _table_names(client):
        return False
    client.create_table(**table_definition(template, table_name=table_name))
    client.get_waiter("table_exists").wait(TableName=table_name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
    ttl = ttl_attribute(template)
    if ttl:
        client.update_time_to_live(
            TableName=table_name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl}
        )
    return True


def _table_names(client: Any) -> Iterator[str]:
    for page in client.get_paginator("list_tables").paginate():
        yield from page["TableNames"]


def _exists(client: Any, table_name: str, pk: str) -> bool:
    key = {"PK": {"S": pk}, "SK": {"S": "META"}}
    return "Item" in client.get_item(TableName=table_name, Key=key, ProjectionExpression="PK")


def seed_demo_data(client: Any, table_name: str, seeder: Seeder) -> int:
    """Write the demo orders and plans that are missing (an existing table keeps its state); return how
    many were written."""
    written = 0
    for order in DEMO_ORDERS:
        if not _exists(client, table_name, f"ORDER#{order.order_id}"):
            seeder.put_order(order)
            written += 1
    for plan in DEMO_PLANS:
        if not _exists(client, table_name, f"PLAN#{plan.plan_id}"):
            seeder.put_plan(plan)
            written += 1
    return written


class BotoSeeder:
    """Direct writes in the table's key design, for when the admin handlers are not there."""

    def __init__(self, client: Any, table_name: str) -> None:
        self.client = client
        self.table_name = table_name

    def put_order(self, order: DemoOrder) -> None:
        item = {
            "PK": {"S": f"ORDER#{order.order_id}"},
            "SK": {"S": "META"},
            "kind": {"S": "order"},
            "userId": {"S": order.user_id},
            "amount": {"N": str(order.amount)},
            "description": {"S": order.description},
            "status": {"S": "new"},
            "version": {"N": "1"},
        }
        self.client.put_item(TableName=self.table_name, Item=item)

    def put_plan(self, plan: DemoPlan) -> None:
        item = {
            "PK": {"S": f"PLAN#{plan.plan_id}"},
            "SK": {"S": "META"},
            "kind": {"S": "plan"},
            "name": {"S": plan.name},
            "prices": {"M": {k: {"N": str(v)} for k, v in plan.prices.items()}},
        }
        self.client.put_item(TableName=self.table_name, Item=item)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def demo_data(client: Any, table_name: str, user: str) -> dict[str, Any]:
    """What the demo page lists for ``user``: their orders and subscriptions, and every plan.

    A local convenience (not part of the API): a scan is fine for a demo table of a few dozen items.
    """
    from boto3.dynamodb.types import TypeDeserializer

    deserialize = TypeDeserializer().deserialize
    orders, plans, subscriptions = [], [], []
    paginator = client.get_paginator("scan")
    pages = paginator.paginate(
        TableName=table_name,
        FilterExpression="SK = :meta AND #kind IN (:order, :plan, :subscription)",
        ExpressionAttributeNames={"#kind": "kind"},
        ExpressionAttributeValues={
            ":meta": {"S": "META"},
            ":order": {"S": "order"},
            ":plan": {"S": "plan"},
            ":subscription": {"S": "subscription"},
        },
    )
    for page in pages:
        for raw in page["Items"]:
            item = _plain({k: deserialize(v) for k, v in raw.items()})
            kind, _, item_id = item["PK"].partition("#")
            if kind == "PLAN":
                plans.append(
                    {"planId": item_id, "name": item.get("name", item_id), "prices": item.get("prices", {})}
                )
            elif item.get("userId") != user:
                continue
            elif kind == "ORDER":
                orders.append(
                    {
                        "orderId": item_id,
                        "amount": item.get("amount"),
                        "description": item.get("description", ""),
                        "status": item.get("status", "new"),
                        "paidAt": item.get("paidAt"),
                    }
                )
            elif kind == "SUBSCRIPTION":
                subscriptions.append(
                    {
                        "subscriptionId": item_id,
                        "planId": item.get("planId"),
                        "subscriptionType": item.get("type"),
                        "status": item.get("status"),
                        "startDate": item.get("startDate"),
                        "endDate": item.get("endDate"),
                    }
                )
    orders.sort(key=lambda o: (o["status"] != "new", o["amount"] or 0))
    plans.sort(key=lambda p: min(p["prices"].values(), default=0))
    subscriptions.sort(key=lambda s: s.get("endDate") or "", reverse=True)
    return {"user": user, "orders": orders, "plans": plans, "subscriptions": subscriptions}
