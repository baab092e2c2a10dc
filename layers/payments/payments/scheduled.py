"""What the scheduled functions (the reconciler, the renewal) share: their notion of now."""

from datetime import UTC, datetime
from typing import Any

from payments.domain import utc_now
from payments.observability import logger


def event_time(event: dict[str, Any]) -> datetime:
    """The event's ``time`` (or ``scheduledTime``) as an aware UTC instant; the clock when it has none.

    EventBridge always sends UTC with ``Z``; a time without an offset is read as UTC. An unreadable one is
    logged and replaced by the clock, so a malformed event still reconciles instead of failing forever.
    """
    for key in ("time", "scheduledTime"):
        value = event.get(key)
        if not isinstance(value, str):
            continue
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            logger.warning("unreadable event time; using the clock", extra={"field": key})
            continue
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    return utc_now()
