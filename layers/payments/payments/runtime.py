"""Builds the real adapters once per cold start (lazily, so importing does no I/O).

Only what every function needs is imported at cold start: the YooKassa client (and ``requests``) and the
Secrets Manager client are built on first use, so a status poll that never asks YooKassa never loads
them. The secret is read with botocore (already loaded for DynamoDB), not Powertools' parameters
utility, which would pull boto3, s3transfer and AppConfig in.
"""

import functools
import json
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from payments.dynamodb import DynamoStore
from payments.errors import PaymentsError
from payments.observability import logger, observe_provider_call
from payments.settings import Settings

if TYPE_CHECKING:
    from payments.yookassa import YooKassaClient


class ConfigurationError(PaymentsError):
    code, default_message = "configuration_error", "The service is not configured"


@functools.cache
def settings() -> Settings:
    return Settings.from_env(os.environ)


@functools.cache
def store() -> DynamoStore:
    config = settings()
    return DynamoStore(config.table_name, pending_shards=config.pending_shards)


# Secrets Manager reads are bounded like every other external call; the value is kept for 5 minutes.
SECRET_MAX_AGE_SECONDS = 300
_secret_values: dict[str, tuple[float, str]] = {}  # ARN -> (read at, monotonic; the secret string)


@functools.cache
def _secrets() -> Any:  # botocore's Secrets Manager client (its methods are generated: untyped)
    import botocore.session
    from botocore.config import Config

    bounded = Config(connect_timeout=2, read_timeout=3, retries={"max_attempts": 2, "mode": "standard"})
    return botocore.session.get_session().create_client("secretsmanager", config=bounded)


def read_secret(arn: str, clock: Callable[[], float] = time.monotonic) -> str:
    """The secret's string, asked at most every ``SECRET_MAX_AGE_SECONDS`` per container (so a rotated
    key reaches warm containers within 5 minutes)."""
    cached = _secret_values.get(arn)
    if cached is not None and clock() - cached[0] < SECRET_MAX_AGE_SECONDS:
        return cached[1]
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        value = _secrets().get_secret_value(SecretId=arn)["SecretString"]
    except (BotoCoreError, ClientError, KeyError) as exc:
        raise ConfigurationError("The YooKassa secret could not be read") from exc
    _secret_values[arn] = (clock(), str(value))
    return str(value)


def yookassa_credentials(config: Settings) -> tuple[str, str] | None:
    """Shop id and secret key: from Secrets Manager in AWS (re-read every 5 minutes, so a rotated
    key reaches warm containers), from the environment locally."""
    if config.yookassa_shop_id and config.yookassa_secret_key:
        return config.yookassa_shop_id, config.yookassa_secret_key.get_secret_value()
    if config.yookassa_secret_arn:
        return parse_yookassa_secret(read_secret(config.yookassa_secret_arn))
    return None


def parse_yookassa_secret(secret: object) -> tuple[str, str]:
    """``{"shopId": "...", "secretKey": "..."}``; anything else is a configuration error, never a crash."""
    try:
        values = json.loads(secret) if isinstance(secret, str | bytes) else None
    except ValueError:
        values = None
    if not isinstance(values, dict) or not values.get("shopId") or not values.get("secretKey"):
        raise ConfigurationError('The YooKassa secret must be JSON: {"shopId": "...", "secretKey": "..."}')
    return str(values["shopId"]), str(values["secretKey"])


def yookassa() -> "YooKassaClient":
    """The client for the current credentials: one per credentials, so its keep-alive connection
    lives across invocations and a rotated secret gets a new one."""
    config = settings()
    credentials = yookassa_credentials(config)
    if credentials is None:
        logger.error("YooKassa credentials are not configured")
        raise ConfigurationError("YooKassa credentials are not configured")
    return _client(*credentials)


@functools.lru_cache(maxsize=2)
def _client(shop_id: str, secret_key: str) -> "YooKassaClient":
    from payments.yookassa import YooKassaClient

    config = settings()
    return YooKassaClient(
        config.yookassa_api_url,
        shop_id,
        secret_key,
        connect_timeout=config.yookassa_connect_timeout,
        read_timeout=config.yookassa_read_timeout,
        budget_seconds=config.yookassa_budget_seconds,
        observer=observe_provider_call,
    )


# What GET /v3/me says of the shop's 54-FZ receipts, per container: asked at most once per 5 minutes
# (per API URL and shop), within a short budget of its own, so /health stays cheap and quick.
FISCALIZATION_MAX_AGE_SECONDS = 300
FISCALIZATION_BUDGET_SECONDS = 3.0
_fiscalization: dict[tuple[str, str], tuple[float, bool]] = {}  # (API URL, shop id) -> (asked at, on)


def shop_fiscalization(clock: Callable[[], float] = time.monotonic) -> Literal["on", "off", "unknown"]:
    """Whether the shop sends 54-FZ receipts (then YooKassa refuses a payment without one). ``unknown``
    when YooKassa cannot be asked (no credentials, a refusal, no answer in time): not remembered, so
    the next call asks again."""
    try:
        client = yookassa()
        key = (client.api_url, client.shop_id)
        cached = _fiscalization.get(key)
        if cached is None or clock() - cached[0] >= FISCALIZATION_MAX_AGE_SECONDS:
            enabled = client.with_budget(FISCALIZATION_BUDGET_SECONDS).fiscalization_enabled()
            cached = _fiscalization[key] = (clock(), enabled)
    except PaymentsError:
        logger.warning("could not ask YooKassa whether the shop sends receipts")
        return "unknown"
    return "on" if cached[1] else "off"


def reset() -> None:
    """Forget every cached adapter: the next call builds them from the current environment."""
    for factory in (settings, store, _client, _secrets):
        factory.cache_clear()
    _fiscalization.clear()
    _secret_values.clear()


def credentials_configured() -> bool:
    try:
        return yookassa_credentials(settings()) is not None
    except ConfigurationError:
        logger.warning("could not read the YooKassa secret")
        return False
