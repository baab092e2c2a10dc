"""In AWS the YooKassa credentials come from Secrets Manager at run time, cached; never from the template.

moto's Secrets Manager, in-process. The local runner's plain environment variables win over the ARN
(tests/conftest.py clears the ARN), so each test here sets the ARN and removes them.
"""

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from payments import runtime


@pytest.fixture
def secrets_manager(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.delenv("YOOKASSA_SHOP_ID", raising=False)
    monkeypatch.delenv("YOOKASSA_SECRET_KEY", raising=False)
    monkeypatch.setenv("TABLE_NAME", "payments-test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    runtime.reset()
    with mock_aws():
        yield boto3.client("secretsmanager", region_name="eu-central-1")
    runtime.reset()


def store_secret(client: Any, value: str, monkeypatch: pytest.MonkeyPatch) -> str:
    arn: str = client.create_secret(Name="cleanhouse/yookassa", SecretString=value)["ARN"]
    monkeypatch.setenv("YOOKASSA_SECRET_ARN", arn)
    return arn


def test_the_client_is_built_from_the_secret(secrets_manager: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    store_secret(secrets_manager, json.dumps({"shopId": "506751", "secretKey": "test_s3cr3t"}), monkeypatch)
    client = runtime.yookassa()
    assert client.shop_id == "506751"
    assert client._session.auth == ("506751", "test_s3cr3t")
    assert "test_s3cr3t" not in repr(client)
    assert runtime.credentials_configured()


def test_the_secret_is_read_once_and_cached(secrets_manager: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    arn = store_secret(secrets_manager, json.dumps({"shopId": "506751", "secretKey": "first"}), monkeypatch)
    assert runtime.yookassa_credentials(runtime.settings()) == ("506751", "first")
    first_client = runtime.yookassa()
    rotated = json.dumps({"shopId": "1", "secretKey": "2"})
    secrets_manager.put_secret_value(SecretId=arn, SecretString=rotated)
    # every invocation asks, and within max_age gets the cached value: no Secrets Manager call
    assert runtime.yookassa_credentials(runtime.settings()) == ("506751", "first")
    assert runtime.yookassa() is first_client
    runtime._secret_values.clear()  # what 300 s do by themselves: a rotated secret is picked up
    assert runtime.yookassa_credentials(runtime.settings()) == ("1", "2")
    rotated_client = runtime.yookassa()  # ...and warm containers build a client with it
    assert rotated_client is not first_client
    assert rotated_client._session.auth == ("1", "2")


@pytest.mark.parametrize("value", ["not json", json.dumps({"shopId": "506751"}), json.dumps(["x"])])
def test_a_malformed_secret_means_not_configured(
    secrets_manager: Any, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    store_secret(secrets_manager, value, monkeypatch)
    assert not runtime.credentials_configured()


def test_the_secret_is_asked_again_after_five_minutes(
    secrets_manager: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    arn = store_secret(secrets_manager, "first", monkeypatch)
    assert runtime.read_secret(arn, clock=lambda: 1000.0) == "first"
    secrets_manager.put_secret_value(SecretId=arn, SecretString="second")
    assert runtime.read_secret(arn, clock=lambda: 1000.0 + runtime.SECRET_MAX_AGE_SECONDS - 1) == "first"
    assert runtime.read_secret(arn, clock=lambda: 1000.0 + runtime.SECRET_MAX_AGE_SECONDS) == "second"


def test_an_unreadable_secret_is_a_configuration_error(
    secrets_manager: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("YOOKASSA_SECRET_ARN", "arn:aws:secretsmanager:eu-central-1:123456789012:secret:missing")
    assert not runtime.credentials_configured()
