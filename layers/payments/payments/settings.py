"""One validated settings object, read from the environment once per cold start and passed down."""

import ipaddress
from collections.abc import Mapping
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, field_validator

from payments.domain.subscriptions import RenewalPolicy

# YooKassa's published notification sources (its "Notifications" documentation).
# Loopback is never in the default.
YOOKASSA_NETWORKS = (
    "185.71.76.0/27",
    "185.71.77.0/27",
    "77.75.153.0/25",
    "77.75.156.11/32",
    "77.75.156.35/32",
    "77.75.154.128/25",
    "2a02:5180::/32",
)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseModel):
    """Everything configurable. Environment variable names are the upper-case field names."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    table_name: str = Field(min_length=1)
    frontend_url: str = Field(min_length=1)
    yookassa_api_url: str = "https://api.yookassa.ru/v3"
    yookassa_shop_id: str | None = None
    yookassa_secret_key: SecretStr | None = None
    # In AWS the credentials live in Secrets Manager: {"shopId": "...", "secretKey": "..."}.
    yookassa_secret_arn: str | None = None
    yookassa_connect_timeout: float = Field(default=3.0, gt=0)
    yookassa_read_timeout: float = Field(default=10.0, gt=0)
    # Total time one operation may spend on YooKassa, retries included: below API Gateway's 29 s.
    yookassa_budget_seconds: float = Field(default=20.0, gt=0, le=25)
    min_payment_amount: int = Field(default=100, ge=1)  # kopecks: YooKassa's card minimum is 1 RUB
    max_payment_amount: int = Field(default=35_000_000, ge=1)  # 350 000 RUB, YooKassa's card maximum
    payment_term_seconds: int = Field(default=3600, ge=60)  # how long YooKassa keeps a payment payable
    # A pending payment is reused for a second create only while this much of its term remains.
    reuse_margin_seconds: int = Field(default=300, ge=0)
    webhook_allowed_networks: Annotated[list[str], BeforeValidator(_split_csv)] = list(YOOKASSA_NETWORKS)
    stale_pending_seconds: int = Field(default=15, ge=0)  # a poll older than this asks YooKassa itself
    provider_refresh_interval_seconds: int = Field(default=5, ge=0)  # at most one such ask per payment
    reconcile_after_seconds: int = Field(default=120, ge=0)  # the reconciler's threshold
    reconcile_concurrency: int = Field(default=16, ge=1, le=32)  # payments the reconciler checks at once
    pending_shards: int = Field(default=8, ge=1, le=64)
    audit_ttl_days: int = Field(default=90, ge=1)
    idempotency_ttl_hours: int = Field(default=24, ge=1)
    # auto: payments are captured at once (every method, SBP included); money that arrives for what can
    # no longer be delivered is refunded automatically. two_stage (cards, wallets): capture: false, then
    # captured if still deliverable, else canceled: the money is only held and released.
    capture_mode: Literal["auto", "two_stage"] = "auto"
    max_pending_payments_per_user: int = Field(default=5, ge=1)  # payable pending payments per user
    # 54-FZ receipts: "on" sends one with every payment, refund and settlement (README "Receipts").
    receipts: Literal["off", "on"] = "off"
    tax_system_code: int | None = Field(default=None, ge=1, le=6)  # optional for Чеки от ЮKassa
    default_vat_code: int = Field(default=1, ge=1, le=12)  # 1 = без НДС; an order's or plan's wins
    # Automatic renewal: the next period is charged this long before the paid time ends; a declined
    # charge is retried these many days after the first decline (README "Subscriptions").
    renew_before_hours: int = Field(default=24, ge=1, le=24 * 7)
    renewal_retry_days: Annotated[list[int], BeforeValidator(_split_csv)] = [1, 3, 5]

    @field_validator("renewal_retry_days")
    @classmethod
    def _retry_days_grow(cls, value: list[int]) -> list[int]:
        if any(day < 1 for day in value) or value != sorted(set(value)):
            raise ValueError("renewal retry days must be positive and increasing, e.g. 1,3,5")
        return value

    @property
    def renewal_policy(self) -> RenewalPolicy:
        return RenewalPolicy(timedelta(hours=self.renew_before_hours), tuple(self.renewal_retry_days))

    @field_validator("tax_system_code", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value  # the template passes "" for "not set"

    @property
    def receipts_on(self) -> bool:
        return self.receipts == "on"

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _networks_parse(cls, value: list[str]) -> list[str]:
        for network in value:
            ipaddress.ip_network(network, strict=False)
        return value

    @field_validator("frontend_url", "yookassa_api_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def networks(self) -> tuple[Network, ...]:
        return tuple(ipaddress.ip_network(n, strict=False) for n in self.webhook_allowed_networks)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> "Settings":
        values = {name: environ[name.upper()] for name in cls.model_fields if name.upper() in environ}
        return cls.model_validate(values)
