"""Plain HTTP: what the SDK hides — idempotency, status codes, every validation limit, object shape."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from local.yookassa_sandbox import Sandbox
from tests.sandbox.support import ID_PATTERN, Api, assert_error, assert_no_nulls, parse_time, payment_body


# ------------------------------------------------------------------------------------------ idempotency
def test_replay_returns_the_current_state(api: Api) -> None:
    key = str(uuid.uuid4())
    created = api.create(key=key, capture=False)
    assert created["status"] == "pending"
    api.succeed(created["id"])
    replay = api.post("/payments", payment_body(capture=False), key=key)
    assert replay.status_code == 200
    assert replay.json()["id"] == created["id"]
    assert replay.json()["status"] == "waiting_for_capture"
    assert len(api.all_payments()) == 1


def test_bodies_are_compared_as_json_not_bytes(api: Api, sandbox: Sandbox) -> None:
    key = str(uuid.uuid4())
    created = api.create(key=key)
    reordered = dict(reversed(list(payment_body().items())))
    raw = json.dumps(reordered, indent=4, ensure_ascii=True)
    response = requests.post(
        f"{sandbox.api_url}/payments",
        data=raw.encode(),
        headers={"Idempotence-Key": key, "Content-Type": "application/json"},
        auth=api.auth,
        timeout=5,
    )
    assert response.status_code == 200
    assert response.json()["id"] == created["id"]


def test_same_key_different_body_is_duplicated(api: Api) -> None:
    key = str(uuid.uuid4())
    api.create(key=key)
    response = api.post("/payments", payment_body(value="1.00"), key=key)
    body = assert_error(response, 400, "invalid_request", "Idempotence-Key")
    assert body["description"] == "Idempotence key duplicated"
    assert len(api.all_payments()) == 1


@pytest.mark.parametrize("key", [None, ""])
def test_missing_key(api: Api, key: str | None) -> None:
    response = api.post("/payments", payment_body(), key=key)
    body = assert_error(response, 400, "invalid_request", "Idempotence-Key")
    assert body["description"] == "Idempotence key is empty"


def test_key_length_limit(api: Api) -> None:
    assert api.post("/payments", payment_body(), key="k" * 64).status_code == 200
    response = api.post("/payments", payment_body(), key="k" * 65)
    assert_error(response, 400, "invalid_request", "Idempotence-Key")


def test_keys_are_scoped_per_endpoint(api: Api) -> None:
    key = str(uuid.uuid4())
    payment = api.create(key=key, capture=False)
    api.succeed(payment["id"])
    # the same key on another endpoint with another body is a different operation
    canceled = api.post(f"/payments/{payment['id']}/cancel", {}, key=key)
    assert canceled.status_code == 200, canceled.text
    assert canceled.json()["status"] == "canceled"
    refund_attempt = api.post("/refunds", {"payment_id": payment["id"]}, key=key)
    assert refund_attempt.json()["parameter"] != "Idempotence-Key"


def test_keys_expire_after_24_hours(api: Api) -> None:
    key = str(uuid.uuid4())
    first = api.create(key=key)
    api.advance(24 * 3600 - 5)
    assert api.create(key=key)["id"] == first["id"]
    api.advance(10)
    second = api.create(key=key)
    assert second["id"] != first["id"]


def test_validation_errors_are_not_remembered(api: Api) -> None:
    key = str(uuid.uuid4())
    assert api.post("/payments", payment_body(value="0.00"), key=key).status_code == 400
    assert api.post("/payments", payment_body(value="0.00"), key=key).status_code == 400
    assert api.post("/payments", payment_body(), key=key).status_code == 200


def test_capture_replay_returns_the_captured_payment(api: Api) -> None:
    payment = api.create(capture=False)
    api.succeed(payment["id"])
    key = str(uuid.uuid4())
    first = api.post(f"/payments/{payment['id']}/capture", None, key=key)
    second = api.post(f"/payments/{payment['id']}/capture", None, key=key)
    assert first.status_code == second.status_code == 200
    assert second.json()["status"] == "succeeded"
    other_key = api.post(f"/payments/{payment['id']}/capture", None)
    assert_error(other_key, 400, "invalid_request")
    assert other_key.json()["description"] == "Payment can not be captured in current status."


# ------------------------------------------------------------------------------------------ HTTP semantics
def test_unauthenticated(sandbox: Sandbox) -> None:
    url = f"{sandbox.api_url}/payments"
    for auth in (None, (sandbox.shop_id, "wrong"), ("654321", sandbox.secret_key)):
        response = requests.get(url, auth=auth, timeout=5)
        assert_error(response, 401, "invalid_credentials")
    bearer = requests.get(url, headers={"Authorization": "Bearer abc"}, timeout=5)
    assert_error(bearer, 401, "invalid_credentials")
    garbage = requests.get(url, headers={"Authorization": "Basic !!!"}, timeout=5)
    assert_error(garbage, 401, "invalid_credentials")
    token = base64.b64encode(f"{sandbox.shop_id}:{sandbox.secret_key}".encode()).decode()
    assert requests.get(url, headers={"Authorization": f"Basic {token}"}, timeout=5).status_code == 200


def test_wrong_method_is_405(api: Api, sandbox: Sandbox) -> None:
    payment = api.create()
    response = api.get(f"/payments/{payment['id']}/cancel")
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]
    response = requests.delete(f"{sandbox.api_url}/payments", auth=api.auth, timeout=5)
    assert response.status_code == 405
    response = requests.put(f"{sandbox.api_url}/me", auth=api.auth, json={}, timeout=5)
    assert response.status_code == 405


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"])
def test_non_json_post_is_415(sandbox: Sandbox, api: Api, content_type: str) -> None:
    response = requests.post(
        f"{sandbox.api_url}/payments",
        data=json.dumps(payment_body()),
        headers={"Content-Type": content_type, "Idempotence-Key": "k"},
        auth=api.auth,
        timeout=5,
    )
    assert response.status_code == 415
    assert response.json()["type"] == "error"


def test_json_with_charset_is_fine(sandbox: Sandbox, api: Api) -> None:
    response = requests.post(
        f"{sandbox.api_url}/payments",
        data=json.dumps(payment_body()).encode(),
        headers={"Content-Type": "application/json; charset=utf-8", "Idempotence-Key": "k"},
        auth=api.auth,
        timeout=5,
    )
    assert response.status_code == 200


@pytest.mark.parametrize("raw", [b"{", b"{'a': 1}", b"[1,", b"\xff\xfe", b'{"amount": NaN}'])
def test_malformed_json_is_400(sandbox: Sandbox, api: Api, raw: bytes) -> None:
    response = requests.post(
        f"{sandbox.api_url}/payments",
        data=raw,
        headers={"Content-Type": "application/json", "Idempotence-Key": "k"},
        auth=api.auth,
        timeout=5,
    )
    assert_error(response, 400, "invalid_request")


def test_json_that_is_not_an_object_is_400(api: Api) -> None:
    assert_error(api.post("/payments", [1, 2]), 400, "invalid_request")
    assert_error(api.post("/refunds", "x"), 400, "invalid_request")


def test_bodyless_capture_and_cancel_with_json_content_type(sandbox: Sandbox, api: Api) -> None:
    """What the SDK sends for cancel() and capture() without params."""
    for action in ("capture", "cancel"):
        payment = api.create(capture=False)
        api.succeed(payment["id"])
        response = requests.post(
            f"{sandbox.api_url}/payments/{payment['id']}/{action}",
            headers={"Content-type": "application/json", "Idempotence-Key": str(uuid.uuid4())},
            auth=api.auth,
            timeout=5,
        )
        assert response.status_code == 200, response.text
        assert response.json()["status"] == ("succeeded" if action == "capture" else "canceled")


def test_not_found(api: Api, sandbox: Sandbox) -> None:
    assert_error(api.get("/payments/22e12f66-000f-5000-8000-18db351245c7"), 404, "not_found")
    assert_error(api.get("/refunds/216749f7-0016-50be-b000-078d43a63ae4"), 404, "not_found")
    assert_error(api.post("/payments/nope/capture", {}), 404, "not_found")
    assert_error(api.post("/payments/nope/cancel", {}), 404, "not_found")
    assert_error(api.get("/nothing/here"), 404, "not_found")
    assert requests.get(f"{sandbox.base_url}/nothing", timeout=5).status_code == 404
    assert requests.get(f"{sandbox.base_url}/sandbox/nothing", timeout=5).status_code == 404


def test_root_answers(sandbox: Sandbox) -> None:
    about = requests.get(sandbox.base_url, timeout=5).json()
    assert about["api_url"] == sandbox.api_url
    assert sandbox.secret_key not in json.dumps(about)


# ------------------------------------------------------------------------------------------ validation
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1.5", "1.50"),
        ("1", "1.00"),
        ("1.00", "1.00"),
        ("100.1", "100.10"),
        ("350000.00", "350000.00"),
        ("350000", "350000.00"),
    ],
)
def test_accepted_amounts(api: Api, value: str, expected: str) -> None:
    assert api.create(value=value)["amount"] == {"value": expected, "currency": "RUB"}


@pytest.mark.parametrize(
    "value", ["1.505", "0.00", "0", "-1", "-1.00", "abc", "", "1,00", " 1.00", "1.", ".5", "1e3", "01.00"]
)
def test_malformed_or_non_positive_amounts(api: Api, value: str) -> None:
    assert_error(api.post("/payments", payment_body(value=value)), 400, "invalid_request", "amount.value")


@pytest.mark.parametrize("value", ["350000.01", "0.99", "0.01", "1000000.00"])
def test_bank_card_limits(api: Api, value: str) -> None:
    body = assert_error(
        api.post("/payments", payment_body(value=value)), 400, "invalid_request", "amount.value"
    )
    assert "350000.00" in body["description"]


def test_amount_as_json_number_is_exact(api: Api) -> None:
    body = payment_body()
    body["amount"]["value"] = 10
    assert api.post("/payments", body).json()["amount"]["value"] == "10.00"
    raw = json.dumps(payment_body()).replace('"1500.00"', "1500.005")
    response = api.session.post(
        f"{api.sandbox.api_url}/payments",
        data=raw,
        headers={"Content-Type": "application/json", "Idempotence-Key": "n"},
        auth=api.auth,
        timeout=5,
    )
    assert_error(response, 400, "invalid_request", "amount.value")


def test_currency(api: Api) -> None:
    body = payment_body()
    body["amount"]["currency"] = "USD"
    assert_error(api.post("/payments", body), 400, "invalid_request", "amount.currency")
    del body["amount"]["currency"]
    assert_error(api.post("/payments", body), 400, "invalid_request", "amount.currency")


def test_amount_missing_or_wrong_type(api: Api) -> None:
    assert_error(api.post("/payments", payment_body(amount=None)), 400, "invalid_request", "amount")
    assert_error(api.post("/payments", payment_body(amount="1500.00")), 400, "invalid_request", "amount")
    assert_error(api.post("/payments", payment_body(amount={"currency": "RUB"})), 400, "invalid_request")


def test_description_length(api: Api) -> None:
    assert api.create(description="д" * 128)["description"] == "д" * 128
    body = assert_error(
        api.post("/payments", payment_body(description="д" * 129)), 400, "invalid_request", "description"
    )
    assert body["description"] == "Description is too long. Max. length is 128"


def test_metadata_limits(api: Api) -> None:
    sixteen = {f"k{i}": "v" for i in range(16)}
    assert api.create(metadata=sixteen)["metadata"] == sixteen
    seventeen = {f"k{i}": "v" for i in range(17)}
    assert_error(api.post("/payments", payment_body(metadata=seventeen)), 400, "invalid_request", "metadata")
    assert api.create(metadata={"n" * 32: "v"})["metadata"] == {"n" * 32: "v"}
    assert_error(
        api.post("/payments", payment_body(metadata={"n" * 33: "v"})), 400, "invalid_request", "metadata"
    )
    assert api.create(metadata={"k": "v" * 512})["metadata"] == {"k": "v" * 512}
    assert_error(
        api.post("/payments", payment_body(metadata={"k": "v" * 513})), 400, "invalid_request", "metadata"
    )
    assert_error(api.post("/payments", payment_body(metadata={"k": 1})), 400, "invalid_request", "metadata")
    assert_error(api.post("/payments", payment_body(metadata=["k"])), 400, "invalid_request", "metadata")


def test_sdk_quirks_are_accepted(api: Api) -> None:
    created = api.create(metadata={"cms_name": "yookassa_sdk_python"}, transfers=[], statements=[])
    assert created["metadata"] == {"cms_name": "yookassa_sdk_python"}
    assert "transfers" not in created


def test_confirmation_rules(api: Api) -> None:
    body = assert_error(api.post("/payments", payment_body(confirmation=None)), 400, "invalid_request")
    assert body["parameter"] == "confirmation"
    no_url = payment_body(confirmation={"type": "redirect"})
    assert_error(api.post("/payments", no_url), 400, "invalid_request", "confirmation.return_url")
    embedded = payment_body(confirmation={"type": "embedded"})
    assert_error(api.post("/payments", embedded), 400, "invalid_request", "confirmation.type")
    unknown = payment_body(confirmation={"type": "telepathy", "return_url": "https://x"})
    assert_error(api.post("/payments", unknown), 400, "invalid_request", "confirmation.type")
    enforced = api.create(confirmation={"type": "redirect", "return_url": "https://x", "enforce": True})
    assert enforced["confirmation"]["enforce"] is True


def test_payment_method_id_rules(api: Api) -> None:
    unknown = payment_body(confirmation=None, payment_method_id="22e12f66-000f-5000-8000-18db351245c7")
    assert_error(api.post("/payments", unknown), 400, "invalid_request", "payment_method_id")
    first = api.create(save_payment_method=True)
    api.succeed(first["id"])
    both = payment_body(payment_method_id=first["id"])
    body = assert_error(api.post("/payments", both), 400, "invalid_request", "confirmation")
    assert body["description"] == "Confirmation must be null when using payment_method_id"
    with_data = payment_body(
        confirmation=None, payment_method_id=first["id"], payment_method_data={"type": "bank_card"}
    )
    assert_error(api.post("/payments", with_data), 400, "invalid_request")


def test_payment_method_data(api: Api) -> None:
    created = api.create(payment_method_data={"type": "bank_card"})
    assert created["payment_method"] == {
        "type": "bank_card",
        "id": created["id"],
        "saved": False,
        "status": "inactive",
    }
    raw_card = payment_body(payment_method_data={"type": "bank_card", "card": {"number": "5555555555554444"}})
    assert_error(api.post("/payments", raw_card), 403, "forbidden")
    wallet = payment_body(payment_method_data={"type": "sbp"})
    assert_error(api.post("/payments", wallet), 400, "invalid_request")


@pytest.mark.parametrize("name", ["capture", "save_payment_method"])
def test_booleans_must_be_booleans(api: Api, name: str) -> None:
    body = payment_body()
    body[name] = "true"
    assert_error(api.post("/payments", body), 400, "invalid_request", name)


# ------------------------------------------------------------------------------------------ lists
def test_list_query_validation(api: Api) -> None:
    for limit in ("0", "101", "abc", "-1"):
        assert_error(api.get("/payments", {"limit": limit}), 400, "invalid_request", "limit")
    assert_error(api.get("/payments", {"cursor": "garbage"}), 400, "invalid_request", "cursor")
    assert_error(api.get("/payments", {"status": "paid"}), 400, "invalid_request", "status")
    assert_error(
        api.get("/payments", {"created_at.gte": "yesterday"}), 400, "invalid_request", "created_at.gte"
    )
    assert api.get("/payments", {"limit": "100"}).json() == {"type": "list", "items": []}


def test_list_created_at_filters(api: Api) -> None:
    old = api.create()
    api.advance(3600)
    middle = api.create()
    api.advance(3600)
    new = api.create()
    boundary = middle["created_at"]
    ids = lambda params: [p["id"] for p in api.get("/payments", params).json()["items"]]  # noqa: E731
    assert ids({"created_at.gte": boundary}) == [new["id"], middle["id"]]
    assert ids({"created_at.gt": boundary}) == [new["id"]]
    assert ids({"created_at.lte": boundary}) == [middle["id"], old["id"]]
    assert ids({"created_at.lt": boundary}) == [old["id"]]
    assert ids({"created_at.gt": old["created_at"], "created_at.lt": new["created_at"]}) == [middle["id"]]
    offset = parse_time(boundary).astimezone().isoformat()
    assert ids({"created_at.gte": offset}) == [new["id"], middle["id"]]


def test_list_limit_and_cursor(api: Api) -> None:
    created = [api.create()["id"] for _ in range(25)]
    page = api.get("/payments").json()
    assert len(page["items"]) == 10  # default limit
    assert "next_cursor" in page
    exact = api.get("/payments", {"limit": 25}).json()
    assert "next_cursor" not in exact
    assert [p["id"] for p in exact["items"]] == list(reversed(created))
    second = api.get("/payments", {"limit": 10, "cursor": page["next_cursor"]}).json()
    assert [p["id"] for p in second["items"]] == list(reversed(created))[10:20]


def test_refund_list_filters(api: Api) -> None:
    one, two = api.create(), api.create()
    for payment in (one, two):
        api.succeed(payment["id"])
    r1 = api.post("/refunds", {"payment_id": one["id"], "amount": {"value": "1.00", "currency": "RUB"}}).json()
    r2 = api.post("/refunds", {"payment_id": two["id"], "amount": {"value": "2.00", "currency": "RUB"}}).json()
    assert [r["id"] for r in api.get("/refunds").json()["items"]] == [r2["id"], r1["id"]]
    assert [r["id"] for r in api.get("/refunds", {"payment_id": one["id"]}).json()["items"]] == [r1["id"]]
    assert api.get("/refunds", {"status": "canceled"}).json()["items"] == []
    page = api.get("/refunds", {"limit": 1}).json()
    rest = api.get("/refunds", {"limit": 1, "cursor": page["next_cursor"]}).json()
    assert [r["id"] for r in rest["items"]] == [r1["id"]]
    assert "next_cursor" not in rest
    assert_error(api.get("/refunds", {"status": "done"}), 400, "invalid_request", "status")


# ------------------------------------------------------------------------------------------ object shape
def test_ids_and_timestamps_have_yookassas_shape(api: Api) -> None:
    payment = api.create()
    assert len(payment["id"]) == 36
    assert ID_PATTERN.match(payment["id"])
    created = parse_time(payment["created_at"])
    since_2000 = int((created - datetime(2000, 1, 1, 12, tzinfo=UTC)).total_seconds())
    assert abs(int(payment["id"][:8], 16) - since_2000) <= 1
    api.succeed(payment["id"])
    refund = api.post("/refunds", {"payment_id": payment["id"], "amount": {"value": "1.00", "currency": "RUB"}})
    assert ID_PATTERN.match(refund.json()["id"])
    parse_time(refund.json()["created_at"])


def test_no_nulls_and_real_booleans_anywhere(api: Api, sandbox: Sandbox) -> None:
    objects: list[Any] = []
    pending = api.create(metadata={"a": "b"})
    objects.append(pending)
    held = api.create(capture=False, save_payment_method=True)
    objects.append(api.succeed(held["id"]))
    objects.append(
        api.post(f"/payments/{held['id']}/capture", {"amount": {"value": "100.00", "currency": "RUB"}}).json()
    )
    canceled = api.create(capture=False)
    api.succeed(canceled["id"], card="4111111111111111")
    objects.append(api.post(f"/payments/{canceled['id']}/cancel", {}).json())
    declined = api.create()
    objects.append(api.succeed(declined["id"], card="5555555555554600"))
    expired = api.create()
    objects.append(api.helper("POST", f"/sandbox/payments/{expired['id']}/expire", {}).json())
    objects.append(api.post("/payments", payment_body(confirmation=None, payment_method_id=held["id"])).json())
    objects.append(
        api.post("/refunds", {"payment_id": held["id"], "amount": {"value": "1.00", "currency": "RUB"}}).json()
    )
    objects.append(api.get("/payments", {"limit": 100}).json())
    objects.append(api.get("/refunds").json())
    objects.append(api.get("/me").json())
    objects.append(api.get("/payments/nope").json())
    for obj in objects:
        assert_no_nulls(obj)
    for payment in api.all_payments():
        for flag in ("paid", "refundable", "test"):
            assert type(payment[flag]) is bool
        if "payment_method" in payment:
            assert type(payment["payment_method"]["saved"]) is bool


def test_payment_shape_per_status(api: Api) -> None:
    pending = api.create(capture=False)
    assert {"confirmation", "expires_at"} <= set(pending)
    assert not {
        "income_amount",
        "refunded_amount",
        "captured_at",
        "cancellation_details",
        "payment_method",
    } & set(pending)
    held = api.succeed(pending["id"])
    assert "confirmation" not in held
    assert held["paid"] is True and held["refundable"] is False
    expires = parse_time(held["expires_at"]) - parse_time(held["created_at"])
    assert 7 * 86400 - 5 <= expires.total_seconds() <= 7 * 86400 + 5
    assert held["authorization_details"]["three_d_secure"]["applied"] is False
    done = api.post(f"/payments/{pending['id']}/capture", {}).json()
    assert {"income_amount", "refunded_amount", "captured_at"} <= set(done)
    assert "expires_at" not in done
    assert done["income_amount"] == {"value": "1447.50", "currency": "RUB"}


@pytest.mark.parametrize(
    ("value", "income"), [("1.00", "0.96"), ("100.00", "96.50"), ("1500.00", "1447.50"), ("10.01", "9.66")]
)
def test_income_amount_is_integer_kopeck_arithmetic(api: Api, value: str, income: str) -> None:
    payment = api.create(value=value)
    assert api.succeed(payment["id"])["income_amount"] == {"value": income, "currency": "RUB"}


def test_me(api: Api, sandbox: Sandbox) -> None:
    me = api.get("/me").json()
    assert me["account_id"] == sandbox.shop_id
    assert me["test"] is True
    assert me["fiscalization_enabled"] is False
    assert me["status"] == "enabled"
    assert me["payment_methods"] == ["bank_card"]


def test_sandbox_overview(api: Api, sandbox: Sandbox) -> None:
    api.create()
    overview = requests.get(f"{sandbox.base_url}/sandbox", timeout=5).json()
    assert overview["payments"] == 1
