"""The ``payments`` command against the test stack: the handlers in this process, DynamoDB on moto's
server, the YooKassa sandbox over HTTP (tests/conftest.py's ``stack``), found the way ``make dev`` is
found: a ``.local-state/stack.json`` (here in a temporary ``LOCAL_STATE_DIR``).

Commands run through Click's ``CliRunner`` in this process; nothing of ours is mocked. The deployed path
gets a fake CloudFormation description (``FakeAws``) of the same moto-backed table.
"""

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from local.cli.app import payments
from local.cli.state import StackState, write_state
from local.cli.target import Boto3Aws, CliError, ExitCode
from tests.conftest import Stack

TABLE = "payments-test"  # tests/conftest.py's TABLE_NAME
REGION = "eu-central-1"
STACK_NAME = "cleanhouse-payments-test"
SECRET_ARN = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:cleanhouse/payments/test/yookassa-AbCdEf"


@dataclass
class Cli:
    """``payments ...`` in this process; ``aws`` stands in for CloudFormation and Secrets Manager."""

    aws: Any = None

    def __call__(self, *args: str, input: str | None = None) -> Result:
        runner = CliRunner(mix_stderr=False)
        obj = {"aws": self.aws} if self.aws is not None else None
        return runner.invoke(payments, list(args), input=input, obj=obj, catch_exceptions=False)

    def json(self, *args: str) -> Any:
        result = self(*args, "--json")
        assert result.exit_code == 0, (result.stdout, result.stderr)
        return json.loads(result.stdout)


@dataclass
class FakeAws(Boto3Aws):
    """A CloudFormation stack description as ``describe_stacks`` returns it (TableName output, the
    template's parameters), and the YooKassa secret; every lookup is recorded."""

    stacks: dict[str, dict[str, Any]] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    asked: list[tuple[str, str]] = field(default_factory=list)

    def describe_stack(self, name: str, region: str | None) -> dict[str, Any]:
        self.asked.append(("describe_stacks", name))
        if name not in self.stacks:
            raise CliError(f"the CloudFormation stack {name!r} was not found", ExitCode.NO_STACK)
        return self.stacks[name]

    def read_secret(self, arn: str, region: str | None) -> str:
        self.asked.append(("get_secret_value", arn))
        if arn not in self.secrets:
            raise CliError(f"the YooKassa secret {arn} was not found", ExitCode.CREDENTIALS)
        return self.secrets[arn]


def stack_description(stack: Stack, **parameters: str) -> dict[str, Any]:
    values = {
        "Stage": "dev",
        "FrontendUrl": "https://app.cleanhouse.example",
        "YooKassaSecretArn": SECRET_ARN,
        "YooKassaApiUrl": stack.sandbox.api_url,
        "CaptureMode": "auto",
        "Receipts": "off",
        "TaxSystemCode": "",
        "DefaultVatCode": "1",
        "RenewBeforeHours": "24",
        "RenewalRetryDays": "1,3,5",
        "MaxPendingPaymentsPerUser": "5",
        **parameters,
    }
    return {
        "StackName": STACK_NAME,
        "StackId": f"arn:aws:cloudformation:{REGION}:123456789012:stack/{STACK_NAME}/0f1e2d3c",
        "StackStatus": "UPDATE_COMPLETE",
        "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()],
        "Outputs": [
            {"OutputKey": "TableName", "OutputValue": TABLE},
            {"OutputKey": "ApiUrl", "OutputValue": "https://abc123.execute-api.eu-central-1.amazonaws.com"},
        ],
    }


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "local-state"
    monkeypatch.setenv("LOCAL_STATE_DIR", str(directory))
    return directory


def record(stack: Stack, state_dir: Path, **settings: str) -> StackState:
    """What ``make dev`` records, for the test stack (this process stands in for its pid)."""
    state = StackState(
        pid=os.getpid(),
        started_at="2026-11-29T18:00:00+00:00",
        api_url="http://127.0.0.1:3000",
        webhook_url="http://127.0.0.1:3001/webhooks/yookassa",
        dynamodb_endpoint=stack.dynamodb,
        region=REGION,
        table_name=TABLE,
        yookassa_api_url=stack.sandbox.api_url,
        sandbox_url=stack.sandbox.base_url,
        credentials="sandbox",
        settings={"TABLE_NAME": TABLE, "FRONTEND_URL": "http://127.0.0.1:3000", **settings},
    )
    assert write_state(state, state_dir / "stack.json")
    return state


@pytest.fixture
def local_stack(stack: Stack, state_dir: Path) -> Iterator[Stack]:
    record(stack, state_dir)
    yield stack


@pytest.fixture
def cli() -> Cli:
    return Cli()


@pytest.fixture
def deployed(stack: Stack, state_dir: Path) -> Cli:
    """``--stack`` against the moto-backed table: no local stack file, a fake stack description."""
    aws = FakeAws(
        stacks={STACK_NAME: stack_description(stack)},
        secrets={
            SECRET_ARN: json.dumps({"shopId": stack.sandbox.shop_id, "secretKey": stack.sandbox.secret_key})
        },
    )
    return Cli(aws)
