"""User ids are opaque: whatever ``sub`` the identity provider sends (README.md, "API") pays end to end.

Auth0 (``auth0|<id>``) and Google through a broker (``google-oauth2|<digits>``) put a ``|`` in theirs;
OIDC allows up to 255 characters. Anything that is not 1-255 printable characters without surrounding
whitespace is refused as 401 ``unauthorized`` before any read or write, and as 422 in an order's
``userId``.
"""

import os

import pytest

from tests.conftest import Stack
from tests.integration.support import notify, order_of, order_payment, payments_of_user, succeed, yookassa_id_of
from tests.support import raw_item

AUTH0 = "auth0|5f7c1b2e9a8d4c0012345678"
GOOGLE = "google-oauth2|109876543210987654321"
LONGEST = "windowslive|" + "Ünïcødé-" * 30 + "x" * 3  # 255 characters, not all ASCII
KEY = "k" * 64  # the longest Idempotency-Key: with LONGEST, the longest IDEMPOTENCY#<sub>#<key>
REFUSED_SUBS = {
    "256-characters": "u" * 256,
    "600-characters": "auth0|" + "9" * 594,  # YooKassa refused its metadata: create answered 502
    "newline": "auth0|5f7c\nforged log line",
    "nul": "auth0|5f7c\x00",
    "delete": "auth0|5f7c\x7f",
    "bidi-override": "auth0|\u202e5f7c",
    "leading-space": " auth0|5f7c",
    "trailing-tab": "auth0|5f7c\t",
}
TABLE = os.environ["TABLE_NAME"]
SUBSCRIPTION = {"subscriptionId": "sub-1", "subscriptionType": "monthly", "planId": "basic", "amount": 100000}


def test_the_longest_user_id_is_255_characters() -> None:
    assert len(LONGEST) == 255
    assert all(len(sub) > 255 or not sub.isprintable() or sub != sub.strip() for sub in REFUSED_SUBS.values())


@pytest.mark.parametrize("sub", [AUTH0, GOOGLE, LONGEST], ids=["auth0", "google", "255-characters"])
def test_an_order_is_paid_end_to_end_by_any_providers_user(stack: Stack, sub: str) -> None:
    payment_id, yookassa_id = order_payment(stack, "order-1", 150000, sub=sub)  # the admin's PUT, the create
    succeed(stack, yookassa_id)

    assert notify(stack, "payment.succeeded", yookassa_id) == (200, {"outcome": "applied"})

    for function in ("PaymentStatusFunction", "OrderPaymentStatusFunction"):
        status, view = stack.status(payment_id, sub=sub, function=function)
        assert (status, view["status"]) == (200, "paid"), view
    assert order_of("order-1").paid_payment_id == payment_id
    assert [payment.payment_id for payment in payments_of_user(sub)] == [payment_id]
    [provider] = stack.provider_payments()
    assert provider["metadata"]["userId"] == sub  # within YooKassa's 512 characters: sent as it is
    assert stack.status(payment_id, sub=sub.upper())[0] == 404  # ids are compared exactly, case and all


@pytest.mark.parametrize("sub", [AUTH0, GOOGLE, LONGEST], ids=["auth0", "google", "255-characters"])
def test_a_subscription_is_paid_end_to_end_by_any_providers_user(stack: Stack, sub: str) -> None:
    stack.put_plan("basic", 100000, 1000000)
    status, created = stack.call("CreateSubscriptionPaymentFunction", body=SUBSCRIPTION, sub=sub)
    assert status == 200, created
    yookassa_id = yookassa_id_of(created["paymentUrl"])
    succeed(stack, yookassa_id)

    assert notify(stack, "payment.succeeded", yookassa_id) == (200, {"outcome": "applied"})

    status, view = stack.status(created["paymentId"], sub=sub, function="SubscriptionPaymentStatusFunction")
    assert (status, view["status"]) == (200, "success"), view
    assert stack.call("CreateSubscriptionPaymentFunction", body=SUBSCRIPTION, sub="alice")[0] == 404


def test_the_longest_user_id_and_key_make_a_valid_idempotency_item(stack: Stack) -> None:
    stack.put_order("order-1", LONGEST, 150000)
    headers = {"Idempotency-Key": KEY}

    first = stack.create_order_payment("order-1", 150000, sub=LONGEST, headers=headers)
    replay = stack.create_order_payment("order-1", 150000, sub=LONGEST, headers=headers)

    assert first[0] == 200 and replay == first
    item = raw_item(stack.dynamodb, TABLE, f"IDEMPOTENCY#{LONGEST}#{KEY}")
    assert item is not None and int(item["statusCode"]) == 200
    assert len(item["PK"].encode()) <= 2048  # DynamoDB's limit for a partition key


@pytest.mark.parametrize("sub", list(REFUSED_SUBS.values()), ids=list(REFUSED_SUBS))
def test_a_sub_that_is_no_user_id_is_refused_before_anything_is_written(stack: Stack, sub: str) -> None:
    stack.put_order("order-1", "alice", 150000)
    stack.put_plan("basic", 100000, 1000000)
    admin = {"sub": sub, "scopes": ("payments/admin",)}

    answers = [
        stack.create_order_payment("order-1", 150000, sub=sub, headers={"Idempotency-Key": "k1"}),
        stack.call("CreateSubscriptionPaymentFunction", body=SUBSCRIPTION, sub=sub),
        stack.status("some-payment", sub=sub),
        stack.call(
            "PutOrderFunction",
            path_params={"orderId": "order-2"},
            body={"userId": "alice", "amount": 100, "description": "d"},
            **admin,
        ),
    ]

    for status, body in answers:
        assert (status, body["error"]["code"]) == (401, "unauthorized"), body
        assert "sub" in body["error"]["message"]
    assert stack.provider_payments() == []
    assert payments_of_user(sub) == []
    assert raw_item(stack.dynamodb, TABLE, f"IDEMPOTENCY#{sub}#k1") is None
    assert raw_item(stack.dynamodb, TABLE, "ORDER#order-2") is None


@pytest.mark.parametrize("user_id", list(REFUSED_SUBS.values()), ids=list(REFUSED_SUBS))
def test_an_order_cannot_be_given_to_what_is_no_user_id(stack: Stack, user_id: str) -> None:
    status, body = stack.call(
        "PutOrderFunction",
        path_params={"orderId": "order-1"},
        body={"userId": user_id, "amount": 100, "description": "d"},
        sub="ops",
        scopes=("payments/admin",),
    )

    assert (status, body["error"]["code"]) == (422, "validation_error"), body
    assert [detail["field"] for detail in body["error"]["details"]] == ["userId"]
    assert raw_item(stack.dynamodb, TABLE, "ORDER#order-1") is None
