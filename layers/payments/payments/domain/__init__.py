"""The payment domain: entities, the forward-only state machine, and every state change as a pure
function (``settle``, ``close_payment``, ``reserve_refund``...). No I/O, no clock: ``now`` is an argument.

``model`` holds the entities and ``Changes`` (what one decision writes); ``provider`` what YooKassa says;
``state_machine`` what its statuses mean for ours; ``payments``, ``refunds`` and ``subscriptions`` the
decisions. The store writes what they return and decides nothing.
"""

from datetime import UTC, datetime

from payments.domain.model import (
    IDEMPOTENCY_IN_PROGRESS,
    MERCHANT,
    OPEN_REFUND_STATES,
    AppliedRefund,
    AuditEntry,
    Caller,
    Changes,
    Entity,
    IdempotencyRecord,
    Order,
    OrderStatus,
    Payment,
    PaymentStatus,
    PaymentType,
    Plan,
    RefundRequest,
    RefundState,
    SavedMethod,
    ScheduledChange,
    Subscription,
    SubscriptionStatus,
    SubscriptionType,
    Update,
)
from payments.domain.provider import (
    PERMISSION_REVOKED,
    PROVIDER_IDEMPOTENCE_WINDOW,
    ProviderMethod,
    ProviderPayment,
    ProviderRefund,
    ProviderRefundStatus,
    ProviderStatus,
)
from payments.domain.state_machine import (
    REFUNDABLE_STATUSES,
    SETTLED_STATUSES,
    Action,
    Decision,
    cancel_status,
    decide_transition,
    success_status,
)


def utc_now() -> datetime:
    """The one clock of the layer: services read it once per request and pass ``now`` down."""
    return datetime.now(UTC)


__all__ = [
    "IDEMPOTENCY_IN_PROGRESS",
    "MERCHANT",
    "OPEN_REFUND_STATES",
    "PERMISSION_REVOKED",
    "PROVIDER_IDEMPOTENCE_WINDOW",
    "REFUNDABLE_STATUSES",
    "SETTLED_STATUSES",
    "Action",
    "AppliedRefund",
    "AuditEntry",
    "Caller",
    "Changes",
    "Decision",
    "Entity",
    "IdempotencyRecord",
    "Order",
    "OrderStatus",
    "Payment",
    "PaymentStatus",
    "PaymentType",
    "Plan",
    "ProviderMethod",
    "ProviderPayment",
    "ProviderRefund",
    "ProviderRefundStatus",
    "ProviderStatus",
    "RefundRequest",
    "RefundState",
    "SavedMethod",
    "ScheduledChange",
    "Subscription",
    "SubscriptionStatus",
    "SubscriptionType",
    "Update",
    "cancel_status",
    "decide_transition",
    "success_status",
    "utc_now",
]
