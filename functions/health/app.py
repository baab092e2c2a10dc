"""GET /health: is the table reachable, are YooKassa credentials configured, and do the service's 54-FZ
receipts (RECEIPTS) agree with the shop's fiscalisation (YooKassa's /me, cached) — never the secrets."""

from typing import Any

from aws_lambda_powertools.event_handler import Response

from payments import runtime
from payments.api import answers, http_handler, json_response, make_resolver
from payments.schemas import HealthView
from payments.services.health import check_health

app = make_resolver()


@app.get("/health", responses=answers(HealthView, 503))
def health() -> Response[Any]:
    configured = runtime.credentials_configured()
    fiscalization = runtime.shop_fiscalization() if configured else "unknown"
    view = check_health(runtime.store(), runtime.settings(), configured, fiscalization)
    return json_response(view, 200 if view.status == "ok" else 503)


handler: Any = http_handler(app)
