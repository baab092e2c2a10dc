"""What customers and admins do, over HTTP: one checkout (order or subscription) from its first click to its
refunds, as ``chaos.plan`` decided. Double-clicks, a price change racing a payment and several admins
refunding at once are real concurrent requests (threads released together by a barrier).
"""

import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from chaos.client import Answer, Api, HarnessError, Sandbox
from chaos.plan import ADMINS, OrderCheckout, Plan, ReceiptLine, RefundAsk, SubscriptionCheckout

ADMIN_SCOPE = "payments/admin"
FINAL = frozenset({"paid", "failed", "canceled", "refunded", "success"})
POLL_SECONDS = 8.0  # how long a result page polls before the customer closes it
POLL_EVERY = 0.3
CREATE_TRIES = 4  # the customer clicks "pay" again after an error (or a timeout) this many times
REFUND_TRIES = 4
RETRIED_CODES = frozenset({"idempotency_key_in_use", "concurrent_update"})

CREATE_ORDER = "POST /orders/payment/create"
CREATE_SUBSCRIPTION = "POST /subscriptions/payment/create"
PAYMENT_STATUS = "GET /payment-status/{paymentId}"
ORDER_PAYMENT = "GET /orders/{orderId}/payment"
PUT_ORDER = "PUT /admin/orders/{orderId}"
PUT_PLAN = "PUT /admin/plans/{planId}"
COMPLETE = "POST /admin/orders/{orderId}/complete"
REFUND = "POST /admin/payments/{paymentId}/refund"
CANCEL_RENEWAL = "POST /subscriptions/{subscriptionId}/cancel"
GET_SUBSCRIPTION = "GET /subscriptions/{subscriptionId}"
LIST_SUBSCRIPTIONS = "GET /subscriptions"


@dataclass(frozen=True)
class Created:
    """A payment a customer's create answered with."""

    payment_id: str
    user: str
    kind: Literal["order", "subscription"]
    subject_id: str
    yookassa_id: str
    checkout: int


@dataclass(frozen=True)
class AcceptedRefund:
    """A refund an admin was told succeeded or is under way (a 200 answer)."""

    payment_id: str
    refund_id: str
    amount: int
    admin: str


@dataclass
class World:
    """The run's shared state: who paid what, what admins were told, what went oddly."""

    api: Api
    sandbox: Sandbox
    plan: Plan
    receipts: bool
    created: dict[str, Created] = field(default_factory=dict)
    refunds: list[AcceptedRefund] = field(default_factory=list)
    checkout_notes: Counter[str] = field(default_factory=Counter)
    double_clicks: int = 0
    split_double_clicks: list[str] = field(default_factory=list)
    renewal_canceled: set[str] = field(default_factory=set)  # turned off (200) before the renewal ran
    corner_orders: dict[str, str] = field(default_factory=dict)  # the scripted cases' orders -> their users
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, text: str) -> None:
        with self._lock:
            self.checkout_notes[text] += 1

    def remember(self, created: Created) -> None:
        with self._lock:
            self.created.setdefault(created.payment_id, created)

    def accepted(self, refund: AcceptedRefund) -> None:
        with self._lock:
            self.refunds.append(refund)

    def customer(self, user: str) -> dict[str, Any]:
        """Where the receipt goes (the dev tokens carry no email): needed with receipts on."""
        return {"customer": {"email": f"{user}@chaos.example"}} if self.receipts else {}


def yookassa_id(payment_url: str) -> str:
    """The sandbox's checkout URL names YooKassa's payment: ...?orderId=<id>."""
    match = re.search(r"[?&]orderId=([^&]+)", payment_url)
    if match is None:
        raise HarnessError(f"no YooKassa id in the payment URL {payment_url!r}")
    return match.group(1)


def together[T](*actions: Callable[[], T]) -> list[T | None]:
    """Run ``actions`` in threads released at the same moment; their results in order."""
    barrier = threading.Barrier(len(actions))
    results: list[T | None] = [None] * len(actions)
    errors: list[BaseException] = []

    def run(index: int, action: Callable[[], T]) -> None:
        try:
            barrier.wait(timeout=60)
            results[index] = action()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, a), daemon=True) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


# ------------------------------------------------------------------------------------------ admin
def put_order(world: World, order_id: str, user: str, amount: int, lines: tuple[Any, ...] = ()) -> Answer:
    body: dict[str, Any] = {"userId": user, "amount": amount, "description": "Уборка (chaos)"}
    if lines:
        body["receiptItems"] = [
            {"description": line.description, "quantity": line.quantity, "amount": line.amount}
            for line in lines
        ]
    return _admin(world, "PUT", f"/admin/orders/{order_id}", PUT_ORDER, ADMINS[0], body)


def put_plan(world: World, plan_id: str, name: str, prices: dict[str, int]) -> Answer:
    body = {"name": name, "prices": prices}
    return _admin(world, "PUT", f"/admin/plans/{plan_id}", PUT_PLAN, ADMINS[0], body)


def _admin(world: World, method: str, path: str, route: str, admin: str, body: Any) -> Answer:
    answer = Answer(None, None)
    for _ in range(CREATE_TRIES):
        answer = world.api.call(method, path, route, admin, scope=ADMIN_SCOPE, body=body)
        if answer.ok or (
            answer.status is not None and answer.status < 500 and answer.code not in RETRIED_CODES
        ):
            return answer
        time.sleep(0.3)
    return answer


def refund_together(world: World, payment_id: str, asks: tuple[RefundAsk, ...]) -> None:
    """Every admin's request for ``payment_id`` at the same moment; each retries a timeout as itself."""

    def ask(request: RefundAsk) -> None:
        body = {"amount": request.amount} if request.amount is not None else {}
        headers = {"Idempotency-Key": request.key} if request.key else {}
        for _ in range(REFUND_TRIES):
            answer = world.api.call(
                "POST",
                f"/admin/payments/{payment_id}/refund",
                REFUND,
                request.admin,
                scope=ADMIN_SCOPE,
                body=body,
                headers=headers,
            )
            if answer.ok:
                data = answer.json()
                world.accepted(
                    AcceptedRefund(payment_id, str(data["refundId"]), int(data["amount"]), request.admin)
                )
                world.note("refund accepted")
                return
            if answer.status is not None and answer.status < 500 and answer.code not in RETRIED_CODES:
                world.note(f"refund refused: {answer.code or answer.status}")
                return
            time.sleep(0.5)  # a timeout (504) or a lost race: the same request again reaches the same refund
        world.note("refund left unanswered")

    together(*(lambda request=request: ask(request) for request in asks))


# ------------------------------------------------------------------------------------------ customer
def create(
    world: World,
    user: str,
    route: str,
    body: dict[str, Any],
    checkout: int,
    key: str | None = None,
) -> Created | str:
    """A create, clicked again after a 5xx, a timeout or a request still running: the payment, or the
    refusal's code (``amount_mismatch``, ``too_many_pending_payments``...)."""
    path = "/orders/payment/create" if route == CREATE_ORDER else "/subscriptions/payment/create"
    headers = {"Idempotency-Key": key} if key else {}
    outcome = "no answer"
    for attempt in range(CREATE_TRIES):
        answer = world.api.call(
            "POST", path, route, user, body={**body, **world.customer(user)}, headers=headers
        )
        if answer.ok:
            data = answer.json()
            kind: Literal["order", "subscription"] = "order" if route == CREATE_ORDER else "subscription"
            subject = body["orderId"] if kind == "order" else body["subscriptionId"]
            created = Created(
                str(data["paymentId"]), user, kind, subject, yookassa_id(str(data["paymentUrl"])), checkout
            )
            world.remember(created)
            return created
        outcome = answer.code or ("no answer" if answer.status is None else str(answer.status))
        if answer.status is not None and answer.status < 500 and answer.code not in RETRIED_CODES:
            return outcome
        time.sleep(0.3 * (attempt + 1))
    return f"gave up after {outcome}"


def double_create(
    world: World, user: str, route: str, body: dict[str, Any], checkout: int, key: str | None
) -> Created | str:
    """The same create twice at the same moment (a double-click): both must get the same payment."""
    first, second = together(
        lambda: create(world, user, route, body, checkout, key),
        lambda: create(world, user, route, body, checkout, key),
    )
    with world._lock:
        world.double_clicks += 1
        if isinstance(first, Created) and isinstance(second, Created) and first.payment_id != second.payment_id:
            world.split_double_clicks.append(
                f"checkout {checkout} ({user}): {first.payment_id} and {second.payment_id}"
            )
    if isinstance(first, Created):
        return first
    assert first is not None or second is not None
    return second if second is not None else str(first)


def pay(world: World, created: Created, card: str | None = None) -> str | None:
    """The customer pays on YooKassa's page (``card``: a declined one); YooKassa's status, None when the
    payment could no longer be paid (expired, or paid already)."""
    status, payload = world.sandbox.helper(
        f"/sandbox/payments/{created.yookassa_id}/succeed", {"card": card} if card else {}
    )
    if status != 200:
        return None
    return str(payload.get("status"))


def wait_final(world: World, created: Created, seconds: float = POLL_SECONDS) -> str | None:
    """The result page polls ``GET /payment-status/{id}`` until the payment is final (or gives up)."""
    deadline = time.monotonic() + seconds
    status: str | None = None
    while True:
        answer = world.api.call("GET", f"/payment-status/{created.payment_id}", PAYMENT_STATUS, created.user)
        if answer.ok:
            status = str(answer.json().get("status"))
            if status in FINAL:
                return status
        if time.monotonic() > deadline:
            return status
        time.sleep(POLL_EVERY)


def latest_order_payment(world: World, user: str, order_id: str) -> None:
    """A result page that lost its ``paymentId`` asks for the order's latest payment."""
    world.api.call("GET", f"/orders/{order_id}/payment", ORDER_PAYMENT, user)


# ------------------------------------------------------------------------------------------ orders
def run_order(world: World, c: OrderCheckout) -> None:
    key = f"chaos-{world.plan.seed}-{c.index}" if c.idempotency_key else None

    def order_body(amount: int) -> dict[str, Any]:
        return {"orderId": c.order_id, "amount": amount}

    def first_create(amount: int) -> Created | str:
        if c.double_click:
            return double_create(world, c.user, CREATE_ORDER, order_body(amount), c.index, key)
        return create(world, c.user, CREATE_ORDER, order_body(amount), c.index, key)

    created = first_create(c.amount)
    if not isinstance(created, Created):
        world.note(f"order: create refused ({created})")
        return
    outcome = c.outcome
    paid: Created | None = None
    if outcome == "abandoned":
        latest_order_payment(world, c.user, c.order_id)
        world.note("order: abandoned at the checkout")
        return
    if outcome in ("paid", "declined", "declined_then_paid"):
        card = c.decline_card if outcome != "paid" else None
        pay(world, created, card)
        status = wait_final(world, created)
        if outcome == "declined":
            world.note(f"order: declined ({status})")
            return
        if outcome == "declined_then_paid":
            again = create(world, c.user, CREATE_ORDER, order_body(c.amount), c.index)
            if not isinstance(again, Created):
                world.note(f"order: second create refused ({again})")
                return
            created = again
            pay(world, created)
            status = wait_final(world, created)
        paid = created if status in ("paid", None, "pending") else None
    elif outcome == "stale_link_paid":
        put_order(world, c.order_id, c.user, c.new_amount)  # the price changes while the link is open
        pay(world, created)  # the old link is paid anyway: that money must go back
        wait_final(world, created)
        again = create(world, c.user, CREATE_ORDER, order_body(c.new_amount), c.index)
        if isinstance(again, Created):
            pay(world, again)
            wait_final(world, again)
            paid = again
        world.note("order: stale link paid, then the new price")
    elif outcome == "price_changed":
        put_order(world, c.order_id, c.user, c.new_amount)
        stale = create(world, c.user, CREATE_ORDER, order_body(c.amount), c.index)
        world.note(f"order: create at the old price -> {stale if isinstance(stale, str) else 'a payment'}")
        again = create(world, c.user, CREATE_ORDER, order_body(c.new_amount), c.index)
        if isinstance(again, Created):
            pay(world, again)
            wait_final(world, again)
            paid = again
    elif outcome == "price_race":
        together(
            lambda: put_order(world, c.order_id, c.user, c.new_amount),
            lambda: pay(world, created),
        )
        wait_final(world, created)
        again = create(world, c.user, CREATE_ORDER, order_body(c.new_amount), c.index)
        if isinstance(again, Created):
            pay(world, again)
            wait_final(world, again)
            paid = again
        else:
            paid = created  # the old link paid the order before the new price (the PUT was refused)
            world.note(f"order: price race, then {again}")
    if paid is None:
        return
    world.note(f"order: {outcome}")
    target = paid

    def complete() -> None:
        answer = _admin(world, "POST", f"/admin/orders/{c.order_id}/complete", COMPLETE, ADMINS[1], None)
        world.note(f"order completed: {answer.code or answer.status}")

    def refund() -> None:
        refund_together(world, target.payment_id, c.refunds)

    if c.complete and c.refunds and c.complete_when == "with_refunds":  # at the same moment
        together(complete, refund)
    elif c.complete and c.refunds and c.complete_when == "after_refunds":
        refund()
        complete()
    elif c.complete:
        complete()
        if c.refunds:
            refund()
    elif c.refunds:
        refund()


# ------------------------------------------------------------------------------------------ subscriptions
def run_subscription(world: World, c: SubscriptionCheckout) -> None:
    def body(amount: int, auto_renew: bool) -> dict[str, Any]:
        return {
            "subscriptionId": c.subscription_id,
            "subscriptionType": c.subscription_type,
            "planId": c.plan_id,
            "amount": amount,
            "autoRenew": auto_renew,
        }

    second: Created | str | None = None
    if c.outcome == "two_tabs":  # two tabs at the same moment, renewal on in one and off in the other
        created, second = together(
            lambda: create(world, c.user, CREATE_SUBSCRIPTION, body(c.price, c.auto_renew), c.index),
            lambda: create(world, c.user, CREATE_SUBSCRIPTION, body(c.price, not c.auto_renew), c.index),
        )
    elif c.double_click:
        created = double_create(world, c.user, CREATE_SUBSCRIPTION, body(c.price, c.auto_renew), c.index, None)
    else:
        created = create(world, c.user, CREATE_SUBSCRIPTION, body(c.price, c.auto_renew), c.index)
    if not isinstance(created, Created):
        world.note(f"subscription: create refused ({created})")
        return
    outcome = c.outcome
    if outcome == "abandoned":
        world.api.call("GET", f"/subscriptions/{c.subscription_id}", GET_SUBSCRIPTION, c.user)
        world.note("subscription: abandoned at the checkout")
        return
    if outcome == "declined":
        pay(world, created, c.decline_card)
        world.note(f"subscription: declined ({wait_final(world, created)})")
        return
    if outcome == "price_change_both_paid":
        put_plan(world, c.plan_id, c.plan_name, {**c.prices, c.subscription_type: c.new_price})
        second = create(world, c.user, CREATE_SUBSCRIPTION, body(c.new_price, c.auto_renew), c.index)
    pay(world, created)
    status = wait_final(world, created)
    if isinstance(second, Created):
        pay(world, second)  # both links paid: one period, so one of them must be given back
        wait_final(world, second)
    elif outcome == "next_period" and status == "success":
        second = create(world, c.user, CREATE_SUBSCRIPTION, body(c.price, c.auto_renew), c.index)
        if isinstance(second, Created):
            pay(world, second)
            wait_final(world, second)
    world.note(f"subscription: {outcome}")
    if c.refunds:
        refund_together(world, created.payment_id, c.refunds)


def run_checkout(world: World, checkout: OrderCheckout | SubscriptionCheckout) -> None:
    if isinstance(checkout, OrderCheckout):
        run_order(world, checkout)
    else:
        run_subscription(world, checkout)


def seed_catalog(world: World) -> None:
    """Plans and orders through the admin routes, as a back office would."""
    for plan_id, (name, prices) in world.plan.shared_plans.items():
        _must(put_plan(world, plan_id, name, prices), f"PUT plan {plan_id}")
    for c in world.plan.checkouts:
        if isinstance(c, OrderCheckout):
            _must(put_order(world, c.order_id, c.user, c.amount, c.lines), f"PUT order {c.order_id}")
        elif c.own_plan:
            _must(put_plan(world, c.plan_id, c.plan_name, c.prices), f"PUT plan {c.plan_id}")


def _must(answer: Answer, what: str) -> None:
    if not answer.ok:
        raise HarnessError(f"{what} answered {answer.status}: {answer.body}")


# ------------------------------------------------------------------------------------------ corner cases
def complete_while_refund_unknown(world: World, inject: Callable[[dict[str, Any]], None]) -> None:
    """Scripted, the same in every run: an admin refunds an order in full while YooKassa fails
    (``500_applied``: the refund is made, the answers are lost, and so is its notification), so the refund's
    outcome is unknown to us (504) and its money held; another admin completes the order meanwhile. The
    settlement receipt must not settle a prepayment YooKassa has already given back."""
    user, amount = world.plan.users[0], 1_234_567
    order_id = f"chaos-{world.plan.seed}-corner-complete"
    lines = (ReceiptLine("Уборка комнаты", 3, 300_000), ReceiptLine("Выезд мастера", 1, 334_567))
    world.corner_orders[order_id] = user
    if not put_order(world, order_id, user, amount, lines).ok:
        world.note("corner: the order could not be put")
        return
    created = create(world, user, CREATE_ORDER, {"orderId": order_id, "amount": amount}, -1)
    if not isinstance(created, Created):
        world.note(f"corner: create refused ({created})")
        return
    pay(world, created)
    if wait_final(world, created, 20) != "paid":
        world.note("corner: the payment was not paid in time")
        return
    _wait_delivered(world, created.yookassa_id, "payment.succeeded")
    inject({"route": "POST /v3/refunds", "fault": "500_applied", "count": 8})
    inject({"route": "webhooks", "fault": "drop", "count": 1})
    refund = world.api.call(
        "POST", f"/admin/payments/{created.payment_id}/refund", REFUND, ADMINS[0], scope=ADMIN_SCOPE, body={}
    )
    if refund.ok:
        data = refund.json()
        world.accepted(
            AcceptedRefund(created.payment_id, str(data["refundId"]), int(data["amount"]), ADMINS[0])
        )
    world.note(f"corner: full refund while YooKassa fails -> {refund.code or refund.status}")
    completed = _admin(world, "POST", f"/admin/orders/{order_id}/complete", COMPLETE, ADMINS[1], None)
    world.note(f"corner: complete while that refund is unknown -> {completed.code or completed.status}")


def _wait_delivered(world: World, object_id: str, event: str, seconds: float = 10.0) -> None:
    """Until the sandbox has delivered ``event`` of ``object_id`` (so a fault injected next is not its)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        items = world.sandbox.get("/sandbox/webhooks", {"objectId": object_id, "event": event}).get("items", [])
        if any(item.get("ok") for item in items):
            return
        time.sleep(0.2)
