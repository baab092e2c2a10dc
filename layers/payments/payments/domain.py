"""The payment domain: entities, statuses and the forward-only state machine. Pure: no I/O."""

import calendar
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum

from payments.money import Kopecks


class PaymentType(StrEnum):
    ORDER = "order"
    SUBSCRIPTION = "subscription"


class SubscriptionType(StrEnum):
    MONTHLY = "monthly"
    YEARLY = "yearly"


class PaymentStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"  # orders
    SUCCESS = "success"  # subscriptions
    FAILED = "failed"
    CANCELED = "canceled"  # orders only
    REFUNDED = "refunded"


class ProviderStatus(StrEnum):
    """YooKassa's own payment statuses."""

    PENDING = "pending"
    WAITING_FOR_CAPTURE = "waiting_for_capture"
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"


class SubscriptionStatus(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    EXPIRED = "expired"
    CANCELED = "canceled"


FINAL_STATUSES = frozenset({PaymentStatus.FAILED, PaymentStatus.CANCELED, PaymentStatus.REFUNDED})
SETTLED_STATUSES = frozenset({PaymentStatus.PAID, PaymentStatus.SUCCESS, PaymentStatus.REFUNDED})

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


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated user: the JWT's ``sub`` and its scopes."""

    user_id: str
    scopes: frozenset[str] = frozenset()

    def has(self, scope: str) -> bool:
        return scope in self.scopes


@dataclass(frozen=True, slots=True)
class Payment:
    payment_id: str
    type: PaymentType
    user_id: str
    amount: Kopecks
    status: PaymentStatus
    created_at: datetime
    description: str
    order_id: str | None = None
    subscription_id: str | None = None
    plan_id: str | None = None
    subscription_type: SubscriptionType | None = None
    yookassa_id: str | None = None
    payment_url: str | None = None
    paid_at: datetime | None = None
    refunded_amount: Kopecks = 0
    cancellation_reason: str | None = None
    cancellation_party: str | None = None
    provider_checked_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = 0
    # Kopecks held by refund requests that YooKassa has not confirmed yet: never refund them twice.
    refund_reserved: Kopecks = 0

    @property
    def subject_id(self) -> str:
        """The order or subscription this payment is for."""
        subject = self.order_id if self.type is PaymentType.ORDER else self.subscription_id
        assert subject is not None
        return subject

    @property
    def refundable_amount(self) -> Kopecks:
        return self.amount - self.refunded_amount

    @property
    def refund_available(self) -> Kopecks:
        """What a new refund may still take: refunds in flight count as spent."""
        return max(self.amount - self.refunded_amount - self.refund_reserved, 0)

    def idempotence_key(self) -> str:
        """YooKassa's Idempotence-Key for creating this payment: every retry reaches one payment."""
        return f"create-{self.payment_id}"


@dataclass(frozen=True, slots=True)
class Order:
    order_id: str
    user_id: str
    amount: Kopecks
    description: str
    status: str = "new"  # the app's own vocabulary: new -> paid
    paid_payment_id: str | None = None
    active_payment_id: str | None = None
    paid_at: datetime | None = None
    version: int = 0


@dataclass(frozen=True, slots=True)
class Plan:
    plan_id: str
    name: str
    prices: dict[SubscriptionType, Kopecks] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Subscription:
    subscription_id: str
    user_id: str
    plan_id: str
    subscription_type: SubscriptionType
    status: SubscriptionStatus = SubscriptionStatus.PENDING
    start_date: datetime | None = None
    end_date: datetime | None = None
    active_payment_id: str | None = None
    last_payment_id: str | None = None
    version: int = 0


class RefundState(StrEnum):
    """Our refund request's life: reserved here, then YooKassa's pending / succeeded / canceled."""

    RESERVED = "reserved"  # the amount is held; YooKassa's answer is not known yet
    PENDING = "pending"  # YooKassa accepted it and will confirm with refund.succeeded
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"  # YooKassa refused or canceled it: the amount is free again
    # Nobody learnt YooKassa's answer within its 24 h idempotence window: we gave the hold back
    # (failureReason ``unknown_outcome_expired``); YooKassa's dashboard tells what really happened.
    FAILED = "failed"


OPEN_REFUND_STATES = frozenset({RefundState.RESERVED, RefundState.PENDING})


@dataclass(frozen=True, slots=True)
class RefundReservation:
    """One admin refund request: the amount it holds and, once known, YooKassa's refund id."""

    payment_id: str
    request_id: str
    amount: Kopecks
    request_hash: str
    state: RefundState
    created_at: datetime
    yookassa_refund_id: str | None = None
    failure_reason: str | None = None

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_REFUND_STATES

    def idempotence_key(self) -> str:
        """YooKassa's Idempotence-Key for this refund: every retry reaches the same refund."""
        return f"refund-{self.request_id}"


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
    if provider in (ProviderStatus.PENDING, ProviderStatus.WAITING_FOR_CAPTURE):
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


def refund_outcome(amount: Kopecks, refunded_before: Kopecks, refund: Kopecks) -> tuple[Kopecks, bool]:
    """The refunded total after one more refund, and whether the payment is then fully refunded."""
    if refund <= 0:
        raise ValueError("refund must be positive")
    total = refunded_before + refund
    if total > amount:
        raise ValueError("refunds exceed the payment amount")
    return total, total == amount


def add_months(moment: datetime, months: int) -> datetime:
    """Calendar months, clamping the day: Jan 31 + 1 month = Feb 28/29."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def extend_subscription(subscription: Subscription, now: datetime, payment_id: str) -> Subscription:
    """Activate, or extend by one period from max(now, current end)."""
    running = subscription.end_date is not None and subscription.end_date >= now
    period_start = subscription.end_date if running and subscription.end_date else now
    months = 1 if subscription.subscription_type is SubscriptionType.MONTHLY else 12
    return replace(
        subscription,
        status=SubscriptionStatus.ACTIVE,
        start_date=subscription.start_date if running and subscription.start_date else now,
        end_date=add_months(period_start, months),
        last_payment_id=payment_id,
        active_payment_id=None,
    )


def utc_now() -> datetime:
    return datetime.now(UTC)
