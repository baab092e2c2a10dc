"""Every hour (EventBridge Scheduler): subscriptions with automatic renewal are charged for their next
period ``RENEW_BEFORE_HOURS`` before their paid time ends, declined ones retried on ``RENEWAL_RETRY_DAYS``,
and those whose paid time ended unrenewed become ``expired`` or ``canceled``.

Its notion of now is the event's ``time`` (``payments.scheduled.event_time``), so a retried, delayed or
local run judges as of the run it stands for; re-running one time never charges a period twice.
Answers a summary; raises when every subscription it checked failed, so the schedule retries.
"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from payments import runtime
from payments.errors import RenewalFailed
from payments.observability import handled, logger
from payments.scheduled import event_time
from payments.services.renewal import renew


def _handler(event: dict[str, Any], context: LambdaContext) -> dict[str, object]:
    now = event_time(event)
    logger.append_keys(scheduledTime=now.isoformat(), attempt=event.get("attemptNumber"))
    summary = renew(
        runtime.store(), runtime.yookassa(), runtime.settings(), now, context.get_remaining_time_in_millis
    )
    if summary.all_failed:
        raise RenewalFailed(f"All {summary.checked} renewals failed")
    return summary.as_dict()


handler = handled(_handler)
