"""Every choice of a chaos run, made up front from ``random.Random(seed)``: the same seed gives the same
customers, orders, plans, outcomes, refunds, renewals and faults (in the same order). Only the
interleaving of the concurrent requests is the operating system's.
"""

import random
from dataclasses import dataclass, field
from typing import Any, Literal

from chaos.stack import READ_TIMEOUT_SECONDS

OrderOutcome = Literal[
    "paid",  # pays at once
    "declined",  # the card is declined; the customer gives up
    "declined_then_paid",  # declined, then pays again with a good card
    "abandoned",  # leaves the checkout page: YooKassa expires the payment after its term
    "stale_link_paid",  # the price changes while pending, the old link is paid anyway, then the new price
    "price_changed",  # the price changes while pending; the old amount is refused, the new one is paid
    "price_race",  # an admin changes the price while the customer pays the old link, at the same moment
]
SubscriptionOutcome = Literal[
    "paid",
    "declined",
    "abandoned",
    "two_tabs",  # two checkouts for one period (renewal on in one, off in the other), both paid
    "next_period",  # pays, then pays the next period in advance
    "price_change_both_paid",  # the plan's price changes while pending; old and new links both paid
]
RenewalCourse = Literal["renews", "declined_then_renews", "declined_to_expiry", "revoked", "customer_cancels"]
RefundPattern = Literal["full", "same_full", "split", "partial_and_rest", "over", "discount"]
REFUND_PATTERNS: tuple[tuple[RefundPattern, int], ...] = (
    ("full", 2),  # one admin refunds it all
    ("same_full", 2),  # several admins press "refund all" at once: one refund
    ("split", 2),  # partial refunds by two or three admins at once, each with its own key
    ("partial_and_rest", 2),  # a partial refund and "the rest" at once
    ("over", 2),  # two large partial refunds at once: only one fits
    ("discount", 3),  # orders: part of the price back for a shorter cleaning, then the order is completed
)

ORDER_OUTCOMES: tuple[tuple[OrderOutcome, int], ...] = (
    ("paid", 45),
    ("declined", 10),
    ("declined_then_paid", 8),
    ("abandoned", 12),
    ("stale_link_paid", 10),
    ("price_changed", 8),
    ("price_race", 7),
)
SUBSCRIPTION_OUTCOMES: tuple[tuple[SubscriptionOutcome, int], ...] = (
    ("paid", 50),
    ("declined", 10),
    ("abandoned", 10),
    ("two_tabs", 12),
    ("next_period", 10),
    ("price_change_both_paid", 8),
)
RENEWAL_COURSES: tuple[tuple[RenewalCourse, int], ...] = (
    ("renews", 45),
    ("declined_then_renews", 20),
    ("declined_to_expiry", 10),
    ("revoked", 15),
    ("customer_cancels", 10),
)
# YooKassa's official test cards (local/yookassa_sandbox/README.md): declined ones, with their reason.
DECLINE_CARDS = (
    "5555555555554600",  # insufficient_funds
    "5555555555554527",  # general_decline
    "5555555555554535",  # call_issuer
    "5555555555554543",  # card_expired
    "5555555555554568",  # fraud_suspected
)
SHARED_PLANS = {
    "chaos-basic": ("Базовый", {"monthly": 99_000, "yearly": 990_000}),
    "chaos-premium": ("Премиум", {"monthly": 249_900, "yearly": 2_499_000}),
}
ADMINS = ("chaos-admin-1", "chaos-admin-2", "chaos-admin-3")
ORDER_SHARE = 0.6  # of the checkouts; the rest are subscriptions

# The sandbox's faults (local/yookassa_sandbox/README.md), by route, with their weights. A "delay" is a
# slow response past our read timeout: retried under the same key, or the budget ends (504).
API_FAULTS: tuple[tuple[str, str, int], ...] = (
    ("POST /v3/payments", "500_applied", 5),
    ("POST /v3/payments", "500", 4),
    ("POST /v3/payments", "429", 3),
    ("POST /v3/payments", "202", 2),
    ("POST /v3/payments", "delay", 3),
    ("POST /v3/payments", "drop_connection", 3),
    ("GET /v3/payments/{id}", "500", 3),
    ("GET /v3/payments/{id}", "429", 2),
    ("GET /v3/payments/{id}", "delay", 2),
    ("GET /v3/payments/{id}", "drop_connection", 2),
    ("POST /v3/refunds", "500_applied", 3),
    ("POST /v3/refunds", "500", 2),
    ("POST /v3/refunds", "429", 1),
    ("POST /v3/refunds", "202", 1),
    ("POST /v3/refunds", "delay", 2),
    ("POST /v3/refunds", "drop_connection", 2),
    ("GET /v3/refunds/{id}", "500", 1),
    ("GET /v3/refunds/{id}", "delay", 1),
)
WEBHOOK_FAULTS: tuple[tuple[str, int], ...] = (("drop", 8), ("duplicate", 6), ("delay", 5), ("reorder", 4))
FAULTS_PER_CHECKOUT = 0.3


@dataclass(frozen=True)
class RefundAsk:
    """One admin's refund request; all of one payment's asks are sent at the same moment."""

    admin: str
    amount: int | None  # None: all that is left
    key: str | None  # an Idempotency-Key, or none (the service derives one from the amount)


@dataclass(frozen=True)
class ReceiptLine:
    description: str
    quantity: int
    amount: int  # kopecks per unit


@dataclass(frozen=True)
class OrderCheckout:
    index: int
    user: str
    order_id: str
    amount: int
    lines: tuple[ReceiptLine, ...]  # empty: one line, the service's default
    outcome: OrderOutcome
    double_click: bool
    idempotency_key: bool
    decline_card: str
    new_amount: int  # the changed price of the price-change outcomes
    complete: bool  # the admin marks the cleaning done once paid
    # With refunds too: the cleaning is marked done before them, after them, or at the same moment.
    complete_when: Literal["before_refunds", "after_refunds", "with_refunds"]
    refund_pattern: RefundPattern | None
    refunds: tuple[RefundAsk, ...]

    kind: Literal["order"] = "order"

    @property
    def partly_refunded_then_completed(self) -> bool:
        """Some of the money goes back for sure (never all of it), then the order is completed."""
        partial = self.refund_pattern in ("over", "discount") or (
            self.refund_pattern == "split" and sum(ask.amount or 0 for ask in self.refunds) < self.amount
        )
        return self.complete and self.complete_when == "after_refunds" and partial


@dataclass(frozen=True)
class SubscriptionCheckout:
    index: int
    user: str
    subscription_id: str
    plan_id: str
    plan_name: str
    prices: dict[str, int]  # the plan's prices when the run starts
    subscription_type: Literal["monthly", "yearly"]
    auto_renew: bool
    outcome: SubscriptionOutcome
    double_click: bool
    decline_card: str
    new_price: int  # price_change_both_paid: the plan's changed price
    renewal: RenewalCourse | None  # monthly with renewal on only
    # At the moment the renewal function charges: the customer turns renewal off ("cancel"), or an admin
    # refunds the paid period in full ("refund").
    renewal_race: Literal["cancel", "refund"] | None
    refunds: tuple[RefundAsk, ...]

    kind: Literal["subscription"] = "subscription"

    @property
    def price(self) -> int:
        return self.prices[self.subscription_type]

    @property
    def own_plan(self) -> bool:
        return self.plan_id not in SHARED_PLANS


Checkout = OrderCheckout | SubscriptionCheckout


@dataclass(frozen=True)
class FaultSpec:
    """A body for ``POST /sandbox/faults``, injected before the checkout ``before`` starts."""

    before: int
    body: dict[str, Any]

    @property
    def kind(self) -> str:
        route = self.body["route"]
        return f"webhook {self.body['fault']}" if route == "webhooks" else f"{route} {self.body['fault']}"


@dataclass(frozen=True)
class Plan:
    seed: int
    payments: int
    users: tuple[str, ...]
    checkouts: tuple[Checkout, ...]
    faults: tuple[FaultSpec, ...]  # while the checkouts run
    renewal_faults: tuple[dict[str, Any], ...]  # before the first renewal run
    settle_faults: tuple[dict[str, Any], ...]  # while abandoned payments expire
    shared_plans: dict[str, tuple[str, dict[str, int]]] = field(default_factory=lambda: dict(SHARED_PLANS))

    def summary(self) -> dict[str, Any]:
        orders = [c for c in self.checkouts if isinstance(c, OrderCheckout)]
        subscriptions = [c for c in self.checkouts if isinstance(c, SubscriptionCheckout)]
        return {
            "users": len(self.users),
            "orderCheckouts": len(orders),
            "subscriptionCheckouts": len(subscriptions),
            "doubleClicks": sum(c.double_click for c in self.checkouts),
            "refundAsks": sum(len(c.refunds) for c in self.checkouts),
            "faultInjections": len(self.faults) + len(self.renewal_faults) + len(self.settle_faults),
        }


def _weighted[T](rng: random.Random, choices: tuple[tuple[T, int], ...]) -> T:
    values = [value for value, _ in choices]
    weights = [weight for _, weight in choices]
    return rng.choices(values, weights)[0]


def _amount(rng: random.Random) -> int:
    """An order's price in kopecks: 500 to 25 000 ₽, odd kopecks included."""
    return rng.randrange(50_000, 2_500_000)


def _lines(rng: random.Random, amount: int) -> tuple[ReceiptLine, ...]:
    """Receipt lines adding up to ``amount`` exactly (Σ quantity × unit price), or none."""
    if rng.random() < 0.6:
        return ()
    quantity = rng.choice((2, 3, 4))
    unit = amount // (quantity + 1)
    if unit < 100:
        return ()
    rest = amount - unit * quantity
    return (ReceiptLine("Уборка комнаты", quantity, unit), ReceiptLine("Выезд мастера", 1, rest))


def _refunds(
    rng: random.Random, amount: int, index: int, probability: float
) -> tuple[RefundPattern | None, tuple[RefundAsk, ...]]:
    if rng.random() >= probability:
        return None, ()
    admins = list(ADMINS)
    rng.shuffle(admins)
    pattern = _weighted(rng, REFUND_PATTERNS)

    def part(low: float, high: float) -> int:
        return max(1, int(amount * rng.uniform(low, high)))

    if pattern == "full":
        return pattern, (RefundAsk(admins[0], None, None),)
    if pattern == "discount":
        return pattern, (RefundAsk(admins[0], part(0.1, 0.4), None),)
    if pattern == "same_full":  # several admins press "refund all" at once: one refund
        return pattern, tuple(RefundAsk(admin, None, None) for admin in admins[: rng.choice((2, 3))])
    if pattern == "split":  # partial refunds by each, with their own keys; together maybe more than paid
        count = rng.choice((2, 3))
        return pattern, tuple(
            RefundAsk(admin, part(0.1, 0.5), f"chaos-{index}-{n}") for n, admin in enumerate(admins[:count])
        )
    if pattern == "partial_and_rest":
        return pattern, (RefundAsk(admins[0], part(0.1, 0.6), None), RefundAsk(admins[1], None, None))
    return pattern, (  # "over": two large partial refunds at once, only one can fit
        RefundAsk(admins[0], part(0.6, 0.9), f"chaos-{index}-a"),
        RefundAsk(admins[1], part(0.6, 0.9), f"chaos-{index}-b"),
    )


def _fault(rng: random.Random) -> dict[str, Any]:
    if rng.random() < 0.45:
        kind = _weighted(rng, WEBHOOK_FAULTS)
        body: dict[str, Any] = {"route": "webhooks", "fault": kind, "count": rng.choice((1, 1, 2, 3))}
        if kind == "duplicate":
            body["times"] = rng.choice((1, 2, 3))
        elif kind == "delay":
            body["delayMs"] = rng.randrange(500, 4000)
        elif kind == "reorder":
            body["count"] = rng.choice((2, 3, 4))
        return body
    route, kind, _ = rng.choices(API_FAULTS, [weight for *_, weight in API_FAULTS])[0]
    body = {"route": route, "fault": kind, "count": rng.choice((1, 1, 1, 2, 3))}
    if kind == "delay":
        # Past our read timeout: the first try times out, the retry (same key) may meet the next delay.
        body["delayMs"] = int(READ_TIMEOUT_SECONDS * 1000) + rng.randrange(300, 1500)
        body["count"] = rng.choice((1, 1, 2, 3, 6))  # 6: a short outage, some calls run out of budget (504)
    return body


def make_plan(seed: int, payments: int) -> Plan:
    if payments < 1:
        raise ValueError("PAYMENTS must be at least 1")
    rng = random.Random(seed)
    users = tuple(f"chaos-user-{n:03d}" for n in range(max(3, payments // 5)))
    checkouts: list[Checkout] = []
    for index in range(payments):
        user = rng.choice(users)
        if rng.random() < ORDER_SHARE:
            amount = _amount(rng)
            outcome = _weighted(rng, ORDER_OUTCOMES)
            new_amount = amount + rng.choice((-1, 1)) * rng.randrange(1_000, amount // 2)
            pattern, refunds = _refunds(rng, amount, index, 0.35)
            complete_when: Literal["before_refunds", "after_refunds", "with_refunds"] = rng.choice(
                ("before_refunds", "after_refunds", "with_refunds")
            )
            checkouts.append(
                OrderCheckout(
                    index=index,
                    user=user,
                    order_id=f"chaos-{seed}-order-{index:04d}",
                    amount=amount,
                    lines=_lines(rng, amount),
                    outcome=outcome,
                    double_click=rng.random() < 0.35,
                    idempotency_key=rng.random() < 0.3,
                    decline_card=rng.choice(DECLINE_CARDS),
                    new_amount=new_amount,
                    complete=pattern == "discount" or rng.random() < 0.3,
                    complete_when="after_refunds" if pattern == "discount" else complete_when,
                    refund_pattern=pattern,
                    refunds=refunds,
                )
            )
            continue
        outcome_s = _weighted(rng, SUBSCRIPTION_OUTCOMES)
        subscription_type: Literal["monthly", "yearly"] = "yearly" if rng.random() < 0.15 else "monthly"
        if outcome_s == "price_change_both_paid":
            plan_id, plan_name = f"chaos-{seed}-plan-{index:04d}", f"Тариф {index}"
            prices = {"monthly": rng.randrange(50_000, 300_000), "yearly": rng.randrange(500_000, 3_000_000)}
        else:
            plan_id = rng.choice(sorted(SHARED_PLANS))
            plan_name, prices = SHARED_PLANS[plan_id]
        price = prices[subscription_type]
        auto_renew = rng.random() < 0.7
        renewal = _weighted(rng, RENEWAL_COURSES) if auto_renew and subscription_type == "monthly" else None
        race: Literal["cancel", "refund"] | None = None
        if renewal == "customer_cancels" and rng.random() < 0.5:
            race = "cancel"
        elif renewal == "renews" and rng.random() < 0.2:
            race = "refund"
        checkouts.append(
            SubscriptionCheckout(
                index=index,
                user=user,
                subscription_id=f"chaos-{seed}-sub-{index:04d}",
                plan_id=plan_id,
                plan_name=plan_name,
                prices=dict(prices),
                subscription_type=subscription_type,
                auto_renew=auto_renew,
                outcome=outcome_s,
                double_click=rng.random() < 0.3,
                decline_card=rng.choice(DECLINE_CARDS),
                new_price=price + rng.choice((-1, 1)) * rng.randrange(1_000, price // 3),
                renewal=renewal,
                renewal_race=race,
                refunds=_refunds(rng, price, index, 0.25)[1],
            )
        )
    faults = tuple(
        FaultSpec(rng.randrange(payments), _fault(rng))
        for _ in range(max(2, int(payments * FAULTS_PER_CHECKOUT)))
    )
    faults = tuple(sorted(faults, key=lambda fault: fault.before))
    renewal_faults = (
        {"route": "POST /v3/payments", "fault": "500_applied", "count": 2},
        {
            "route": "POST /v3/payments",
            "fault": "delay",
            "delayMs": int(READ_TIMEOUT_SECONDS * 1000) + 700,
            "count": 3,
        },
        {"route": "webhooks", "fault": "drop", "count": rng.choice((2, 3, 4))},
        {"route": "webhooks", "fault": "duplicate", "times": 2, "count": 2},
        {"route": "GET /v3/payments/{id}", "fault": "500", "count": 2},
    )
    settle_faults = (
        {"route": "webhooks", "fault": "drop", "count": rng.choice((3, 5, 8))},
        {"route": "webhooks", "fault": "reorder", "count": 3},
        {"route": "GET /v3/payments/{id}", "fault": "drop_connection", "count": 2},
    )
    return Plan(seed, payments, users, tuple(checkouts), faults, renewal_faults, settle_faults)
