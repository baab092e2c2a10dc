"""54-FZ receipts as pure values and integer arithmetic: what a payment, a refund and a settlement
register, and that their lines add up to the kopeck.

A line's ``amount`` is the price of ONE unit (YooKassa's rule); ``quantity`` is a whole number here, so
a line's total is ``quantity * amount`` exactly. Orders are paid before the cleaning is done: their
payment receipt is a prepayment (``full_prepayment``) and the settlement receipt, once the order is
completed, turns it into a sale (``full_payment`` with a ``prepayment`` settlement). A subscription
period is paid when it is bought (``full_payment``).
"""

import re
from dataclasses import dataclass, replace
from enum import StrEnum

from payments.errors import ValidationFailed
from payments.money import Kopecks

DESCRIPTION_LIMIT = 128  # a receipt line's description (tag 1030)
VAT_CODES = range(1, 13)  # 1 = без НДС ... 11 = 22 %, 12 = 22/122 (in force since 2026-01-01)
TAX_SYSTEM_CODES = range(1, 7)
NO_VAT = 1


class PaymentMode(StrEnum):
    FULL_PREPAYMENT = "full_prepayment"  # paid before the service is rendered (orders)
    FULL_PAYMENT = "full_payment"  # paid as the service is rendered (subscription periods, settlements)


class ReceiptType(StrEnum):
    PAYMENT = "payment"
    REFUND = "refund"


@dataclass(frozen=True, slots=True)
class Contact:
    """Where the receipt is sent: an email or a phone (E.164 digits, e.g. ``79001234567``)."""

    email: str | None = None
    phone: str | None = None

    def __bool__(self) -> bool:
        return bool(self.email or self.phone)


def receipt_contact(given: Contact | None, email: str | None, phone: str | None) -> Contact:
    """The contact a create sends the receipt to: what the request gave, else the token's claims."""
    if given:
        return given
    return Contact(email=email, phone=phone)


@dataclass(frozen=True, slots=True)
class ReceiptLine:
    description: str
    quantity: int
    amount: Kopecks  # per unit
    vat_code: int

    @property
    def total(self) -> Kopecks:
        return self.quantity * self.amount


@dataclass(frozen=True, slots=True)
class Receipt:
    """One receipt: its lines, where it goes, how it is paid. ``settled_prepayment``: the amount of an
    earlier prepayment this (settlement) receipt counts as paid."""

    customer: Contact
    lines: tuple[ReceiptLine, ...]
    payment_mode: PaymentMode
    tax_system_code: int | None = None
    settled_prepayment: Kopecks | None = None

    @property
    def total(self) -> Kopecks:
        return sum(line.total for line in self.lines)


EMAIL_LIMIT = 254


def is_email(value: str) -> bool:
    """An address a receipt can go to: one ``@``, a dot in the domain, no spaces, at most 254 characters."""
    return len(value) <= EMAIL_LIMIT and re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value) is not None


def normalize_phone(raw: str) -> str | None:
    """The digits YooKassa wants: ``+7 (900) 123-45-67`` -> ``79001234567``; a Russian ``8 900 ...``
    becomes ``7 900 ...``. ``None`` for what is no phone number (E.164: at most 15 digits)."""
    if not re.fullmatch(r"\+?[\d\s()\-.]+", raw.strip()):
        return None
    digits = re.sub(r"\D", "", raw)
    if len(digits) == 11 and digits.startswith("8") and not raw.strip().startswith("+"):
        digits = "7" + digits[1:]
    return digits if 11 <= len(digits) <= 15 else None


def line(description: str, quantity: int, amount: Kopecks, vat_code: int) -> ReceiptLine:
    """A line within YooKassa's limits (description trimmed to 128 characters)."""
    return ReceiptLine(description.strip()[:DESCRIPTION_LIMIT], quantity, amount, vat_code)


def check_lines(lines: tuple[ReceiptLine, ...], amount: Kopecks) -> None:
    """Lines must add up to the amount exactly, each with a whole quantity of at least one, a positive
    unit price and a known VAT code: otherwise 422, before anything is stored or sent."""
    problems = [problem for index, entry in enumerate(lines) for problem in _line_problems(index, entry)]
    total = sum(entry.total for entry in lines)
    if not problems and total != amount:
        problems.append({"field": "receiptItems", "problem": f"lines add up to {total} kopecks, not {amount}"})
    if problems:
        raise ValidationFailed(details=problems)


def _line_problems(index: int, entry: ReceiptLine) -> list[dict[str, object]]:
    field = f"receiptItems.{index}"
    problems: list[dict[str, object]] = []
    if entry.quantity < 1:
        problems.append({"field": f"{field}.quantity", "problem": "must be a whole number of at least 1"})
    if entry.amount < 1:
        problems.append({"field": f"{field}.amount", "problem": "must be at least 1 kopeck per unit"})
    if entry.vat_code not in VAT_CODES:
        problems.append({"field": f"{field}.vatCode", "problem": "must be 1-12"})
    if not entry.description:
        problems.append({"field": f"{field}.description", "problem": "must not be empty"})
    return problems


def order_receipt(
    description: str,
    amount: Kopecks,
    lines: tuple[ReceiptLine, ...],
    vat_code: int,
    customer: Contact,
    tax_system_code: int | None,
) -> Receipt:
    """The prepayment receipt of an order: its lines, or one line (its description, 1, its amount)."""
    items = lines or (line(description, 1, amount, vat_code),)
    receipt = Receipt(customer, items, PaymentMode.FULL_PREPAYMENT, tax_system_code)
    _must_add_up(receipt, amount)
    return receipt


def subscription_receipt(
    plan_name: str,
    months: int,
    amount: Kopecks,
    vat_code: int,
    customer: Contact,
    tax_system_code: int | None,
) -> Receipt:
    """A subscription period, paid as it is bought: «Подписка «Базовый», 1 месяц»."""
    period = "1 месяц" if months == 1 else "1 год" if months == 12 else f"{months} мес."
    item = line(f"Подписка «{plan_name}», {period}", 1, amount, vat_code)
    return Receipt(customer, (item,), PaymentMode.FULL_PAYMENT, tax_system_code)


def refund_receipt(paid: Receipt, refund: Kopecks) -> Receipt:
    """The receipt of a refund of ``refund`` kopecks of a payment whose receipt was ``paid``: each line
    gives back its share of the refund (proportional, rounded down), and the few kopecks rounding left
    over go to the last lines that still have room (never more back than a line cost), so the lines add
    up to the refund exactly. Each refund line is one unit of its share."""
    if not 0 < refund <= paid.total:
        raise ValueError(f"a refund of {refund} kopecks of a {paid.total}-kopeck receipt")
    totals = [entry.total for entry in paid.lines]
    shares = [total * refund // paid.total for total in totals]
    for index in reversed(range(len(shares))):  # fewer kopecks left than lines: one pass suffices
        extra = min(refund - sum(shares), totals[index] - shares[index])
        shares[index] += extra
    items = tuple(
        replace(entry, quantity=1, amount=share)
        for entry, share in zip(paid.lines, shares, strict=True)
        if share
    )
    receipt = replace(paid, lines=items)
    _must_add_up(receipt, refund)
    return receipt


def settlement_receipt(prepaid: Receipt, left: Kopecks) -> Receipt:
    """Once the order is completed: a sale of what is ``left`` of the prepayment (the prepaid total less
    what was refunded before), counted as paid. All of it: the same lines; less (a partial refund came
    first): each line its share of what is left, as a refund receipt shares out what goes back, so the
    receipts of a payment never settle more than the customer paid."""
    lines = prepaid if left == prepaid.total else refund_receipt(prepaid, left)
    return replace(lines, payment_mode=PaymentMode.FULL_PAYMENT, settled_prepayment=left)


def _must_add_up(receipt: Receipt, amount: Kopecks) -> None:
    if receipt.total != amount:
        raise ValueError(f"receipt lines add up to {receipt.total} kopecks, not {amount}")
