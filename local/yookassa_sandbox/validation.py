"""Request validation with YooKassa's limits and error texts (as its API reference documents them)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from .clock import parse_iso_ms
from .errors import invalid_request
from .money import format_kopecks, parse_kopecks

__all__ = [
    "BANK_CARD_MAX",
    "BANK_CARD_MIN",
    "ListQuery",
    "decode_cursor",
    "encode_cursor",
    "parse_amount",
    "parse_description",
    "parse_list_query",
    "parse_metadata",
]

BANK_CARD_MIN = 100  # 1.00 RUB
BANK_CARD_MAX = 35_000_000  # 350 000.00 RUB
DESCRIPTION_MAX = 128
REFUND_DESCRIPTION_MAX = 250
METADATA_MAX_KEYS = 16
METADATA_KEY_MAX = 32
METADATA_VALUE_MAX = 512
CURRENCIES = frozenset({"RUB"})


def parse_amount(amount: Any, parameter: str = "amount") -> int:
    """``{"value": "1500.00", "currency": "RUB"}`` -> kopecks, or a 400 naming the bad field."""
    if amount is None:
        raise invalid_request(f"Parameter {parameter} is missing", parameter)
    if not isinstance(amount, dict):
        raise invalid_request(f"Parameter {parameter} must be an object with value and currency", parameter)
    if "value" not in amount:
        raise invalid_request(f"Parameter {parameter}.value is missing", f"{parameter}.value")
    kopecks = parse_kopecks(amount["value"])
    if kopecks is None:
        raise invalid_request(
            "Error in the payment amount. Specify the amount in correct format. For example, 100.00",
            f"{parameter}.value",
        )
    if kopecks <= 0:
        raise invalid_request("Amount value must be greater than 0", f"{parameter}.value")
    currency = amount.get("currency")
    if not isinstance(currency, str) or not currency:
        raise invalid_request(f"Parameter {parameter}.currency is missing", f"{parameter}.currency")
    if currency not in CURRENCIES:
        raise invalid_request(
            f"Currency {currency} is not supported. The shop accepts RUB only", f"{parameter}.currency"
        )
    return kopecks


def check_card_limits(kopecks: int, parameter: str = "amount.value") -> None:
    if not BANK_CARD_MIN <= kopecks <= BANK_CARD_MAX:
        raise invalid_request(
            "Payment amount is out of the limits for bank_card: "
            f"from {format_kopecks(BANK_CARD_MIN)} to {format_kopecks(BANK_CARD_MAX)} RUB",
            parameter,
        )


def parse_description(body: dict[str, Any], limit: int = DESCRIPTION_MAX) -> str | None:
    if "description" not in body or body["description"] is None:
        return None
    description = body["description"]
    if not isinstance(description, str):
        raise invalid_request("Parameter description must be a string", "description")
    if len(description) > limit:
        raise invalid_request(f"Description is too long. Max. length is {limit}", "description")
    return description


def parse_metadata(body: dict[str, Any]) -> dict[str, str] | None:
    if "metadata" not in body or body["metadata"] is None:
        return None
    metadata = body["metadata"]
    if not isinstance(metadata, dict):
        raise invalid_request("Parameter metadata must be an object", "metadata")
    if len(metadata) > METADATA_MAX_KEYS:
        raise invalid_request(f"Metadata object is limited to {METADATA_MAX_KEYS} keys", "metadata")
    for key, value in metadata.items():
        if len(key) > METADATA_KEY_MAX:
            raise invalid_request(
                f"The key names length in metadata object is limited to {METADATA_KEY_MAX} characters",
                "metadata",
            )
        if not isinstance(value, str):
            raise invalid_request(f"Metadata value of key {key} must be a string", "metadata")
        if len(value) > METADATA_VALUE_MAX:
            raise invalid_request(
                f"The key values length in metadata object is limited to {METADATA_VALUE_MAX} characters",
                "metadata",
            )
    return dict(metadata)


# ------------------------------------------------------------------------------------------ lists
class ListQuery:
    def __init__(self) -> None:
        self.limit = 10
        self.before_seq: int | None = None
        self.status: str | None = None
        self.payment_id: str | None = None
        self.bounds: dict[str, list[tuple[str, int]]] = {}

    def accepts_time(self, field: str, ms: int | None) -> bool:
        for op, bound in self.bounds.get(field, ()):
            if ms is None:
                return False
            if (
                (op == "gte" and ms < bound)
                or (op == "gt" and ms <= bound)
                or (op == "lte" and ms > bound)
                or (op == "lt" and ms >= bound)
            ):
                return False
        return True


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"sbx:{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, seq = raw.split(":", 1)
        if prefix != "sbx":
            raise ValueError(cursor)
        return int(seq)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise invalid_request("Invalid cursor value", "cursor") from exc


def parse_list_query(
    query: dict[str, str], statuses: frozenset[str], time_fields: tuple[str, ...], allow_payment_id: bool
) -> ListQuery:
    parsed = ListQuery()
    if "limit" in query:
        text = query["limit"]
        if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 100:
            raise invalid_request("Invalid limit value. Use an integer from 1 to 100", "limit")
        parsed.limit = int(text)
    if query.get("cursor"):
        parsed.before_seq = decode_cursor(query["cursor"])
    if "status" in query:
        if query["status"] not in statuses:
            raise invalid_request(f"Invalid status value: {query['status']}", "status")
        parsed.status = query["status"]
    if allow_payment_id and "payment_id" in query:
        parsed.payment_id = query["payment_id"]
    for field in time_fields:
        for op in ("gte", "gt", "lte", "lt"):
            name = f"{field}.{op}"
            if name in query:
                try:
                    parsed.bounds.setdefault(field, []).append((op, parse_iso_ms(query[name])))
                except ValueError as exc:
                    raise invalid_request(f"Invalid {name} value. Use ISO 8601", name) from exc
    return parsed
