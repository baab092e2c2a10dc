"""YooKassa's official test cards (https://yookassa.ru/developers/using-api/testing) and what each does."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CANCELLATION_PARTIES",
    "CANCELLATION_REASONS",
    "TEST_CARDS",
    "CardOutcome",
    "card_brand",
    "outcome_for",
]


@dataclass(frozen=True)
class CardOutcome:
    succeeds: bool
    three_d_secure: bool = False
    party: str = ""
    reason: str = ""


_SUCCESS = CardOutcome(succeeds=True)
_SUCCESS_3DS = CardOutcome(succeeds=True, three_d_secure=True)


def _decline(reason: str, party: str = "payment_network", three_d_secure: bool = False) -> CardOutcome:
    return CardOutcome(succeeds=False, three_d_secure=three_d_secure, party=party, reason=reason)


# Mastercard / Visa / Mir per row, as in the official table.
_DECLINES_PAYMENT_NETWORK: dict[str, tuple[str, str, str]] = {
    "3d_secure_failed": ("5555555555554592", "4839665499603842", "2200000000000012"),
    "call_issuer": ("5555555555554535", "4926946416239025", "2200000000000020"),
    "card_expired": ("5555555555554543", "4141435412630840", "2200000000000038"),
    "fraud_suspected": ("5555555555554568", "4483274282299972", "2200000000000046"),
    "general_decline": ("5555555555554527", "4889971706588753", "2202202212312379"),
    "insufficient_funds": ("5555555555554600", "4562265587712390", "2200000000000053"),
    "invalid_card_number": ("5555555555554618", "4951017853630544", "2201382000000013"),
    "invalid_csc": ("5555555555554626", "4194180666146368", "2200770212727079"),
    "issuer_unavailable": ("5555555555554501", "4654130848359150", "2201382000000021"),
    "payment_method_limit_exceeded": ("5555555555554576", "4565231022577548", "2201382000000039"),
    "payment_method_restricted": ("5555555555554550", "4233961169071671", "2201382000000047"),
}
_DECLINES_YOO_MONEY: dict[str, tuple[str, str, str]] = {
    "country_forbidden": ("5555555555554584", "4969751510013864", "2201382000000054"),
    "fraud_suspected": ("5555555555554634", "4119098878796485", "2201696981989955"),
}


def _build() -> dict[str, CardOutcome]:
    cards: dict[str, CardOutcome] = {}
    for number in ("5555555555554477", "4793128161644804", "2200000000000004"):
        cards[number] = _SUCCESS_3DS
    for number in (
        "5555555555554444",
        "4111111111111111",
        "2202474301322987",
        "6759649826438453",
        "4175001000000017",
        "370000000000002",
        "3528000700000000",
        "36700102000000",
    ):
        cards[number] = _SUCCESS
    for reason, numbers in _DECLINES_PAYMENT_NETWORK.items():
        for number in numbers:
            # the 3-D Secure failure happens on the 3-D Secure page, so that page is shown first
            cards[number] = _decline(reason, three_d_secure=reason == "3d_secure_failed")
    for reason, numbers in _DECLINES_YOO_MONEY.items():
        for number in numbers:
            cards[number] = _decline(reason, party="yoo_money")
    return cards


TEST_CARDS: dict[str, CardOutcome] = _build()

UNKNOWN_CARD = _decline("invalid_card_number")


def outcome_for(number: str) -> CardOutcome:
    """What paying with ``number`` does; unknown numbers are declined as ``invalid_card_number``."""
    return TEST_CARDS.get(number, UNKNOWN_CARD)


def card_brand(number: str) -> str:
    """``card_type`` as YooKassa reports it: its documentation and PHP SDK spell Mir ``"Mir"`` (the
    Python SDK's ``CardType.MIR`` says ``"MIR"``, which YooKassa does not send); the others as ``CardType``."""
    if number.startswith(("2200", "2201", "2202", "2203", "2204")):
        return "Mir"
    if number.startswith("4"):
        return "Visa"
    if number[:2] in {"51", "52", "53", "54", "55"} or number.startswith(("22", "23", "24", "25", "26", "27")):
        return "MasterCard"
    if number.startswith(("50", "56", "57", "58", "67")):
        return "MasterCard"  # Maestro
    if number.startswith(("34", "37")):
        return "AmericanExpress"
    if number.startswith("35"):
        return "JCB"
    if number.startswith(("36", "38", "300", "301", "302", "303", "304", "305")):
        return "DinersClub"
    if number.startswith("62"):
        return "UnionPay"
    return "Unknown"


CANCELLATION_PARTIES = frozenset({"merchant", "yoo_money", "payment_network"})

# Every reason code the official SDK knows (CancellationDetailsReasonCode); nothing else is ever emitted.
CANCELLATION_REASONS = frozenset(
    {
        "3d_secure_failed",
        "call_issuer",
        "canceled_by_merchant",
        "card_expired",
        "country_forbidden",
        "deal_expired",
        "expired_on_capture",
        "expired_on_confirmation",
        "fraud_suspected",
        "general_decline",
        "identification_required",
        "insufficient_funds",
        "internal_timeout",
        "invalid_card_number",
        "invalid_csc",
        "issuer_unavailable",
        "loan_declined",
        "loan_declined_by_payer",
        "loan_application_expired",
        "payment_method_limit_exceeded",
        "payment_method_restricted",
        "permission_revoked",
        "rejected_by_timeout",
        "unsupported_mobile_operator",
    }
)
