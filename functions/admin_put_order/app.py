"""PUT /admin/orders/{orderId}: the app records an order's owner and price, and its 54-FZ receipt lines
and VAT code (scope payments/admin)."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path

from payments import runtime
from payments.api import ADMIN_SCOPE, answers, caller_of, http_handler, json_response, make_resolver
from payments.fields import SafeId
from payments.schemas import OrderView, PutOrderRequest
from payments.services.admin import put_order

app = make_resolver()


@app.put("/admin/orders/<orderId>", responses=answers(OrderView, 401, 403, 409))
def put(orderId: Annotated[SafeId, Path()], body: PutOrderRequest) -> Response[Any]:
    caller_of(app, ADMIN_SCOPE)
    settings = runtime.settings()
    return json_response(put_order(runtime.store(), orderId, body, settings.default_vat_code))


handler: Any = http_handler(app)
