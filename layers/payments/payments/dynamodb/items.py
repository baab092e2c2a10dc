"""The table's item kinds as PynamoDB models: attribute names and types, nothing else.

The models only (de)serialize items: every call goes through ``table.Table`` with the table's name,
so ``Meta.table_name`` below is never used to reach DynamoDB and one process may use several tables
(the contract tests do). Keys and kinds: README "Data"; key builders: ``keys``.
"""

from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.models import Model

from payments.dynamodb.keys import META


class Item(Model):
    """What every item has: the key, its kind, and the table's TTL attribute."""

    class Meta:
        table_name = "payments"  # unused: table.Table names the table of every call

    pk = UnicodeAttribute(hash_key=True, attr_name="PK")
    sk = UnicodeAttribute(range_key=True, attr_name="SK", default=META)
    kind = UnicodeAttribute(attr_name="kind")
    expires_at = NumberAttribute(null=True, attr_name="expiresAt")  # epoch seconds; DynamoDB's TTL


class PaymentItem(Item):
    payment_type = UnicodeAttribute(attr_name="type")
    user_id = UnicodeAttribute(attr_name="userId")
    amount = NumberAttribute(attr_name="amount")
    status = UnicodeAttribute(attr_name="status")
    description = UnicodeAttribute(attr_name="description")
    created_at = UTCDateTimeAttribute(attr_name="createdAt")
    updated_at = UTCDateTimeAttribute(null=True, attr_name="updatedAt")
    order_id = UnicodeAttribute(null=True, attr_name="orderId")
    subscription_id = UnicodeAttribute(null=True, attr_name="subscriptionId")
    plan_id = UnicodeAttribute(null=True, attr_name="planId")
    subscription_type = UnicodeAttribute(null=True, attr_name="subscriptionType")
    yookassa_id = UnicodeAttribute(null=True, attr_name="yookassaId")
    payment_url = UnicodeAttribute(null=True, attr_name="paymentUrl")
    paid_at = UTCDateTimeAttribute(null=True, attr_name="paidAt")
    refunded_amount = NumberAttribute(default=0, attr_name="refundedAmount")
    refund_reserved = NumberAttribute(default=0, attr_name="refundReserved")
    cancellation_reason = UnicodeAttribute(null=True, attr_name="cancellationReason")
    cancellation_party = UnicodeAttribute(null=True, attr_name="cancellationParty")
    provider_checked_at = UTCDateTimeAttribute(null=True, attr_name="providerCheckedAt")
    version = NumberAttribute(default=0, attr_name="version")
    capture = BooleanAttribute(null=True, attr_name="capture")  # absent: captured at once (true)
    period = NumberAttribute(null=True, attr_name="period")  # the subscription period it pays
    # The 54-FZ receipt sent with it (JSON: customer, items, paymentMode, ...; mapping.receipt_json) and
    # YooKassa's registration of it (pending -> succeeded | canceled); absent without receipts.
    receipt = UnicodeAttribute(null=True, attr_name="receipt")
    receipt_registration = UnicodeAttribute(null=True, attr_name="receiptRegistration")
    delivered = BooleanAttribute(null=True, attr_name="delivered")  # once paid: did it buy its subject
    save_method = BooleanAttribute(null=True, attr_name="saveMethod")  # true: asked YooKassa to save the card
    # A renewal: the saved method charged, which try of its period, and whether it was the last.
    payment_method_id = UnicodeAttribute(null=True, attr_name="paymentMethodId")
    renewal_attempt = NumberAttribute(null=True, attr_name="renewalAttempt")
    final_attempt = BooleanAttribute(null=True, attr_name="finalAttempt")
    # PendingIndex and UserPendingIndex, sparse: only while the payment is pending (shard
    # ``PENDING#<n>``; the user, for the per-user limit of payable payments).
    pending_shard = UnicodeAttribute(null=True, attr_name="pendingShard")
    pending_since = UnicodeAttribute(null=True, attr_name="pendingSince")
    pending_user = UnicodeAttribute(null=True, attr_name="pendingUser")


class YooKassaLookupItem(Item):
    """``YOOKASSA#<yookassa id>``: makes a YooKassa payment id unique and finds its payment."""

    payment_id = UnicodeAttribute(attr_name="paymentId")


class OrderItem(Item):
    user_id = UnicodeAttribute(attr_name="userId")
    amount = NumberAttribute(attr_name="amount")
    description = UnicodeAttribute(attr_name="description")
    status = UnicodeAttribute(default="new", attr_name="status")
    paid_payment_id = UnicodeAttribute(null=True, attr_name="paidPaymentId")
    active_payment_id = UnicodeAttribute(null=True, attr_name="activePaymentId")
    paid_at = UTCDateTimeAttribute(null=True, attr_name="paidAt")
    version = NumberAttribute(default=0, attr_name="version")
    vat_code = NumberAttribute(null=True, attr_name="vatCode")  # absent: the service's DEFAULT_VAT_CODE
    # The receipt lines (JSON list: description, quantity, amount per unit, vatCode); absent: one line.
    receipt_items = UnicodeAttribute(null=True, attr_name="receiptItems")
    completed_at = UTCDateTimeAttribute(null=True, attr_name="completedAt")
    settlement_receipt_id = UnicodeAttribute(null=True, attr_name="settlementReceiptId")
    last_payment_id = UnicodeAttribute(null=True, attr_name="lastPaymentId")


class PlanItem(Item):
    name = UnicodeAttribute(attr_name="name")
    prices = MapAttribute[str, Any](attr_name="prices")  # subscription type -> kopecks
    vat_code = NumberAttribute(null=True, attr_name="vatCode")  # absent: the service's DEFAULT_VAT_CODE


class SubscriptionItem(Item):
    user_id = UnicodeAttribute(attr_name="userId")
    plan_id = UnicodeAttribute(attr_name="planId")
    subscription_type = UnicodeAttribute(attr_name="type")
    status = UnicodeAttribute(attr_name="status")
    start_date = UTCDateTimeAttribute(null=True, attr_name="startDate")
    end_date = UTCDateTimeAttribute(null=True, attr_name="endDate")
    active_payment_id = UnicodeAttribute(null=True, attr_name="activePaymentId")
    last_payment_id = UnicodeAttribute(null=True, attr_name="lastPaymentId")
    version = NumberAttribute(default=0, attr_name="version")
    periods_paid = NumberAttribute(null=True, attr_name="periodsPaid")  # absent: none counted yet
    # A plan or type paid while a period ran, and when it starts (all three, or none).
    scheduled_plan_id = UnicodeAttribute(null=True, attr_name="scheduledPlanId")
    scheduled_type = UnicodeAttribute(null=True, attr_name="scheduledType")
    scheduled_from = UTCDateTimeAttribute(null=True, attr_name="scheduledFrom")
    auto_renew = BooleanAttribute(null=True, attr_name="autoRenew")  # absent: off
    # The card renewals charge (YooKassa's saved method), while one is saved.
    payment_method_id = UnicodeAttribute(null=True, attr_name="paymentMethodId")
    card_last4 = UnicodeAttribute(null=True, attr_name="cardLast4")
    card_type = UnicodeAttribute(null=True, attr_name="cardType")
    canceled_at = UTCDateTimeAttribute(null=True, attr_name="canceledAt")  # the customer turned renewal off
    renewal_failures = NumberAttribute(null=True, attr_name="renewalFailures")
    first_failure_at = UTCDateTimeAttribute(null=True, attr_name="firstFailureAt")
    # UserSubscriptionIndex: the owner's subscriptions (``GET /subscriptions``).
    subscription_user = UnicodeAttribute(null=True, attr_name="subscriptionUser")
    # PendingIndex, sparse: while active or past due (shard ``RENEW#<n>``, by the end of the paid time),
    # where the renewal function finds what to charge or end.
    pending_shard = UnicodeAttribute(null=True, attr_name="pendingShard")
    pending_since = UnicodeAttribute(null=True, attr_name="pendingSince")


class AppliedRefundItem(Item):
    """``PAYMENT#<id>`` / ``REFUND#<yookassa refund id>``: applied refunds, one item each."""

    amount = NumberAttribute(attr_name="amount")
    created_at = UTCDateTimeAttribute(attr_name="createdAt")


class RefundRequestItem(Item):
    """``PAYMENT#<id>`` / ``REFUNDREQ#<request id>``: one refund request and the amount it holds."""

    amount = NumberAttribute(attr_name="amount")
    request_hash = UnicodeAttribute(attr_name="requestHash")
    state = UnicodeAttribute(attr_name="state")
    yookassa_refund_id = UnicodeAttribute(null=True, attr_name="yookassaRefundId")
    failure_reason = UnicodeAttribute(null=True, attr_name="failureReason")
    created_at = UTCDateTimeAttribute(attr_name="createdAt")
    updated_at = UTCDateTimeAttribute(null=True, attr_name="updatedAt")
    # PendingIndex, sparse: only while the request holds money (shard ``REFUND#<n>``).
    pending_shard = UnicodeAttribute(null=True, attr_name="pendingShard")
    pending_since = UnicodeAttribute(null=True, attr_name="pendingSince")


class IdempotencyItem(Item):
    request_hash = UnicodeAttribute(attr_name="requestHash")
    status_code = NumberAttribute(attr_name="statusCode")  # 0 while the claiming request is running
    body = UnicodeAttribute(null=True, attr_name="body")  # the response, once there is one


class AuditItem(Item):
    """One accepted webhook notification (no card data), kept until ``expiresAt``."""

    event = UnicodeAttribute(attr_name="event")
    object_id = UnicodeAttribute(attr_name="objectId")
    fetched_status = UnicodeAttribute(null=True, attr_name="fetchedStatus")
    outcome = UnicodeAttribute(attr_name="outcome")
    source_ip = UnicodeAttribute(attr_name="sourceIp")
    payment_id = UnicodeAttribute(null=True, attr_name="paymentId")
    received_at = UTCDateTimeAttribute(attr_name="receivedAt")
