"""Paying through the hosted checkout page in headless Chromium (Debian's system browser)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from local.yookassa_sandbox import Sandbox
from tests.sandbox.support import Api, Receiver

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.access(CHROMIUM, os.X_OK), reason=f"{CHROMIUM} is absent: install Debian's chromium package"
    ),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(locale="ru-RU")
    try:
        new_page = context.new_page()
        new_page.set_default_timeout(15_000)
        yield new_page
    finally:
        context.close()


def start(api: Api, receiver: Receiver, capture: bool = True) -> dict:
    return api.create(
        capture=capture,
        description="Генеральная уборка",
        confirmation={"type": "redirect", "return_url": receiver.return_url},
    )


def fill_card(page: Any, card: str) -> None:
    page.fill("#cardNumber", card)
    page.fill("#expiry", "1230")  # the page's script inserts the slash
    page.fill("#cvc", "123")
    page.click("#pay")


def test_pay_with_a_success_card(page: Any, api: Api, sandbox: Sandbox, hooked: Receiver) -> None:
    payment = start(api, hooked)
    page.goto(payment["confirmation"]["confirmation_url"])
    assert page.inner_text("#amount") == "1 500,00 ₽"
    assert page.inner_text("#description") == "Генеральная уборка"
    assert f"Тестовый магазин {sandbox.shop_id}" in page.content()
    page.fill("#cardNumber", "5555555555554444")
    assert page.input_value("#cardNumber") == "5555 5555 5555 4444"
    page.fill("#expiry", "1230")
    assert page.input_value("#expiry") == "12/30"
    page.fill("#cvc", "123")
    with page.expect_navigation(url=hooked.return_url):
        page.click("#pay")
    assert page.inner_text("#thanks").startswith("Спасибо")
    assert "/shop/return" in hooked.returns
    body = hooked.wait_for(1)[0]
    assert body["event"] == "payment.succeeded"
    assert body["object"]["id"] == payment["id"]
    assert api.payment(payment["id"])["status"] == "succeeded"
    # back on the checkout page, the final state shows
    page.goto(payment["confirmation"]["confirmation_url"])
    assert page.inner_text("#status") == "Оплата прошла успешно"


def test_pay_with_a_3ds_card(page: Any, api: Api, hooked: Receiver) -> None:
    payment = start(api, hooked, capture=False)
    page.goto(payment["confirmation"]["confirmation_url"])
    fill_card(page, "4793128161644804")
    page.wait_for_selector("#confirm")
    assert "3-D Secure" in page.content()
    page.fill("#code", "4242")
    with page.expect_navigation(url=hooked.return_url):
        page.click("#confirm")
    body = hooked.wait_for(1)[0]
    assert body["event"] == "payment.waiting_for_capture"
    assert body["object"]["authorization_details"]["three_d_secure"]["applied"] is True


def test_a_decline_card_cancels_with_its_reason(page: Any, api: Api, hooked: Receiver) -> None:
    payment = start(api, hooked)
    page.goto(payment["confirmation"]["confirmation_url"])
    fill_card(page, "5555555555554535")
    page.wait_for_url(hooked.return_url)
    body = hooked.wait_for(1)[0]
    assert body["event"] == "payment.canceled"
    assert body["object"]["cancellation_details"] == {"party": "payment_network", "reason": "call_issuer"}
    page.goto(payment["confirmation"]["confirmation_url"])
    assert page.inner_text("#status") == "Платёж отменён"
    assert "call_issuer" in page.inner_text("#reason")


def test_a_typo_shows_an_error_and_keeps_the_form(page: Any, api: Api, hooked: Receiver) -> None:
    payment = start(api, hooked)
    page.goto(payment["confirmation"]["confirmation_url"])
    fill_card(page, "5555")
    page.wait_for_selector("#error")
    assert "номер карты" in page.inner_text("#error")
    fill_card(page, "2202474301322987")
    page.wait_for_url(hooked.return_url)
    assert api.payment(payment["id"])["payment_method"]["card"]["card_type"] == "Mir"
