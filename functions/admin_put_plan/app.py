"""PUT /admin/plans/{planId}: the app records a plan's monthly and yearly prices and the 54-FZ VAT code
of its periods (scope payments/admin)."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path

from payments import runtime
from payments.api import ADMIN_SCOPE, answers, caller_of, http_handler, json_response, make_resolver
from payments.fields import SafeId
from payments.schemas import PlanView, PutPlanRequest
from payments.services.admin import put_plan

app = make_resolver()


@app.put("/admin/plans/<planId>", responses=answers(PlanView, 401, 403))
def put(planId: Annotated[SafeId, Path()], body: PutPlanRequest) -> Response[Any]:
    caller_of(app, ADMIN_SCOPE)
    return json_response(put_plan(runtime.store(), planId, body))


handler: Any = http_handler(app)
