"""54-FZ receipts as YooKassa checks them: the ``receipt`` of a payment, a partial capture or a refund,
and the body of ``POST /v3/receipts``.

Sums are exact integer arithmetic: a line costs its quantity in thousandths times its unit price in
kopecks (so in thousandths of a kopeck), never a float, and the lines must add up to the amount exactly.
Only what YooKassa documents is checked; optional fields it knows and the sandbox does not emulate
(``supplier``, ``mark_code_info``, ``internet``, ...) are accepted and not shown.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from .errors import ApiError, invalid_request
from .money import format_kopecks, parse_kopecks, parse_quantity_milli
from .validation import CURRENCIES, parse_amount

__all__ = [
    "ILLEGAL_RECEIPT",
    "ITEMS_MAX",
    "MEASURES",
    "PAYMENT_MODES",
    "PAYMENT_SUBJECTS",
    "QUANTITY_MAX_MILLI",
    "RECEIPT_TYPES",
    "SETTLEMENT_TYPES",
    "format_milli_kopecks",
    "items_total_milli",
    "parse_receipt",
    "parse_receipt_request",
]

ILLEGAL_RECEIPT = "Receipt is missing or illegal"
ITEMS_MAX = 80  # Чеки от ЮKassa (third-party registers take 100)
ITEM_DESCRIPTION_MAX = 128  # tag 1030
QUANTITY_MAX_MILLI = 99_999_999  # 99999.999, at most 3 decimals (tag 1023)
VAT_CODES = range(1, 13)  # 1 = без НДС ... 11 = 22 %, 12 = 22/122 (since 2026-01-01)
TAX_SYSTEM_CODES = range(1, 7)
EMAIL_MAX = 254
FULL_NAME_MAX = 256
RECEIPT_TYPES = ("payment", "refund")
PAYMENT_MODES = frozenset(
    {
        "full_prepayment",
        "partial_prepayment",
        "advance",
        "full_payment",
        "partial_payment",
        "credit",
        "credit_payment",
    }
)
PAYMENT_SUBJECTS = frozenset(
    {
        # the official SDK's PaymentSubject
        "commodity",
        "excise",
        "job",
        "service",
        "gambling_bet",
        "gambling_prize",
        "lottery",
        "lottery_prize",
        "intellectual_activity",
        "payment",
        "agent_commission",
        "composite",
        "another",
        # added by FFD 1.2 (YooKassa's 54-FZ parameter values)
        "property_right",
        "non_operating_gain",
        "insurance_premium",
        "sales_tax",
        "resort_fee",
        "marked",
        "non_marked",
        "marked_excise",
        "non_marked_excise",
        "fine",
        "tax",
        "lien",
        "cost",
        "casino",
        "agent_withdrawals",
        "pension_insurance_without_payouts",
        "pension_insurance_with_payouts",
        "health_insurance_without_payouts",
        "health_insurance_with_payouts",
        "health_insurance",
    }
)
MEASURES = frozenset(
    {
        "piece",
        "gram",
        "kilogram",
        "ton",
        "centimeter",
        "decimeter",
        "meter",
        "square_centimeter",
        "square_decimeter",
        "square_meter",
        "milliliter",
        "liter",
        "cubic_meter",
        "kilowatt_hour",
        "gigacalorie",
        "day",
        "hour",
        "minute",
        "second",
        "kilobyte",
        "megabyte",
        "gigabyte",
        "terabyte",
        "another",
    }
)
SETTLEMENT_TYPES = frozenset({"cashless", "prepayment", "postpayment", "consideration"})

_PHONE = re.compile(r"^\+?[0-9]{11,15}$")  # ITU-T E.164: digits only (a leading + is tolerated)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_INN = re.compile(r"^(?:[0-9]{10}|[0-9]{12})$")

Record = dict[str, Any]


def _show(value: Any) -> str:
    """A rejected value as JSON, cut short: error texts never echo a long body."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 40 else text[:37] + "..."


def format_milli_kopecks(value: int) -> str:
    """A sum in thousandths of a kopeck as rubles: 150000000 -> ``1500.00``, 149999850 -> ``1499.99850``."""
    kopecks, milli = divmod(value, 1000)
    return format_kopecks(kopecks) if milli == 0 else f"{format_kopecks(kopecks)}{milli:03d}"


def items_total_milli(items: list[Record]) -> int:
    """Σ quantity × unit price of parsed items, in thousandths of a kopeck (exact)."""
    return sum(item["_quantity_milli"] * item["_price"] for item in items)


class _Fields:
    """Parameter names and error texts for one receipt: ``receipt.items.vat_code`` when the receipt is a
    field of a payment, capture or refund; ``items.vat_code`` when it is the body of ``POST /v3/receipts``."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def name(self, field: str) -> str:
        return f"{self.prefix}{field}"

    def missing_receipt(self, field: str) -> ApiError:
        """What YooKassa says when a receipt (or its contact, or its items) is not there at all."""
        if self.prefix:
            return invalid_request(ILLEGAL_RECEIPT, "receipt")
        return invalid_request(f"Parameter {field} is missing", field)

    def missing(self, field: str, number: int) -> ApiError:
        name = self.name(field)
        return invalid_request(f"Parameter {name} is missing in item {number}", name)

    def invalid(self, field: str, value: Any, rule: str, number: int | None = None) -> ApiError:
        name = self.name(field)
        where = f" in item {number}" if number is not None else ""
        return invalid_request(
            f"Invalid value of the {name} parameter{where}: {_show(value)}. "
            f"Send the value in accordance with the documentation: {rule}",
            name,
        )


def _int_code(value: Any) -> int | None:
    """``vat_code`` / ``tax_system_code``: an integer or a string of digits."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 3:
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def _customer(receipt: dict[str, Any], fields: _Fields) -> Record:
    customer = receipt.get("customer")
    if customer is None:
        customer = {}
    if not isinstance(customer, dict):
        raise fields.invalid("customer", customer, "an object with email or phone")
    out: Record = {}
    for key in ("full_name", "inn"):
        value = customer.get(key)
        if value in (None, ""):
            continue
        if key == "full_name" and (not isinstance(value, str) or len(value) > FULL_NAME_MAX):
            raise fields.invalid("customer.full_name", value, f"a string of at most {FULL_NAME_MAX} characters")
        if key == "inn" and (not isinstance(value, str) or not _INN.match(value)):
            raise fields.invalid("customer.inn", value, "10 or 12 digits")
        out[key] = value
    for key, rule in (
        ("email", "an email address, e.g. user@example.com"),
        ("phone", "ITU-T E.164 digits (11 to 15), e.g. 79000000000"),
    ):
        # ``receipt.email`` / ``receipt.phone``: the API's older spelling, still accepted
        field, value = (f"customer.{key}", customer.get(key))
        if value in (None, "") and receipt.get(key) not in (None, ""):
            field, value = key, receipt.get(key)
        if value in (None, ""):
            continue
        pattern = _EMAIL if key == "email" else _PHONE
        if not isinstance(value, str) or len(value) > EMAIL_MAX or not pattern.match(value):
            raise fields.invalid(field, value, rule)
        out[key] = value
    if "email" not in out and "phone" not in out:
        raise fields.missing_receipt("customer")  # nowhere to send the receipt
    return out


def _item(item: Any, number: int, fields: _Fields) -> Record:
    if not isinstance(item, dict):
        raise fields.invalid("items", item, "an array of objects", number)
    for field in (
        "description",
        "quantity",
        "amount",
        "vat_code",
        "payment_mode",
        "payment_subject",
        "measure",
    ):
        if item.get(field) is None:
            raise fields.missing(f"items.{field}", number)

    description = item["description"]
    if not isinstance(description, str) or not description.strip() or len(description) > ITEM_DESCRIPTION_MAX:
        raise fields.invalid(
            "items.description", description, f"1 to {ITEM_DESCRIPTION_MAX} characters", number
        )

    raw_quantity = item["quantity"]
    quantity = parse_quantity_milli(raw_quantity)
    if quantity is None or not 0 < quantity <= QUANTITY_MAX_MILLI:
        raise fields.invalid(
            "items.quantity",
            raw_quantity,
            "a number greater than 0 with at most 3 decimals, at most 99999.999, e.g. 1.000",
            number,
        )

    amount = item["amount"]
    if not isinstance(amount, dict):
        raise fields.invalid("items.amount", amount, "an object with value and currency", number)
    price = parse_kopecks(amount.get("value"))
    if price is None or price <= 0:
        raise fields.invalid(
            "items.amount.value",
            amount.get("value"),
            "the price of one unit, greater than 0, with at most 2 decimals, e.g. 100.00",
            number,
        )
    if amount.get("currency") not in CURRENCIES:
        raise fields.invalid("items.amount.currency", amount.get("currency"), "RUB", number)

    vat_code = _int_code(item["vat_code"])
    if vat_code is None or vat_code not in VAT_CODES:
        raise fields.invalid("items.vat_code", item["vat_code"], "an integer from 1 to 12", number)

    for field, allowed in (
        ("payment_mode", PAYMENT_MODES),
        ("payment_subject", PAYMENT_SUBJECTS),
        ("measure", MEASURES),
    ):
        if item[field] not in allowed:
            raise fields.invalid(f"items.{field}", item[field], f"one of {', '.join(sorted(allowed))}", number)

    if isinstance(raw_quantity, Decimal):  # a fractional JSON number: shown as its exact decimal text
        raw_quantity = str(raw_quantity)
    return {
        "description": description,
        "quantity": raw_quantity,
        "amount": {"value": format_kopecks(price), "currency": "RUB"},
        "vat_code": vat_code,
        "payment_mode": item["payment_mode"],
        "payment_subject": item["payment_subject"],
        "measure": item["measure"],
        "_quantity_milli": quantity,
        "_price": price,
    }


def _receipt(receipt: dict[str, Any], total_kopecks: int, target: str, fields: _Fields) -> Record:
    """Contact, items, codes, then the sum: Σ quantity × amount must be ``total_kopecks`` exactly."""
    customer = _customer(receipt, fields)
    items = receipt.get("items")
    if items is None or items == []:
        raise fields.missing_receipt("items")
    if not isinstance(items, list):
        raise fields.invalid("items", items, f"an array of 1 to {ITEMS_MAX} items")
    if len(items) > ITEMS_MAX:
        raise invalid_request(
            f"Too many items in the receipt: {len(items)}. Max. number of items is {ITEMS_MAX}",
            fields.name("items"),
        )
    parsed = [_item(item, number, fields) for number, item in enumerate(items, 1)]
    out: Record = {"customer": customer, "items": parsed}
    if receipt.get("tax_system_code") is not None:
        code = _int_code(receipt["tax_system_code"])
        if code is None or code not in TAX_SYSTEM_CODES:
            raise fields.invalid("tax_system_code", receipt["tax_system_code"], "an integer from 1 to 6")
        out["tax_system_code"] = code
    total = items_total_milli(parsed)
    if total != total_kopecks * 1000:
        raise invalid_request(
            f"The sum of the receipt items is not equal to the {target}: "
            f"Σ quantity × amount = {format_milli_kopecks(total)} RUB, "
            f"the {target} is {format_kopecks(total_kopecks)} RUB",
            fields.name("items"),
        )
    return out


def parse_receipt(receipt: Any, total_kopecks: int, target: str = "payment amount") -> Record:
    """The ``receipt`` field of a payment, capture or refund of ``total_kopecks``: a 400 when missing or
    illegal, else ``{customer, items, tax_system_code?}`` (items keep ``_quantity_milli`` and ``_price``)."""
    fields = _Fields("receipt.")
    if not isinstance(receipt, dict):
        raise fields.missing_receipt("receipt")
    return _receipt(receipt, total_kopecks, target, fields)


def parse_receipt_request(body: Any) -> Record:
    """The body of ``POST /v3/receipts``: ``type``, ``send: true``, ``settlements``, and a receipt whose
    items add up to the settlements. Whether ``payment_id`` / ``refund_id`` exist is the engine's call."""
    if not isinstance(body, dict):
        raise invalid_request("Request body must be a JSON object")
    fields = _Fields("")
    kind = body.get("type")
    if kind is None:
        raise invalid_request("Parameter type is missing", "type")
    if kind not in RECEIPT_TYPES:
        raise fields.invalid("type", kind, "payment or refund")
    send = body.get("send")
    if send is None:
        raise invalid_request("Parameter send is missing", "send")
    if send is not True:
        raise fields.invalid("send", send, "true (the receipt is registered as soon as it is created)")
    out: Record = {"type": kind, "send": True}
    for name in ("payment_id", "refund_id"):
        value = body.get(name)
        if value is None:
            continue
        if not isinstance(value, str) or not value:
            raise fields.invalid(name, value, "an id YooKassa returned")
        out[name] = value
    if kind == "payment" and "payment_id" not in out:
        raise invalid_request("Parameter payment_id is missing", "payment_id")
    if kind == "refund" and "refund_id" not in out and "payment_id" not in out:
        raise invalid_request("Parameter refund_id is missing", "refund_id")
    settlements = body.get("settlements")
    if settlements is None or settlements == []:
        raise invalid_request("Parameter settlements is missing", "settlements")
    if not isinstance(settlements, list):
        raise fields.invalid("settlements", settlements, "an array of {type, amount}")
    parsed: list[Record] = []
    settled = 0
    for number, settlement in enumerate(settlements, 1):
        if not isinstance(settlement, dict):
            raise fields.invalid("settlements", settlement, "an array of {type, amount}", number)
        if settlement.get("type") not in SETTLEMENT_TYPES:
            raise fields.invalid(
                "settlements.type", settlement.get("type"), f"one of {', '.join(sorted(SETTLEMENT_TYPES))}"
            )
        kopecks = parse_amount(settlement.get("amount"), "settlements.amount")
        settled += kopecks
        parsed.append(
            {"type": settlement["type"], "amount": {"value": format_kopecks(kopecks), "currency": "RUB"}}
        )
    out.update(_receipt(body, settled, "settlements total", fields))
    out["settlements"] = parsed
    return out
