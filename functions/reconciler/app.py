"""Every 5 minutes (EventBridge Scheduler): payments pending too long get YooKassa's final word.

Its notion of now is the event's ``time`` (the scheduled time; ``scheduledTime`` when a schedule's Input
passes it under that name), so a retried or delayed run, or a local run "ten minutes later", judges ages
as of the run it stands for. Answers a summary. When every check failed (YooKassa or DynamoDB down) it
raises, so the schedule's retries and then its dead-letter queue keep the run for an operator.
"""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from payments import runtime
from payments.domain import utc_now
from payments.errors import ReconcileFailed
from payments.observability import logger, metrics
from payments.services.reconcile import reconcile


@logger.inject_lambda_context(clear_state=True, log_event=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, object]:
    now = event_time(event)
    logger.append_keys(scheduledTime=now.isoformat(), attempt=event.get("attemptNumber"))
    summary = reconcile(
        runtime.store(), runtime.yookassa(), runtime.settings(), now, context.get_remaining_time_in_millis
    )
    if summary.all_failed:
        raise ReconcileFailed(f"All {summary.checked} checks failed")
    return summary.as_dict()


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
