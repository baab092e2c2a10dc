"""DynamoDB (moto's server) and the YooKassa sandbox in a process of their own, for the bench.

The harness measures CPU time of its own thread (warm handlers) and of child processes (cold starts):
with the servers in another process, their work is in neither, as AWS's and YooKassa's are not.

    python -m bench.services     # prints one JSON line (the endpoints), then answers commands on stdin

Commands, one per line: ``counts`` answers the YooKassa requests the sandbox received so far (a JSON
object ``{"METHOD /v3/route": n}``, ids replaced by ``{id}``), counted where they arrive; ``stop`` (or
end of input) stops both servers.
"""

import json
import logging
import os
import re
import sys
import threading
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

from local.moto_patches import item_level_transactions

REGION = "us-east-1"
SHOP_ID = "123456"
SECRET_KEY = "test_sandbox_secret"  # noqa: S105 - the sandbox's well-known test key
_ID_SEGMENT = re.compile(r"^(?=.*\d)[\w-]{20,}$")


def route_of(method: str, target: str) -> str:
    """``GET /v3/payments/{id}`` for ``GET /v3/payments/2f3c...-000f-...?x=1``."""
    path = urlsplit(target).path.rstrip("/")
    segments = ["{id}" if _ID_SEGMENT.match(segment) else segment for segment in path.split("/")]
    return f"{method} {'/'.join(segments)}"


class RequestCounter:
    """Counts every ``/v3`` request the sandbox's HTTP front end is asked to answer."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def add(self, route: str) -> None:
        with self._lock:
            self._counts[route] += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def install(self) -> None:
        from local.yookassa_sandbox import server

        original = server.App.handle
        counter = self

        def counting(self: Any, method: str, target: str, headers: Any, body: bytes) -> Any:
            if urlsplit(target).path.startswith("/v3"):
                counter.add(route_of(method, target))
            return original(self, method, target, headers, body)

        server.App.handle = counting  # type: ignore[method-assign]


def _self_test(endpoint: str) -> bool:
    """A transaction whose second condition fails leaves the first item as it was."""
    import boto3

    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION)
    table = "bench-self-test"
    client.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
    )
    client.put_item(TableName=table, Item={"PK": {"S": "a"}, "v": {"N": "1"}})
    try:
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {"PK": {"S": "a"}, "v": {"N": "2"}}}},
                {"Put": {"TableName": table, "Item": {"PK": {"S": "b"}}}},
                {
                    "ConditionCheck": {
                        "TableName": table,
                        "Key": {"PK": {"S": "c"}},
                        "ConditionExpression": "attribute_exists(PK)",
                    }
                },
            ]
        )
    except client.exceptions.TransactionCanceledException:
        pass
    else:
        return False
    item_a = client.get_item(TableName=table, Key={"PK": {"S": "a"}}).get("Item")
    item_b = client.get_item(TableName=table, Key={"PK": {"S": "b"}}).get("Item")
    client.delete_table(TableName=table)
    return item_a == {"PK": {"S": "a"}, "v": {"N": "1"}} and item_b is None


def main() -> int:
    # moto wants credentials and a region; an endpoint in the environment would make LocalDynamoDB use it.
    os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",  # moto takes any
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
        }
    )
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    from local.dynamodb import LocalDynamoDB
    from local.yookassa_sandbox import start_sandbox

    counter = RequestCounter()
    counter.install()
    unpatch = item_level_transactions()  # before LocalDynamoDB serializes moto's operations: it wraps this
    dynamodb = LocalDynamoDB.start("127.0.0.1", 0)
    transactions = "item-level undo" if unpatch else "moto's own (whole-table copies)"
    if unpatch and not _self_test(dynamodb.endpoint):
        dynamodb.stop()  # first: LocalDynamoDB's serializing wrapper puts back what it wrapped
        unpatch()
        dynamodb = LocalDynamoDB.start("127.0.0.1", 0)
        transactions = "moto's own (whole-table copies): the item-level undo failed its self-test"
    sandbox = start_sandbox(host="127.0.0.1", port=0, shop_id=SHOP_ID, secret_key=SECRET_KEY)
    try:
        ready = {
            "aws_endpoint": dynamodb.endpoint,
            "sandbox_url": sandbox.base_url,
            "yookassa_api_url": sandbox.api_url,
            "shop_id": sandbox.shop_id,
            "secret_key": sandbox.secret_key,
            "region": REGION,
            "transactions": transactions,
        }
        sys.stdout.write(json.dumps(ready) + "\n")
        sys.stdout.flush()
        for line in sys.stdin:
            command = line.strip()
            if command == "counts":
                sys.stdout.write(json.dumps(counter.snapshot()) + "\n")
                sys.stdout.flush()
            elif command == "stop":
                break
    finally:
        sandbox.stop()
        dynamodb.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
