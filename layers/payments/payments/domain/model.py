"""The entities and their vocabularies. Pure: no I/O, no clock.

Every entity is a frozen value. A state change is a new value made by a function of ``domain`` (never by
the store): it carries ``version + 1``, and the store writes it only where the stored item still has the
version it was decided from (``Update.before``).
"""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from payments.domain.receipts import Receipt, ReceiptLine
from payments.money import Kopecks

# The party YooKassa names when the shop itself canceled a payment; we use it for our own closes too.
MERCHANT = "merchant"


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


class OrderStatus(StrEnum):
    """The app's own order vocabulary."""

    NEW = "new"
    PAID = "paid"
    COMPLETED = "completed"  # the cleaning was done: the prepayment became a sale (settlement receipt)
    REFUNDED = "refunded"  # its payment was refunded in full: not payable again until an admin PUT


class SubscriptionStatus(StrEnum):
    """``pending`` (never paid) -> ``active`` -> ``past_due`` (a renewal was declined, retries pending)
    -> ``expired`` (lapsed) | ``canceled`` (the customer turned renewal off and the paid time ended)."""

    PENDING = "pending"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    EXPIRED = "expired"
    CANCELED = "canceled"

    @property
    def is_final(self) -> bool:
        return self in (SubscriptionStatus.EXPIRED, SubscriptionStatus.CANCELED)


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
class Caller:
    """The authenticated user: the JWT's ``sub`` and its scopes."""

    user_id: str
    scopes: frozenset[str] = frozenset()
    email: str | None = None  # the token's standard claims, where a receipt may be sent
    phone: str | None = None  # E.164 digits (``phone_number``, normalised)

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
    # False: a two-stage payment (YooKassa's ``capture: false``): the money is only held until we
    # capture it (still deliverable) or cancel it (not). Fixed at creation, so every retry sends the same.
    capture: bool = True
    # A subscription payment pays this period of its subscription (1 = the first); None for orders and
    # for payments started before periods were counted (those pay whatever period comes next).
    period: int | None = None
    receipt: Receipt | None = None  # the 54-FZ receipt sent with it (refund receipts are made from it)
    receipt_registration: str | None = None  # YooKassa's: pending -> succeeded | canceled
    # Once paid: whether the money bought its subject (False: it was refunded as undeliverable). None on
    # payments settled before this was recorded: those delivered, as every payment then did.
    delivered: bool | None = None
    # Subscriptions: ask YooKassa to save the card once paid (the customer chose automatic renewal).
    save_method: bool = False
    # A renewal: charged to this saved method, without the customer; ``renewal_attempt`` counts the tries
    # of one period (1 = the first), ``final_attempt``: no retry follows if this one is declined.
    payment_method_id: str | None = None
    renewal_attempt: int | None = None
    final_attempt: bool = False

    @property
    def subject_id(self) -> str:
        """The order or subscription this payment is for."""
        subject = self.order_id if self.type is PaymentType.ORDER else self.subscription_id
        assert subject is not None
        return subject

    @property
    def refund_available(self) -> Kopecks:
        """What a new refund may still take: refunds in flight count as spent."""
        return max(self.amount - self.refunded_amount - self.refund_reserved, 0)

    def idempotence_key(self) -> str:
        """YooKassa's Idempotence-Key for creating this payment: every retry reaches one payment.

        Derived from the payment's id only (never its version or any other field that changes), so a
        create re-sent after any update of our record reaches the same YooKassa payment.
        """
        return f"create-{self.payment_id}"

    def capture_key(self) -> str:
        """Idempotence-Key for capturing this two-stage payment: one capture, however often asked."""
        return f"capture-{self.payment_id}"

    def cancel_key(self) -> str:
        """Idempotence-Key for canceling this two-stage payment (releasing the held money)."""
        return f"cancel-{self.payment_id}"


@dataclass(frozen=True, slots=True)
class Order:
    order_id: str
    user_id: str
    amount: Kopecks
    description: str
    status: OrderStatus = OrderStatus.NEW
    paid_payment_id: str | None = None
    active_payment_id: str | None = None
    paid_at: datetime | None = None
    version: int = 0
    vat_code: int | None = None  # None: the service's DEFAULT_VAT_CODE
    receipt_lines: tuple[ReceiptLine, ...] = ()  # () = one line: the description, 1, the amount
    completed_at: datetime | None = None
    settlement_receipt_id: str | None = None  # YooKassa's settlement receipt, once registered
    last_payment_id: str | None = None  # the latest payment started for it, whatever became of it


@dataclass(frozen=True, slots=True)
class Plan:
    plan_id: str
    name: str
    prices: dict[SubscriptionType, Kopecks] = field(default_factory=dict)
    vat_code: int | None = None  # None: the service's DEFAULT_VAT_CODE


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
    periods_paid: int = 0  # how many periods payments have paid: a payment pays period periods_paid + 1
    # Another plan or period type paid while a period runs never replaces it: it starts when the paid
    # time it follows ends (never underpriced).
    scheduled_change: "ScheduledChange | None" = None
    # Automatic renewal: on while a saved method may be charged for the next period.
    auto_renew: bool = False
    payment_method: "SavedMethod | None" = None
    # When the customer turned renewal off (the paid time is kept; then the subscription is canceled).
    canceled_at: datetime | None = None
    # Declined renewals of the period due, and when the first was declined (retries count from it).
    renewal_failures: int = 0
    first_failure_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SavedMethod:
    """A card YooKassa saved for renewals: its id (what a renewal charges) and what the customer sees."""

    method_id: str
    card_last4: str | None = None
    card_type: str | None = None


@dataclass(frozen=True, slots=True)
class ScheduledChange:
    plan_id: str
    subscription_type: SubscriptionType
    starts_at: datetime


@dataclass(frozen=True, slots=True)
class RefundRequest:
    """One refund we asked YooKassa for: the amount it holds on the payment until YooKassa answers.

    It has no version: its ``state`` only moves forward, so the store writes a new state where the
    stored one is still ``Update.before.state``.
    """

    payment_id: str
    request_id: str
    amount: Kopecks
    request_hash: str
    state: RefundState
    created_at: datetime
    updated_at: datetime | None = None
    yookassa_refund_id: str | None = None
    failure_reason: str | None = None

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_REFUND_STATES

    def idempotence_key(self) -> str:
        """YooKassa's Idempotence-Key for this refund: every retry reaches the same refund."""
        return f"refund-{self.request_id}"


@dataclass(frozen=True, slots=True)
class AppliedRefund:
    """One succeeded YooKassa refund, recorded once on its payment: its id can never count twice."""

    payment_id: str
    refund_id: str
    amount: Kopecks
    created_at: datetime


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    """A client's ``Idempotency-Key``: claimed by a running request (``status_code`` 0), then its answer."""

    request_hash: str
    status_code: int
    body: str
    expires_at: datetime

    @property
    def in_progress(self) -> bool:
        return self.status_code == IDEMPOTENCY_IN_PROGRESS


IDEMPOTENCY_IN_PROGRESS = 0  # the status code of a key claimed by a request that has not answered yet


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One accepted webhook notification (ids and statuses, never card data)."""

    event: str
    object_id: str
    fetched_status: str | None
    outcome: str
    source_ip: str
    payment_id: str | None
    received_at: datetime
    expires_at: datetime


# ---------------------------------------------------------------- what the store writes
Entity = Payment | Order | Subscription | RefundRequest | AppliedRefund


@dataclass(frozen=True, slots=True)
class Update[E: (Payment, Order, Subscription, RefundRequest)]:
    """``after`` replaces ``before``: written only where the stored item is still ``before``'s version
    (its state, for a refund request)."""

    before: E
    after: E


@dataclass(frozen=True, slots=True)
class Changes:
    """What one decision writes, all or nothing: new items (which must not exist yet) and updates; and
    ``noted``, audit entries that go with it in the same write (a notification's record, so that it
    costs no request of its own). Only ``created`` and ``updated`` make a decision change something."""

    created: tuple[Entity, ...] = ()
    updated: tuple[Update[Payment] | Update[Order] | Update[Subscription] | Update[RefundRequest], ...] = ()
    noted: tuple[AuditEntry, ...] = ()

    def __add__(self, other: "Changes") -> "Changes":
        return Changes(self.created + other.created, self.updated + other.updated, self.noted + other.noted)

    def __bool__(self) -> bool:
        return bool(self.created or self.updated)
