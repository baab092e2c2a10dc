"""The demo's subscriptions and result page in headless Chromium: subscribe with auto-renewal, pay with a
3-D Secure test card, see the saved card and the next charge, turn renewal off and on again; and the result
page finding an order's payment when the URL names none."""

import json
import re
import time
import uuid
from typing import Any

from tests.e2e import test_browser as shared
from tests.e2e.conftest import Client, DevStack, yookassa_id
from tests.e2e.test_browser import SCREENSHOTS, SUCCEEDS

# Chromium as the order tests drive it: their fixtures and marks (e2e, browser, skipped without chromium).
browser = shared.browser
page = shared.page
pytestmark = shared.pytestmark

WITH_3DS = "5555555555554477"  # MasterCard, succeeds after the 3-D Secure page
REFUSAL = "Период уже закончился"


def sign_in(page: Any, dev_stack: DevStack) -> None:
    page.goto(f"{dev_stack.api}/")
    page.click("[data-user=alice]")
    page.locator("#account").wait_for()


def subscription(client: Client, subscription_id: str) -> dict[str, Any]:
    response = client.call("GET", f"/subscriptions/{subscription_id}")
    assert response.status_code == 200, response.text
    view: dict[str, Any] = response.json()
    return view


def test_subscribing_with_auto_renewal_saves_the_card_and_renewal_turns_off_and_on(
    page: Any, dev_stack: DevStack, client: Client
) -> None:
    sign_in(page, dev_stack)
    assert page.is_checked("#auto-renew")
    page.get_by_text("Продлевать автоматически").wait_for()

    with page.expect_request(
        lambda request: request.method == "POST" and request.url.endswith("/subscriptions/payment/create")
    ) as created:
        page.click("[data-subscribe='basic:monthly']")
    body = created.value.post_data_json
    assert body["autoRenew"] is True
    subscription_id = body["subscriptionId"]

    page.wait_for_url(re.compile(r"/checkout/"))
    page.fill("#cardNumber", WITH_3DS)
    page.fill("#expiry", "12/30")
    page.fill("#cvc", "123")
    page.click("#pay")
    page.wait_for_url(re.compile(r"/3ds\?"))
    page.fill("#code", "123456")
    page.click("#confirm")
    page.wait_for_url(re.compile(r"/payment/result\?"))
    assert "type=subscription" in page.url
    page.get_by_text("Платеж успешен!").wait_for()
    page.wait_for_url(re.compile(r"/#subscriptions$"))

    # The row shows what GET /subscriptions says: active, the card YooKassa saved, the next charge.
    row = page.locator(f"li[data-subscription-id='{subscription_id}']")
    row.locator(".pill.active").wait_for()
    view = subscription(client, subscription_id)
    assert view["autoRenew"] is True
    card = view["paymentMethod"]
    assert card["cardLast4"] == WITH_3DS[-4:]
    assert row.locator(".pill.active").inner_text() == "Активна"
    assert row.locator("[data-field=card]").inner_text() == f"Карта: {card['cardType']} •••• 4477"
    next_charge = page.evaluate("iso => formatDate(iso)", view["nextChargeAt"])
    assert row.locator("[data-field=next-charge]").inner_text() == f"Следующее списание: {next_charge}"
    period = page.evaluate("view => `${formatDate(view.startDate)} – ${formatDate(view.endDate)}`", view)
    assert period in row.locator("[data-field=period]").inner_text()
    page.screenshot(path=str(SCREENSHOTS / "subscription-auto-renew.png"), full_page=True)

    # Renewal off: the paid period stays, no next charge, the button offers to resume.
    row.get_by_role("button", name="Отменить автопродление").click()
    row.get_by_role("button", name="Возобновить").wait_for()
    assert row.locator("[data-field=next-charge]").count() == 0
    assert "Следующее списание" not in row.inner_text()
    assert row.locator(".pill.active").is_visible()
    assert row.locator("[data-field=card]").is_visible()
    assert subscription(client, subscription_id)["autoRenew"] is False
    page.screenshot(path=str(SCREENSHOTS / "subscription-renewal-off.png"), full_page=True)

    # A refusal shows the error envelope's message and leaves the row as it was.
    page.route(
        f"**/subscriptions/{subscription_id}/resume",
        lambda route: route.fulfill(
            status=409,
            content_type="application/json",
            body=json.dumps(
                {"error": {"code": "subscription_not_resumable", "message": "Период уже закончился"}}
            ),
        ),
    )
    row.get_by_role("button", name="Возобновить").click()
    page.get_by_text(f"Не удалось возобновить автопродление: {REFUSAL}").wait_for()
    assert row.get_by_role("button", name="Возобновить").is_enabled()
    page.unroute(f"**/subscriptions/{subscription_id}/resume")

    # And on again: after a reload too, the list comes from the API.
    row.get_by_role("button", name="Возобновить").click()
    row.get_by_role("button", name="Отменить автопродление").wait_for()
    assert row.locator("[data-field=next-charge]").inner_text() == f"Следующее списание: {next_charge}"
    page.reload()
    row.get_by_role("button", name="Отменить автопродление").wait_for()
    assert subscription(client, subscription_id)["autoRenew"] is True


def test_subscribing_without_auto_renewal_sends_it_off(page: Any, dev_stack: DevStack, client: Client) -> None:
    sign_in(page, dev_stack)
    page.uncheck("#auto-renew")

    with page.expect_request(
        lambda request: request.method == "POST" and request.url.endswith("/subscriptions/payment/create")
    ) as created:
        page.click("[data-subscribe='basic:yearly']")
    body = created.value.post_data_json
    assert body["autoRenew"] is False
    page.wait_for_url(re.compile(r"/checkout/"))
    client.sandbox(f"/sandbox/payments/{yookassa_id(page.url)}/succeed", {"card": SUCCEEDS})

    # Paid, with no card saved: nothing will be charged, and there is nothing to resume.
    view = subscription(client, body["subscriptionId"])
    deadline = time.monotonic() + 20
    while view["status"] != "active" and time.monotonic() < deadline:
        time.sleep(0.5)
        view = subscription(client, body["subscriptionId"])
    assert view["status"] == "active", view
    assert view["autoRenew"] is False
    assert "nextChargeAt" not in view
    page.goto(f"{dev_stack.api}/#subscriptions")  # still signed in: the token is kept
    row = page.locator(f"li[data-subscription-id='{body['subscriptionId']}']")
    row.locator(".pill.active").wait_for()
    assert row.get_by_role("button").count() == 0
    assert "Следующее списание" not in row.inner_text()


def test_the_result_page_without_a_payment_id_finds_the_payment_of_the_order_being_paid(
    page: Any, dev_stack: DevStack, client: Client
) -> None:
    order_id = client.put_order("alice", 180_000, "Уборка кухни (браузер, без paymentId)")
    sign_in(page, dev_stack)
    page.click(f"[data-pay-order='{order_id}']")
    page.wait_for_url(re.compile(r"/checkout/"))
    # Paid (as the checkout would), but the customer comes back by hand, without YooKassa's return URL.
    client.sandbox(f"/sandbox/payments/{yookassa_id(page.url)}/succeed", {"card": SUCCEEDS})

    page.goto(f"{dev_stack.api}/payment/result")

    page.get_by_text("Платеж успешен!").wait_for()
    payment = client.call("GET", f"/orders/{order_id}/payment").json()
    assert payment["status"] == "paid"
    assert f"paymentId={payment['paymentId']}" in page.url
    assert "type=order" in page.url
    page.wait_for_url(re.compile(r"/#orders$"))
    page.locator(f"li[data-order-id='{order_id}'] .pill.paid").wait_for()


def test_the_result_page_finds_the_payment_of_the_order_its_url_names(
    page: Any, dev_stack: DevStack, client: Client
) -> None:
    order_id = client.put_order("alice", 120_000, "Уборка балкона (браузер, orderId в адресе)")
    created = client.create_order_payment(order_id, 120_000)
    client.sandbox(f"/sandbox/payments/{yookassa_id(created['paymentUrl'])}/succeed", {"card": SUCCEEDS})
    sign_in(page, dev_stack)

    page.goto(f"{dev_stack.api}/payment/result?type=order&orderId={order_id}")

    page.get_by_text("Платеж успешен!").wait_for()
    assert f"paymentId={created['paymentId']}" in page.url


def test_the_result_page_without_any_id_says_so(page: Any, dev_stack: DevStack) -> None:
    sign_in(page, dev_stack)

    page.goto(f"{dev_stack.api}/payment/result")

    page.get_by_text("В адресе нет идентификатора платежа.").wait_for()


def test_a_plan_change_paid_while_a_period_runs_is_shown_as_scheduled(
    page: Any, dev_stack: DevStack, client: Client
) -> None:
    prices = {plan["planId"]: plan["prices"] for plan in client.demo_data("alice")["plans"]}
    subscription_id = f"e2e-sub-{uuid.uuid4().hex[:12]}"
    for plan_id, period in (("basic", "monthly"), ("premium", "yearly")):
        body = {
            "subscriptionId": subscription_id,
            "subscriptionType": period,
            "planId": plan_id,
            "amount": prices[plan_id][period],
        }
        response = client.call("POST", "/subscriptions/payment/create", json=body)
        assert response.status_code in (200, 201), response.text
        created = response.json()
        client.sandbox(f"/sandbox/payments/{yookassa_id(created['paymentUrl'])}/succeed", {"card": SUCCEEDS})
        client.wait_for_status(created["paymentId"], {"success"})
    change = subscription(client, subscription_id)["scheduledChange"]
    assert (change["planId"], change["subscriptionType"]) == ("premium", "yearly")

    sign_in(page, dev_stack)

    row = page.locator(f"li[data-subscription-id='{subscription_id}']")
    row.locator(".pill.active").wait_for()
    since = page.evaluate("iso => formatDate(iso)", change["from"])
    assert row.locator("[data-field=scheduled-change]").inner_text() == f"С {since}: Премиум, годовая"
    assert row.get_by_role("button").count() == 0  # no card saved: no renewal to turn off or on
