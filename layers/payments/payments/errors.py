"""Typed errors. Each carries its HTTP status and envelope code; ``api`` maps them in one place."""

from typing import Any, ClassVar


class PaymentsError(Exception):
    """Base of every error our API answers with. ``code`` is the stable, documented error code."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    default_message: ClassVar[str] = "Internal error"

    def __init__(self, message: str | None = None, *, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message or self.default_message)
        self.message = message or self.default_message
        self.details = details


class BadRequest(PaymentsError):
    status, code, default_message = 400, "bad_request", "The request is malformed"


class MalformedJson(BadRequest):
    code, default_message = "malformed_json", "The request body is not valid JSON"


class Unauthorized(PaymentsError):
    status, code, default_message = 401, "unauthorized", "Authentication is required"


class Forbidden(PaymentsError):
    status, code, default_message = 403, "forbidden", "This operation needs another scope"


class NotFound(PaymentsError):
    status, code, default_message = 404, "not_found", "Not found"


class RequestTimeout(PaymentsError):
    """Powertools' ``RequestTimeoutError``: no code of ours raises it, but its 408 is kept (a client's
    slowness, not our failure)."""

    status, code, default_message = 408, "request_timeout", "The request took too long to arrive"


class OrderAlreadyPaid(PaymentsError):
    status, code, default_message = 409, "order_already_paid", "The order is already paid"


class OrderNotPaid(PaymentsError):
    status, code, default_message = 409, "order_not_paid", "Only a paid order can be completed"


class OrderRefunded(PaymentsError):
    status, code, default_message = 409, "order_refunded", "The order's payment was refunded"


class PlanPriceMissing(PaymentsError):
    status, code, default_message = 409, "plan_price_missing", "The plan has no price for this period"


class SubscriptionNotResumable(PaymentsError):
    status, code = 409, "subscription_not_resumable"
    default_message = "Automatic renewal cannot be turned on for this subscription"


class ReceiptContactRequired(PaymentsError):
    status, code = 422, "receipt_contact_required"
    default_message = (
        "A receipt (54-FZ) must be sent: the token has no email or phone_number; send customer.email or "
        "customer.phone"
    )


class IdempotencyKeyReused(PaymentsError):
    status, code = 409, "idempotency_key_reused"
    default_message = "This Idempotency-Key was used with a different request"


class IdempotencyKeyInUse(PaymentsError):
    status, code = 409, "idempotency_key_in_use"
    default_message = "A request with this key is still being processed; retry"


class RefundExceedsPayment(PaymentsError):
    status, code, default_message = 409, "refund_exceeds_payment", "The refund exceeds what is left to refund"


class PaymentNotRefundable(PaymentsError):
    status, code, default_message = 409, "payment_not_refundable", "Only a paid payment can be refunded"


class ConcurrentUpdate(PaymentsError):
    status, code, default_message = 409, "concurrent_update", "The record changed meanwhile; retry"


class PaidOrderChanged(PaymentsError):
    """Same envelope as a lost race (409 ``concurrent_update``), but final: retrying cannot help."""

    status, code, default_message = 409, "concurrent_update", "A paid order's amount and owner cannot change"


class PayloadTooLarge(PaymentsError):
    status, code, default_message = 413, "payload_too_large", "The request body is too large"


class UnsupportedMediaType(PaymentsError):
    status, code, default_message = 415, "unsupported_media_type", "Send the body as application/json"


class ValidationFailed(PaymentsError):
    status, code, default_message = 422, "validation_error", "The request is invalid"


class AmountMismatch(PaymentsError):
    status, code = 422, "amount_mismatch"
    default_message = "The amount does not match the price"


class ProviderError(PaymentsError):
    """YooKassa answered and refused: the outcome is known and negative."""

    status, code, default_message = 502, "provider_error", "The payment provider refused the request"

    def __init__(
        self, message: str | None = None, *, http_status: int | None = None, provider_code: str | None = None
    ) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.provider_code = provider_code


class ProviderTimeout(PaymentsError):
    """YooKassa did not give a definite answer within our budget: the outcome is unknown."""

    status, code = 504, "provider_timeout"
    default_message = "The payment provider did not answer in time; retry to continue the same payment"


class ProviderNotFound(ProviderError):
    """YooKassa does not know the object (404 from the provider)."""

    default_message = "The payment provider does not know this object"


class TooManyPendingPayments(PaymentsError):
    status, code = 429, "too_many_pending_payments"
    default_message = "Too many payments are waiting to be paid; pay or abandon one first"


class StoreUnavailable(PaymentsError):
    """DynamoDB failed (throttled, unreachable): a retry may succeed."""

    status, code, default_message = 503, "service_unavailable", "Storage is temporarily unavailable"


class ReconcileFailed(PaymentsError):
    """Every check of a reconciler run failed: raised so that the schedule retries and the DLQ keeps it."""

    status, code, default_message = 503, "reconcile_failed", "Every reconciliation check failed"


class RenewalFailed(PaymentsError):
    """Every subscription a renewal run checked failed: raised so that the schedule retries."""

    status, code, default_message = 503, "renewal_failed", "Every renewal of the run failed"
