"""Powertools Logger and Metrics: one instance each per process, shared by every function.

Logs are JSON lines on stdout with the invocation's ``correlation_id`` (API Gateway's / the Function
URL's ``requestContext.requestId``) and, once known, ``userId``, ``paymentId``, ``yookassaId`` (``bind``).
Never log a request body, headers, an event, a provider object or a credential: they may carry card
data (``payment_method.card``), the JWT or the shop's secret key. tests/observability/ scans a whole
flow's output for exactly those.

Metrics are CloudWatch EMF: namespace ``POWERTOOLS_METRICS_NAMESPACE`` (one per stage in AWS), dimension
``service``. ``template.yaml``'s alarms and dashboard read the names in ``METRICS``.

No Tracer: the X-Ray SDK is in maintenance mode (end of support 2027-02-25), Powertools' Tracer imports
it even when disabled (~0.5 s of every cold start, measured here), and the one downstream call worth a
trace, YooKassa, is measured by ``ProviderLatency`` and logged per call. ``Tracing: Active`` in the
template still gives each invocation's Lambda segments (init, invocation) in X-Ray.
"""

import functools
import os
import threading
from collections.abc import Callable
from typing import Final

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

SERVICE: Final = "payments"

# Every business metric the code emits (Count unless noted).
METRICS: Final = (
    "PaymentCreated",
    "PaymentSucceeded",
    "PaymentFailed",
    "PaymentCanceled",
    "RefundSucceeded",
    "WebhookAccepted",
    "WebhookRejected",  # also per ``reason`` dimension: count("WebhookRejected", reason="source_ip")
    "ProviderStateConflict",
    "ReconcilerFixed",
    "RefundOutcomeUnknown",  # a held refund's outcome never learnt within a day: released, check YooKassa
    "AutoRefund",  # money for what can no longer be delivered, refunded automatically (by ``reason``)
    "AutoRefundFailed",  # YooKassa refused such a refund: a human refunds it
    "HoldCanceled",  # a held two-stage payment released because it could no longer be delivered
    "ProviderNotFound",  # YooKassa answered 404 for a payment it created: wrong shop, key or URL
    "TooManyPendingPayments",  # a create refused: the user has too many payable payments
    "ReceiptFailed",  # YooKassa could not register a 54-FZ receipt (payment or refund): re-send it
    "SubscriptionRenewed",  # renewal charges that went through (a period appended)
    "RenewalDeclined",  # renewal charges that did not: the subscription is past due (or expired)
    "AutoRenewOn",  # a customer turned automatic renewal back on
    "AutoRenewOff",  # ... or off
    "ProviderLatency",  # milliseconds, one value per YooKassa HTTP call
)

logger = Logger(service=SERVICE)
_METRICS_LOCK = threading.Lock()  # Powertools' metric set is a plain dict: one writer at a time
metrics = Metrics(
    namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "CleanHouse/Payments", service=SERVICE
)

__all__ = ["METRICS", "MetricUnit", "bind", "count", "logger", "metrics", "observe_provider_call"]


def count(name: str, value: int = 1, **dimensions: str) -> None:
    """Add ``value`` to the metric ``name`` (dimension ``service``), flushed at the end of the invocation.

    With ``dimensions`` (e.g. ``reason="source_ip"``) the same count is also emitted at once under those
    dimensions: the alarm watches the total, the dashboard breaks it down.
    """
    with _METRICS_LOCK:  # the reconciler counts from its worker threads
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    if dimensions:
        breakdown = EphemeralMetrics(namespace=metrics.namespace, service=SERVICE)
        for dimension, dimension_value in dimensions.items():
            breakdown.add_dimension(name=dimension, value=dimension_value)
        breakdown.add_metric(name=name, unit=MetricUnit.Count, value=value)
        breakdown.flush_metrics()


# What Powertools' inject_lambda_context adds to every line that CloudWatch already tells (the log group
# is the function's): dropped, so a line carries only what an operator reads.
STATIC_CONTEXT_KEYS: Final = ("function_name", "function_memory_size", "function_arn")


def handled[**P, R](handler: Callable[P, R], correlation_id_path: str | None = None) -> Callable[P, R]:
    """A Lambda handler with this invocation's request id (and correlation id) on its log lines, the
    keys of the previous invocation cleared, never the event logged, and the metrics flushed."""

    @functools.wraps(handler)
    def lean(*args: P.args, **kwargs: P.kwargs) -> R:
        logger.remove_keys(list(STATIC_CONTEXT_KEYS))
        return handler(*args, **kwargs)

    injected = logger.inject_lambda_context(
        lean, correlation_id_path=correlation_id_path, clear_state=True, log_event=False
    )
    return metrics.log_metrics(injected, capture_cold_start_metric=True)


def observe_provider_call(operation: str, seconds: float, status: int | None) -> None:
    """The YooKassa client's ``observer``: one ``ProviderLatency`` value and one log line per HTTP call.

    ``operation`` is ``METHOD /path`` with ids replaced (``GET /payments/{id}``); ``status`` is None when
    no HTTP answer came (timeout, connection error).
    """
    milliseconds = round(seconds * 1000, 1)
    with _METRICS_LOCK:
        metrics.add_metric(name="ProviderLatency", unit=MetricUnit.Milliseconds, value=milliseconds)
    # A call that answered 2xx is routine (the metric has its latency): DEBUG; anything else is news.
    log = logger.debug if status is not None and 200 <= status < 300 else logger.info
    log("yookassa call", extra={"operation": operation, "httpStatus": status, "durationMs": milliseconds})


def bind(**keys: object) -> None:
    """Put correlation keys (``paymentId``, ``yookassaId``, ``userId``...) on every later log line of
    this invocation; ``None`` values are skipped. The handlers clear them at the next invocation."""
    present = {key: value for key, value in keys.items() if value is not None}
    if present:
        logger.append_keys(**present)
