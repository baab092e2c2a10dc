"""The payment's forward-only state machine: what YooKassa's status means for ours. Pure."""

from dataclasses import dataclass
from enum import StrEnum

from payments.domain.model import PaymentStatus, PaymentType
from payments.domain.provider import ProviderStatus

SETTLED_STATUSES = frozenset({PaymentStatus.PAID, PaymentStatus.SUCCESS, PaymentStatus.REFUNDED})
REFUNDABLE_STATUSES = frozenset({PaymentStatus.PAID, PaymentStatus.SUCCESS})

# An order payment that YooKassa cancels for one of these reasons was not a failure of the card:
# the customer walked away or the shop canceled. Every other reason (declines, 3-D Secure, fraud...)
# is a failed payment. Subscriptions know no such distinction: every cancel is `failed`.
NOT_A_FAILURE_REASONS = frozenset(
    {"expired_on_confirmation", "expired_on_capture", "canceled_by_merchant", "deal_expired"}
)


def success_status(payment_type: PaymentType) -> PaymentStatus:
    return PaymentStatus.PAID if payment_type is PaymentType.ORDER else PaymentStatus.SUCCESS


def cancel_status(payment_type: PaymentType, reason: str | None) -> PaymentStatus:
    if payment_type is PaymentType.ORDER and reason in NOT_A_FAILURE_REASONS:
        return PaymentStatus.CANCELED
    return PaymentStatus.FAILED


class Action(StrEnum):
    APPLY = "apply"  # move the payment forward
    NOOP = "noop"  # nothing to do: duplicate, or a status we do not act on
    CONFLICT = "conflict"  # the provider contradicts a final state of ours: log, count, alarm


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    status: PaymentStatus | None = None
    why: str = ""


def decide_transition(
    payment_type: PaymentType, current: PaymentStatus, provider: ProviderStatus, reason: str | None = None
) -> Decision:
    """What the provider's status means for our payment. Forward only; never backwards."""
    if not provider.is_final:
        # capture: true is always sent, so waiting_for_capture is only a passing state for us.
        return Decision(Action.NOOP, why=f"provider is {provider}")
    if provider is ProviderStatus.SUCCEEDED:
        if current is PaymentStatus.PENDING:
            return Decision(Action.APPLY, success_status(payment_type), "succeeded")
        if current in SETTLED_STATUSES:
            return Decision(Action.NOOP, why="already settled")
        return Decision(Action.CONFLICT, why=f"provider succeeded but payment is {current}")
    # canceled
    if current is PaymentStatus.PENDING:
        return Decision(Action.APPLY, cancel_status(payment_type, reason), reason or "canceled")
    if current in (PaymentStatus.FAILED, PaymentStatus.CANCELED):
        return Decision(Action.NOOP, why="already canceled")
    return Decision(Action.CONFLICT, why=f"provider canceled but payment is {current}")
