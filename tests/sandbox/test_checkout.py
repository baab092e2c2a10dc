"""The hosted checkout page over plain HTTP: every official test card, the 3-D Secure step, bad input."""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from local.yookassa_sandbox import Sandbox
from local.yookassa_sandbox.cards import TEST_CARDS
from tests.sandbox.support import Api, Receiver

PAY = "/checkout/payments/v2/contract/pay"
THREE_DS = "/checkout/payments/v2/contract/3ds"
RETURN = "https://shop.example/return?order=1"


def open_page(sandbox: Sandbox, payment: dict) -> requests.Response:
    url = payment["confirmation"]["confirmation_url"]
    assert url.startswith(f"{sandbox.base_url}/checkout/payments/v2/contract?orderId=")
    return requests.get(url, timeout=5)


def pay(
    sandbox: Sandbox, payment_id: str, card: str, expiry: str = "12/30", cvc: str = "123"
) -> requests.Response:
    return requests.post(
        f"{sandbox.base_url}{PAY}",
        data={"orderId": payment_id, "cardNumber": card, "expiry": expiry, "cvc": cvc},
        allow_redirects=False,
        timeout=5,
    )


def confirm_3ds(
    sandbox: Sandbox, location: str, code: str = "123456", action: str = "confirm"
) -> requests.Response:
    query = parse_qs(urlsplit(location).query)
    page = requests.get(f"{sandbox.base_url}{location}", timeout=5)
    assert page.status_code == 200
    assert "Подтвердить" in page.text
    return requests.post(
        f"{sandbox.base_url}{THREE_DS}",
        data={"orderId": query["orderId"][0], "token": query["token"][0], "code": code, "action": action},
        allow_redirects=False,
        timeout=5,
    )


def test_page_shows_shop_amount_and_description(api: Api, sandbox: Sandbox) -> None:
    payment = api.create(description="Уборка <квартиры> & окон")
    page = open_page(sandbox, payment)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "1 500,00 ₽" in page.text
    assert "Уборка &lt;квартиры&gt; &amp; окон" in page.text
    assert f"Тестовый магазин {sandbox.shop_id}" in page.text
    for field in ('name="cardNumber"', 'name="expiry"', 'name="cvc"', f'action="{PAY}"'):
        assert field in page.text
    assert 'lang="ru"' in page.text


def test_large_amount_format(api: Api, sandbox: Sandbox) -> None:
    assert "350 000,00 ₽" in open_page(sandbox, api.create(value="350000.00")).text
    assert "1,50 ₽" in open_page(sandbox, api.create(value="1.5")).text


SUCCESS = [n for n, o in TEST_CARDS.items() if o.succeeds and not o.three_d_secure]
SUCCESS_3DS = [n for n, o in TEST_CARDS.items() if o.succeeds and o.three_d_secure]
DECLINES = [(n, o.party, o.reason, o.three_d_secure) for n, o in TEST_CARDS.items() if not o.succeeds]


@pytest.mark.parametrize("card", SUCCESS)
def test_success_cards(api: Api, sandbox: Sandbox, card: str) -> None:
    payment = api.create(confirmation={"type": "redirect", "return_url": RETURN})
    response = pay(sandbox, payment["id"], " ".join(re.findall(".{1,4}", card)))
    assert response.status_code == 303
    assert response.headers["Location"] == RETURN
    paid = api.payment(payment["id"])
    assert paid["status"] == "succeeded"
    assert paid["payment_method"]["card"]["last4"] == card[-4:]
    assert paid["payment_method"]["card"]["first6"] == card[:6]
    assert paid["payment_method"]["card"]["expiry_month"] == "12"
    assert paid["payment_method"]["card"]["expiry_year"] == "2030"
    assert paid["authorization_details"]["three_d_secure"]["applied"] is False


@pytest.mark.parametrize("card", SUCCESS_3DS)
def test_three_d_secure_cards(api: Api, sandbox: Sandbox, card: str) -> None:
    payment = api.create(capture=False, confirmation={"type": "redirect", "return_url": RETURN})
    response = pay(sandbox, payment["id"], card)
    assert response.status_code == 303
    assert response.headers["Location"].startswith(f"{THREE_DS}?orderId={payment['id']}&token=")
    assert api.payment(payment["id"])["status"] == "pending"  # not paid before the 3-D Secure step
    done = confirm_3ds(sandbox, response.headers["Location"])
    assert done.status_code == 303
    assert done.headers["Location"] == RETURN
    held = api.payment(payment["id"])
    assert held["status"] == "waiting_for_capture"
    assert held["authorization_details"]["three_d_secure"]["applied"] is True


def test_three_d_secure_needs_a_code_and_can_be_refused(api: Api, sandbox: Sandbox) -> None:
    payment = api.create(confirmation={"type": "redirect", "return_url": RETURN})
    location = pay(sandbox, payment["id"], "5555555555554477").headers["Location"]
    empty = confirm_3ds(sandbox, location, code="")
    assert empty.status_code == 400
    assert "Введите код" in empty.text
    refused = confirm_3ds(sandbox, location, action="cancel")
    assert refused.headers["Location"] == RETURN
    canceled = api.payment(payment["id"])
    assert canceled["cancellation_details"] == {"party": "payment_network", "reason": "3d_secure_failed"}
    # the session is gone: the 3-D Secure page now sends the browser back to the final state
    stale = requests.get(f"{sandbox.base_url}{location}", allow_redirects=False, timeout=5)
    assert stale.status_code == 303


@pytest.mark.parametrize(("card", "party", "reason", "three_d_secure"), DECLINES)
def test_decline_cards(
    api: Api, sandbox: Sandbox, card: str, party: str, reason: str, three_d_secure: bool
) -> None:
    payment = api.create(confirmation={"type": "redirect", "return_url": RETURN})
    response = pay(sandbox, payment["id"], card)
    assert response.status_code == 303
    if three_d_secure:
        response = confirm_3ds(sandbox, response.headers["Location"])
    assert response.headers["Location"] == RETURN
    canceled = api.payment(payment["id"])
    assert canceled["status"] == "canceled"
    assert canceled["cancellation_details"] == {"party": party, "reason": reason}
    assert canceled["paid"] is False
    assert canceled["payment_method"]["card"]["last4"] == card[-4:]


def test_unknown_card_is_invalid_card_number(api: Api, sandbox: Sandbox) -> None:
    payment = api.create()
    assert pay(sandbox, payment["id"], "4000 0000 0000 0002").status_code == 303
    details = api.payment(payment["id"])["cancellation_details"]
    assert details == {"party": "payment_network", "reason": "invalid_card_number"}


@pytest.mark.parametrize(
    ("card", "expiry", "cvc", "message"),
    [
        ("1234", "12/30", "123", "номер карты"),
        ("abcd efgh ijkl mnop", "12/30", "123", "номер карты"),
        ("", "12/30", "123", "номер карты"),
        ("5555555555554444", "13/30", "123", "срок действия"),
        ("5555555555554444", "01/20", "123", "срок действия"),
        ("5555555555554444", "1230", "123", "срок действия"),
        ("5555555555554444", "12/30", "12", "CVC"),
        ("5555555555554444", "12/30", "abc", "CVC"),
    ],
)
def test_form_errors_keep_the_payment_pending(
    api: Api, sandbox: Sandbox, card: str, expiry: str, cvc: str, message: str
) -> None:
    payment = api.create()
    response = pay(sandbox, payment["id"], card, expiry, cvc)
    assert response.status_code == 400
    assert message in response.text
    assert 'name="cardNumber"' in response.text
    assert api.payment(payment["id"])["status"] == "pending"


def test_four_digit_year_and_this_month_are_fine(api: Api, sandbox: Sandbox) -> None:
    payment = api.create()
    now = api.helper("GET", "/sandbox/clock").json()["now"]
    assert pay(sandbox, payment["id"], "5555555555554444", f"{now[5:7]}/{now[:4]}").status_code == 303
    assert api.payment(payment["id"])["payment_method"]["card"]["expiry_year"] == now[:4]


def test_final_states_are_shown(api: Api, sandbox: Sandbox) -> None:
    paid = api.create(confirmation={"type": "redirect", "return_url": RETURN})
    url = paid["confirmation"]["confirmation_url"]
    pay(sandbox, paid["id"], "5555555555554444")
    page = requests.get(url, timeout=5).text
    assert "Оплата прошла успешно" in page
    assert 'name="cardNumber"' not in page
    assert RETURN.replace("&", "&amp;") in page
    again = pay(sandbox, paid["id"], "5555555555554444")
    assert again.status_code == 303
    assert again.headers["Location"].startswith("/checkout/payments/v2/contract?orderId=")

    declined = api.create()
    pay(sandbox, declined["id"], "5555555555554600")
    page = requests.get(declined["confirmation"]["confirmation_url"], timeout=5).text
    assert "Платёж отменён" in page
    assert "insufficient_funds" in page


def test_unknown_order(sandbox: Sandbox) -> None:
    base = f"{sandbox.base_url}/checkout/payments/v2/contract"
    assert requests.get(f"{base}?orderId=nope", timeout=5).status_code == 404
    assert requests.get(base, timeout=5).status_code == 404
    assert requests.post(f"{sandbox.base_url}{PAY}", data={"orderId": "x"}, timeout=5).status_code == 404
    assert requests.get(f"{sandbox.base_url}/checkout/other", timeout=5).status_code == 404


def test_checkout_webhook(api: Api, sandbox: Sandbox, hooked: Receiver) -> None:
    payment = api.create()
    pay(sandbox, payment["id"], "4111111111111111")
    body = hooked.wait_for(1)[0]
    assert body["event"] == "payment.succeeded"
    assert body["object"]["payment_method"]["card"]["card_type"] == "Visa"


def test_logs_never_show_card_numbers_or_credentials(
    api: Api, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="yookassa_sandbox"):
        payment = api.create()
        pay(sandbox, payment["id"], "5555555555554444", cvc="987")
        api.get(f"/payments/{payment['id']}")
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "POST /v3/payments 200" in text
    assert f"POST {PAY} 303" in text
    assert "5555555555554444" not in text
    assert "987" not in text
    assert sandbox.secret_key not in text
    assert "Basic" not in text


@pytest.mark.parametrize(
    ("card", "expiry", "cvc"),
    [
        ("5555555555554444", "1²/30", "123"),
        ("5555555555554444", "12/30", "1²3"),
        ("٥٥٥٥٥٥٥٥٥٥٥٥٤٤٤٤", "12/30", "123"),
    ],
)
def test_non_ascii_digits_are_form_errors(api: Api, sandbox: Sandbox, card: str, expiry: str, cvc: str) -> None:
    payment = api.create()
    assert pay(sandbox, payment["id"], card, expiry, cvc).status_code == 400
