"""Stripe-style ``Idempotency-Key`` for the create routes.

Same key + same body -> the first response again; same key + another body -> 409. Creates are already
idempotent per order (a pending payment is reused), so this adds the client's own guarantee on top.
"""

import hashlib
import re
from collections.abc import Callable

from pydantic import BaseModel

from payments.domain import Caller
from payments.errors import IdempotencyKeyReused, ValidationFailed
from payments.settings import Settings
from payments.store import PaymentStore

KEY_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


def run_idempotently[R: BaseModel](
    store: PaymentStore,
    settings: Settings,
    caller: Caller,
    key: str | None,
    route: str,
    request: BaseModel,
    operation: Callable[[], R],
    response_model: type[R],
) -> R:
    if key is None:
        return operation()
    if not KEY_PATTERN.fullmatch(key):
        raise ValidationFailed(
            details=[{"field": "Idempotency-Key", "problem": "1-64 characters: letters, digits, _ . : -"}]
        )
    request_hash = hashlib.sha256(f"{route}\n{request.model_dump_json()}".encode()).hexdigest()
    record = store.get_idempotency(caller.user_id, key)
    if record is not None:
        if record.request_hash != request_hash:
            raise IdempotencyKeyReused()
        return response_model.model_validate_json(record.body)
    result = operation()
    store.put_idempotency(
        caller.user_id, key, request_hash, 200, result.model_dump_json(), settings.idempotency_ttl_hours
    )
    return result
