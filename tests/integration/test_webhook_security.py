"""Forged, foreign and malformed notifications are rejected or change nothing.

The webhook runs in-process with Function URL events; YooKassa is the sandbox over HTTP, DynamoDB is
moto's server. Only the TCP peer (``requestContext.http.sourceIp``) and the object re-fetched from
YooKassa count; nothing a notification body claims is believed.
"""

import json
import uuid
from typing import Any

import pytest
import requests

from tests.conftest import Stack
from tests.integration.support import (
    FOREIGN_IP,
    YOOKASSA_IP,
    audit_of,
    environment,
    foreign_payment,
    notification,
    notify,
    order_of,
    order_payment,
    payment_of,
    payments_of_user,
    provider_get,
    send,
    succeed,
    webhook_event,
)


def assert_untouched(payment_id: str, order_id: str = "order-1") -> None:
    payment = payment_of(payment_id)
    order = order_of(order_id)
    assert payment is not None and order is not None
    assert payment.status == "pending"
    assert order.paid_payment_id is None
    assert order.status == "new"


def forged_succeeded(stack: Stack, yookassa_id: str, **changes: Any) -> dict[str, Any]:
    """The real object as the sandbox has it, with a body claiming whatever the forger wants."""
    obj = provider_get(stack, f"/payments/{yookassa_id}")
    assert obj is not None
    obj.update({"status": "succeeded", "paid": True, **changes})
    return notification("payment.succeeded", obj)


def test_a_notification_from_a_foreign_address_is_403_and_changes_nothing(stack: Stack) -> None:
    payment_id, yookassa_id = order_payment(stack)
    succeed(stack, yookassa_id)  # even a true notification is refused from outside YooKassa's networks

    status, body = notify(stack, "payment.succeeded", yookassa_id, source_ip=FOREIGN_IP)

    assert (status, body["error"]["code"]) == (403, "forbidden")
    assert_untouched(payment_id)
    assert audit_of(yookassa_id) == []


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Forwarded-For": YOOKASSA_IP},
        {"X-Forwarded-For": f"{YOOKASSA_IP}, {FOREIGN_IP}"},
        {"X-Real-IP": YOOKASSA_IP},
        {"Forwarded": f"for={YOOKASSA_IP}"},
        {"True-Client-IP": YOOKASSA_IP, "CF-Connecting-IP": YOOKASSA_IP},
    ],
)
def test_forwarding_headers_never_make_a_foreign_peer_yookassa(stack: Stack, headers: dict[str, str]) -> None:
    payment_id, yookassa_id = order_payment(stack)
    succeed(stack, yookassa_id)

    status, _ = notify(stack, "payment.succeeded", yookassa_id, source_ip=FOREIGN_IP, headers=headers)

    assert status == 403
    assert_untouched(payment_id)


def test_an_ipv4_mapped_ipv6_peer_of_yookassa_is_accepted(stack: Stack) -> None:
    payment_id, yookassa_id = order_payment(stack)
    succeed(stack, yookassa_id)

    status, body = notify(stack, "payment.succeeded", yookassa_id, source_ip=f"::ffff:{YOOKASSA_IP}")

    assert (status, body) == (200, {"outcome": "applied"})
    assert payment_of(payment_id).status == "paid"


def test_a_succeeded_body_for_a_payment_yookassa_has_as_pending_changes_nothing(stack: Stack) -> None:
    payment_id, yookassa_id = order_payment(stack)

    status, body = send(webhook_event(forged_succeeded(stack, yookassa_id)))

    assert (status, body) == (200, {"outcome": "unchanged"})
    assert_untouched(payment_id)
    [audit] = audit_of(yookassa_id)
    assert audit["fetchedStatus"] == "pending"
    assert audit["outcome"] == "unchanged"
    assert audit["sourceIp"] == YOOKASSA_IP
    assert audit["paymentId"] == payment_id


def test_a_payment_of_someone_else_on_our_shop_is_ignored(stack: Stack) -> None:
    """Another integration on the same shop: no paymentId of ours in its metadata."""
    order_payment(stack)
    other = foreign_payment(stack, "1500.00", {"cms_name": "another_shop_module"})
    succeed(stack, other["id"])

    status, body = notify(stack, "payment.succeeded", other["id"])

    assert (status, body) == (200, {"outcome": "unknown_payment"})
    assert [a["outcome"] for a in audit_of(other["id"])] == ["unknown_payment"]


def test_an_unknown_payment_id_in_our_metadata_is_ignored(stack: Stack) -> None:
    other = foreign_payment(stack, "1500.00", {"paymentId": str(uuid.uuid4()), "userId": "alice"})
    succeed(stack, other["id"])

    status, body = notify(stack, "payment.succeeded", other["id"])

    assert (status, body) == (200, {"outcome": "unknown_payment"})


@pytest.mark.parametrize("amount", ["1.00", "1500.00"])
def test_another_yookassa_payment_claiming_to_be_ours_is_never_applied(stack: Stack, amount: str) -> None:
    """A second payment at YooKassa with our paymentId in its metadata (another amount, or even the same):
    the re-fetched object, not the body, decides, and it is not the payment we created."""
    payment_id, _ = order_payment(stack)
    other = foreign_payment(stack, amount, {"paymentId": payment_id, "userId": "alice", "orderId": "order-1"})
    succeed(stack, other["id"])
    body = forged_succeeded(stack, other["id"], amount={"value": "1500.00", "currency": "RUB"})

    status, answer = send(webhook_event(body))

    assert (status, answer) == (200, {"outcome": "mismatch:yookassa_id"})
    assert_untouched(payment_id)
    [audit] = audit_of(other["id"])
    assert audit["outcome"] == "mismatch:yookassa_id"
    assert audit["paymentId"] == payment_id


@pytest.mark.parametrize(
    ("amount", "metadata", "outcome"),
    [
        ("1.00", {"userId": "alice", "orderId": "order-1"}, "mismatch:amount"),
        ("1500.00", {"userId": "mallory", "orderId": "order-1"}, "mismatch:metadata_user_id"),
        ("1500.00", {"userId": "alice", "orderId": "order-2"}, "mismatch:metadata_order_id"),
        ("1500.00", {"userId": "alice", "orderId": "order-1"}, "applied"),
    ],
)
def test_before_we_know_yookassas_id_amount_and_metadata_decide(
    stack: Stack, amount: str, metadata: dict[str, str], outcome: str
) -> None:
    """Our create timed out, so our record has no YooKassa id yet: the fetched amount and metadata
    must match ours exactly; only then is YooKassa's id adopted and the payment applied."""
    stack.put_order("order-1", "alice", 150000)
    stack.sandbox_post("/sandbox/faults", {"route": "POST /v3/payments", "fault": "500", "count": 100})
    with environment(YOOKASSA_BUDGET_SECONDS="0.5"):
        status, _ = stack.create_order_payment("order-1", 150000)
    assert status == 504
    requests.delete(f"{stack.sandbox.base_url}/sandbox/faults", timeout=5).raise_for_status()
    [ours] = payments_of_user("alice")
    assert ours.yookassa_id is None
    other = foreign_payment(stack, amount, {"paymentId": ours.payment_id, **metadata})
    succeed(stack, other["id"])

    status, answer = notify(stack, "payment.succeeded", other["id"])

    assert (status, answer) == (200, {"outcome": outcome})
    after = payment_of(ours.payment_id)
    if outcome == "applied":
        assert (after.status, after.yookassa_id) == ("paid", other["id"])
        assert order_of("order-1").paid_payment_id == ours.payment_id
    else:
        assert (after.status, after.yookassa_id) == ("pending", None)
        assert order_of("order-1").paid_payment_id is None


def test_an_object_yookassa_does_not_know_is_ignored(stack: Stack) -> None:
    """Another shop's payment (or a made-up id): the re-fetch answers 404."""
    payment_id, _ = order_payment(stack)
    made_up = "2f3b588d-000f-5000-8000-1ed2b5e6f4a1"
    body = notification(
        "payment.succeeded",
        {
            "id": made_up,
            "status": "succeeded",
            "paid": True,
            "amount": {"value": "1500.00", "currency": "RUB"},
            "metadata": {"paymentId": payment_id, "userId": "alice", "orderId": "order-1"},
        },
    )

    status, answer = send(webhook_event(body))

    assert (status, answer) == (200, {"outcome": "not_found"})
    assert_untouched(payment_id)
    assert [a["outcome"] for a in audit_of(made_up)] == ["not_found"]


def test_a_refund_notification_for_an_unknown_refund_is_ignored(stack: Stack) -> None:
    body = notification(
        "refund.succeeded", {"id": "2f3b588d-0015-5000-8000-1ed2b5e6f4a1", "status": "succeeded"}
    )
    assert send(webhook_event(body)) == (200, {"outcome": "not_found"})


def test_unknown_events_are_acknowledged_and_ignored(stack: Stack) -> None:
    payment_id, yookassa_id = order_payment(stack)
    succeed(stack, yookassa_id)
    for event in ("payment_method.active", "deal.closed", "payout.succeeded", "refund.canceled"):
        status, answer = send(webhook_event(notification(event, {"id": yookassa_id})))
        assert (status, answer) == (200, {"outcome": "ignored_event"})
    assert_untouched(payment_id)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("{not json", "malformed_json"),
        ("", "bad_request"),
        # JSON that is not an object: the shared request guard answers for every route (api.py)
        ("[]", "validation_error"),
        ('"notification"', "validation_error"),
        (json.dumps({"type": "event", "event": "payment.succeeded", "object": {"id": "x"}}), "bad_request"),
        (json.dumps({"event": "payment.succeeded", "object": {"id": "x"}}), "bad_request"),
        (json.dumps({"type": "notification", "object": {"id": "x"}}), "bad_request"),
        (json.dumps({"type": "notification", "event": 42, "object": {"id": "x"}}), "bad_request"),
        (json.dumps({"type": "notification", "event": "payment.succeeded"}), "bad_request"),
        (json.dumps({"type": "notification", "event": "payment.succeeded", "object": {}}), "bad_request"),
        (
            json.dumps({"type": "notification", "event": "payment.succeeded", "object": {"id": 7}}),
            "bad_request",
        ),
        # an id that would walk the YooKassa API's paths is never fetched
        (
            json.dumps({"type": "notification", "event": "payment.succeeded", "object": {"id": "../me"}}),
            "bad_request",
        ),
        (
            json.dumps({"type": "notification", "event": "payment.succeeded", "object": {"id": "a?b=c"}}),
            "bad_request",
        ),
    ],
)
def test_malformed_notifications_are_400_before_any_io(stack: Stack, raw: str, code: str) -> None:
    payment_id, yookassa_id = order_payment(stack)
    succeed(stack, yookassa_id)

    status, body = send(webhook_event(raw_body=raw))

    assert (status, body["error"]["code"]) == (422 if code == "validation_error" else 400, code)
    assert_untouched(payment_id)
    assert audit_of(yookassa_id) == []


def test_a_huge_body_is_refused_unread(stack: Stack) -> None:
    payment_id, yookassa_id = order_payment(stack)
    succeed(stack, yookassa_id)
    body = forged_succeeded(stack, yookassa_id, description="x" * 70_000)

    status, answer = send(webhook_event(body))

    assert (status, answer["error"]["code"]) == (413, "payload_too_large")
    assert_untouched(payment_id)


def test_the_function_urls_root_and_base64_bodies_are_served(stack: Stack) -> None:
    payment_id, yookassa_id = order_payment(stack)
    succeed(stack, yookassa_id)
    body = notification("payment.succeeded", provider_get(stack, f"/payments/{yookassa_id}") or {})

    assert send(webhook_event(body, path="/", base64_encoded=True)) == (200, {"outcome": "applied"})
    assert send(webhook_event(body, path="/webhooks/yookassa")) == (200, {"outcome": "duplicate"})
    assert send(webhook_event(body, path="/elsewhere"))[0] == 404
    assert send(webhook_event(body, method="GET"))[0] in (404, 405)
    assert payment_of(payment_id).status == "paid"
