"""The official ``yookassa`` SDK as the client: every call parses, every error is the SDK's typed exception."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
import requests
from yookassa import Configuration, Payment, Refund, Settings
from yookassa.domain.exceptions import (
    ApiError,
    BadRequestError,
    InternalServerError,
    NotFoundError,
    ResponseProcessingError,
    TooManyRequestsError,
    UnauthorizedError,
)

from local.yookassa_sandbox import Sandbox
from tests.sandbox.support import ID_PATTERN, TIME_PATTERN, Api


def create(capture: bool = True, value: str = "1500.00", **extra: Any) -> Any:
    params = {
        "amount": {"value": value, "currency": "RUB"},
        "capture": capture,
        "confirmation": {"type": "redirect", "return_url": "https://shop.example/return"},
        "description": "Заказ №72",
        "metadata": {"orderId": "order-72"},
        **extra,
    }
    return Payment.create(params, str(uuid.uuid4()))


def fault(sandbox: Sandbox, route: str, kind: str, count: int = 1) -> None:
    response = requests.post(
        f"{sandbox.base_url}/sandbox/faults", json={"route": route, "fault": kind, "count": count}, timeout=5
    )
    response.raise_for_status()


def test_create_and_find_one(sandbox: Sandbox) -> None:
    payment = create()
    assert ID_PATTERN.match(payment.id)
    assert payment.status == "pending"
    assert payment.paid is False
    assert payment.refundable is False
    assert payment.test is True
    assert payment.amount.value == Decimal("1500.00")
    assert payment.amount.currency == "RUB"
    assert payment.description == "Заказ №72"
    assert payment.recipient.account_id == sandbox.shop_id
    assert TIME_PATTERN.match(payment.created_at)
    assert payment.confirmation.type == "redirect"
    assert payment.confirmation.confirmation_url == (
        f"{sandbox.base_url}/checkout/payments/v2/contract?orderId={payment.id}"
    )
    assert payment.confirmation.return_url == "https://shop.example/return"
    # the SDK adds metadata.cms_name; YooKassa echoes it
    assert payment.metadata == {"orderId": "order-72", "cms_name": "yookassa_sdk_python"}

    found = Payment.find_one(payment.id)
    assert found.id == payment.id
    assert found.status == "pending"


def test_paid_payment_parses_fully(sandbox: Sandbox, api: Api) -> None:
    payment = create()
    api.succeed(payment.id)
    found = Payment.find_one(payment.id)
    assert found.status == "succeeded"
    assert found.paid is True
    assert found.refundable is True
    assert found.income_amount.value == Decimal("1447.50")  # 3.5 % commission
    assert found.refunded_amount.value == Decimal("0.00")
    assert TIME_PATTERN.match(found.captured_at)
    assert found.payment_method.type == "bank_card"
    assert found.payment_method.card.last4 == "4444"
    assert found.payment_method.card.first6 == "555555"
    assert found.payment_method.card.card_type == "MasterCard"
    assert found.confirmation is None


def test_list_with_cursor_across_pages(sandbox: Sandbox) -> None:
    created = [create(value=f"{100 + i}.00").id for i in range(7)]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = Payment.list(params)
        pages += 1
        seen.extend(item.id for item in page.items)
        cursor = page.next_cursor
        if not cursor:
            break
    assert pages == 3
    assert seen == list(reversed(created))  # newest first, each exactly once


def test_list_filters_by_status(sandbox: Sandbox, api: Api) -> None:
    first, second = create(), create()
    api.succeed(first.id)
    page = Payment.list({"status": "succeeded"})
    assert [item.id for item in page.items] == [first.id]
    page = Payment.list({"status": "pending"})
    assert [item.id for item in page.items] == [second.id]
    assert page.next_cursor is None


def test_capture_full(sandbox: Sandbox, api: Api) -> None:
    payment = create(capture=False)
    api.succeed(payment.id)
    held = Payment.find_one(payment.id)
    assert held.status == "waiting_for_capture"
    assert held.paid is True
    assert TIME_PATTERN.match(held.expires_at)
    captured = Payment.capture(payment.id, None, str(uuid.uuid4()))
    assert captured.status == "succeeded"
    assert captured.amount.value == Decimal("1500.00")


def test_capture_partial(sandbox: Sandbox, api: Api) -> None:
    payment = create(capture=False)
    api.succeed(payment.id)
    captured = Payment.capture(
        payment.id, {"amount": {"value": "1000.00", "currency": "RUB"}}, str(uuid.uuid4())
    )
    assert captured.status == "succeeded"
    assert captured.amount.value == Decimal("1000.00")
    assert captured.income_amount.value == Decimal("965.00")


def test_cancel(sandbox: Sandbox, api: Api) -> None:
    payment = create(capture=False)
    api.succeed(payment.id)
    canceled = Payment.cancel(payment.id, str(uuid.uuid4()))
    assert canceled.status == "canceled"
    assert canceled.paid is False
    assert canceled.cancellation_details.party == "merchant"
    assert canceled.cancellation_details.reason == "canceled_by_merchant"


def test_refunds_full_and_partial_find_and_list(sandbox: Sandbox, api: Api) -> None:
    payment = create()
    api.succeed(payment.id)
    partial = Refund.create(
        {"payment_id": payment.id, "amount": {"value": "500.00", "currency": "RUB"}, "description": "Часть"},
        str(uuid.uuid4()),
    )
    assert partial.status == "succeeded"
    assert partial.payment_id == payment.id
    assert partial.amount.value == Decimal("500.00")
    assert partial.description == "Часть"
    after = Payment.find_one(payment.id)
    assert after.refunded_amount.value == Decimal("500.00")
    assert after.refundable is True

    rest = Refund.create(
        {"payment_id": payment.id, "amount": {"value": "1000.00", "currency": "RUB"}}, str(uuid.uuid4())
    )
    assert Payment.find_one(payment.id).refundable is False

    found = Refund.find_one(partial.id)
    assert found.id == partial.id
    assert found.amount.value == Decimal("500.00")
    listed = Refund.list({"payment_id": payment.id})
    assert [item.id for item in listed.items] == [rest.id, partial.id]
    assert Refund.list({"payment_id": "nothing"}).items == []


def test_account_settings(sandbox: Sandbox) -> None:
    me = Settings.get_account_settings()
    assert me.account_id == sandbox.shop_id
    assert me.test is True
    assert me.status == "enabled"
    assert me.fiscalization_enabled is False
    assert "bank_card" in me.payment_methods


def test_bad_request_is_typed_with_our_body(sandbox: Sandbox) -> None:
    with pytest.raises(BadRequestError) as caught:
        create(value="350000.01")
    assert caught.value.content["code"] == "invalid_request"
    assert caught.value.content["parameter"] == "amount.value"
    assert caught.value.content["type"] == "error"


def test_unauthorized_is_typed(sandbox: Sandbox) -> None:
    Configuration.configure(sandbox.shop_id, "test_wrong", api_url=sandbox.api_url)
    with pytest.raises(UnauthorizedError) as caught:
        Payment.list()
    assert caught.value.content["code"] == "invalid_credentials"


def test_not_found_is_typed(sandbox: Sandbox) -> None:
    with pytest.raises(NotFoundError) as caught:
        Payment.find_one("22e12f66-000f-5000-8000-18db351245c7")
    assert caught.value.content["code"] == "not_found"
    with pytest.raises(NotFoundError):
        Refund.find_one("216749f7-0016-50be-b000-078d43a63ae4")


def test_business_errors_are_typed(sandbox: Sandbox, api: Api) -> None:
    payment = create()
    with pytest.raises(BadRequestError) as caught:
        Payment.capture(payment.id, None, str(uuid.uuid4()))
    assert caught.value.content["description"] == "You can not capture payment with autocapture"
    with pytest.raises(BadRequestError) as caught:
        Refund.create(
            {"payment_id": payment.id, "amount": {"value": "1.00", "currency": "RUB"}}, str(uuid.uuid4())
        )
    assert caught.value.content["description"] == "Payment can not be refunded in current status."


@pytest.mark.parametrize(
    ("kind", "exception", "code"),
    [
        ("500", InternalServerError, "internal_server_error"),
        ("500_applied", InternalServerError, "internal_server_error"),
        ("429", TooManyRequestsError, "too_many_requests"),
    ],
)
def test_faults_raise_typed_errors(sandbox: Sandbox, kind: str, exception: type[ApiError], code: str) -> None:
    fault(sandbox, "POST /v3/payments", kind)
    with pytest.raises(exception) as caught:
        create()
    assert caught.value.content["code"] == code


def test_legacy_202_over_http_is_response_processing_error(sandbox: Sandbox) -> None:
    """The SDK retries 202 only over https: over http it raises at once."""
    fault(sandbox, "GET /v3/payments/{id}", "202")
    payment = create()
    with pytest.raises(ResponseProcessingError) as caught:
        Payment.find_one(payment.id)
    assert caught.value.content == {
        "type": "processing",
        "description": "Request accepted",
        "retry_after": 1800,
    }


def test_500_applied_then_retry_with_same_key_returns_the_payment(sandbox: Sandbox, api: Api) -> None:
    fault(sandbox, "POST /v3/payments", "500_applied")
    params = {
        "amount": {"value": "10.00", "currency": "RUB"},
        "capture": True,
        "confirmation": {"type": "redirect", "return_url": "https://shop.example/return"},
    }
    key = str(uuid.uuid4())
    with pytest.raises(InternalServerError):
        Payment.create(dict(params), key)
    retried = Payment.create(dict(params), key)
    assert [p["id"] for p in api.all_payments()] == [retried.id]
