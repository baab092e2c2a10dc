"""The payment life cycle: holds, capture, cancel, expiry on the emulator's clock, saved cards, refunds."""

from __future__ import annotations

from local.yookassa_sandbox import Sandbox
from tests.sandbox.support import Api, Receiver, assert_error, parse_time, payment_body

RUB = "RUB"


def money(value: str) -> dict[str, str]:
    return {"value": value, "currency": RUB}


def test_two_stage_payment_capture(api: Api) -> None:
    payment = api.create(capture=False)
    held = api.succeed(payment["id"])
    assert held["status"] == "waiting_for_capture"
    assert held["paid"] is True
    assert "income_amount" not in held
    captured = api.post(f"/payments/{payment['id']}/capture", {"amount": money("1500.00")}).json()
    assert captured["status"] == "succeeded"
    assert captured["refundable"] is True
    assert parse_time(captured["captured_at"]) >= parse_time(captured["created_at"])


def test_partial_capture_limits(api: Api) -> None:
    payment = api.create(capture=False)
    api.succeed(payment["id"])
    too_much = api.post(f"/payments/{payment['id']}/capture", {"amount": money("1500.01")})
    body = assert_error(too_much, 400, "invalid_request", "amount.value")
    assert body["description"] == "Illegal amount for capture"
    bad = api.post(f"/payments/{payment['id']}/capture", {"amount": money("0.00")})
    assert_error(bad, 400, "invalid_request", "amount.value")
    assert api.payment(payment["id"])["status"] == "waiting_for_capture"
    part = api.post(f"/payments/{payment['id']}/capture", {"amount": money("0.50")}).json()
    assert part["amount"] == money("0.50")
    assert part["income_amount"] == money("0.48")


def test_cancel_hold(api: Api) -> None:
    payment = api.create(capture=False)
    api.succeed(payment["id"])
    canceled = api.post(f"/payments/{payment['id']}/cancel", {}).json()
    assert canceled["status"] == "canceled"
    assert canceled["cancellation_details"] == {"party": "merchant", "reason": "canceled_by_merchant"}
    assert canceled["paid"] is False
    assert "expires_at" not in canceled


def test_capture_and_cancel_in_wrong_states(api: Api) -> None:
    pending_two_stage = api.create(capture=False)
    r = api.post(f"/payments/{pending_two_stage['id']}/capture", {})
    assert r.json()["description"] == "Payment can not be captured in current status."
    r = api.post(f"/payments/{pending_two_stage['id']}/cancel", {})
    assert r.json()["description"] == "Payment can not be canceled in current status"
    autocapture = api.create(capture=True)
    r = api.post(f"/payments/{autocapture['id']}/capture", {})
    assert r.json()["description"] == "You can not capture payment with autocapture"
    r = api.post(f"/payments/{autocapture['id']}/cancel", {})
    assert r.json()["description"] == "You can not cancel payment with autocapture"
    api.succeed(autocapture["id"])
    for action in ("capture", "cancel"):
        assert_error(api.post(f"/payments/{autocapture['id']}/{action}", {}), 400, "invalid_request")
    assert api.payment(autocapture["id"])["status"] == "succeeded"


def test_pending_payment_expires_after_the_payment_term(api: Api, hooked: Receiver) -> None:
    payment = api.create()
    assert parse_time(payment["expires_at"]) == parse_time(payment["created_at"]).replace() + (
        parse_time(payment["expires_at"]) - parse_time(payment["created_at"])
    )
    term = (parse_time(payment["expires_at"]) - parse_time(payment["created_at"])).total_seconds()
    assert term == 3600
    api.advance(3590)
    assert api.payment(payment["id"])["status"] == "pending"
    api.advance(11)
    expired = api.payment(payment["id"])
    assert expired["status"] == "canceled"
    assert expired["cancellation_details"] == {"party": "yoo_money", "reason": "expired_on_confirmation"}
    assert "confirmation" not in expired
    hooked.wait_for(1)
    assert hooked.events() == [("payment.canceled", payment["id"])]


def test_expiry_is_found_by_the_background_ticker(api: Api, hooked: Receiver, sandbox: Sandbox) -> None:
    """No API call after the deadline: the ticker alone cancels it and the webhook fires."""
    payment = api.create()
    sandbox.clock.advance(3601)  # straight on the clock: no request runs the lazy check
    body = hooked.wait_for(1)[0]
    assert body["event"] == "payment.canceled"
    assert body["object"]["id"] == payment["id"]
    assert body["object"]["cancellation_details"]["reason"] == "expired_on_confirmation"


def test_hold_expires_at_expires_at(api: Api, hooked: Receiver) -> None:
    payment = api.create(capture=False)
    api.succeed(payment["id"])
    api.advance(7 * 86400 - 60)
    assert api.payment(payment["id"])["status"] == "waiting_for_capture"
    api.advance(61)
    expired = api.payment(payment["id"])
    assert expired["cancellation_details"] == {"party": "yoo_money", "reason": "expired_on_capture"}
    hooked.wait_for(2)
    assert [event for event, _ in hooked.events()] == ["payment.waiting_for_capture", "payment.canceled"]
    assert_error(api.post(f"/payments/{payment['id']}/capture", {}), 400, "invalid_request")


def test_custom_payment_term() -> None:
    from local.yookassa_sandbox import start_sandbox

    with start_sandbox(payment_term_seconds=60) as sandbox:
        api = Api(sandbox)
        payment = api.create()
        term = parse_time(payment["expires_at"]) - parse_time(payment["created_at"])
        assert term.total_seconds() == 60
        api.advance(61)
        assert api.payment(payment["id"])["status"] == "canceled"


def test_saved_card_pays_at_once(api: Api, hooked: Receiver) -> None:
    first = api.create(save_payment_method=True)
    paid = api.succeed(first["id"], card="4111111111111111")
    method = paid["payment_method"]
    assert method["saved"] is True
    assert method["status"] == "active"
    assert method["id"] == first["id"]
    assert method["card"]["card_type"] == "Visa"

    body = payment_body(value="299.00", confirmation=None, payment_method_id=method["id"])
    again = api.post("/payments", body).json()
    assert again["status"] == "succeeded"
    assert again["paid"] is True
    assert "confirmation" not in again
    assert again["payment_method"]["id"] == first["id"]
    assert again["payment_method"]["saved"] is True
    assert again["payment_method"]["card"]["last4"] == "1111"
    hooked.wait_for(2)
    assert hooked.events() == [("payment.succeeded", first["id"]), ("payment.succeeded", again["id"])]

    held = api.post("/payments", payment_body(capture=False, confirmation=None, payment_method_id=first["id"]))
    assert held.json()["status"] == "waiting_for_capture"


def test_unsaved_card_cannot_be_reused(api: Api) -> None:
    first = api.create()
    paid = api.succeed(first["id"])
    assert paid["payment_method"]["saved"] is False
    reuse = api.post("/payments", payment_body(confirmation=None, payment_method_id=first["id"]))
    assert_error(reuse, 400, "invalid_request", "payment_method_id")


def test_declined_payment_does_not_save_the_card(api: Api) -> None:
    first = api.create(save_payment_method=True)
    declined = api.succeed(first["id"], card="5555555555554600")
    assert declined["status"] == "canceled"
    assert declined["payment_method"]["saved"] is False
    reuse = api.post("/payments", payment_body(confirmation=None, payment_method_id=first["id"]))
    assert_error(reuse, 400, "invalid_request", "payment_method_id")


def test_refunds_keep_refunded_amount_and_refundable(api: Api, hooked: Receiver) -> None:
    payment = api.create()
    api.succeed(payment["id"])

    def refund(value: str) -> dict:
        return dict(api.post("/refunds", {"payment_id": payment["id"], "amount": money(value)}).json())

    first = refund("500.00")
    assert first["status"] == "succeeded"
    state = api.payment(payment["id"])
    assert state["refunded_amount"] == money("500.00")
    assert state["refundable"] is True
    too_much = api.post("/refunds", {"payment_id": payment["id"], "amount": money("1000.01")})
    assert_error(too_much, 400, "invalid_request", "amount.value")
    refund("999.99")
    refund("0.01")
    state = api.payment(payment["id"])
    assert state["refunded_amount"] == money("1500.00")
    assert state["refundable"] is False
    assert state["status"] == "succeeded"
    done = api.post("/refunds", {"payment_id": payment["id"], "amount": money("0.01")})
    assert assert_error(done, 400, "invalid_request")["description"] == "Payment is already completely refunded"
    hooked.wait_for(4)
    assert [event for event, _ in hooked.events()] == ["payment.succeeded"] + ["refund.succeeded"] * 3


def test_refund_preconditions(api: Api) -> None:
    pending = api.create()
    r = api.post("/refunds", {"payment_id": pending["id"], "amount": money("1.00")})
    assert_error(r, 400, "invalid_request", "payment_id")
    r = api.post("/refunds", {"payment_id": "22e12f66-000f-5000-8000-18db351245c7", "amount": money("1.00")})
    assert_error(r, 400, "invalid_request", "payment_id")
    assert_error(api.post("/refunds", {"amount": money("1.00")}), 400, "invalid_request", "payment_id")
    api.succeed(pending["id"])
    assert_error(api.post("/refunds", {"payment_id": pending["id"]}), 400, "invalid_request", "amount")
    r = api.post("/refunds", {"payment_id": pending["id"], "amount": money("1.00"), "description": "x" * 251})
    assert_error(r, 400, "invalid_request", "description")
    r = api.post("/refunds", {"payment_id": pending["id"], "amount": money("1.00"), "metadata": {"a": "b"}})
    assert r.json()["metadata"] == {"a": "b"}


def test_refund_of_partially_captured_payment(api: Api) -> None:
    payment = api.create(capture=False)
    api.succeed(payment["id"])
    api.post(f"/payments/{payment['id']}/capture", {"amount": money("100.00")})
    over = api.post("/refunds", {"payment_id": payment["id"], "amount": money("100.01")})
    assert_error(over, 400, "invalid_request")
    assert api.post("/refunds", {"payment_id": payment["id"], "amount": money("100.00")}).status_code == 200


# ------------------------------------------------------------------------------------------ helpers
def test_helper_cancel_validates_reason_and_party(api: Api) -> None:
    payment = api.create()
    path = f"/sandbox/payments/{payment['id']}/cancel"
    assert_error(api.helper("POST", path, {"reason": "bored"}), 400, "invalid_request", "reason")
    assert_error(api.helper("POST", path, {"party": "bank"}), 400, "invalid_request", "party")
    canceled = api.helper("POST", path, {"reason": "insufficient_funds", "party": "payment_network"}).json()
    assert canceled["cancellation_details"] == {"party": "payment_network", "reason": "insufficient_funds"}
    assert_error(api.helper("POST", path, {}), 400, "invalid_request")


def test_helper_cancel_defaults(api: Api) -> None:
    payment = api.create()
    canceled = api.helper("POST", f"/sandbox/payments/{payment['id']}/cancel", None).json()
    assert canceled["cancellation_details"] == {"party": "payment_network", "reason": "general_decline"}


def test_helper_succeed_and_expire_states(api: Api) -> None:
    payment = api.create()
    api.succeed(payment["id"])
    assert_error(api.helper("POST", f"/sandbox/payments/{payment['id']}/succeed", {}), 400, "invalid_request")
    assert_error(api.helper("POST", f"/sandbox/payments/{payment['id']}/expire", {}), 400, "invalid_request")
    assert_error(api.helper("POST", "/sandbox/payments/nope/succeed", {}), 404, "not_found")
    other = api.create()
    assert_error(
        api.helper("POST", f"/sandbox/payments/{other['id']}/succeed", {"card": "12"}), 400, "invalid_request"
    )
    held = api.create(capture=False)
    api.succeed(held["id"])
    expired = api.helper("POST", f"/sandbox/payments/{held['id']}/expire", {}).json()
    assert expired["cancellation_details"] == {"party": "yoo_money", "reason": "expired_on_capture"}


def test_helper_succeed_behaves_like_the_checkout(api: Api) -> None:
    declined = api.succeed(api.create()["id"], card="5555555555554584")
    assert declined["cancellation_details"] == {"party": "yoo_money", "reason": "country_forbidden"}
    unknown = api.succeed(api.create()["id"], card="1234567812345678")
    assert unknown["cancellation_details"] == {"party": "payment_network", "reason": "invalid_card_number"}
    three_ds = api.succeed(api.create()["id"], card="2200000000000004")
    assert three_ds["status"] == "succeeded"
    assert three_ds["authorization_details"]["three_d_secure"]["applied"] is True
    assert three_ds["payment_method"]["card"]["card_type"] == "Mir"


def test_clock(api: Api, sandbox: Sandbox) -> None:
    before = api.helper("GET", "/sandbox/clock").json()
    after = api.advance(3600)
    assert (parse_time(after["now"]) - parse_time(before["now"])).total_seconds() >= 3600
    assert_error(api.helper("POST", "/sandbox/clock", {"advanceSeconds": -1}), 400, "invalid_request")
    assert_error(api.helper("POST", "/sandbox/clock", {"advanceSeconds": "1"}), 400, "invalid_request")
    payment = api.create()
    assert parse_time(payment["created_at"]) >= parse_time(after["now"])


def test_reset_forgets_everything(api: Api, sandbox: Sandbox) -> None:
    payment = api.create(save_payment_method=True)
    api.succeed(payment["id"])
    api.advance(86400)
    api.helper("POST", "/sandbox/faults", {"route": "GET /v3/me", "fault": "500"})
    reset = api.helper("POST", "/sandbox/reset").json()
    assert abs(reset["offsetSeconds"]) < 5
    assert api.helper("GET", "/sandbox/faults").json() == {"items": []}
    assert api.get("/me").status_code == 200
    assert_error(api.get(f"/payments/{payment['id']}"), 404, "not_found")
    reuse = api.post("/payments", payment_body(confirmation=None, payment_method_id=payment["id"]))
    assert_error(reuse, 400, "invalid_request")
    assert api.webhook_log() == []
