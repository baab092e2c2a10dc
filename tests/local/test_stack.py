"""How the local stack decides what to run, and the table it builds."""

import ipaddress
import socket
import subprocess
import sys

import pytest

from local.dynamodb import (
    DEMO_ORDERS,
    DEMO_PLANS,
    BotoSeeder,
    LocalDynamoDB,
    PortInUse,
    demo_data,
    ensure_port_free,
    ensure_table,
    isolated_dynamodb_transactions,
    seed_demo_data,
)
from local.stack import StackConfig, allowed_networks, uses_real_yookassa
from local.template import ROOT, load, table_definition


@pytest.mark.parametrize(
    ("environ", "real"),
    [
        ({}, False),
        ({"YOOKASSA_SHOP_ID": "1", "YOOKASSA_SECRET_KEY": "test_x"}, False),
        (
            {
                "YOOKASSA_SHOP_ID": "1",
                "YOOKASSA_SECRET_KEY": "test_x",
                "YOOKASSA_API_URL": "http://127.0.0.1:8090/v3",
            },
            False,
        ),
        (
            {
                "YOOKASSA_SHOP_ID": "1",
                "YOOKASSA_SECRET_KEY": "test_x",
                "YOOKASSA_API_URL": "http://localhost:8090/v3",
            },
            False,
        ),
        (
            {
                "YOOKASSA_SHOP_ID": "1",
                "YOOKASSA_SECRET_KEY": "test_x",
                "YOOKASSA_API_URL": "https://api.yookassa.ru/v3",
            },
            True,
        ),
        ({"YOOKASSA_SHOP_ID": "1", "YOOKASSA_API_URL": "https://api.yookassa.ru/v3"}, False),
    ],
)
def test_real_credentials_replace_the_sandbox_only_when_complete_and_remote(
    environ: dict[str, str], real: bool
) -> None:
    assert uses_real_yookassa(environ) is real


def test_loopback_is_allowed_for_webhooks_locally_but_never_by_the_templates_default() -> None:
    default = load()["Parameters"]["WebhookAllowedNetworks"]["Default"].split(",")
    local = allowed_networks().split(",")

    assert local[: len(default)] == default
    loopback = ipaddress.ip_address("127.0.0.1")
    assert any(loopback in ipaddress.ip_network(n) for n in local)
    assert not any(loopback in ipaddress.ip_network(n) for n in default)


def test_ports_come_from_the_environment() -> None:
    config = StackConfig.from_env({"API_PORT": "4000", "WEBHOOK_PORT": "4001", "SANDBOX_PORT": "4002"})

    assert (config.api_port, config.webhook_port, config.sandbox_port, config.dynamodb_port) == (
        4000,
        4001,
        4002,
        8000,
    )
    assert StackConfig.from_env({}).api_port == 3000


def test_a_busy_port_is_reported_with_the_setting_to_change() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(PortInUse, match="API_PORT"):
            ensure_port_free("127.0.0.1", busy.getsockname()[1], "API_PORT")


def test_the_table_follows_the_template_and_the_demo_data_is_listed_per_user() -> None:
    dynamodb = LocalDynamoDB.start()  # honours AWS_ENDPOINT_URL_DYNAMODB when a session set it
    try:
        client = dynamodb.client
        if "local-stack-test" in client.list_tables()["TableNames"]:
            client.delete_table(TableName="local-stack-test")

        assert ensure_table(client, "local-stack-test") is True
        assert ensure_table(client, "local-stack-test") is False
        table = client.describe_table(TableName="local-stack-test")["Table"]
        expected = table_definition(table_name="local-stack-test")
        assert table["KeySchema"] == expected["KeySchema"]
        assert {i["IndexName"] for i in table["GlobalSecondaryIndexes"]} == {
            i["IndexName"] for i in expected["GlobalSecondaryIndexes"]
        }
        ttl = client.describe_time_to_live(TableName="local-stack-test")["TimeToLiveDescription"]
        assert ttl["AttributeName"] == "expiresAt"

        seeder = BotoSeeder(client, "local-stack-test")
        assert seed_demo_data(client, "local-stack-test", seeder) == len(DEMO_ORDERS) + len(DEMO_PLANS)
        assert seed_demo_data(client, "local-stack-test", seeder) == 0, "seeding twice writes nothing"

        alice = demo_data(client, "local-stack-test", "alice")
        first = alice["orders"][0]
        assert (first["orderId"], first["amount"], first["status"]) == ("test-uuid", 100, "new")
        assert all(o["orderId"] != "bob-regular-cleaning" for o in alice["orders"])
        assert {p["planId"]: p["prices"] for p in alice["plans"]}["basic"] == {
            "monthly": 100_000,
            "yearly": 1_000_000,
        }
        client.delete_table(TableName="local-stack-test")
    finally:
        dynamodb.stop()


def test_invoking_an_unknown_function_names_the_known_ones() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "local", "invoke", "NoSuchFunction"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 2
    assert "HealthFunction" in done.stderr


def test_make_devs_moto_isolates_transactions_like_the_test_suites(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.dynamodb.models import DynamoDBBackend

    before = {name: getattr(DynamoDBBackend, name) for name in ("transact_write_items", "update_item")}
    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB", raising=False)  # make dev's own moto, not a session's

    dynamodb = LocalDynamoDB.start()
    try:
        for name in before:
            assert hasattr(getattr(DynamoDBBackend, name), "__wrapped__"), f"{name} runs unserialised"
    finally:
        dynamodb.stop()

    assert {name: getattr(DynamoDBBackend, name) for name in before} == before, "stop() restores moto"


def test_nested_isolation_patches_once_and_the_last_user_restores() -> None:
    from moto.dynamodb.models import DynamoDBBackend

    before = DynamoDBBackend.put_item
    with isolated_dynamodb_transactions():
        patched = DynamoDBBackend.put_item
        with isolated_dynamodb_transactions():
            assert DynamoDBBackend.put_item is patched
        assert DynamoDBBackend.put_item is patched
    assert DynamoDBBackend.put_item is before
