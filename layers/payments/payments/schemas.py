"""The HTTP API's request and response models: snake_case in Python, camelCase on the wire.

The frontend's contract (openapi.json) is camelCase; Python reads better in snake_case. Every model
gets its wire names from ``to_camel`` aliases: requests accept the camelCase keys only (a snake_case key
is an unknown field, refused by ``extra="forbid"``), so Python builds one as the wire sends it
(``CreateOrderPaymentRequest(orderId=..., amount=...)``) and reads it by field name (``request.order_id``).
Views are built by field name or from a domain object's attributes (``PaymentView.of``) and always
serialize by alias. The JSON schema's titles come from the wire names, as they always did (openapi.json).
"""

from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StringConstraints
from pydantic.alias_generators import to_camel

from payments.domain import (
    Order,
    OrderStatus,
    Payment,
    PaymentStatus,
    PaymentType,
    Plan,
    Subscription,
    SubscriptionStatus,
    SubscriptionType,
)
from payments.domain.receipts import Contact
from payments.fields import (
    EmailAddress,
    Kopecks,
    Phone,
    SafeId,
    Text,
    UserId,
    VatCode,
    YooKassaId,
)


class _Request(BaseModel):
    """A request body: camelCase keys only, nothing unknown. (A model's own docstring is its schema's
    description in openapi.json; this one is not inherited.)"""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=False,
        serialize_by_alias=True,
    )


class _View(BaseModel):
    """An answer: built by field name or from a domain object's attributes, dumped in camelCase."""

    model_config = ConfigDict(
        frozen=True,
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=True,
        serialize_by_alias=True,
        from_attributes=True,
    )


class CustomerContact(_Request):
    """Where the 54-FZ receipt goes (with receipts on), when the token carries no email or phone_number.
    The phone is kept as the digits YooKassa wants (``+7 (900) 123-45-67`` -> ``79001234567``)."""

    email: EmailAddress | None = None
    phone: Phone | None = None

    def contact(self) -> Contact:
        return Contact(email=self.email, phone=self.phone)


class CreateOrderPaymentRequest(_Request):
    order_id: SafeId
    amount: Kopecks
    customer: CustomerContact | None = None


class CreateSubscriptionPaymentRequest(_Request):
    subscription_id: SafeId
    subscription_type: SubscriptionType
    plan_id: SafeId
    amount: Kopecks
    customer: CustomerContact | None = None
    # Renew automatically: YooKassa saves the card, and each next period is charged to it.
    auto_renew: StrictBool = False


# Чеки от ЮKassa take at most 80 lines and quantities up to 99999.999 (ours are whole).
MAX_RECEIPT_ITEMS = 80
MAX_RECEIPT_QUANTITY = 99_999


class ReceiptItem(_Request):
    """One line of an order's 54-FZ receipt: ``quantity`` units at ``amount`` kopecks each. Without
    ``vatCode`` the line gets the order's ``vatCode``, else the service's DEFAULT_VAT_CODE, when the order
    is put (the answer shows the code each line got)."""

    description: Text
    quantity: Annotated[StrictInt, Field(ge=1, le=MAX_RECEIPT_QUANTITY, description="Whole units")]
    amount: Annotated[Kopecks, Field(description="Integer kopecks per unit (150000 = 1500.00 RUB)")]
    vat_code: VatCode | None = None


class PutOrderRequest(_Request):
    """An order's owner and price, and what its 54-FZ receipt says: ``vatCode`` (omitted: the service's
    DEFAULT_VAT_CODE) and ``receiptItems``, whose quantity x amount must add up to ``amount`` exactly
    (omitted or empty: one line, the description, 1 x the amount). A PUT replaces all of them."""

    user_id: UserId
    amount: Kopecks
    description: Text
    vat_code: VatCode | None = None
    receipt_items: Annotated[list[ReceiptItem], Field(max_length=MAX_RECEIPT_ITEMS)] | None = None


class PlanPrices(_Request):
    monthly: Kopecks
    yearly: Kopecks


class PutPlanRequest(_Request):
    """A plan's name and prices, and the 54-FZ ``vatCode`` of its periods (omitted: DEFAULT_VAT_CODE)."""

    name: Text
    prices: PlanPrices
    vat_code: VatCode | None = None


class RefundRequest(_Request):
    amount: Kopecks | None = Field(default=None, description="Kopecks to refund; omitted = all that is left")


class NotificationObject(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: YooKassaId


class YooKassaNotification(BaseModel):
    """A YooKassa notification as far as we read it: a hint of which object to re-fetch, nothing more.

    Everything else in the body (status, amount, metadata) is ignored on purpose: notifications are not
    signed, so only the object fetched from YooKassa with our credentials is acted on.
    """

    # YooKassa's own names, snake_case already: no aliases. (The docstring is the schema's description.)

    model_config = ConfigDict(extra="ignore", frozen=True)

    type: Literal["notification"]
    event: Annotated[str, StringConstraints(min_length=1, max_length=64, strict=True)]
    object: NotificationObject


class WebhookAnswer(BaseModel):
    """What the webhook answers YooKassa (which ignores it); useful in logs and tests."""

    outcome: str


class PaymentCreated(_View):
    payment_url: str
    payment_id: str
    status: Literal["pending"] = "pending"


class PaymentView(_View):
    """What the status routes answer."""

    # A payment's own attributes, read by name (``of``); the checkout URL only while it can be paid.

    payment_id: str
    type: PaymentType
    status: PaymentStatus
    amount: int
    refunded_amount: int
    created_at: datetime
    paid_at: datetime | None = None
    cancellation_reason: str | None = None
    order_id: str | None = None
    subscription_id: str | None = None
    plan_id: str | None = None
    subscription_type: SubscriptionType | None = None
    payment_url: str | None = None

    @classmethod
    def of(cls, payment: Payment) -> Self:
        view = cls.model_validate(payment, from_attributes=True)
        if payment.status is PaymentStatus.PENDING:
            return view
        return view.model_copy(update={"payment_url": None})  # nothing to pay any more


class ReceiptItemView(_View):
    description: str
    quantity: int
    amount: int  # kopecks per unit
    vat_code: int


class OrderView(_View):
    """An order as stored: its price, its receipt lines (only when it has them) and where it stands
    (``new`` -> ``paid`` -> ``completed``, with its settlement receipt once one was registered)."""

    order_id: str
    user_id: str
    amount: int
    description: str
    status: OrderStatus
    paid_payment_id: str | None = None
    vat_code: int | None = None
    receipt_items: list[ReceiptItemView] | None = None
    completed_at: datetime | None = None
    settlement_receipt_id: str | None = None

    @classmethod
    def of(cls, order: Order) -> Self:
        return cls(
            order_id=order.order_id,
            user_id=order.user_id,
            amount=order.amount,
            description=order.description,
            status=order.status,
            paid_payment_id=order.paid_payment_id,
            vat_code=order.vat_code,
            receipt_items=[ReceiptItemView.model_validate(line) for line in order.receipt_lines] or None,
            completed_at=order.completed_at,
            settlement_receipt_id=order.settlement_receipt_id,
        )


class PlanView(_View):
    plan_id: str
    name: str
    prices: PlanPrices
    vat_code: int | None = None

    @classmethod
    def of(cls, plan: Plan) -> Self:
        # ``prices`` is keyed by SubscriptionType, whose values are PlanPrices' wire names.
        return cls.model_validate(plan, from_attributes=True)


class RefundAccepted(_View):
    payment_id: str
    refund_id: str
    amount: int
    status: str
    refunded_amount: int
    payment_status: PaymentStatus


class CardView(_View):
    card_last4: str | None = None
    card_type: str | None = None


class ScheduledChangeView(_View):
    plan_id: str
    subscription_type: SubscriptionType
    starts_at: datetime = Field(serialization_alias="from", validation_alias="from")


class SubscriptionView(_View):
    """A subscription as its owner sees it: ``pending`` (never paid) -> ``active`` -> ``past_due`` (a
    renewal was declined, retries pending) -> ``expired`` | ``canceled``; the saved card, when the next
    charge is due, and a plan change scheduled for the end of the paid time."""

    subscription_id: str
    plan_id: str
    subscription_type: SubscriptionType
    status: SubscriptionStatus
    start_date: datetime | None = None
    end_date: datetime | None = None
    auto_renew: bool
    payment_method: CardView | None = None
    next_charge_at: datetime | None = None
    scheduled_change: ScheduledChangeView | None = None
    last_payment_id: str | None = None

    @classmethod
    def of(cls, subscription: Subscription, next_charge_at: datetime | None) -> Self:
        method = subscription.payment_method
        change = subscription.scheduled_change
        return cls(
            subscription_id=subscription.subscription_id,
            plan_id=subscription.plan_id,
            subscription_type=subscription.subscription_type,
            status=subscription.status,
            start_date=subscription.start_date,
            end_date=subscription.end_date,
            auto_renew=subscription.auto_renew,
            payment_method=CardView(card_last4=method.card_last4, card_type=method.card_type)
            if method
            else None,
            next_charge_at=next_charge_at,
            scheduled_change=ScheduledChangeView(
                plan_id=change.plan_id, subscription_type=change.subscription_type, starts_at=change.starts_at
            )
            if change
            else None,
            last_payment_id=subscription.last_payment_id,
        )


class SubscriptionList(_View):
    subscriptions: list[SubscriptionView]


class HealthView(_View):
    """``degraded`` (503) when the table is unreachable, the credentials are missing, or the shop sends
    54-FZ receipts (``shopFiscalization: on``: YooKassa then refuses payments without one) while the
    service's RECEIPTS is off. ``shopFiscalization`` is the shop's ``GET /v3/me``, asked at most every
    5 minutes; ``unknown`` when YooKassa could not be asked."""

    status: Literal["ok", "degraded"]
    table: Literal["reachable", "unreachable"]
    yookassa_credentials: Literal["configured", "missing"]
    yookassa_api_url: str
    receipts: Literal["on", "off"]
    shop_fiscalization: Literal["on", "off", "unknown"]


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[dict[str, object]] | None = None


class ErrorEnvelope(BaseModel):
    error: ErrorBody
