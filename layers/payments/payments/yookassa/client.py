"""The YooKassa API v3 transport: bounded, retried only under the same Idempotence-Key.

Why not the official SDK on the hot path: it sets no socket timeout, opens a new connection per call,
turns network errors into ``AttributeError`` and keeps its configuration in class attributes. This
client bounds every call (connect/read timeouts and a total budget), reuses one keep-alive session
across invocations, retries only what is safe to retry with the *same* Idempotence-Key, and maps every
outcome to a typed error. It speaks domain values (``wire`` builds and reads the JSON) and never logs
credentials or bodies. It is the only module of the layer that imports ``requests`` (pyproject.toml's
import contracts).
"""

import copy
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Self

import requests
from requests.adapters import HTTPAdapter

from payments.domain import Payment, ProviderPayment, ProviderRefund, RefundRequest
from payments.domain.receipts import Receipt
from payments.errors import ProviderError, ProviderNotFound, ProviderTimeout
from payments.yookassa.wire import (
    JsonObject,
    capture_body,
    payment_body,
    read_fiscalization,
    read_payment,
    read_receipt_id,
    read_refund,
    refund_body,
    settlement_body,
)

logger = logging.getLogger(__name__)

# 202 is YooKassa's legacy "still processing"; 500 means "outcome unknown, repeat with the same key".
RETRYABLE_STATUSES = frozenset({202, 429, 500, 502, 503, 504})
NETWORK_ERRORS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)
MAX_PAUSE_SECONDS = 2.0

# Told of every HTTP call: ``METHOD /route`` (ids replaced), seconds, the HTTP status or None.
CallObserver = Callable[[str, float, int | None], None]


@dataclass(frozen=True, slots=True)
class _Retry:
    """An attempt without a definite answer: ask again, under the same key, after a pause."""

    status: int | None
    retry_after: float = 0.0


class YooKassaClient:
    """Talks to ``api_url`` (``https://api.yookassa.ru/v3`` or the local sandbox's ``/v3``).

    Implements ``payments.ports.YooKassa``.
    """

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

    def with_budget(self, budget_seconds: float) -> Self:
        """This client (same keep-alive session, credentials, timeouts) with a total budget of at most
        ``budget_seconds`` per call: webhooks and polls must not wait as long as a create may."""
        bounded = copy.copy(self)
        bounded._budget = min(self._budget, budget_seconds)
        return bounded

    def __repr__(self) -> str:  # never show the secret in a traceback or log
        return f"YooKassaClient(api_url={self.api_url!r}, shop_id={self.shop_id!r})"

    def create_payment(self, payment: Payment, return_url: str) -> ProviderPayment:
        """YooKassa's payment for our ``payment``: made once, whatever the retries (its own key)."""
        body = payment_body(payment, return_url)
        return read_payment(self._request("POST", "/payments", body, payment.idempotence_key()))

    def get_payment(self, yookassa_id: str) -> ProviderPayment:
        return read_payment(self._request("GET", f"/payments/{yookassa_id}"))

    def capture_payment(self, payment: Payment) -> ProviderPayment:
        """Take the money of a held two-stage payment: captured once, whatever the retries."""
        path = f"/payments/{payment.yookassa_id}/capture"
        return read_payment(self._request("POST", path, capture_body(payment), payment.capture_key()))

    def cancel_payment(self, payment: Payment) -> ProviderPayment:
        """Release the money of a held two-stage payment (no body, as YooKassa expects)."""
        path = f"/payments/{payment.yookassa_id}/cancel"
        return read_payment(self._request("POST", path, None, payment.cancel_key()))

    def create_refund(self, payment: Payment, request: RefundRequest) -> ProviderRefund:
        """YooKassa's refund for our ``request``: made once, whatever the retries (its own key)."""
        body = refund_body(payment, request)
        return read_refund(self._request("POST", "/refunds", body, request.idempotence_key()))

    def get_refund(self, refund_id: str) -> ProviderRefund:
        return read_refund(self._request("GET", f"/refunds/{refund_id}"))

    def create_receipt(self, payment: Payment, receipt: Receipt, idempotence_key: str) -> str:
        """Register a settlement receipt for ``payment``: made once per key, whatever the retries."""
        body = settlement_body(payment, receipt)
        return read_receipt_id(self._request("POST", "/receipts", body, idempotence_key))

    def fiscalization_enabled(self) -> bool:
        """``GET /me``: whether the shop has 54-FZ receipts on (then every payment needs one)."""
        return read_fiscalization(self._request("GET", "/me"))

    def check_credentials(self) -> bool:
        """``GET /me``: True when YooKassa accepts our credentials."""
        try:
            self._request("GET", "/me")
        except ProviderError:
            return False
        return True

    def _request(
        self, method: str, path: str, body: JsonObject | None = None, idempotence_key: str | None = None
    ) -> JsonObject:
        """Attempts until a definite answer or the budget's end (``ProviderTimeout``: outcome unknown)."""
        headers = {"Idempotence-Key": idempotence_key} if idempotence_key else {}
        deadline = self._clock() + self._budget
        attempt = 0
        while True:
            attempt += 1
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise ProviderTimeout()
            outcome = self._attempt(method, path, body, headers, remaining, attempt)
            if not isinstance(outcome, _Retry):
                return outcome
            backoff = min(0.2 * 2 ** (attempt - 1), MAX_PAUSE_SECONDS)
            pause = max(backoff, min(outcome.retry_after, MAX_PAUSE_SECONDS))
            if deadline - self._clock() <= pause:
                logger.warning("yookassa budget exhausted", extra={"path": path, "attempts": attempt})
                raise ProviderTimeout()
            logger.info(
                "retrying yookassa call", extra={"path": path, "attempt": attempt, "status": outcome.status}
            )
            self._sleep(pause)

    def _attempt(
        self,
        method: str,
        path: str,
        body: JsonObject | None,
        headers: dict[str, str],
        remaining: float,
        attempt: int,
    ) -> JsonObject | _Retry:
        """One HTTP call: the answer, a refusal raised, or what to retry. The observer sees every call."""
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
                raise _refusal(response)
            else:
                retry_after = _retry_after_seconds(response)
        except NETWORK_ERRORS as exc:
            logger.warning(
                "yookassa network error", extra={"path": path, "attempt": attempt, "error": type(exc).__name__}
            )
        except requests.exceptions.JSONDecodeError:
            logger.warning("yookassa sent unreadable JSON", extra={"path": path, "attempt": attempt})
        finally:
            if self._observer is not None:
                self._observer(f"{method} {_route(path)}", self._clock() - started, status)
        return _Retry(status, retry_after)


def _refusal(response: requests.Response) -> ProviderError:
    """A definite "no" from YooKassa, with its error code (logged; never the body itself)."""
    try:
        error: Any = response.json()
    except ValueError:
        error = {}
    code = error.get("code") if isinstance(error, dict) else None
    description = error.get("description") if isinstance(error, dict) else None
    logger.warning(
        "yookassa refused",
        extra={"status": response.status_code, "provider_code": code, "provider_description": description},
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
