"""GET /health: is the table reachable and are YooKassa credentials configured (never the secrets)."""

from typing import Any

from aws_lambda_powertools.event_handler import Response

from payments import runtime
from payments.api import answers, http_handler, json_response, make_resolver
from payments.schemas import HealthView
from payments.services.health import check_health

app = make_resolver()


@app.get("/health", responses=answers(HealthView, 503))
def health() -> Response[Any]:
    view = check_health(runtime.store(), runtime.settings(), runtime.credentials_configured())
    return json_response(view, 200 if view.status == "ok" else 503)


handler: Any = http_handler(app)
