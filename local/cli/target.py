"""Which stack ``payments`` talks to, and the layer's own adapters for it.

- **local** (the default): the stack a running ``make dev`` recorded in ``.local-state/stack.json``
  (``LOCAL_STATE_DIR`` for another directory); ``--dynamodb-endpoint``, ``--table``, ``--yookassa-url``
  and ``--sandbox-url`` override what it says (or stand in for it).
- **deployed** (``--stack NAME``): the CloudFormation stack's ``TableName`` output and its parameters
  (``YooKassaSecretArn``, ``FrontendUrl``, ``CaptureMode``...: the functions' own settings, as
  template.yaml's ``Globals`` passes them), with the caller's AWS credentials; the YooKassa credentials
  are read from the secret only by the commands that call YooKassa.

Errors are ``CliError`` with the exit code a script can act on (``ExitCode``).
"""

from __future__ import annotations  # the layer's adapters are imported on use: `payments --help` is quick

import functools
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, Any, Literal, Protocol

from local.cli.state import StackState, pid_alive, read_state, state_file

if TYPE_CHECKING:
    from payments.dynamodb import DynamoStore
    from payments.settings import Settings
    from payments.yookassa import YooKassaClient


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1  # the operation failed or was refused (YooKassa, a conflict), or it was declined
    USAGE = 2  # a bad flag or value (Click's own code for usage errors)
    NOT_FOUND = 3  # no such payment, subscription or YooKassa object
    NO_STACK = 4  # no local stack running, no such CloudFormation stack, or its table does not answer
    CREDENTIALS = 5  # no (or insufficient) AWS credentials, or no readable YooKassa credentials


class CliError(Exception):
    def __init__(self, message: str, code: ExitCode = ExitCode.FAILED) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


# template.yaml's parameters that become the functions' settings (Globals.Function.Environment); the
# table's name comes from the TableName output. tests/cli checks this against the template.
STACK_PARAMETERS: Mapping[str, str] = {
    "FrontendUrl": "FRONTEND_URL",
    "YooKassaApiUrl": "YOOKASSA_API_URL",
    "YooKassaSecretArn": "YOOKASSA_SECRET_ARN",
    "WebhookAllowedNetworks": "WEBHOOK_ALLOWED_NETWORKS",
    "CaptureMode": "CAPTURE_MODE",
    "MaxPendingPaymentsPerUser": "MAX_PENDING_PAYMENTS_PER_USER",
    "Receipts": "RECEIPTS",
    "TaxSystemCode": "TAX_SYSTEM_CODE",
    "DefaultVatCode": "DEFAULT_VAT_CODE",
    "RenewBeforeHours": "RENEW_BEFORE_HOURS",
    "RenewalRetryDays": "RENEWAL_RETRY_DAYS",
}
LOCAL_FRONTEND_URL = "http://127.0.0.1:3000"


class Aws(Protocol):
    """The two AWS reads of the deployed path (tests give a fake stack description)."""

    def describe_stack(self, name: str, region: str | None) -> dict[str, Any]: ...

    def read_secret(self, arn: str, region: str | None) -> str: ...


class Boto3Aws:
    """``cloudformation:DescribeStacks`` and ``secretsmanager:GetSecretValue`` with the caller's
    credentials (the usual chain: environment, profile, SSO, instance role)."""

    def describe_stack(self, name: str, region: str | None) -> dict[str, Any]:
        with _aws_errors(f"the CloudFormation stack {name!r}", missing=ExitCode.NO_STACK):
            stacks = _client("cloudformation", region).describe_stacks(StackName=name)["Stacks"]
        if not stacks:
            raise CliError(f"no CloudFormation stack {name!r} in this account and region", ExitCode.NO_STACK)
        stack: dict[str, Any] = stacks[0]
        return stack

    def read_secret(self, arn: str, region: str | None) -> str:
        with _aws_errors(f"the YooKassa secret {arn}", missing=ExitCode.CREDENTIALS):
            value = _client("secretsmanager", _region_of_arn(arn) or region).get_secret_value(SecretId=arn)
        return str(value.get("SecretString", ""))


def _client(service: str, region: str | None) -> Any:
    import boto3

    return boto3.session.Session(region_name=region).client(service)  # type: ignore[call-overload]


def _region_of_arn(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 and parts[0] == "arn" and parts[3] else None


class _aws_errors:
    """botocore's failures as ``CliError``s: no credentials, access denied, not found, no network."""

    def __init__(self, what: str, *, missing: ExitCode) -> None:
        self.what, self.missing = what, missing

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> Literal[False]:
        if exc is None:
            return False
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            EndpointConnectionError,
            NoCredentialsError,
            NoRegionError,
            PartialCredentialsError,
            TokenRetrievalError,
        )

        if isinstance(exc, NoCredentialsError | PartialCredentialsError | TokenRetrievalError):
            raise CliError(
                f"no AWS credentials to read {self.what} (aws configure, AWS_PROFILE, aws sso login)",
                ExitCode.CREDENTIALS,
            ) from exc
        if isinstance(exc, NoRegionError):
            raise CliError("no AWS region: give --region or set AWS_REGION", ExitCode.USAGE) from exc
        if isinstance(exc, EndpointConnectionError):
            raise CliError(f"AWS does not answer for {self.what}: {exc}", ExitCode.NO_STACK) from exc
        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            code, message = str(error.get("Code", "")), str(error.get("Message", ""))
            if code in {"AccessDenied", "AccessDeniedException", "UnrecognizedClientException"} or (
                code.startswith(("ExpiredToken", "InvalidClientTokenId"))
            ):
                raise CliError(
                    f"not allowed to read {self.what}: {code}: {message}", ExitCode.CREDENTIALS
                ) from exc
            if code in {"ValidationError", "ResourceNotFoundException"}:
                raise CliError(f"{self.what} was not found: {message}", self.missing) from exc
            raise CliError(f"reading {self.what} failed: {code}: {message}", ExitCode.FAILED) from exc
        if isinstance(exc, BotoCoreError):
            raise CliError(f"reading {self.what} failed: {exc}", ExitCode.FAILED) from exc
        return False


@dataclass(frozen=True)
class Overrides:
    """What the flags say; ``None``: as the stack file (or the stack) says."""

    stack: str | None = None
    region: str | None = None
    table: str | None = None
    dynamodb_endpoint: str | None = None
    yookassa_url: str | None = None
    sandbox_url: str | None = None


@dataclass
class Target:
    """The stack one command talks to: the layer's settings, store and (on first use) YooKassa client."""

    kind: Literal["local", "deployed"]
    name: str
    settings: Settings
    store: DynamoStore
    region: str | None
    sandbox_url: str | None
    credentials: Callable[[], tuple[str, str]]
    _clients: list[YooKassaClient] = field(default_factory=list)

    def yookassa(self) -> YooKassaClient:
        """The layer's YooKassa client with the stack's credentials (read once)."""
        from payments.yookassa import YooKassaClient

        if not self._clients:
            shop_id, secret_key = self.credentials()
            config = self.settings
            self._clients.append(
                YooKassaClient(
                    config.yookassa_api_url,
                    shop_id,
                    secret_key,
                    connect_timeout=config.yookassa_connect_timeout,
                    read_timeout=config.yookassa_read_timeout,
                    budget_seconds=config.yookassa_budget_seconds,
                )
            )
        return self._clients[0]

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "table": self.settings.table_name,
            "region": self.region,
            "yookassaApiUrl": self.settings.yookassa_api_url,
            "sandboxUrl": self.sandbox_url,
        }


def resolve(overrides: Overrides, aws: Aws, environ: Mapping[str, str] = os.environ) -> Target:
    if overrides.stack:
        return deployed(overrides, aws)
    return local(overrides, environ)


# ---------------------------------------------------------------------------------------------- local
def local(overrides: Overrides, environ: Mapping[str, str] = os.environ) -> Target:
    from payments.dynamodb import DynamoStore

    path = state_file(environ)
    recorded = read_state(path)
    stale = recorded is not None and not pid_alive(recorded.pid)
    state = None if stale else recorded
    if state is None and overrides.dynamodb_endpoint is None:
        why = (
            f"{path} names a stack that is gone (pid {recorded.pid})"
            if stale and recorded is not None
            else f"no {path}"
        )
        raise CliError(
            f"no local stack is running ({why}): start one with `make dev`, give --dynamodb-endpoint, "
            "or name a deployed stack with --stack",
            ExitCode.NO_STACK,
        )
    endpoint = overrides.dynamodb_endpoint or (state.dynamodb_endpoint if state else "")
    region = (
        overrides.region or (state.region if state else None) or environ.get("AWS_REGION") or "eu-central-1"
    )
    values = dict(state.settings) if state else {"FRONTEND_URL": LOCAL_FRONTEND_URL}
    values["TABLE_NAME"] = overrides.table or (state.table_name if state else "cleanhouse-payments-local")
    yookassa_url = overrides.yookassa_url or (state.yookassa_api_url if state else None)
    sandbox_url = overrides.sandbox_url or (state.sandbox_url if state else None)
    if yookassa_url is None and sandbox_url is not None:
        yookassa_url = f"{sandbox_url.rstrip('/')}/v3"
    if yookassa_url:
        values["YOOKASSA_API_URL"] = yookassa_url
    settings = _settings(values)
    # PynamoDB's botocore client takes the endpoint from the environment (as the handlers' does locally).
    os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = endpoint
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "test")  # any credentials do for moto
    name = f"local (pid {state.pid})" if state else f"local ({endpoint})"
    return Target(
        kind="local",
        name=name,
        settings=settings,
        store=DynamoStore(settings.table_name, pending_shards=settings.pending_shards, region=region),
        region=region,
        sandbox_url=sandbox_url,
        credentials=functools.partial(_local_credentials, state, environ, sandbox_url is not None),
    )


def _local_credentials(state: StackState | None, environ: Mapping[str, str], sandbox: bool) -> tuple[str, str]:
    shop_id, secret_key = environ.get("YOOKASSA_SHOP_ID"), environ.get("YOOKASSA_SECRET_KEY")
    if (state is None or state.credentials == "environment") and shop_id and secret_key:
        return shop_id, secret_key
    if (state is not None and state.credentials == "sandbox") or (state is None and sandbox):
        from local.stack import SANDBOX_SECRET_KEY, SANDBOX_SHOP_ID

        return SANDBOX_SHOP_ID, SANDBOX_SECRET_KEY
    raise CliError(
        "no YooKassa credentials: the local stack uses real ones from its environment; "
        "set YOOKASSA_SHOP_ID and YOOKASSA_SECRET_KEY here too",
        ExitCode.CREDENTIALS,
    )


# ---------------------------------------------------------------------------------------------- deployed
def deployed(overrides: Overrides, aws: Aws) -> Target:
    from payments.dynamodb import DynamoStore
    from payments.errors import PaymentsError

    assert overrides.stack is not None
    name, region = overrides.stack, overrides.region
    stack = aws.describe_stack(name, region)
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    parameters = {
        p["ParameterKey"]: p.get("ResolvedValue", p.get("ParameterValue", ""))
        for p in stack.get("Parameters", [])
    }
    table = overrides.table or outputs.get("TableName")
    if not table:
        raise CliError(
            f"the stack {name!r} has no TableName output: is it a payments stack?", ExitCode.NO_STACK
        )
    values = {env: parameters[key] for key, env in STACK_PARAMETERS.items() if key in parameters}
    values["TABLE_NAME"] = table
    if overrides.yookassa_url:
        values["YOOKASSA_API_URL"] = overrides.yookassa_url
    settings = _settings(values)
    arn = settings.yookassa_secret_arn
    stack_region = region or _region_of_arn(str(stack.get("StackId", "")))

    def credentials() -> tuple[str, str]:
        from payments.runtime import parse_yookassa_secret

        if not arn:
            raise CliError(f"the stack {name!r} has no YooKassaSecretArn parameter", ExitCode.CREDENTIALS)
        try:
            return parse_yookassa_secret(aws.read_secret(arn, stack_region))
        except PaymentsError as exc:
            raise CliError(f"the YooKassa secret {arn}: {exc}", ExitCode.CREDENTIALS) from exc

    return Target(
        kind="deployed",
        name=name,
        settings=settings,
        store=DynamoStore(settings.table_name, pending_shards=settings.pending_shards, region=stack_region),
        region=stack_region,
        sandbox_url=overrides.sandbox_url,
        credentials=credentials,
    )


def _settings(values: Mapping[str, str]) -> Settings:
    from pydantic import ValidationError

    from payments.settings import Settings

    try:
        return Settings.from_env(values)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        raise CliError(f"the stack's settings are not valid: {problems}", ExitCode.USAGE) from exc
