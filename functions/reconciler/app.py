"""Every 5 minutes (EventBridge Scheduler): payments pending too long get YooKassa's final word.

Its notion of now is the event's ``time`` (the scheduled time; ``scheduledTime`` when a schedule's Input
passes it under that name), so a retried or delayed run, or a local run "ten minutes later", judges ages
as of the run it stands for. Answers a summary. When every check failed (YooKassa or DynamoDB down) it
raises, so the schedule's retries and then its dead-letter queue keep the run for an operator.
"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from payments import runtime
from payments.errors import ReconcileFailed
from payments.observability import handled, logger
from payments.scheduled import event_time
from payments.services.reconcile import reconcile


def _handler(event: dict[str, Any], context: LambdaContext) -> dict[str, object]:
    now = event_time(event)
    logger.append_keys(scheduledTime=now.isoformat(), attempt=event.get("attemptNumber"))
    summary = reconcile(
        runtime.store(), runtime.yookassa(), runtime.settings(), now, context.get_remaining_time_in_millis
    )
    if summary.all_failed:
        raise ReconcileFailed(f"All {summary.checked} checks failed")
    return summary.as_dict()


handler = handled(_handler)

__all__ = ["event_time", "handler"]
