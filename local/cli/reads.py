"""Read-only table queries that no service needs, for ``payments show`` and ``payments list``.

They read through the layer's own adapter (``DynamoStore.table``, the item models and their mapping to
domain objects), so an item reads here exactly as the services read it. Nothing here writes.

``payments_scan`` is the one exception to "always a key or an index": listing payments by user, order or
a status other than pending has no index (the service never needs one), so it is a filtered ``Scan`` of
the whole table: cheap on the local stack, a full read of the table on a deployed one (``--scan``).
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from payments.domain import AppliedRefund, AuditEntry, Payment, RefundRequest
from payments.dynamodb import DynamoStore, keys
from payments.dynamodb.audit import entry_of
from payments.dynamodb.items import AppliedRefundItem, AuditItem, PaymentItem, RefundRequestItem
from payments.dynamodb.mapping import applied_refund_of, payment_of, refund_request_of
from payments.dynamodb.table import USER_PENDING_INDEX

AUDIT_PREFIX = "AUDIT#"


def refund_requests(store: DynamoStore, payment_id: str) -> list[RefundRequest]:
    """The payment's refund requests (its own partition, ``REFUNDREQ#``), oldest first."""
    items = store.table.query(
        RefundRequestItem,
        keys.payment_key(payment_id),
        RefundRequestItem.sk.startswith(keys.REFUND_REQUEST),
    )
    return sorted((refund_request_of(item) for item in items), key=lambda request: request.created_at)


def applied_refunds(store: DynamoStore, payment_id: str) -> list[AppliedRefund]:
    """The YooKassa refunds recorded on the payment (``REFUND#<refund id>``), oldest first."""
    items = store.table.query(
        AppliedRefundItem,
        keys.payment_key(payment_id),
        AppliedRefundItem.sk.startswith(keys.APPLIED_REFUND),
    )
    return sorted((applied_refund_of(item) for item in items), key=lambda refund: refund.created_at)


def audit_trail(store: DynamoStore, object_id: str) -> list[AuditEntry]:
    """One YooKassa object's webhook audit entries (``WEBHOOK#<objectId>``), oldest first."""
    items = store.table.query(AuditItem, keys.webhook_key(object_id), AuditItem.sk.startswith(AUDIT_PREFIX))
    return [entry_of(item) for item in items]


def find_payment(store: DynamoStore, payment_or_yookassa_id: str) -> Payment | None:
    """Ours by our id, else by YooKassa's (its lookup item)."""
    return store.get_payment(payment_or_yookassa_id) or store.find_payment_by_yookassa_id(
        payment_or_yookassa_id
    )


def pending_of_user(store: DynamoStore, user_id: str) -> Iterator[Payment]:
    """A user's pending payments: the sparse, keys-only ``UserPendingIndex``, then each payment."""
    for item in store.table.query(PaymentItem, user_id, index=USER_PENDING_INDEX):
        payment = store.get_payment(item.pk.removeprefix("PAYMENT#"))
        if payment is not None:
            yield payment


@dataclass(frozen=True)
class ScanFilter:
    status: str | None = None
    user_id: str | None = None
    order_id: str | None = None
    created_before: datetime | None = None


@dataclass
class ScanStats:
    pages: int = 0
    scanned: int = 0  # items read (what a Scan is billed for)


def payments_scan(
    store: DynamoStore, region: str | None, where: ScanFilter, stats: ScanStats | None = None
) -> Iterator[Payment]:
    """Every payment matching ``where``: a filtered ``Scan`` of the table (no index answers it)."""
    import boto3

    client: Any = boto3.session.Session(region_name=region).client("dynamodb")
    names, values, conditions = {"#kind": "kind"}, {":payment": {"S": "payment"}}, ["#kind = :payment"]
    for attribute, value in (("status", where.status), ("userId", where.user_id), ("orderId", where.order_id)):
        if value is not None:
            names[f"#{attribute}"] = attribute
            values[f":{attribute}"] = {"S": value}
            conditions.append(f"#{attribute} = :{attribute}")
    if where.created_before is not None:
        names["#createdAt"] = "createdAt"
        values[":createdBefore"] = {"S": PaymentItem.created_at.serialize(where.created_before)}
        conditions.append("#createdAt < :createdBefore")
    request: dict[str, Any] = {
        "TableName": store.table.name,
        "FilterExpression": " AND ".join(conditions),
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }
    stats = stats if stats is not None else ScanStats()
    while True:
        page = client.scan(**request)
        stats.pages += 1
        stats.scanned += int(page.get("ScannedCount", 0))
        for raw in page.get("Items", []):
            yield payment_of(PaymentItem.from_raw_data(raw))
        if not page.get("LastEvaluatedKey"):
            return
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
