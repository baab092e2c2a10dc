"""``fiscalization=True``: every payment carries a valid 54-FZ receipt."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from local.yookassa_sandbox import Sandbox, start_sandbox
from tests.sandbox.support import Api, assert_error, payment_body


@pytest.fixture(scope="module")
def fiscal() -> Iterator[Sandbox]:
    with start_sandbox(fiscalization=True) as sandbox:
        yield sandbox


@pytest.fixture
def fapi(fiscal: Sandbox) -> Api:
    api = Api(fiscal)
    api.helper("POST", "/sandbox/reset")
    return api


def receipt(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "customer": {"email": "user@example.com"},
        "items": [
            {
                "description": "Уборка квартиры",
                "quantity": "2.000",
                "amount": {"value": "750.00", "currency": "RUB"},
                "vat_code": 1,
                "payment_mode": "full_payment",
                "payment_subject": "service",
            }
        ],
    }
    base.update(changes)
    return base


def item(**changes: Any) -> dict[str, Any]:
    return {**receipt()["items"][0], **changes}


def test_valid_receipts(fapi: Api) -> None:
    created = fapi.create(receipt=receipt())
    assert created["receipt_registration"] == "pending"
    assert fapi.succeed(created["id"])["receipt_registration"] == "succeeded"
    assert fapi.create(receipt=receipt(customer={"phone": "79000000000"}))["status"] == "pending"
    split = [
        item(quantity=1, amount={"value": "1000.00", "currency": "RUB"}),
        item(quantity="0.5", vat_code="4", amount={"value": "1000.00", "currency": "RUB"}),
    ]
    assert fapi.create(receipt=receipt(items=split))["status"] == "pending"
    rounding = [item(quantity="0.333", amount={"value": "4504.50", "currency": "RUB"})]  # 1500.0 after rounding
    assert fapi.create(receipt=receipt(items=rounding))["status"] == "pending"


@pytest.mark.parametrize(
    "bad",
    [
        None,
        "receipt",
        receipt(customer={}),
        receipt(customer={"email": ""}),
        receipt(items=[]),
        receipt(items=[item(vat_code=None)]),
        receipt(items=[item(vat_code=13)]),
        receipt(items=[item(description="")]),
        receipt(items=[item(description="д" * 129)]),
        receipt(items=[item(quantity="0")]),
        receipt(items=[item(quantity="1.0001")]),
        receipt(items=[item(amount={"value": "750.00", "currency": "USD"})]),
        receipt(items=[item(amount=None)]),
        receipt(items=[item(quantity="1.000")]),  # 750.00 != 1500.00
        receipt(items=[item(), item()]),  # 3000.00 != 1500.00
    ],
)
def test_illegal_receipts(fapi: Api, bad: Any) -> None:
    response = fapi.post("/payments", payment_body(receipt=bad))
    body = assert_error(response, 400, "invalid_request", "receipt")
    assert body["description"] == "Receipt is missing or illegal"


def test_partial_capture_needs_a_receipt_for_the_captured_amount(fapi: Api) -> None:
    payment = fapi.create(capture=False, receipt=receipt())
    fapi.succeed(payment["id"])
    part = {"amount": {"value": "750.00", "currency": "RUB"}}
    assert_error(fapi.post(f"/payments/{payment['id']}/capture", part), 400, "invalid_request", "receipt")
    wrong = {**part, "receipt": receipt()}
    assert_error(fapi.post(f"/payments/{payment['id']}/capture", wrong), 400, "invalid_request", "receipt")
    right = {**part, "receipt": receipt(items=[item(quantity="1")])}
    assert fapi.post(f"/payments/{payment['id']}/capture", right).json()["status"] == "succeeded"


def test_full_capture_needs_no_new_receipt(fapi: Api) -> None:
    payment = fapi.create(capture=False, receipt=receipt())
    fapi.succeed(payment["id"])
    assert fapi.post(f"/payments/{payment['id']}/capture", {}).json()["status"] == "succeeded"


def test_refund_receipt_is_checked_when_given(fapi: Api) -> None:
    payment = fapi.create(receipt=receipt())
    fapi.succeed(payment["id"])
    refund = {"payment_id": payment["id"], "amount": {"value": "750.00", "currency": "RUB"}}
    assert_error(fapi.post("/refunds", {**refund, "receipt": receipt()}), 400, "invalid_request", "receipt")
    with_receipt = {**refund, "receipt": receipt(items=[item(quantity="1")])}
    assert fapi.post("/refunds", with_receipt).status_code == 200
    assert fapi.post("/refunds", refund).status_code == 200


def test_me_reports_fiscalization(fapi: Api) -> None:
    me = fapi.get("/me").json()
    assert me["fiscalization_enabled"] is True
    assert me["fiscalization"]["enabled"] is True
