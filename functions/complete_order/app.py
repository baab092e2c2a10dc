"""POST /admin/orders/{orderId}/complete: the cleaning was done (scope payments/admin). A paid order
becomes ``completed``; with RECEIPTS=on its settlement receipt (54-FZ) is registered at YooKassa, once
per order whatever is retried. Again: 200, nothing new. Not paid: 409 ``order_not_paid``; its money
given back: 409 ``order_refunded``."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path

from payments import runtime
from payments.api import ADMIN_SCOPE, answers, caller_of, http_handler, json_response, make_resolver
from payments.fields import SafeId
from payments.schemas import OrderView
from payments.services.orders import complete_order

app = make_resolver()


@app.post("/admin/orders/<orderId>/complete", responses=answers(OrderView, 401, 403, 404, 409, 502, 504))
def complete(orderId: Annotated[SafeId, Path()]) -> Response[Any]:
    caller_of(app, ADMIN_SCOPE)
    return json_response(complete_order(runtime.store(), runtime.yookassa(), runtime.settings(), orderId))


handler: Any = http_handler(app)
