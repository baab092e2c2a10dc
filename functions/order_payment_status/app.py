"""GET /orders/payment/status/{paymentId}: the order payment of the caller, for the result page's polls."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path

from payments import runtime
from payments.api import answers, caller_of, http_handler, json_response, make_resolver
from payments.domain import PaymentType
from payments.fields import SafeId
from payments.schemas import PaymentView
from payments.services.status import get_payment_status

app = make_resolver()


@app.get("/orders/payment/status/<paymentId>", responses=answers(PaymentView, 401, 404))
def status(paymentId: Annotated[SafeId, Path()]) -> Response[Any]:
    payment = get_payment_status(
        runtime.store(), runtime.yookassa, runtime.settings(), caller_of(app), paymentId, PaymentType.ORDER
    )
    return json_response(PaymentView.of(payment))


handler: Any = http_handler(app)
