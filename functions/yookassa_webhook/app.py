"""YooKassa's notifications, on the function's URL (AuthType NONE): ``POST /webhooks/yookassa``.

``POST /`` is served too: the Function URL's root is what may be pasted into YooKassa's merchant
profile. Authenticity is the TCP source IP plus re-fetching the object (services/webhook.py); a Function
URL event has the payload v2.0 shape, so the shared HTTP resolver and its error envelope serve it.
"""

from typing import Any

from aws_lambda_powertools.event_handler import Response

from payments import runtime
from payments.api import answers, http_handler, json_response, make_resolver
from payments.schemas import WebhookAnswer
from payments.services.webhook import handle_notification

app = make_resolver()
ANSWERS = answers(WebhookAnswer, 403, 413, 415, 502, 503, 504)


@app.post("/webhooks/yookassa", responses=ANSWERS)
@app.post("/", responses=ANSWERS)
def notify() -> Response[Any]:
    event = app.current_event
    result = handle_notification(
        runtime.store(),
        runtime.yookassa,
        runtime.settings(),
        event.body,
        bool(event.is_base64_encoded),
        event.request_context.http.source_ip,  # the TCP peer; never a header
    )
    return json_response(WebhookAnswer(outcome=result.outcome))


handler: Any = http_handler(app)
