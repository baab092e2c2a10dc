"""Money as integer kopecks: parsing YooKassa's dot-decimal strings, formatting, commission."""

from __future__ import annotations

import re
from decimal import Decimal

__all__ = [
    "COMMISSION_PER_MILLE",
    "commission",
    "format_human",
    "format_kopecks",
    "parse_kopecks",
    "parse_quantity_milli",
]

COMMISSION_PER_MILLE = 35  # 3.5 %: 1.00 -> income 0.96, like YooKassa's test shop

_AMOUNT = re.compile(r"^(0|[1-9][0-9]{0,14})(?:\.([0-9]{1,2}))?$")
_QUANTITY = re.compile(r"^(0|[1-9][0-9]{0,9})(?:\.([0-9]{1,3}))?$")


def _as_text(value: object) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int | Decimal):  # JSON numbers are parsed as int / Decimal, never float
        return str(value)
    return None


def parse_kopecks(value: object) -> int | None:
    """``"1500.00"`` -> 150000; ``"1.5"`` -> 150; None when the text is not a dot-decimal with <= 2 places."""
    text = _as_text(value)
    if text is None:
        return None
    match = _AMOUNT.match(text)
    if not match:
        return None
    whole, frac = match.group(1), match.group(2) or ""
    return int(whole) * 100 + int(frac.ljust(2, "0") or "0")


def parse_quantity_milli(value: object) -> int | None:
    """Receipt item quantity (<= 3 decimals) in thousandths; None when malformed."""
    text = _as_text(value)
    if text is None:
        return None
    match = _QUANTITY.match(text)
    if not match:
        return None
    whole, frac = match.group(1), match.group(2) or ""
    return int(whole) * 1000 + int(frac.ljust(3, "0") or "0")


def format_kopecks(kopecks: int) -> str:
    """150000 -> ``"1500.00"``."""
    sign = "-" if kopecks < 0 else ""
    whole, frac = divmod(abs(kopecks), 100)
    return f"{sign}{whole}.{frac:02d}"


def format_human(kopecks: int) -> str:
    """150000 -> ``"1 500,00 ₽"`` (as the checkout page shows it)."""
    whole, frac = divmod(kopecks, 100)
    return f"{whole:,}".replace(",", " ") + f",{frac:02d} ₽"


def commission(kopecks: int) -> int:
    """YooKassa's fee on a captured amount, rounded half up to the kopeck."""
    return (kopecks * COMMISSION_PER_MILLE + 500) // 1000
