"""YooKassa's notifications, on the function's URL (AuthType NONE): ``POST /webhooks/yookassa``.

``POST /`` is served too: the Function URL's root is what may be pasted into YooKassa's merchant
profile. The body is read and parsed once, at the edge (payments/edge.py, up to 64 KiB); authenticity
is the TCP source IP plus re-fetching the object (services/webhook.py). A Function URL event has the
payload v2.0 shape, so the shared HTTP resolver and its error envelope serve it.
"""

from typing import Any

from aws_lambda_powertools.event_handler import Response

from payments import runtime
from payments.api import answers, json_response, make_resolver, notification_of, webhook_handler
from payments.schemas import WebhookAnswer
from payments.services.webhook import handle_notification

app = make_resolver()
ANSWERS = answers(WebhookAnswer, 403, 413, 415, 502, 503, 504)


@app.post("/webhooks/yookassa", responses=ANSWERS)
@app.post("/", responses=ANSWERS)
def notify() -> Response[Any]:
    result = handle_notification(
        runtime.store(),
        runtime.yookassa,
        runtime.settings(),
        notification_of(app),
        app.current_event.request_context.http.source_ip,  # the TCP peer; never a header
    )
    return json_response(WebhookAnswer(outcome=result.outcome))


handler: Any = webhook_handler(app)
