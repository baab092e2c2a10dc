"""Money is integer kopecks; YooKassa amounts are dot-decimal strings. No float anywhere."""

import re

Kopecks = int
CURRENCY = "RUB"  # the only currency we take

_AMOUNT_RE = re.compile(r"^(0|[1-9][0-9]*)(?:\.([0-9]{1,2}))?$")


def kopecks_to_amount(kopecks: Kopecks) -> str:
    """Render kopecks as YooKassa's amount string: ``150000 -> "1500.00"``."""
    if isinstance(kopecks, bool) or not isinstance(kopecks, int):
        raise TypeError("kopecks must be an int")
    if kopecks < 0:
        raise ValueError("amount must not be negative")
    rubles, rest = divmod(kopecks, 100)
    return f"{rubles}.{rest:02d}"


def amount_to_kopecks(value: str) -> Kopecks:
    """Parse YooKassa's amount string exactly: ``"1500.00" -> 150000``, ``"1.5" -> 150``."""
    if not isinstance(value, str):
        raise TypeError("amount must be a string")
    match = _AMOUNT_RE.fullmatch(value)
    if match is None:
        raise ValueError(f"not a money amount: {value!r}")
    rubles, fraction = match.group(1), match.group(2) or ""
    return int(rubles) * 100 + int(fraction.ljust(2, "0"))
