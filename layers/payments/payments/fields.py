"""The field types of the HTTP API's models: what a valid id, user, amount, VAT code or contact is.

Kept apart from the models (``schemas``) because the handlers use them for path parameters too, and a
user id is also checked outside any model (``api.caller_of``).
"""

from typing import Annotated

from pydantic import AfterValidator, Field, StrictInt, StringConstraints, TypeAdapter

from payments.domain.receipts import is_email, normalize_phone

SafeId = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$", strict=True)
]


def _printable(value: str) -> str:
    """Refuses control and format characters (newlines, NUL, bidi overrides) and surrounding spaces."""
    if not value.isprintable():
        raise ValueError("must be printable characters (no control characters)")
    if value != value.strip():
        raise ValueError("must not start or end with whitespace")
    return value


# A user: the identity provider's ``sub``, opaque. OIDC allows 255 characters and any provider's own
# shape (``auth0|5f7c1b2e...``, ``google-oauth2|1098...``, a UUID, an e-mail); we only refuse what could
# not be shown or logged safely. It becomes part of keys (``IDEMPOTENCY#<sub>#<key>``: 255 characters
# are at most 1020 bytes, DynamoDB allows 2048), log lines (no control character can forge one) and
# YooKassa's metadata (values up to 512 characters; domain.payments.provider_metadata digests longer).
UserId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=255, strict=True),
    AfterValidator(_printable),
    Field(
        description="The user's id: the token's `sub` as the identity provider sends it, "
        "1-255 printable characters, no leading or trailing whitespace"
    ),
]
_USER_ID: TypeAdapter[str] = TypeAdapter(UserId)


def is_user_id(value: object) -> bool:
    """Whether ``value`` is a ``UserId``: how ``api.caller_of`` checks a token's ``sub``."""
    try:
        _USER_ID.validate_python(value)
    except ValueError:  # pydantic's ValidationError is a ValueError
        return False
    return True


Kopecks = Annotated[StrictInt, Field(gt=0, description="Integer kopecks (150000 = 1500.00 RUB)")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=128, strip_whitespace=True, strict=True)]


# 54-FZ: YooKassa's vat_code. 1 = без НДС, 2 = 0 %, 3 = 10 %, 4 = 20 %, 5 = 10/110, 6 = 20/120, 7 = 5 %,
# 8 = 7 %, 9 = 5/105, 10 = 7/107, 11 = 22 %, 12 = 22/122 (11 and 12: the rates since 2026-01-01).
VatCode = Annotated[
    StrictInt,
    Field(
        ge=1,
        le=12,
        description="54-FZ VAT code (YooKassa's vat_code): 1 = no VAT, 2 = 0 %, 3 = 10 %, 4 = 20 %, "
        "5 = 10/110, 6 = 20/120, 7 = 5 %, 8 = 7 %, 9 = 5/105, 10 = 7/107, 11 = 22 %, 12 = 22/122",
    ),
]

# YooKassa's ids are 36-character UUID-shaped strings; anything outside this shape never reaches a URL.
YooKassaId = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$", strict=True)
]


def email_address(value: str) -> str:
    if not is_email(value):
        raise ValueError("must be an email address")
    return value


def phone_digits(value: str) -> str:
    digits = normalize_phone(value)
    if digits is None:
        raise ValueError("must be a phone number in international form, e.g. +7 900 123-45-67")
    return digits


EmailAddress = Annotated[str, StringConstraints(max_length=254, strict=True), AfterValidator(email_address)]
Phone = Annotated[str, StringConstraints(max_length=32, strict=True), AfterValidator(phone_digits)]
