"""``--stack NAME``: the table and settings from a CloudFormation description, the YooKassa credentials
from the secret, the caller's AWS credentials. Here the description is a fake one of the moto-backed
test table (``FakeAws``); the boto3 calls themselves run against moto's server, and AWS's refusals
(no credentials, no stack, no secret) end in their exit codes."""

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from local.cli.target import STACK_PARAMETERS, Boto3Aws
from local.template import load
from tests.cli.conftest import SECRET_ARN, STACK_NAME, Cli, FakeAws, stack_description
from tests.conftest import Stack
from tests.integration.support import order_payment, payment_of, succeed


def test_a_deployed_stack_is_read_from_its_description_and_secret(deployed: Cli, stack: Stack) -> None:
    payment_id, yookassa_id = order_payment(stack, "order-stack-1", 150000)
    succeed(stack, yookassa_id)

    shown = deployed.json("show", payment_id, "--stack", STACK_NAME)
    assert shown["yookassa"]["status"] == "succeeded" and shown["payment"]["status"] == "pending"
    assert ("describe_stacks", STACK_NAME) in deployed.aws.asked
    assert ("get_secret_value", SECRET_ARN) in deployed.aws.asked

    assert deployed.json("sync", payment_id, "--stack", STACK_NAME)["outcome"] == "applied"
    assert payment_of(payment_id).status == "paid"
    refunded = deployed.json("refund", payment_id, "--amount", "10000", "--yes", "--stack", STACK_NAME)
    assert refunded["refundedAmount"] == 10000
    assert deployed.json("webhook", "replay", payment_id, "--stack", STACK_NAME)["outcome"] == "duplicate"
    assert deployed.json("reconcile", "--dry-run", "--stack", STACK_NAME)["checked"] == 0
    assert deployed.json("subscriptions", "due", "--stack", STACK_NAME)["due"] == []
    local_only = deployed(
        "webhook", "trigger", "payment.succeeded", "--payment", payment_id, "--stack", STACK_NAME
    )
    assert local_only.exit_code == 2 and "local YooKassa sandbox" in local_only.stderr


def test_read_only_commands_read_no_secret_and_a_scan_must_be_asked_for(deployed: Cli, stack: Stack) -> None:
    pending, _ = order_payment(stack, "order-stack-2", 150000)
    listed = deployed.json("list", "--status", "pending", "--stack", STACK_NAME)
    assert [p["paymentId"] for p in listed["payments"]] == [pending]
    assert not [call for call in deployed.aws.asked if call[0] == "get_secret_value"]

    refused = deployed("list", "--user", "alice", "--stack", STACK_NAME)
    assert refused.exit_code == 2 and "--scan" in refused.stderr
    scanned = deployed.json("list", "--user", "alice", "--stack", STACK_NAME, "--scan")
    assert [p["paymentId"] for p in scanned["payments"]] == [pending]


def test_the_stack_name_may_come_from_the_environment(
    deployed: Cli, stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAYMENTS_STACK", STACK_NAME)
    assert deployed.json("list", "--status", "pending")["source"] == "PendingIndex"


def test_no_such_stack_and_no_secret_are_their_exit_codes(deployed: Cli, stack: Stack) -> None:
    missing = deployed("list", "--status", "pending", "--stack", "cleanhouse-payments-nope")
    assert missing.exit_code == 4 and "cleanhouse-payments-nope" in missing.stderr

    payment_id, _ = order_payment(stack, "order-stack-3", 150000)
    deployed.aws.secrets.clear()
    no_secret = deployed("sync", payment_id, "--stack", STACK_NAME)
    assert no_secret.exit_code == 5 and SECRET_ARN in no_secret.stderr

    deployed.aws.secrets[SECRET_ARN] = json.dumps({"shopId": "123456"})  # no secretKey
    malformed = deployed("sync", payment_id, "--stack", STACK_NAME)
    assert malformed.exit_code == 5 and "secretKey" in malformed.stderr

    not_ours: dict[str, Any] = stack_description(stack)
    not_ours["Outputs"] = []
    deployed.aws.stacks["something-else"] = not_ours
    other = deployed("list", "--status", "pending", "--stack", "something-else")
    assert other.exit_code == 4 and "TableName" in other.stderr


class MotoAws(Boto3Aws):
    """boto3's own calls, to moto's server (the table's): CloudFormation and Secrets Manager answer there."""


@pytest.fixture
def moto_aws(stack: Stack, monkeypatch: pytest.MonkeyPatch, state_dir: Path) -> Cli:
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDFORMATION", stack.dynamodb)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", stack.dynamodb)
    return Cli(MotoAws())


def test_boto3_reads_the_secret_and_names_a_missing_stack(moto_aws: Cli, stack: Stack) -> None:
    secrets = boto3.client("secretsmanager", endpoint_url=stack.dynamodb)
    arn = secrets.create_secret(
        Name=f"cleanhouse/payments/cli-{id(stack)}",
        SecretString=json.dumps({"shopId": stack.sandbox.shop_id, "secretKey": stack.sandbox.secret_key}),
    )["ARN"]
    assert json.loads(Boto3Aws().read_secret(arn, "eu-central-1"))["shopId"] == stack.sandbox.shop_id

    missing = moto_aws("list", "--status", "pending", "--stack", "cleanhouse-payments-missing")
    assert missing.exit_code == 4
    assert "cleanhouse-payments-missing" in missing.stderr and "not found" in missing.stderr

    gone = FakeAws(stacks={STACK_NAME: stack_description(stack, YooKassaSecretArn=arn + "-deleted")})
    real_secret = Boto3Aws()
    gone.read_secret = real_secret.read_secret  # type: ignore[method-assign]
    payment_id, _ = order_payment(stack, "order-stack-4", 150000)
    result = Cli(gone)("sync", payment_id, "--stack", STACK_NAME)
    assert result.exit_code == 5 and "secret" in result.stderr


def test_no_aws_credentials_is_exit_code_5(
    stack: Stack, state_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDFORMATION", stack.dynamodb)
    result = Cli(Boto3Aws())("list", "--status", "pending", "--stack", STACK_NAME, "--region", "eu-central-1")
    assert result.exit_code == 5
    assert "no AWS credentials" in result.stderr


def test_the_settings_a_stack_passes_match_the_template() -> None:
    """Every parameter the CLI reads becomes the same setting the functions get (template Globals)."""
    variables = load()["Globals"]["Function"]["Environment"]["Variables"]
    from_parameters = {
        value["Ref"]: name for name, value in variables.items() if isinstance(value, dict) and "Ref" in value
    }
    from_parameters.pop("PaymentsTable")  # the TableName output
    assert dict(STACK_PARAMETERS) == from_parameters
