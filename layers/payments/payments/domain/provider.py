"""What YooKassa says: its payment and refund objects as facts the domain decides on. Pure.

``payments.yookassa`` reads them from YooKassa's JSON; nothing else of the wire format enters the domain.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from payments.money import Kopecks

# YooKassa keeps an Idempotence-Key for 24 hours: after that, re-sending a create under the same key
# would make a new payment or refund instead of answering with the old one. We stop an hour short.
PROVIDER_IDEMPOTENCE_WINDOW = timedelta(hours=23)


class ProviderStatus(StrEnum):
    """YooKassa's payment statuses."""

    PENDING = "pending"
    WAITING_FOR_CAPTURE = "waiting_for_capture"
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"

    @property
    def is_final(self) -> bool:
        return self in (ProviderStatus.SUCCEEDED, ProviderStatus.CANCELED)


class ProviderRefundStatus(StrEnum):
    """YooKassa's refund statuses."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"

    @property
    def is_final(self) -> bool:
        return self is not ProviderRefundStatus.PENDING


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
    receipt_registration: str | None = None  # pending -> succeeded | canceled, with 54-FZ receipts
    captured_at: datetime | None = None  # when the money was taken: a paid period starts then
    payment_method: "ProviderMethod | None" = None  # the card paid with (``saved``: may be charged again)


@dataclass(frozen=True, slots=True)
class ProviderMethod:
    id: str
    saved: bool
    card_last4: str | None = None
    card_type: str | None = None


# YooKassa's cancellation reason when the customer withdrew a saved method's permission: never retry.
PERMISSION_REVOKED = "permission_revoked"


@dataclass(frozen=True, slots=True)
class ProviderRefund:
    id: str
    payment_id: str  # YooKassa's id of the refunded payment
    status: ProviderRefundStatus
    amount: Kopecks
    currency: str
    # What we sent when creating it (refundRequestId, paymentId): finds our request without its id.
    metadata: dict[str, str] = field(default_factory=dict)
    receipt_registration: str | None = None
