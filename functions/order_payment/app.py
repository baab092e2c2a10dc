"""GET /orders/{orderId}/payment: the caller's latest payment for their order, whatever became of it.
YooKassa's test mode may return a customer without ``paymentId`` in the URL; the result page recovers
the payment to poll here. Another user's order, or one never paid for, is 404."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path

from payments import runtime
from payments.api import answers, caller_of, http_handler, json_response, make_resolver
from payments.fields import SafeId
from payments.schemas import PaymentView
from payments.services.status import latest_order_payment

app = make_resolver()


@app.get("/orders/<orderId>/payment", responses=answers(PaymentView, 401, 404))
def latest(orderId: Annotated[SafeId, Path()]) -> Response[Any]:
    return json_response(PaymentView.of(latest_order_payment(runtime.store(), caller_of(app), orderId)))


handler: Any = http_handler(app)
