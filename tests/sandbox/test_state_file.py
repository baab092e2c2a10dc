"""``state_file``: payments, refunds, idempotency keys, saved cards and the clock survive a restart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from local.yookassa_sandbox import start_sandbox
from tests.sandbox.support import Api, assert_error, parse_time, payment_body


def test_state_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "sandbox-state.json"
    with start_sandbox(state_file=str(state)) as first:
        api = Api(first)
        payment = api.create(key="order-1", save_payment_method=True)
        api.succeed(payment["id"])
        refund = api.post(
            "/refunds", {"payment_id": payment["id"], "amount": {"value": "100.00", "currency": "RUB"}}
        )
        pending = api.create(key="order-2")
        clock = api.advance(600)
    assert state.exists()
    assert list(tmp_path.iterdir()) == [state]  # written atomically: no temp files left behind
    saved = json.loads(state.read_text())
    assert saved["version"] == 1
    assert "5555555555554444" not in state.read_text()  # only first6/last4 are kept

    with start_sandbox(state_file=state) as second:
        api = Api(second)
        again = api.payment(payment["id"])
        assert again["status"] == "succeeded"
        assert again["refunded_amount"] == {"value": "100.00", "currency": "RUB"}
        assert api.get(f"/refunds/{refund.json()['id']}").status_code == 200
        # the idempotency key still answers with the same payment...
        replay = api.post("/payments", payment_body(save_payment_method=True), key="order-1")
        assert replay.json()["id"] == payment["id"]
        # ...and still refuses another body
        assert_error(api.post("/payments", payment_body(value="1.00"), key="order-1"), 400, "invalid_request")
        # the saved card still pays
        body = payment_body(confirmation=None, payment_method_id=payment["id"])
        assert api.post("/payments", body).json()["status"] == "succeeded"
        # the clock kept its offset, and expiry still runs
        now = parse_time(api.helper("GET", "/sandbox/clock").json()["now"])
        assert (now - parse_time(clock["now"])).total_seconds() >= 0
        assert api.payment(pending["id"])["status"] == "pending"
        api.advance(3600)
        assert api.payment(pending["id"])["status"] == "canceled"
        # new payments continue the order of the list
        newest = api.create()
        assert api.get("/payments", {"limit": 1}).json()["items"][0]["id"] == newest["id"]

    with start_sandbox(state_file=state) as third:
        api = Api(third)
        assert len(api.all_payments()) == 4
        api.helper("POST", "/sandbox/reset")
    assert json.loads(state.read_text())["payments"] == []


def test_without_a_state_file_nothing_is_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with start_sandbox() as sandbox:
        Api(sandbox).create()
    assert list(tmp_path.iterdir()) == []
