"""A bounded YooKassa API v3 client.

Why not the official SDK on the hot path: it sets no socket timeout, opens a new connection per call,
turns network errors into ``AttributeError`` and keeps its configuration in class attributes
(../shared/reference/yookassa.md §7). This client bounds every call (connect/read timeouts and a total
budget), reuses one keep-alive session across invocations, retries only what is safe to retry with the
*same* Idempotence-Key, and maps every outcome to a typed error. It never logs credentials or bodies.
"""

import copy
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from payments.domain import ProviderStatus
from payments.errors import ProviderError, ProviderNotFound, ProviderTimeout
from payments.money import Kopecks, amount_to_kopecks

logger = logging.getLogger(__name__)

# 202 is YooKassa's legacy "still processing"; 500 means "outcome unknown, repeat with the same key".
RETRYABLE_STATUSES = frozenset({202, 429, 500, 502, 503, 504})
NETWORK_ERRORS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)

CallObserver = Callable[[str, float, int | None], None]


@dataclass(frozen=True, slots=True)
class ProviderPayment:
    """The fields of a YooKassa payment object that we act on."""

    id: str
    status: ProviderStatus
    amount: Kopecks
    currency: str
    paid: bool
    metadata: dict[str, str] = field(default_factory=dict)
    confirmation_url: str | None = None
    cancellation_reason: str | None = None
    cancellation_party: str | None = None
    refunded_amount: Kopecks = 0
    account_id: str | None = None

    @classmethod
    def from_api(cls, body: dict[str, Any]) -> "ProviderPayment":
        try:
            amount = body["amount"]
            details = body.get("cancellation_details") or {}
            return cls(
                id=str(body["id"]),
                status=ProviderStatus(body["status"]),
                amount=amount_to_kopecks(amount["value"]),
                currency=str(amount["currency"]),
                paid=body.get("paid") is True,
                metadata={str(k): str(v) for k, v in (body.get("metadata") or {}).items()},
                confirmation_url=(body.get("confirmation") or {}).get("confirmation_url"),
                cancellation_reason=details.get("reason"),
                cancellation_party=details.get("party"),
                refunded_amount=amount_to_kopecks((body.get("refunded_amount") or {}).get("value", "0")),
                account_id=(body.get("recipient") or {}).get("account_id"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ProviderError("YooKassa returned a payment we cannot read") from exc


@dataclass(frozen=True, slots=True)
class ProviderRefund:
    id: str
    payment_id: str
    status: str
    amount: Kopecks
    currency: str
    # What we sent when creating it (refundRequestId, paymentId): finds our request without its id.
    metadata: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_api(cls, body: dict[str, Any]) -> "ProviderRefund":
        try:
            return cls(
                id=str(body["id"]),
                payment_id=str(body["payment_id"]),
                status=str(body["status"]),
                amount=amount_to_kopecks(body["amount"]["value"]),
                currency=str(body["amount"]["currency"]),
                metadata={str(k): str(v) for k, v in (body.get("metadata") or {}).items()},
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ProviderError("YooKassa returned a refund we cannot read") from exc


class YooKassaClient:
    """Talks to ``api_url`` (``https://api.yookassa.ru/v3`` or the local sandbox's ``/v3``)."""

    def __init__(
        self,
        api_url: str,
        shop_id: str,
        secret_key: str,
        *,
        connect_timeout: float = 3.0,
        read_timeout: float = 10.0,
        budget_seconds: float = 20.0,
        observer: CallObserver | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.shop_id = shop_id
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._budget = budget_seconds
        self._observer = observer
        self._sleep = sleep
        self._clock = clock
        self._session = requests.Session()
        self._session.auth = (shop_id, secret_key)
        self._session.headers.update({"Content-Type": "application/json", "Accept": "application/json"})
        # No urllib3-level retries: every retry is decided below, within the budget, with the same key.
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=16, max_retries=0)
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)

    def with_budget(self, budget_seconds: float) -> "YooKassaClient":
        """This client (same keep-alive session, credentials, timeouts) with a total budget of at most
        ``budget_seconds`` per call: webhooks and polls must not wait as long as a create may."""
        bounded = copy.copy(self)
        bounded._budget = min(self._budget, budget_seconds)
        return bounded

    def __repr__(self) -> str:  # never show the secret in a traceback or log
        return f"YooKassaClient(api_url={self.api_url!r}, shop_id={self.shop_id!r})"

    def create_payment(self, body: dict[str, Any], idempotence_key: str) -> ProviderPayment:
        return ProviderPayment.from_api(self._request("POST", "/payments", body, idempotence_key))

    def get_payment(self, yookassa_id: str) -> ProviderPayment:
        return ProviderPayment.from_api(self._request("GET", f"/payments/{yookassa_id}"))

    def create_refund(self, body: dict[str, Any], idempotence_key: str) -> ProviderRefund:
        return ProviderRefund.from_api(self._request("POST", "/refunds", body, idempotence_key))

    def get_refund(self, refund_id: str) -> ProviderRefund:
        return ProviderRefund.from_api(self._request("GET", f"/refunds/{refund_id}"))

    def check_credentials(self) -> bool:
        """``GET /me``: True when YooKassa accepts our credentials."""
        try:
            self._request("GET", "/me")
        except ProviderError:
            return False
        return True

    def _request(
        self, method: str, path: str, body: dict[str, Any] | None = None, idempotence_key: str | None = None
    ) -> dict[str, Any]:
        headers = {"Idempotence-Key": idempotence_key} if idempotence_key else {}
        deadline = self._clock() + self._budget
        attempt = 0
        while True:
            attempt += 1
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise ProviderTimeout()
            started = self._clock()
            status: int | None = None
            retry_after = 0.0
            try:
                response = self._session.request(
                    method,
                    self.api_url + path,
                    json=body,
                    headers=headers,
                    timeout=(min(self._connect_timeout, remaining), min(self._read_timeout, remaining)),
                )
                status = response.status_code
                if status == 200:
                    payload = response.json()
                    if isinstance(payload, dict):
                        return payload
                    status = None  # an unreadable 200: the outcome is unknown, ask again with the same key
                elif status not in RETRYABLE_STATUSES:
                    raise self._refusal(response)
                else:
                    retry_after = _retry_after_seconds(response)
            except NETWORK_ERRORS as exc:
                logger.warning(
                    "yookassa network error",
                    extra={"path": path, "attempt": attempt, "error": type(exc).__name__},
                )
            except requests.exceptions.JSONDecodeError:
                logger.warning("yookassa sent unreadable JSON", extra={"path": path, "attempt": attempt})
            finally:
                if self._observer is not None:
                    self._observer(f"{method} {_route(path)}", self._clock() - started, status)
            pause = max(min(0.2 * 2 ** (attempt - 1), 2.0), min(retry_after, 2.0))
            if deadline - self._clock() <= pause:
                logger.warning("yookassa budget exhausted", extra={"path": path, "attempts": attempt})
                raise ProviderTimeout()
            logger.info("retrying yookassa call", extra={"path": path, "attempt": attempt, "status": status})
            self._sleep(pause)

    @staticmethod
    def _refusal(response: requests.Response) -> ProviderError:
        try:
            error = response.json()
        except ValueError:
            error = {}
        code = error.get("code") if isinstance(error, dict) else None
        description = error.get("description") if isinstance(error, dict) else None
        logger.warning(
            "yookassa refused",
            extra={
                "status": response.status_code,
                "provider_code": code,
                "provider_description": description,
            },
        )
        if response.status_code == 404:
            return ProviderNotFound(http_status=404, provider_code=code)
        return ProviderError(
            f"The payment provider refused the request ({code or response.status_code})",
            http_status=response.status_code,
            provider_code=code,
        )


def _retry_after_seconds(response: requests.Response) -> float:
    header = response.headers.get("Retry-After", "")
    try:
        return max(float(header), 0.0)
    except ValueError:
        return 0.0


def _route(path: str) -> str:
    """``/payments/2f..`` -> ``/payments/{id}``: metric dimensions must not carry ids."""
    parts = path.split("/")
    if len(parts) > 2:
        parts[2] = "{id}"
    return "/".join(parts)
