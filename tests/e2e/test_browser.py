"""The demo in headless Chromium (Debian's, never a downloaded one): sign in, pay on the sandbox's checkout
page with a test card, come back to the result page, see success; a declined card shows the error."""

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Client, DevStack

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path("/tmp")
SUCCEEDS = "5555555555554444"
DECLINES = "5555555555554600"  # insufficient_funds

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium: apt-get install chromium"),
]

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1100, "height": 800}, locale="ru-RU")
    opened = context.new_page()
    opened.set_default_timeout(20_000)
    yield opened
    context.close()


def sign_in_and_pay(page: Any, dev_stack: DevStack, order_id: str, card: str) -> None:
    page.goto(f"{dev_stack.api}/")
    page.click("[data-user=alice]")
    page.click(f"[data-pay-order='{order_id}']")
    page.wait_for_url(re.compile(r"/checkout/"))
    page.fill("#cardNumber", card)
    page.fill("#expiry", "12/30")
    page.fill("#cvc", "123")
    page.click("#pay")
    page.wait_for_url(re.compile(r"/payment/result\?"))


def test_paying_an_order_with_a_test_card_shows_success(page: Any, dev_stack: DevStack, client: Client) -> None:
    order_id = client.put_order("alice", 250_000, "Генеральная уборка (браузер)")

    sign_in_and_pay(page, dev_stack, order_id, SUCCEEDS)

    assert "type=order" in page.url
    page.get_by_text("Платеж успешен!").wait_for()
    assert page.get_by_text("Перенаправление...").is_visible()
    page.screenshot(path=str(SCREENSHOTS / "payment-result-success.png"), full_page=True)
    # Three seconds later the app takes the customer back to their orders, now paid.
    page.wait_for_url(re.compile(r"/#orders$"))
    page.locator(f"li[data-order-id='{order_id}'] .pill.paid").wait_for()
    page.screenshot(path=str(SCREENSHOTS / "payment-orders-after.png"), full_page=True)


def test_a_declined_card_shows_the_payment_error(page: Any, dev_stack: DevStack, client: Client) -> None:
    order_id = client.put_order("alice", 99_000, "Мойка окон (браузер, отказ)")

    sign_in_and_pay(page, dev_stack, order_id, DECLINES)

    page.get_by_text("Ошибка платежа").wait_for()
    assert page.get_by_role("button", name="Вернуться к заказам").is_visible()
    page.screenshot(path=str(SCREENSHOTS / "payment-result-declined.png"), full_page=True)
