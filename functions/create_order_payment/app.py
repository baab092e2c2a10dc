"""POST /orders/payment/create: start (or continue) the payment of an order."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Header

from payments import runtime
from payments.api import answers, caller_of, http_handler, json_response, make_resolver
from payments.observability import bind
from payments.schemas import CreateOrderPaymentRequest, PaymentCreated
from payments.services.idempotency import run_idempotently
from payments.services.payments import create_order_payment

app = make_resolver()


@app.post("/orders/payment/create", responses=answers(PaymentCreated, 401, 404, 409, 502, 504))
def create(
    body: CreateOrderPaymentRequest,
    idempotency_key: Annotated[str | None, Header(alias="idempotency-key")] = None,
) -> Response[Any]:
    caller, store, settings = caller_of(app), runtime.store(), runtime.settings()
    created = run_idempotently(
        store,
        settings,
        caller,
        idempotency_key,
        "orders/payment/create",
        body,
        lambda: create_order_payment(store, runtime.yookassa(), settings, caller, body),
        PaymentCreated,
    )
    bind(paymentId=created.payment_id)  # a replayed answer's too: every create's log names its payment
    return json_response(created)


handler: Any = http_handler(app)
