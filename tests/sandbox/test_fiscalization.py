"""54-FZ receipts as YooKassa checks them: ``fiscalization=True`` wants one with every payment, partial
capture and refund; receipts become objects (``/v3/receipts``) registered a moment later; ``/v3/me`` says
so; ``/sandbox/receipts`` lists them for tests. Without fiscalisation a receipt is optional but checked."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from yookassa import Configuration, Payment, Receipt, Refund, Settings

from local.stack import LocalStack, StackConfig, sandbox_fiscalization
from local.yookassa_sandbox import Sandbox, start_sandbox
from local.yookassa_sandbox.cards import card_brand
from local.yookassa_sandbox.errors import ApiError
from local.yookassa_sandbox.receipts import ITEMS_MAX, QUANTITY_MAX_MILLI, parse_receipt
from tests.sandbox.support import ID_PATTERN, Api, assert_error, payment_body

MISSING = {
    "type": "error",
    "code": "invalid_request",
    "parameter": "receipt",
    "description": "Receipt is missing or illegal",
}
REGISTRATION_SECONDS = 2


@pytest.fixture(scope="module")
def fiscal() -> Iterator[Sandbox]:
    with start_sandbox(fiscalization=True) as sandbox:
        yield sandbox


@pytest.fixture
def fapi(fiscal: Sandbox) -> Api:
    api = Api(fiscal)
    api.helper("POST", "/sandbox/reset")
    return api


def rub(value: str) -> dict[str, str]:
    return {"value": value, "currency": "RUB"}


def item(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "description": "Уборка квартиры",
        "quantity": "2.000",
        "amount": rub("750.00"),
        "vat_code": 1,
        "payment_mode": "full_prepayment",
        "payment_subject": "service",
        "measure": "piece",
    }
    for key, value in changes.items():
        if value is None:
            base.pop(key, None)
        else:
            base[key] = value
    return base


def receipt(**changes: Any) -> dict[str, Any]:
    """1500.00 in one line: 2 × 750.00."""
    base: dict[str, Any] = {"customer": {"email": "user@example.com"}, "items": [item()]}
    base.update(changes)
    return base


def one(value: str = "750.00", **changes: Any) -> dict[str, Any]:
    """A receipt of one unit at ``value``."""
    return receipt(items=[item(quantity="1", amount=rub(value), **changes)])


def missing(response: requests.Response) -> None:
    body = assert_error(response, 400, "invalid_request", "receipt")
    assert {key: value for key, value in body.items() if key != "id"} == MISSING


def receipts(api: Api, payment_id: str) -> list[dict[str, Any]]:
    response = api.helper("GET", f"/sandbox/receipts?payment_id={payment_id}")
    assert response.status_code == 200, response.text
    listed = response.json()
    assert isinstance(listed, list)
    return listed


def paid(api: Api, **overrides: Any) -> dict[str, Any]:
    """A succeeded 1500.00 payment with the default receipt."""
    payment = api.create(receipt=receipt(), **overrides)
    return api.succeed(payment["id"])


def refund_body(payment_id: str, value: str = "750.00", **extra: Any) -> dict[str, Any]:
    return {"payment_id": payment_id, "amount": rub(value), **extra}


def settlement_body(payment_id: str, /, value: str = "1500.00", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "payment",
        "payment_id": payment_id,
        "send": True,
        "customer": {"email": "user@example.com"},
        "items": [item(payment_mode="full_payment")],
        "settlements": [{"type": "prepayment", "amount": rub(value)}],
    }
    for key, value_ in changes.items():
        if value_ is None:
            body.pop(key, None)
        else:
            body[key] = value_
    return body


# ============================================================================ payments
def test_a_payment_without_a_receipt_is_refused(fapi: Api) -> None:
    missing(fapi.post("/payments", payment_body()))
    assert fapi.all_payments() == []


def test_valid_receipts(fapi: Api) -> None:
    created = fapi.create(receipt=receipt())
    assert created["receipt_registration"] == "pending"
    assert fapi.create(receipt=receipt(customer={"phone": "79001234567"}))["status"] == "pending"
    assert fapi.create(receipt=receipt(customer={"phone": "+79211234567"}))["status"] == "pending"
    assert fapi.create(receipt=receipt(email="legacy@example.com", customer=None))["status"] == "pending"
    split = [
        item(quantity=1, amount=rub("1000.00")),
        item(quantity="0.5", vat_code="11", amount=rub("1000.00"), payment_subject="job", measure="hour"),
    ]
    coded = receipt(items=split, tax_system_code=2)
    assert fapi.create(receipt=coded)["status"] == "pending"
    many = [item(quantity="1", amount=rub("1.00"), description=f"Позиция {n}") for n in range(ITEMS_MAX)]
    assert fapi.create(value="80.00", receipt=receipt(items=many))["status"] == "pending"
    long_name = [item(description="д" * 128)]
    assert fapi.create(receipt=receipt(items=long_name))["status"] == "pending"
    top = receipt(items=[item(quantity="99999.999", amount=rub("10.00"))])
    assert parse_receipt(top, 99_999_999)["items"][0]["quantity"] == "99999.999"  # above the card limit


def test_quantity_may_be_a_json_number_with_decimals(fapi: Api) -> None:
    raw = json.dumps(payment_body(receipt=receipt(items=[item()]))).replace('"2.000"', "2.000")
    response = fapi.session.post(
        f"{fapi.sandbox.api_url}/payments",
        data=raw,
        headers={"Content-Type": "application/json", "Idempotence-Key": str(uuid.uuid4())},
        auth=fapi.auth,
        timeout=10,
    )
    assert response.status_code == 200, response.text
    fapi.succeed(response.json()["id"])
    [registered] = receipts(fapi, response.json()["id"])
    assert Decimal(registered["items"][0]["quantity"]) == 2  # echoed exactly: "2.000", never through float


@pytest.mark.parametrize(
    "bad",
    [
        None,
        "receipt",
        ["receipt"],
        receipt(customer=None),
        receipt(customer={}),
        receipt(customer={"email": ""}),
        receipt(customer={"full_name": "Иванов Иван"}),
        receipt(items=None),
        receipt(items=[]),
    ],
)
def test_a_missing_receipt_contact_or_items_is_youkassas_missing_or_illegal(fapi: Api, bad: Any) -> None:
    missing(fapi.post("/payments", payment_body(receipt=bad)))


@pytest.mark.parametrize(
    ("bad", "parameter", "says"),
    [
        (receipt(items=[item(vat_code=None)]), "receipt.items.vat_code", "missing in item 1"),
        (receipt(items=[item(vat_code=13)]), "receipt.items.vat_code", "from 1 to 12"),
        (receipt(items=[item(vat_code=0)]), "receipt.items.vat_code", "from 1 to 12"),
        (receipt(items=[item(vat_code="x")]), "receipt.items.vat_code", "from 1 to 12"),
        (receipt(items=[item(vat_code=True)]), "receipt.items.vat_code", "from 1 to 12"),
        (receipt(items=[item(description="")]), "receipt.items.description", "1 to 128"),
        (receipt(items=[item(description="   ")]), "receipt.items.description", "1 to 128"),
        (receipt(items=[item(description="д" * 129)]), "receipt.items.description", "1 to 128"),
        (receipt(items=[item(description=None)]), "receipt.items.description", "missing"),
        (receipt(items=[item(quantity=None)]), "receipt.items.quantity", "missing"),
        (receipt(items=[item(quantity="0")]), "receipt.items.quantity", "greater than 0"),
        (receipt(items=[item(quantity="-1")]), "receipt.items.quantity", "greater than 0"),
        (receipt(items=[item(quantity="1.0001")]), "receipt.items.quantity", "3 decimals"),
        (receipt(items=[item(quantity="100000")]), "receipt.items.quantity", "99999.999"),
        (receipt(items=[item(quantity="1e3")]), "receipt.items.quantity", "3 decimals"),
        (receipt(items=[item(quantity=True)]), "receipt.items.quantity", "3 decimals"),
        (receipt(items=[item(amount=None)]), "receipt.items.amount", "missing"),
        (receipt(items=[item(amount="750.00")]), "receipt.items.amount", "value and currency"),
        (
            receipt(items=[item(amount={"value": "750.00", "currency": "USD"})]),
            "receipt.items.amount.currency",
            "RUB",
        ),
        (receipt(items=[item(amount=rub("0.00"))]), "receipt.items.amount.value", "greater than 0"),
        (receipt(items=[item(amount=rub("7.505"))]), "receipt.items.amount.value", "2 decimals"),
        (receipt(items=[item(payment_mode=None)]), "receipt.items.payment_mode", "missing"),
        (receipt(items=[item(payment_mode="prepayment")]), "receipt.items.payment_mode", "full_prepayment"),
        (receipt(items=[item(payment_subject=None)]), "receipt.items.payment_subject", "missing"),
        (receipt(items=[item(payment_subject="services")]), "receipt.items.payment_subject", "service"),
        (receipt(items=[item(measure=None)]), "receipt.items.measure", "missing"),
        (receipt(items=[item(measure="pcs")]), "receipt.items.measure", "piece"),
        (receipt(items=[item(), "line"]), "receipt.items", "in item 2"),
        (receipt(items={"0": item()}), "receipt.items", "array"),
        (receipt(items=[item(quantity="1", amount=rub("1.00"))] * (ITEMS_MAX + 1)), "receipt.items", "80"),
        (receipt(tax_system_code=7), "receipt.tax_system_code", "from 1 to 6"),
        (receipt(tax_system_code=0), "receipt.tax_system_code", "from 1 to 6"),
        (receipt(customer={"email": "user.example.com"}), "receipt.customer.email", "email address"),
        (receipt(customer={"phone": "+7 (900) 123-45-67"}), "receipt.customer.phone", "E.164"),
        (receipt(customer={"phone": "7900123"}), "receipt.customer.phone", "E.164"),
        (receipt(customer={"phone": 79001234567}), "receipt.customer.phone", "E.164"),
        (receipt(customer="user@example.com"), "receipt.customer", "object"),
        (receipt(customer={"email": "user@example.com", "inn": "123"}), "receipt.customer.inn", "10 or 12"),
    ],
)
def test_illegal_receipt_fields_name_the_parameter(fapi: Api, bad: Any, parameter: str, says: str) -> None:
    body = assert_error(fapi.post("/payments", payment_body(receipt=bad)), 400, "invalid_request", parameter)
    assert says in body["description"], body["description"]
    assert fapi.all_payments() == []


@pytest.mark.parametrize(
    ("items", "total"),
    [
        ([item(quantity="1.000")], "750.00"),
        ([item(), item()], "3000.00"),
        ([item(quantity="0.333", amount=rub("4504.50"))], "1499.99850"),  # 1500.00 only if rounded: refused
        ([item(quantity="1", amount=rub("1499.99"))], "1499.99"),
        ([item(quantity="1", amount=rub("1500.01"))], "1500.01"),
    ],
)
def test_the_items_must_add_up_to_the_payment_exactly(fapi: Api, items: list[Any], total: str) -> None:
    response = fapi.post("/payments", payment_body(receipt=receipt(items=items)))
    body = assert_error(response, 400, "invalid_request", "receipt.items")
    assert f"= {total} RUB" in body["description"]
    assert "payment amount is 1500.00 RUB" in body["description"]


def test_registration_is_pending_then_succeeded_on_the_sandbox_clock(fapi: Api) -> None:
    payment = fapi.create(receipt=receipt())
    assert receipts(fapi, payment["id"]) == []  # sent to the register once the money is in
    done = fapi.succeed(payment["id"])
    assert done["receipt_registration"] == "pending"
    [pending] = receipts(fapi, payment["id"])
    assert pending["status"] == "pending"
    assert "registered_at" not in pending
    fapi.advance(REGISTRATION_SECONDS)
    assert fapi.payment(payment["id"])["receipt_registration"] == "succeeded"
    [registered] = receipts(fapi, payment["id"])
    assert registered["status"] == "succeeded"
    assert registered["registered_at"] and registered["fiscal_document_number"]


def test_a_canceled_payment_registers_no_receipt(fapi: Api) -> None:
    payment = fapi.create(capture=False, receipt=receipt())
    fapi.succeed(payment["id"])
    canceled = fapi.post(f"/payments/{payment['id']}/cancel", {}).json()
    assert canceled["receipt_registration"] == "canceled"
    assert receipts(fapi, payment["id"]) == []


def test_partial_capture_needs_a_receipt_for_the_captured_amount(fapi: Api) -> None:
    payment = fapi.create(capture=False, receipt=receipt())
    held = fapi.succeed(payment["id"])
    assert held["receipt_registration"] == "pending"
    part = {"amount": rub("750.00")}
    capture = f"/payments/{payment['id']}/capture"
    missing(fapi.post(capture, part))
    wrong = assert_error(
        fapi.post(capture, {**part, "receipt": receipt()}), 400, "invalid_request", "receipt.items"
    )
    assert "capture amount is 750.00 RUB" in wrong["description"]
    assert fapi.payment(payment["id"])["status"] == "waiting_for_capture"
    captured = fapi.post(capture, {**part, "receipt": one("750.00")}).json()
    assert captured["status"] == "succeeded"
    assert captured["amount"] == rub("750.00")
    [registered] = receipts(fapi, payment["id"])  # the capture's receipt replaced the payment's
    assert registered["items"][0]["quantity"] == "1"
    assert registered["items"][0]["amount"] == rub("750.00")


def test_full_capture_needs_no_new_receipt(fapi: Api) -> None:
    payment = fapi.create(capture=False, receipt=receipt())
    fapi.succeed(payment["id"])
    captured = fapi.post(f"/payments/{payment['id']}/capture", {}).json()
    assert captured["status"] == "succeeded"
    assert captured["receipt_registration"] == "pending"
    [registered] = receipts(fapi, payment["id"])
    assert registered["items"][0]["quantity"] == "2.000"


# ============================================================================ refunds
def test_a_refund_without_a_receipt_is_refused(fapi: Api) -> None:
    payment = paid(fapi)
    missing(fapi.post("/refunds", refund_body(payment["id"])))
    assert fapi.get("/refunds", {"payment_id": payment["id"]}).json()["items"] == []
    assert fapi.payment(payment["id"])["refunded_amount"] == rub("0.00")


def test_a_refund_receipt_must_add_up_to_the_refund(fapi: Api) -> None:
    payment = paid(fapi)
    wrong = fapi.post("/refunds", refund_body(payment["id"], receipt=receipt()))
    body = assert_error(wrong, 400, "invalid_request", "receipt.items")
    assert "refund amount is 750.00 RUB" in body["description"]
    bad_code = fapi.post("/refunds", refund_body(payment["id"], receipt=one(vat_code=99)))
    assert_error(bad_code, 400, "invalid_request", "receipt.items.vat_code")
    assert fapi.payment(payment["id"])["refunded_amount"] == rub("0.00")


def test_a_refund_with_its_receipt_is_registered(fapi: Api) -> None:
    payment = paid(fapi)
    response = fapi.post("/refunds", refund_body(payment["id"], receipt=one("750.00")))
    assert response.status_code == 200, response.text
    refund = response.json()
    assert refund["status"] == "succeeded"
    assert refund["receipt_registration"] == "pending"
    fapi.advance(REGISTRATION_SECONDS)
    assert fapi.get(f"/refunds/{refund['id']}").json()["receipt_registration"] == "succeeded"
    listed = receipts(fapi, payment["id"])
    assert [(r["type"], r.get("refund_id")) for r in listed] == [("payment", None), ("refund", refund["id"])]
    assert listed[1]["items"][0]["amount"] == rub("750.00")


# ============================================================================ /v3/receipts
def test_the_settlement_receipt_of_a_prepayment(fapi: Api) -> None:
    payment = paid(fapi)
    response = fapi.post("/receipts", settlement_body(payment["id"]), key="settle-1")
    assert response.status_code == 200, response.text
    settlement = response.json()
    assert settlement["id"].startswith("rt-") and ID_PATTERN.match(settlement["id"][3:])
    assert settlement["type"] == "payment"
    assert settlement["payment_id"] == payment["id"]
    assert settlement["status"] == "pending"
    assert settlement["send"] is True
    assert settlement["settlements"] == [{"type": "prepayment", "amount": rub("1500.00")}]
    assert settlement["items"][0]["payment_mode"] == "full_payment"
    assert fapi.get(f"/receipts/{settlement['id']}").json() == settlement
    # the same key and body: the same receipt, now in its current state
    fapi.advance(REGISTRATION_SECONDS)
    again = fapi.post("/receipts", settlement_body(payment["id"]), key="settle-1").json()
    assert again["id"] == settlement["id"]
    assert again["status"] == "succeeded"
    listed = fapi.get("/receipts", {"payment_id": payment["id"]}).json()
    assert listed["type"] == "list"
    assert listed["items"][0]["id"] == settlement["id"]  # newest first
    assert {r["status"] for r in listed["items"]} == {"succeeded"}
    assert len(listed["items"]) == 2
    assert [r["id"] for r in receipts(fapi, payment["id"])][-1] == settlement["id"]


def test_receipts_idempotence(fapi: Api) -> None:
    payment = paid(fapi)
    body = settlement_body(payment["id"])
    assert_error(fapi.post("/receipts", body, key=None), 400, "invalid_request", "Idempotence-Key")
    first = fapi.post("/receipts", body, key="k").json()
    other = settlement_body(payment["id"], customer={"phone": "79001234567"})
    assert_error(fapi.post("/receipts", other, key="k"), 400, "invalid_request", "Idempotence-Key")
    # a refused request is not remembered: fixed, it goes through with the same key
    assert_error(
        fapi.post("/receipts", settlement_body(payment["id"], send=False), key="k2"), 400, "invalid_request"
    )
    assert fapi.post("/receipts", body, key="k2").json()["id"] != first["id"]
    assert len(receipts(fapi, payment["id"])) == 3


@pytest.mark.parametrize(
    ("changes", "parameter"),
    [
        ({"type": None}, "type"),
        ({"type": "sale"}, "type"),
        ({"send": None}, "send"),
        ({"send": False}, "send"),
        ({"send": "true"}, "send"),
        ({"settlements": None}, "settlements"),
        ({"settlements": []}, "settlements"),
        ({"settlements": [{"type": "cash", "amount": rub("1500.00")}]}, "settlements.type"),
        ({"settlements": [{"type": "prepayment"}]}, "settlements.amount"),
        ({"settlements": [{"type": "prepayment", "amount": rub("1499.99")}]}, "items"),
        ({"items": [item(payment_mode="full_payment", quantity="1")]}, "items"),
        ({"items": None}, "items"),
        ({"items": [item(measure=None)]}, "items.measure"),
        ({"customer": None}, "customer"),
        ({"customer": {"email": "nope"}}, "customer.email"),
        ({"payment_id": None}, "payment_id"),
        ({"payment_id": "2f0d8d5e-000f-5000-8000-000000000000"}, "payment_id"),
        ({"tax_system_code": 9}, "tax_system_code"),
    ],
)
def test_receipt_requests_are_checked(fapi: Api, changes: dict[str, Any], parameter: str) -> None:
    payment = paid(fapi)
    response = fapi.post("/receipts", settlement_body(payment["id"], **changes))
    assert_error(response, 400, "invalid_request", parameter)
    assert len(receipts(fapi, payment["id"])) == 1


def test_a_receipt_needs_a_succeeded_payment(fapi: Api) -> None:
    pending = fapi.create(receipt=receipt())
    body = assert_error(
        fapi.post("/receipts", settlement_body(pending["id"])), 400, "invalid_request", "payment_id"
    )
    assert "succeeded" in body["description"]
    held = fapi.create(capture=False, receipt=receipt())
    fapi.succeed(held["id"])
    assert_error(fapi.post("/receipts", settlement_body(held["id"])), 400, "invalid_request", "payment_id")


def test_a_refund_receipt_by_refund_id(fapi: Api) -> None:
    payment = paid(fapi)
    refund = fapi.post("/refunds", refund_body(payment["id"], receipt=one())).json()
    body = {
        "type": "refund",
        "refund_id": refund["id"],
        "send": True,
        "customer": {"phone": "79001234567"},
        "items": [item(quantity="1")],
        "settlements": [{"type": "cashless", "amount": rub("750.00")}],
    }
    created = fapi.post("/receipts", body).json()
    assert (created["type"], created["refund_id"], created["payment_id"]) == (
        "refund",
        refund["id"],
        payment["id"],
    )
    unknown = {**body, "refund_id": "2f0d8d5e-0016-5000-8000-000000000000"}
    assert_error(fapi.post("/receipts", unknown), 400, "invalid_request", "refund_id")
    elsewhere = {**body, "payment_id": paid(fapi)["id"]}
    assert_error(fapi.post("/receipts", elsewhere), 400, "invalid_request", "payment_id")
    by_refund = fapi.get("/receipts", {"refund_id": refund["id"]}).json()["items"]
    assert {r["type"] for r in by_refund} == {"refund"} and len(by_refund) == 2


def test_receipt_lists_and_lookups(fapi: Api) -> None:
    first, second = paid(fapi), paid(fapi)
    assert len(fapi.get("/receipts").json()["items"]) == 2
    assert [r["payment_id"] for r in fapi.get("/receipts", {"payment_id": second["id"]}).json()["items"]] == [
        second["id"]
    ]
    page = fapi.get("/receipts", {"limit": 1}).json()
    assert page["items"][0]["payment_id"] == second["id"]
    rest = fapi.get("/receipts", {"limit": 1, "cursor": page["next_cursor"]}).json()
    assert rest["items"][0]["payment_id"] == first["id"] and "next_cursor" not in rest
    assert fapi.get("/receipts", {"status": "canceled"}).json()["items"] == []
    assert_error(fapi.get("/receipts", {"status": "registered"}), 400, "invalid_request", "status")
    assert_error(fapi.get("/receipts/rt-nothing"), 404, "not_found")
    assert fapi.get("/receipts", {"payment_id": "nothing"}).json() == {"type": "list", "items": []}
    assert receipts(fapi, "nothing") == []
    everything = fapi.helper("GET", "/sandbox/receipts").json()
    assert {r["payment_id"] for r in everything} == {first["id"], second["id"]}


def test_receipts_answer_faults(fapi: Api) -> None:
    payment = paid(fapi)
    fault = fapi.helper("POST", "/sandbox/faults", {"route": "POST /v3/receipts", "fault": "500_applied"})
    assert fault.status_code == 200, fault.text
    assert fapi.post("/receipts", settlement_body(payment["id"]), key="f").status_code == 500
    assert fapi.post("/receipts", settlement_body(payment["id"]), key="f").status_code == 200
    assert len(receipts(fapi, payment["id"])) == 2


def test_the_sandbox_receipts_helper_shape(fapi: Api) -> None:
    payment = paid(fapi)
    fapi.post("/refunds", refund_body(payment["id"], receipt=one()))
    fapi.post("/receipts", settlement_body(payment["id"]))
    listed = receipts(fapi, payment["id"])
    assert [r["type"] for r in listed] == ["payment", "refund", "payment"]
    for registered in listed:
        for key in ("id", "type", "payment_id", "status", "customer", "items"):
            assert key in registered, key
        assert registered["customer"] == {"email": "user@example.com"}
        for line in registered["items"]:
            assert set(line) == {
                "description",
                "quantity",
                "amount",
                "vat_code",
                "payment_mode",
                "payment_subject",
                "measure",
            }
    assert "refund_id" in listed[1] and "refund_id" not in listed[0]
    assert "settlements" in listed[2] and "settlements" not in listed[0]


# ============================================================================ /v3/me
def test_me_reports_fiscalization_when_on(fapi: Api) -> None:
    me = fapi.get("/me").json()
    assert me["fiscalization_enabled"] is True
    assert me["fiscalization"] == {"enabled": True, "provider": "yoo_receipt"}


def test_me_omits_fiscalization_when_off(api: Api) -> None:
    me = api.get("/me").json()
    assert me["fiscalization_enabled"] is False
    assert "fiscalization" not in me


# ============================================================================ fiscalisation off
def test_without_fiscalization_receipts_are_optional(api: Api) -> None:
    payment = api.succeed(api.create()["id"])
    assert "receipt_registration" not in payment
    refund = api.post("/refunds", refund_body(payment["id"]))
    assert refund.status_code == 200 and "receipt_registration" not in refund.json()
    held = api.create(capture=False)
    api.succeed(held["id"])
    assert (
        api.post(f"/payments/{held['id']}/capture", {"amount": rub("100.00")}).json()["status"] == "succeeded"
    )
    assert api.helper("GET", "/sandbox/receipts").json() == []


def test_without_fiscalization_a_receipt_given_is_still_checked(api: Api) -> None:
    missing(api.post("/payments", payment_body(receipt=receipt(customer={}))))
    assert_error(api.post("/payments", payment_body(receipt=one())), 400, "invalid_request", "receipt.items")
    assert_error(
        api.post("/payments", payment_body(receipt=receipt(items=[item(measure=None)]))),
        400,
        "invalid_request",
        "receipt.items.measure",
    )
    payment = api.create(receipt=receipt())
    assert payment["receipt_registration"] == "pending"
    api.succeed(payment["id"])
    wrong = api.post("/refunds", refund_body(payment["id"], receipt=receipt()))
    assert_error(wrong, 400, "invalid_request", "receipt.items")
    assert api.post("/refunds", refund_body(payment["id"], receipt=one())).status_code == 200
    assert [r["type"] for r in receipts(api, payment["id"])] == ["payment", "refund"]


def test_without_fiscalization_a_payment_with_a_receipt_needs_one_for_a_partial_capture(api: Api) -> None:
    payment = api.create(capture=False, receipt=receipt())
    api.succeed(payment["id"])
    capture = f"/payments/{payment['id']}/capture"
    missing(api.post(capture, {"amount": rub("750.00")}))
    assert api.post(capture, {"amount": rub("750.00"), "receipt": one()}).json()["status"] == "succeeded"
    assert receipts(api, payment["id"])[0]["items"][0]["quantity"] == "1"


# ============================================================================ the SDK
def test_the_official_sdk_sends_and_reads_receipts(fiscal: Sandbox, fapi: Api) -> None:
    Configuration.configure(fiscal.shop_id, fiscal.secret_key, api_url=fiscal.api_url)
    me = Settings.get_account_settings()
    assert me.fiscalization_enabled is True
    params = payment_body(receipt=receipt(items=[item(quantity="0.5", amount=rub("3000.00"))]))
    payment = Payment.create(params, str(uuid.uuid4()))
    assert payment.receipt_registration == "pending"
    fapi.succeed(payment.id)
    refund = Refund.create(refund_body(payment.id, receipt=one()), str(uuid.uuid4()))
    assert refund.status == "succeeded"
    created = Receipt.create(settlement_body(payment.id), str(uuid.uuid4()))
    assert created.type == "payment"
    assert created.settlements[0].type == "prepayment"
    assert created.items[0].quantity == Decimal("2")
    found = Receipt.find_one(created.id)
    assert found.id == created.id and found.status == "pending"
    listed = Receipt.list({"payment_id": payment.id})
    assert [r.type for r in listed.items] == ["payment", "refund", "payment"]


def test_the_sdk_reads_me_without_fiscalization(sandbox: Sandbox) -> None:
    me = Settings.get_account_settings()
    assert me.fiscalization_enabled is False
    assert getattr(me, "fiscalization", None) is None


# ============================================================================ the sum, as a property
lines = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=QUANTITY_MAX_MILLI),
        st.integers(min_value=1, max_value=10_000_000),
    ),
    min_size=1,
    max_size=8,
)


def quantity_text(milli: int) -> str:
    whole, frac = divmod(milli, 1000)
    return f"{whole}.{frac:03d}" if frac else str(whole)


def kopecks_text(kopecks: int) -> str:
    return f"{kopecks // 100}.{kopecks % 100:02d}"


def receipt_of(parts: list[tuple[int, int]]) -> dict[str, Any]:
    return receipt(items=[item(quantity=quantity_text(q), amount=rub(kopecks_text(p))) for q, p in parts])


def accepts(body: dict[str, Any], total: int) -> bool:
    try:
        parse_receipt(body, total)
    except ApiError as error:
        assert error.parameter == "receipt.items", error.description
        return False
    return True


@given(lines, st.integers(min_value=-2, max_value=2))
def test_the_sum_check_is_exact_decimal_arithmetic(parts: list[tuple[int, int]], offset: int) -> None:
    exact = sum(Decimal(quantity_text(q)) * Decimal(kopecks_text(p)) for q, p in parts)  # the oracle
    total = int(exact * 100) + offset  # kopecks near the exact sum, floor first
    assert accepts(receipt_of(parts), total) == (Decimal(total) / 100 == exact)


@given(
    st.lists(
        st.tuples(st.integers(min_value=1, max_value=999), st.integers(min_value=1, max_value=10_000_000)),
        min_size=1,
        max_size=8,
    ),
    st.sampled_from([-1, 1]),
)
def test_exact_totals_pass_and_one_kopeck_off_is_refused(parts: list[tuple[int, int]], off: int) -> None:
    body = receipt(items=[item(quantity=str(q), amount=rub(kopecks_text(p))) for q, p in parts])
    total = sum(q * p for q, p in parts)
    assert accepts(body, total)
    assert not accepts(body, total + off)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(min_value=1, max_value=20_000), st.integers(min_value=1, max_value=100_000)),
        min_size=1,
        max_size=5,
    ),
    st.sampled_from([-1, 0, 1]),
)
def test_the_sum_check_over_http(fiscal: Sandbox, parts: list[tuple[int, int]], off: int) -> None:
    api = Api(fiscal)
    exact_milli = sum(q * p for q, p in parts)
    total = exact_milli // 1000 + off
    response = api.post(
        "/payments", payment_body(value=kopecks_text(max(total, 100)), receipt=receipt_of(parts))
    )
    if exact_milli % 1000 == 0 and off == 0 and total >= 100:
        assert response.status_code == 200, response.text
    elif total >= 100:
        assert_error(response, 400, "invalid_request", "receipt.items")


# ============================================================================ state, stack, Mir
def test_receipts_survive_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    with start_sandbox(fiscalization=True, state_file=state) as first:
        api = Api(first)
        payment = paid(api)
    with start_sandbox(fiscalization=True, state_file=state) as second:
        api = Api(second)
        [pending] = receipts(api, payment["id"])
        assert pending["status"] == "pending"
        api.advance(REGISTRATION_SECONDS)
        assert receipts(api, payment["id"])[0]["status"] == "succeeded"
        assert api.payment(payment["id"])["receipt_registration"] == "succeeded"


@pytest.mark.parametrize(
    ("value", "on"),
    [("1", True), ("true", True), ("on", True), ("YES", True), ("0", False), ("", False), (None, False)],
)
def test_sandbox_fiscalization_setting(value: str | None, on: bool) -> None:
    environ = {} if value is None else {"SANDBOX_FISCALIZATION": value}
    assert sandbox_fiscalization(environ) is on


def test_make_dev_starts_the_sandbox_with_fiscalization() -> None:
    stack = LocalStack(StackConfig(sandbox_port=0), environ={"SANDBOX_FISCALIZATION": "1"})
    stack.start_yookassa(())
    try:
        assert stack.sandbox is not None
        auth = (stack.sandbox.shop_id, stack.sandbox.secret_key)
        me = requests.get(f"{stack.yookassa_api_url}/me", auth=auth, timeout=5).json()
        assert me["fiscalization"] == {"enabled": True, "provider": "yoo_receipt"}
    finally:
        stack.sandbox.stop()


@pytest.mark.parametrize(
    "card", ["2202474301322987", "2200000000000004", "2201382000000013", "2204000000000000"]
)
def test_mir_cards_report_mir(card: str) -> None:
    assert card_brand(card) == "Mir"


def test_a_mir_payment_reports_mir(api: Api) -> None:
    payment = api.succeed(api.create()["id"], card="2202474301322987")
    assert payment["payment_method"]["card"]["card_type"] == "Mir"
