"""Autopayments: what `POST /sandbox/payment_methods/{id}/next_charge` makes a saved card do next."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from yookassa import Payment

from local.yookassa_sandbox import Sandbox, start_sandbox
from tests.sandbox.support import Api, Receiver, assert_error, payment_body

PAY = "/checkout/payments/v2/contract/pay"
INSUFFICIENT_FUNDS = {"party": "payment_network", "reason": "insufficient_funds"}
PERMISSION_REVOKED = {"party": "yoo_money", "reason": "permission_revoked"}


def save_card(api: Api, card: str = "5555555555554444") -> str:
    """A first payment with ``save_payment_method: true``, paid on the checkout page: the method's id."""
    first = api.create(save_payment_method=True)
    response = requests.post(
        f"{api.sandbox.base_url}{PAY}",
        data={"orderId": first["id"], "cardNumber": card, "expiry": "12/30", "cvc": "123"},
        allow_redirects=False,
        timeout=5,
    )
    assert response.status_code == 303, response.text
    method = api.payment(first["id"])["payment_method"]
    assert (method["saved"], method["status"], method["id"]) == (True, "active", first["id"])
    return str(method["id"])


def next_charge(api: Api, method_id: str, body: Any) -> requests.Response:
    return api.helper("POST", f"/sandbox/payment_methods/{method_id}/next_charge", body)


def set_next(api: Api, method_id: str, outcome: str) -> None:
    response = next_charge(api, method_id, {"outcome": outcome})
    assert response.status_code == 200, response.text
    assert response.json() == {"paymentMethodId": method_id, "outcome": outcome}


def charge(api: Api, method_id: str, key: str = "auto", capture: bool = True) -> dict[str, Any]:
    body = payment_body(value="299.00", capture=capture, confirmation=None, payment_method_id=method_id)
    response = api.post("/payments", body, key=key)
    assert response.status_code == 200, response.text
    return dict(response.json())


def assert_declined(payment: dict[str, Any], details: dict[str, str], method_id: str) -> None:
    assert payment["status"] == "canceled"
    assert payment["paid"] is False
    assert payment["refundable"] is False
    assert payment["cancellation_details"] == details
    assert payment["amount"] == {"value": "299.00", "currency": "RUB"}
    assert payment["payment_method"]["id"] == method_id
    assert payment["payment_method"]["saved"] is True
    assert payment["payment_method"]["card"]["last4"] == "4444"
    for absent in ("confirmation", "authorization_details", "captured_at", "income_amount", "expires_at"):
        assert absent not in payment


def test_the_next_charge_succeeds_by_default(api: Api) -> None:
    method_id = save_card(api)
    paid = charge(api, method_id)
    assert (paid["status"], paid["paid"]) == ("succeeded", True)
    assert "cancellation_details" not in paid
    set_next(api, method_id, "succeeded")  # saying so explicitly changes nothing
    assert charge(api, method_id)["status"] == "succeeded"
    assert charge(api, method_id, capture=False)["status"] == "waiting_for_capture"


def test_insufficient_funds_declines_one_charge(api: Api) -> None:
    method_id = save_card(api)
    set_next(api, method_id, "insufficient_funds")
    declined = charge(api, method_id)
    assert_declined(declined, INSUFFICIENT_FUNDS, method_id)
    assert declined["payment_method"]["status"] == "active"  # the card is still there for the next one
    assert api.payment(declined["id"]) == declined
    following = charge(api, method_id)
    assert (following["status"], following["paid"]) == ("succeeded", True)
    # a two-stage charge is declined the same way: canceled at once, never held
    set_next(api, method_id, "insufficient_funds")
    held = charge(api, method_id, capture=False)
    assert_declined(held, INSUFFICIENT_FUNDS, method_id)
    assert charge(api, method_id, capture=False)["status"] == "waiting_for_capture"


def test_the_last_outcome_set_wins_and_succeeded_clears_it(api: Api) -> None:
    method_id = save_card(api)
    set_next(api, method_id, "insufficient_funds")
    set_next(api, method_id, "succeeded")
    assert charge(api, method_id)["status"] == "succeeded"
    set_next(api, method_id, "permission_revoked")
    set_next(api, method_id, "insufficient_funds")
    assert_declined(charge(api, method_id), INSUFFICIENT_FUNDS, method_id)
    assert charge(api, method_id)["status"] == "succeeded"


def test_permission_revoked_declines_every_later_charge(api: Api) -> None:
    method_id = save_card(api)
    other_id = save_card(api)
    set_next(api, method_id, "permission_revoked")
    revoked = charge(api, method_id)
    assert_declined(revoked, PERMISSION_REVOKED, method_id)
    assert revoked["payment_method"]["status"] == "inactive"
    for capture in (True, False, True):
        assert_declined(charge(api, method_id, capture=capture), PERMISSION_REVOKED, method_id)
    # revoked for good: no outcome brings it back, and asking for one is refused
    assert_error(next_charge(api, method_id, {"outcome": "succeeded"}), 400, "invalid_request", "outcome")
    assert_error(
        next_charge(api, method_id, {"outcome": "insufficient_funds"}), 400, "invalid_request", "outcome"
    )
    set_next(api, method_id, "permission_revoked")
    assert_declined(charge(api, method_id), PERMISSION_REVOKED, method_id)
    # the binding payment is untouched, and another saved card of the shop still pays
    assert api.payment(method_id)["payment_method"]["saved"] is True
    assert charge(api, other_id)["status"] == "succeeded"


def test_unknown_method_is_404(api: Api) -> None:
    missing = next_charge(api, "22e12f66-000f-5000-8000-18db351245c7", {"outcome": "insufficient_funds"})
    assert_error(missing, 404, "not_found")
    unsaved = api.create()
    api.succeed(unsaved["id"])  # paid, but without save_payment_method
    assert_error(next_charge(api, unsaved["id"], {"outcome": "succeeded"}), 404, "not_found")
    method_id = save_card(api)
    api.helper("POST", "/sandbox/reset")
    assert_error(next_charge(api, method_id, {"outcome": "succeeded"}), 404, "not_found")


@pytest.mark.parametrize(
    "body",
    [
        {"outcome": "general_decline"},
        {"outcome": "SUCCEEDED"},
        {"outcome": ""},
        {"outcome": None},
        {"outcome": 1},
        {"outcome": ["insufficient_funds"]},
        {"outcome": {"reason": "insufficient_funds"}},
        {},
        None,  # no body at all
        [],
        "insufficient_funds",
    ],
)
def test_bad_outcome_is_400(api: Api, body: Any) -> None:
    method_id = save_card(api)
    assert_error(next_charge(api, method_id, body), 400, "invalid_request", "outcome")
    assert charge(api, method_id)["status"] == "succeeded"  # nothing was set


def test_a_body_that_is_not_json_is_400(api: Api, sandbox: Sandbox) -> None:
    method_id = save_card(api)
    response = requests.post(
        f"{sandbox.base_url}/sandbox/payment_methods/{method_id}/next_charge",
        data=b'{"outcome": ',
        headers={"Content-Type": "application/json"},
        timeout=5,
    )
    assert_error(response, 400, "invalid_request", "outcome")
    wrong_method = api.helper("GET", f"/sandbox/payment_methods/{method_id}/next_charge")
    assert wrong_method.status_code == 405
    assert wrong_method.headers["Allow"] == "POST"


def test_a_webhook_is_sent_for_the_declined_charge(api: Api, hooked: Receiver) -> None:
    method_id = save_card(api)
    set_next(api, method_id, "insufficient_funds")
    declined = charge(api, method_id)
    set_next(api, method_id, "permission_revoked")
    revoked = charge(api, method_id)
    hooked.wait_for(3)
    assert hooked.events() == [
        ("payment.succeeded", method_id),
        ("payment.canceled", declined["id"]),
        ("payment.canceled", revoked["id"]),
    ]
    bodies = hooked.bodies()
    assert bodies[1]["object"] == declined
    assert bodies[2]["object"] == revoked
    assert bodies[2]["object"]["cancellation_details"] == PERMISSION_REVOKED


def test_a_replay_with_the_same_key_answers_the_same_payment(api: Api, hooked: Receiver) -> None:
    method_id = save_card(api)
    set_next(api, method_id, "insufficient_funds")
    declined = charge(api, method_id, key="charge-1")
    replay = charge(api, method_id, key="charge-1")
    assert replay == declined
    assert_declined(replay, INSUFFICIENT_FUNDS, method_id)
    # a replay is not a charge: it uses up no outcome and creates nothing
    paid = charge(api, method_id, key="charge-2")
    assert paid["status"] == "succeeded"
    set_next(api, method_id, "insufficient_funds")
    assert charge(api, method_id, key="charge-2") == paid
    assert charge(api, method_id, key="charge-1") == declined
    assert_declined(charge(api, method_id, key="charge-3"), INSUFFICIENT_FUNDS, method_id)
    assert len(api.all_payments()) == 4  # the binding payment and charges 1, 2, 3
    hooked.wait_for(4)
    assert [event for event, _ in hooked.events()] == [
        "payment.succeeded",
        "payment.canceled",
        "payment.succeeded",
        "payment.canceled",
    ]


def test_a_500_applied_charge_is_declined_once_and_the_retry_gets_it(api: Api) -> None:
    method_id = save_card(api)
    set_next(api, method_id, "insufficient_funds")
    api.helper("POST", "/sandbox/faults", {"route": "POST /v3/payments", "fault": "500_applied"})
    body = payment_body(value="299.00", confirmation=None, payment_method_id=method_id)
    assert_error(api.post("/payments", body, key="charge-1"), 500, "internal_server_error")
    retried = charge(api, method_id, key="charge-1")
    assert_declined(retried, INSUFFICIENT_FUNDS, method_id)
    assert charge(api, method_id)["status"] == "succeeded"


def test_the_sdk_parses_declined_charges(api: Api) -> None:
    method_id = save_card(api)
    for outcome, details in (
        ("insufficient_funds", INSUFFICIENT_FUNDS),
        ("permission_revoked", PERMISSION_REVOKED),
    ):
        set_next(api, method_id, outcome)
        params = {
            "amount": {"value": "299.00", "currency": "RUB"},
            "capture": True,
            "payment_method_id": method_id,
            "description": "Подписка",
        }
        payment = Payment.create(params, str(uuid.uuid4()))
        assert payment.status == "canceled"
        assert payment.paid is False
        assert payment.cancellation_details.party == details["party"]
        assert payment.cancellation_details.reason == details["reason"]
        assert payment.payment_method.saved is True


def test_outcomes_and_revocation_survive_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "sandbox-state.json"
    with start_sandbox(state_file=state) as first:
        api = Api(first)
        method_id = save_card(api)
        revoked_id = save_card(api)
        set_next(api, method_id, "insufficient_funds")
        set_next(api, revoked_id, "permission_revoked")
        assert_declined(charge(api, revoked_id), PERMISSION_REVOKED, revoked_id)
    with start_sandbox(state_file=state) as second:
        api = Api(second)
        assert_declined(charge(api, method_id), INSUFFICIENT_FUNDS, method_id)
        assert charge(api, method_id)["status"] == "succeeded"
        assert_declined(charge(api, revoked_id), PERMISSION_REVOKED, revoked_id)
        assert_error(next_charge(api, revoked_id, {"outcome": "succeeded"}), 400, "invalid_request", "outcome")
