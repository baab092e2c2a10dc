"""POST /subscriptions/{subscriptionId}/cancel and /resume: the caller turns automatic renewal off (no
further charge; the paid period is kept, then the subscription is ``canceled``) or back on (while the
paid period runs and a card is saved; else 409 ``subscription_not_resumable``). Both idempotent; no
body. Another user's subscription is 404."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path

from payments import runtime
from payments.api import answers, caller_of, http_handler, json_response, make_resolver
from payments.fields import SafeId
from payments.schemas import SubscriptionView
from payments.services.subscriptions import cancel_subscription, resume_subscription

app = make_resolver()


@app.post("/subscriptions/<subscriptionId>/cancel", responses=answers(SubscriptionView, 401, 404))
def cancel(subscriptionId: Annotated[SafeId, Path()]) -> Response[Any]:
    return json_response(
        cancel_subscription(runtime.store(), runtime.settings(), caller_of(app), subscriptionId)
    )


@app.post("/subscriptions/<subscriptionId>/resume", responses=answers(SubscriptionView, 401, 404, 409))
def resume(subscriptionId: Annotated[SafeId, Path()]) -> Response[Any]:
    return json_response(
        resume_subscription(runtime.store(), runtime.settings(), caller_of(app), subscriptionId)
    )


handler: Any = http_handler(app)
