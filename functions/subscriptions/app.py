"""GET /subscriptions and GET /subscriptions/{subscriptionId}: the caller's subscriptions, as the
frontend shows them (status, paid period, saved card, next charge, a scheduled plan change). Another
user's subscription is 404."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path

from payments import runtime
from payments.api import answers, caller_of, http_handler, json_response, make_resolver
from payments.fields import SafeId
from payments.schemas import SubscriptionList, SubscriptionView
from payments.services.subscriptions import get_subscription, list_subscriptions

app = make_resolver()


@app.get("/subscriptions", responses=answers(SubscriptionList, 401))
def subscriptions() -> Response[Any]:
    return json_response(list_subscriptions(runtime.store(), runtime.settings(), caller_of(app)))


@app.get("/subscriptions/<subscriptionId>", responses=answers(SubscriptionView, 401, 404))
def subscription(subscriptionId: Annotated[SafeId, Path()]) -> Response[Any]:
    return json_response(get_subscription(runtime.store(), runtime.settings(), caller_of(app), subscriptionId))


handler: Any = http_handler(app)
