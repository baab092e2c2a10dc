"""The HTTP API's request and response models (camelCase on the wire, as the frontend expects)."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints

from payments.domain import Payment, PaymentStatus, PaymentType, SubscriptionType

SafeId = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$", strict=True)
]
Kopecks = Annotated[StrictInt, Field(gt=0, description="Integer kopecks (150000 = 1500.00 RUB)")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=128, strip_whitespace=True, strict=True)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CreateOrderPaymentRequest(_Request):
    orderId: SafeId
    amount: Kopecks


class CreateSubscriptionPaymentRequest(_Request):
    subscriptionId: SafeId
    subscriptionType: SubscriptionType
    planId: SafeId
    amount: Kopecks


class PutOrderRequest(_Request):
    userId: SafeId
    amount: Kopecks
    description: Text


class PlanPrices(_Request):
    monthly: Kopecks
    yearly: Kopecks


class PutPlanRequest(_Request):
    name: Text
    prices: PlanPrices


class RefundRequest(_Request):
    amount: Kopecks | None = Field(default=None, description="Kopecks to refund; omitted = all that is left")


# YooKassa's ids are 36-character UUID-shaped strings; anything outside this shape never reaches a URL.
YooKassaId = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$", strict=True)
]


class NotificationObject(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: YooKassaId


class YooKassaNotification(BaseModel):
    """A YooKassa notification as far as we read it: a hint of which object to re-fetch, nothing more.

    Everything else in the body (status, amount, metadata) is ignored on purpose: notifications are not
    signed, so only the object fetched from YooKassa with our credentials is acted on.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    type: Literal["notification"]
    event: Annotated[str, StringConstraints(min_length=1, max_length=64, strict=True)]
    object: NotificationObject


class WebhookAnswer(BaseModel):
    """What the webhook answers YooKassa (which ignores it); useful in logs and tests."""

    outcome: str


class PaymentCreated(BaseModel):
    paymentUrl: str
    paymentId: str
    status: Literal["pending"] = "pending"


class PaymentView(BaseModel):
    """What the status routes answer."""

    paymentId: str
    type: PaymentType
    status: PaymentStatus
    amount: int
    refundedAmount: int
    createdAt: datetime
    paidAt: datetime | None = None
    cancellationReason: str | None = None
    orderId: str | None = None
    subscriptionId: str | None = None
    planId: str | None = None
    subscriptionType: SubscriptionType | None = None
    paymentUrl: str | None = None

    @classmethod
    def of(cls, payment: Payment) -> "PaymentView":
        return cls(
            paymentId=payment.payment_id,
            type=payment.type,
            status=payment.status,
            amount=payment.amount,
            refundedAmount=payment.refunded_amount,
            createdAt=payment.created_at,
            paidAt=payment.paid_at,
            cancellationReason=payment.cancellation_reason,
            orderId=payment.order_id,
            subscriptionId=payment.subscription_id,
            planId=payment.plan_id,
            subscriptionType=payment.subscription_type,
            paymentUrl=payment.payment_url if payment.status is PaymentStatus.PENDING else None,
        )


class OrderView(BaseModel):
    orderId: str
    userId: str
    amount: int
    description: str
    status: str
    paidPaymentId: str | None = None


class PlanView(BaseModel):
    planId: str
    name: str
    prices: PlanPrices


class RefundAccepted(BaseModel):
    paymentId: str
    refundId: str
    amount: int
    status: str
    refundedAmount: int
    paymentStatus: PaymentStatus


class HealthView(BaseModel):
    status: Literal["ok", "degraded"]
    table: Literal["reachable", "unreachable"]
    yookassaCredentials: Literal["configured", "missing"]
    yookassaApiUrl: str


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[dict[str, object]] | None = None


class ErrorEnvelope(BaseModel):
    error: ErrorBody
