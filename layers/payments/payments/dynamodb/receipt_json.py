"""54-FZ receipts as stored: JSON strings (``receiptItems`` of an order, ``receipt`` of a payment), read
whole, written whole, never queried. Keys are the API's camelCase names, absent values left out, in a
fixed order, so the same receipt is always the same string (an update writes only what changed).
"""

import json
from typing import Any

from payments.domain.receipts import Contact, PaymentMode, Receipt, ReceiptLine


def _int(value: float | None) -> int | None:
    return None if value is None else int(value)


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _line_value(line: ReceiptLine) -> dict[str, Any]:
    return {
        "description": line.description,
        "quantity": line.quantity,
        "amount": line.amount,
        "vatCode": line.vat_code,
    }


def _line_of(value: dict[str, Any]) -> ReceiptLine:
    return ReceiptLine(
        str(value["description"]), int(value["quantity"]), int(value["amount"]), int(value["vatCode"])
    )


def receipt_lines_json(lines: tuple[ReceiptLine, ...]) -> str | None:
    """An order's receipt lines as stored (``receiptItems``); ``None`` (no attribute) when it has none."""
    return _json([_line_value(line) for line in lines]) if lines else None


def receipt_lines_of(stored: str | None) -> tuple[ReceiptLine, ...]:
    return tuple(_line_of(value) for value in json.loads(stored)) if stored else ()


def receipt_json(receipt: Receipt | None) -> str | None:
    """A payment's receipt as stored (``receipt``); ``None`` (no attribute) when it has none."""
    if receipt is None:
        return None
    customer = {"email": receipt.customer.email, "phone": receipt.customer.phone}
    value = {
        "customer": {key: contact for key, contact in customer.items() if contact is not None},
        "items": [_line_value(line) for line in receipt.lines],
        "paymentMode": str(receipt.payment_mode),
        "taxSystemCode": receipt.tax_system_code,
        "settledPrepayment": receipt.settled_prepayment,
    }
    return _json({key: item for key, item in value.items() if item is not None})


def receipt_of(stored: str | None) -> Receipt | None:
    if not stored:
        return None
    value = json.loads(stored)
    customer = value.get("customer", {})
    return Receipt(
        customer=Contact(email=customer.get("email"), phone=customer.get("phone")),
        lines=tuple(_line_of(line) for line in value.get("items", ())),
        payment_mode=PaymentMode(value["paymentMode"]),
        tax_system_code=_int(value.get("taxSystemCode")),
        settled_prepayment=_int(value.get("settledPrepayment")),
    )
