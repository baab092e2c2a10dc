"""Stripe-style ``Idempotency-Key`` for the create routes.

Same key + same body -> the first response again; same key + another body -> 409; same key while the
first request still runs -> 409 ``idempotency_key_in_use``. Creates are already idempotent per order (a
pending payment is reused), so this adds the client's own guarantee on top.
"""

import hashlib
import re
from collections.abc import Callable
from datetime import datetime, timedelta

from pydantic import BaseModel

from payments.domain import IDEMPOTENCY_IN_PROGRESS, Caller, IdempotencyRecord, utc_now
from payments.errors import (
    ConcurrentUpdate,
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    StoreUnavailable,
    ValidationFailed,
)
from payments.observability import logger
from payments.ports import IdempotencyStore
from payments.services.conflicts import retry_on_conflict
from payments.settings import Settings

KEY_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
# How long a claimed key stays "in progress" without an answer: longer than any function runs (API
# Gateway gives up at 30 s), so a running request keeps it; a crashed one frees it soon.
CLAIM_LEASE = timedelta(seconds=120)
# A claim freed or expired between our failed claim and our read of it: claim again, a few times.
CLAIM_ROUNDS = 3


def run_idempotently[R: BaseModel](
    store: IdempotencyStore,
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
    # Absent optional fields are left out, so a request hashes as it did before they existed.
    body = request.model_dump_json(by_alias=True, exclude_none=True)
    request_hash = hashlib.sha256(f"{route}\n{body}".encode()).hexdigest()
    ttl = timedelta(hours=settings.idempotency_ttl_hours)
    # Claimed before the operation runs (a conditional write): of concurrent requests with one key,
    # exactly one runs.
    record = _claim(store, caller.user_id, key, request_hash, min(CLAIM_LEASE, ttl))
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
    answer = IdempotencyRecord(request_hash, 200, result.model_dump_json(by_alias=True), utc_now() + ttl)
    try:
        answered = store.complete_idempotency_key(caller.user_id, key, answer)
    except StoreUnavailable:
        answered = False  # the operation is done; the claim lapses by itself
    if not answered:
        logger.warning("the Idempotency-Key's answer was not stored", extra={"userId": caller.user_id})
    return result


def _claim(
    store: IdempotencyStore, user_id: str, key: str, request_hash: str, lease: timedelta
) -> IdempotencyRecord | None:
    """``None`` when this request took the key, else the record that holds it (answered, or claimed
    by a request still running)."""

    def attempt() -> IdempotencyRecord | None:
        now: datetime = utc_now()
        claim = IdempotencyRecord(request_hash, IDEMPOTENCY_IN_PROGRESS, "", now + lease)
        if store.claim_idempotency_key(user_id, key, claim, now):
            return None
        existing = store.get_idempotency_record(user_id, key, now)
        if existing is None:
            raise ConcurrentUpdate()  # released or expired between the two calls: claim again
        return existing

    return retry_on_conflict(attempt, rounds=CLAIM_ROUNDS)


def _release(store: IdempotencyStore, user_id: str, key: str, request_hash: str) -> None:
    try:
        store.release_idempotency_key(user_id, key, request_hash)
    except StoreUnavailable:
        # The claim lapses by itself; the operation's own error is the answer.
        logger.warning("the Idempotency-Key could not be released", extra={"userId": user_id})
