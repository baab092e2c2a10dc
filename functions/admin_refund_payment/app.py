"""POST /admin/payments/{paymentId}/refund: refund all that is left, or ``amount`` kopecks (scope
payments/admin). Idempotent per ``Idempotency-Key``; confirmed through YooKassa's refund.succeeded."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Header, Path

from payments import runtime
from payments.api import ADMIN_SCOPE, answers, caller_of, http_handler, json_response, make_resolver
from payments.fields import SafeId
from payments.schemas import RefundAccepted, RefundRequest
from payments.services.refunds import refund_payment

app = make_resolver()


@app.post("/admin/payments/<paymentId>/refund", responses=answers(RefundAccepted, 401, 403, 404, 409, 502, 504))
def refund(
    paymentId: Annotated[SafeId, Path()],
    body: RefundRequest,
    idempotency_key: Annotated[str | None, Header(alias="idempotency-key")] = None,
) -> Response[Any]:
    admin = caller_of(app, ADMIN_SCOPE)
    accepted = refund_payment(
        runtime.store(), runtime.yookassa(), paymentId, body.amount, idempotency_key, requested_by=admin.user_id
    )
    return json_response(accepted)


handler: Any = http_handler(app)
