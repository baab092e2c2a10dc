"""The admin routes at the handler: only a token with the ``payments/admin`` scope passes.

API Gateway's JWT authorizer already requires the scope on each admin route; the handlers check again
(``api.caller_of``) so that a template mistake cannot open them. These tests call each admin function
in-process with a real event whose token has another scope, no scope, or the right one among others:
a token with *another* scope is refused with 403 ``forbidden`` before anything is read or written.
"""

from typing import Any

import pytest

from tests.conftest import Stack
from tests.integration.support import notify, order_payment, payment_of, provider_refunds, store, succeed

ADMIN_FUNCTIONS = ("PutOrderFunction", "PutPlanFunction", "RefundPaymentFunction")
# Each a token's scopes that must not open an admin route: another scope, none, and near misses.
NOT_ADMIN: dict[str, tuple[str, ...]] = {
    "another scope": ("payments/read",),
    "other scopes": ("openid", "profile", "payments/read", "payments/write"),
    "no scope": (),
    "a longer scope": ("payments/admin2",),
    "a shorter scope": ("payments",),
    "another case": ("PAYMENTS/ADMIN",),
    "the scope as a prefix": ("payments/admin/orders",),
}


def request_of(function: str, payment_id: str = "pay-unknown") -> dict[str, Any]:
    if function == "PutOrderFunction":
        return {
            "path_params": {"orderId": "order-9"},
            "body": {"userId": "bob", "amount": 100, "description": "x"},
        }
    if function == "PutPlanFunction":
        return {
            "path_params": {"planId": "plan-9"},
            "body": {"name": "x", "prices": {"monthly": 1, "yearly": 2}},
        }
    return {"path_params": {"paymentId": payment_id}, "body": {}}


@pytest.mark.parametrize("function", ADMIN_FUNCTIONS)
@pytest.mark.parametrize("scopes", NOT_ADMIN.values(), ids=NOT_ADMIN.keys())
def test_an_admin_route_refuses_a_token_without_the_admin_scope(
    stack: Stack, function: str, scopes: tuple[str, ...]
) -> None:
    status, body = stack.call(function, sub="ops", scopes=scopes, **request_of(function))

    assert status == 403, body
    assert body["error"]["code"] == "forbidden"
    assert store().get_order("order-9") is None
    assert store().get_plan("plan-9") is None


def test_a_refund_with_another_scope_is_refused_before_anything_is_reserved_or_sent(stack: Stack) -> None:
    payment_id, yookassa_id = order_payment(stack)
    succeed(stack, yookassa_id)
    assert notify(stack, "payment.succeeded", yookassa_id)[0] == 200

    status, body = stack.call(
        "RefundPaymentFunction",
        sub="ops",
        scopes=("payments/read",),
        **request_of("RefundPaymentFunction", payment_id),
    )

    assert (status, body["error"]["code"]) == (403, "forbidden")
    payment = payment_of(payment_id)
    assert (payment.status, payment.refund_reserved, payment.refunded_amount) == ("paid", 0, 0)
    assert provider_refunds(stack, yookassa_id) == []


@pytest.mark.parametrize("scopes", [("openid", "payments/admin"), ("payments/read", "payments/admin", "email")])
def test_the_admin_scope_among_others_opens_every_admin_route(stack: Stack, scopes: tuple[str, ...]) -> None:
    payment_id, yookassa_id = order_payment(stack)
    succeed(stack, yookassa_id)
    assert notify(stack, "payment.succeeded", yookassa_id)[0] == 200

    for function in ADMIN_FUNCTIONS:
        status, body = stack.call(function, sub="ops", scopes=scopes, **request_of(function, payment_id))
        assert status == 200, (function, body)

    assert store().get_order("order-9") is not None
    assert store().get_plan("plan-9") is not None
    assert [refund["amount"]["value"] for refund in provider_refunds(stack, yookassa_id)] == ["1500.00"]
