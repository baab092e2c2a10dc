"""Stripe-style ``Idempotency-Key`` for the create routes.

Same key + same body -> the first response again; same key + another body -> 409; same key while the
first request still runs -> 409 ``idempotency_key_in_use``. Creates are already idempotent per order (a
pending payment is reused), so this adds the client's own guarantee on top.
"""

import hashlib
import re
from collections.abc import Callable

from pydantic import BaseModel

from payments.domain import Caller
from payments.errors import IdempotencyKeyInUse, IdempotencyKeyReused, StoreUnavailable, ValidationFailed
from payments.observability import logger
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
    ttl_hours = settings.idempotency_ttl_hours
    # Claimed before the operation runs (a conditional write): of concurrent requests with one key,
    # exactly one runs.
    record = store.claim_idempotency(caller.user_id, key, request_hash, ttl_hours)
    if record is not None:
        if record.request_hash != request_hash:
            raise IdempotencyKeyReused()
        if record.in_progress:
            raise IdempotencyKeyInUse()
        return response_model.model_validate_json(record.body)
    try:
        result = operation()
    except Exception:
        _release(store, caller.user_id, key, request_hash)  # failed: the client may retry with this key
        raise
    try:
        answered = store.complete_idempotency(
            caller.user_id, key, request_hash, 200, result.model_dump_json(), ttl_hours
        )
    except StoreUnavailable:
        answered = False  # the operation is done; the claim lapses by itself
    if not answered:
        logger.warning("the Idempotency-Key's answer was not stored", extra={"userId": caller.user_id})
    return result


def _release(store: PaymentStore, user_id: str, key: str, request_hash: str) -> None:
    try:
        store.release_idempotency(user_id, key, request_hash)
    except StoreUnavailable:
        # The claim lapses by itself; the operation's own error is the answer.
        logger.warning("the Idempotency-Key could not be released", extra={"userId": user_id})
