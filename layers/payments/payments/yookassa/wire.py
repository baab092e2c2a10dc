"""YooKassa's JSON, both ways, as pure functions: domain values -> request bodies, answers -> facts.

Kept apart from the transport (``client``) so that what we send is decided in one place and can be
read (and tested) without a network: a create's body must be the same on every retry under its
Idempotence-Key, so it is derived from our record only. Nothing here does I/O.
"""

from datetime import UTC, datetime
from typing import Any

from payments.domain import (
    Payment,
    ProviderMethod,
    ProviderPayment,
    ProviderRefund,
    ProviderRefundStatus,
    ProviderStatus,
    RefundRequest,
)
from payments.domain.payments import provider_metadata
from payments.domain.receipts import Receipt, refund_receipt
from payments.errors import ProviderError
from payments.money import CURRENCY, Kopecks, amount_to_kopecks, kopecks_to_amount

JsonObject = dict[str, Any]


def payment_body(payment: Payment, return_url: str) -> JsonObject:
    """``POST /payments``: a payment of our record (two-stage when its ``capture`` is off), redirecting
    the customer to ``return_url``. The metadata names our ids, so a fetched payment proves whose it is."""
    body: JsonObject = {"amount": _amount(payment.amount), "capture": payment.capture}
    if payment.payment_method_id is None:
        body["confirmation"] = {"type": "redirect", "return_url": return_url}
    body["description"] = payment.description
    body["metadata"] = provider_metadata(payment)
    if payment.payment_method_id is not None:  # a renewal: the saved card, no customer to confirm
        body["payment_method_id"] = payment.payment_method_id
    if payment.save_method:
        body["save_payment_method"] = True
    if payment.receipt is not None:
        body["receipt"] = receipt_body(payment.receipt)
    return body


def capture_body(payment: Payment) -> JsonObject:
    """``POST /payments/{id}/capture``: all of it (partial captures are not ours to make)."""
    return {"amount": _amount(payment.amount)}


def refund_body(payment: Payment, request: RefundRequest) -> JsonObject:
    """``POST /refunds``: ``request``'s amount of ``payment`` (YooKassa's id of it)."""
    body: JsonObject = {
        "payment_id": payment.yookassa_id,
        "amount": _amount(request.amount),
        # Echoed on every read of the refund: refund.succeeded finds this request even if this answer is lost.
        "metadata": {"refundRequestId": request.request_id, "paymentId": payment.payment_id},
    }
    if payment.receipt is not None:  # the refund receipt: the payment's lines, their share of this refund
        body["receipt"] = receipt_body(refund_receipt(payment.receipt, request.amount))
    return body


def settlement_body(payment: Payment, receipt: Receipt) -> JsonObject:
    """``POST /receipts``: the settlement receipt of a prepaid payment, sent to the customer."""
    assert receipt.settled_prepayment is not None
    return {
        **receipt_body(receipt),
        "type": "payment",
        "payment_id": payment.yookassa_id,
        "send": True,
        "settlements": [{"type": "prepayment", "amount": _amount(receipt.settled_prepayment)}],
    }


def receipt_body(receipt: Receipt) -> JsonObject:
    """A 54-FZ receipt in YooKassa's shape: unit prices, whole quantities, every line's VAT code."""
    customer = {
        key: value
        for key, value in (("email", receipt.customer.email), ("phone", receipt.customer.phone))
        if value
    }
    body: JsonObject = {
        "customer": customer,
        "items": [
            {
                "description": line.description,
                "quantity": f"{line.quantity}.00",
                "amount": _amount(line.amount),
                "vat_code": line.vat_code,
                "payment_mode": str(receipt.payment_mode),
                "payment_subject": "service",
                "measure": "piece",
            }
            for line in receipt.lines
        ],
    }
    if receipt.tax_system_code is not None:
        body["tax_system_code"] = receipt.tax_system_code
    return body


def _method(body: object) -> ProviderMethod | None:
    """The method paid with, only as far as renewals need it: its id, whether it is saved, the card."""
    if not isinstance(body, dict) or not isinstance(body.get("id"), str):
        return None
    card = body.get("card")
    if not isinstance(card, dict):
        card = {}
    return ProviderMethod(
        id=body["id"],
        saved=body.get("saved") is True,
        card_last4=_text(card.get("last4")),
        card_type=_text(card.get("card_type")),
    )


def read_payment(body: JsonObject) -> ProviderPayment:
    """A YooKassa payment object; ``ProviderError`` when it lacks what we act on."""
    try:
        amount = body["amount"]
        details = body.get("cancellation_details") or {}
        return ProviderPayment(
            id=str(body["id"]),
            status=ProviderStatus(body["status"]),
            amount=amount_to_kopecks(amount["value"]),
            currency=str(amount["currency"]),
            paid=body.get("paid") is True,
            metadata=_metadata(body),
            confirmation_url=(body.get("confirmation") or {}).get("confirmation_url"),
            cancellation_reason=details.get("reason"),
            cancellation_party=details.get("party"),
            refunded_amount=amount_to_kopecks((body.get("refunded_amount") or {}).get("value", "0")),
            account_id=(body.get("recipient") or {}).get("account_id"),
            receipt_registration=_text(body.get("receipt_registration")),
            captured_at=_moment(body.get("captured_at")),
            payment_method=_method(body.get("payment_method")),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ProviderError("YooKassa returned a payment we cannot read") from exc


def read_refund(body: JsonObject) -> ProviderRefund:
    """A YooKassa refund object; ``ProviderError`` when it lacks what we act on (an unknown status too)."""
    try:
        return ProviderRefund(
            id=str(body["id"]),
            payment_id=str(body["payment_id"]),
            status=ProviderRefundStatus(body["status"]),
            amount=amount_to_kopecks(body["amount"]["value"]),
            currency=str(body["amount"]["currency"]),
            metadata=_metadata(body),
            receipt_registration=_text(body.get("receipt_registration")),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ProviderError("YooKassa returned a refund we cannot read") from exc


def read_receipt_id(body: JsonObject) -> str:
    try:
        return str(body["id"])
    except (KeyError, TypeError) as exc:
        raise ProviderError("YooKassa returned a receipt we cannot read") from exc


def read_fiscalization(body: JsonObject) -> bool:
    """``GET /me``: whether the shop sends 54-FZ receipts (then every payment must carry one)."""
    fiscalization = body.get("fiscalization")
    if isinstance(fiscalization, dict):
        return fiscalization.get("enabled") is True
    return body.get("fiscalization_enabled") is True


def _amount(kopecks: Kopecks) -> dict[str, str]:
    return {"value": kopecks_to_amount(kopecks), "currency": CURRENCY}


def _moment(value: object) -> datetime | None:
    """YooKassa's ISO 8601 UTC time (``2018-07-18T10:51:18.139Z``); ``None`` when absent."""
    if not isinstance(value, str):
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _metadata(body: JsonObject) -> dict[str, str]:
    return {str(key): str(value) for key, value in (body.get("metadata") or {}).items()}
