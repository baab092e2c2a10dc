"""The money invariants, checked against YooKassa's own records (the sandbox's ``GET /v3/payments`` and
``GET /v3/refunds`` with the shop's credentials, its receipts) and what our API answers. Pure: every input
is data gathered over HTTP by ``chaos.run``; nothing here asks anything.

An invariant is named once here and listed in the report even when it holds (0 violations).
"""

import calendar
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from chaos.client import Recorder
from chaos.scenarios import AcceptedRefund

INVARIANTS: dict[str, str] = {
    "state_matches_yookassa": "every payment of ours ends in the state YooKassa has for it",
    "none_pending": "nothing is pending after reconciliation, ours or YooKassa's",
    "yookassa_payment_has_record": "every YooKassa payment is one of ours (metadata.paymentId), one per ours",
    "paid_once": "no order and no subscription period is paid twice (money kept twice)",
    "no_money_for_nothing": "no customer keeps money charged for something they did not get",
    "money_matches_delivery": "nothing is delivered without the money for it (paid orders, granted time)",
    "refund_within_paid": "refunded never exceeds paid (ours, YooKassa's, what admins were told)",
    "refunds_add_up": "our refundedAmount, YooKassa's refunded_amount and its refunds agree to the kopeck",
    "receipts_add_up": "every payment and refund has its 54-FZ receipt, and each adds up (RECEIPTS on)",
    "settlement_settles_what_is_left": "an order's settlement receipt settles the prepayment still held: "
    "paid minus the refunds before it (RECEIPTS on)",
    "double_click_one_payment": "two creates at the same moment get one payment",
    "no_5xx": "no client got a 5xx (504 provider_timeout under an injected YooKassa fault excepted)",
    "errors_in_envelope": 'every error a client got was our envelope {"error": {"code", "message"}}',
    "no_hang": "every request was answered within the client's timeout",
    "no_unhandled_exception": "no function raised (the gateway's and scheduler's logs)",
}
OURS_FOR_YOOKASSA = {
    "refunded": frozenset({"refunded"}),
    "kept": frozenset({"paid", "success"}),
    "canceled": frozenset({"canceled", "failed"}),
}
CHARGED = frozenset({"paid", "success", "refunded"})


@dataclass(frozen=True)
class Violation:
    invariant: str
    subject: str  # a payment, order or subscription id, or a route
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"invariant": self.invariant, "subject": self.subject, "detail": self.detail}


@dataclass
class Observed:
    """Everything the checks read, gathered at the end of the run."""

    yookassa_payments: list[dict[str, Any]]
    yookassa_refunds: list[dict[str, Any]]
    ours: dict[str, dict[str, Any] | None]  # our paymentId -> GET /payment-status answer (None: not found)
    created: set[str]  # payment ids a customer's create answered with
    orders: dict[str, dict[str, Any] | None]  # each order of the run -> as /_local/demo-data lists it
    subscriptions: dict[str, dict[str, Any] | None]  # each subscription of the run -> GET /subscriptions
    accepted_refunds: list[AcceptedRefund]
    final_reconcile: dict[str, Any]
    split_double_clicks: list[str] = field(default_factory=list)
    receipts: dict[str, list[dict[str, Any]]] | None = None  # YooKassa payment id -> its receipts
    crashes: list[str] = field(default_factory=list)
    recorder: Recorder | None = None
    # Subscriptions whose customer turned renewal off (200) before the renewal function ran.
    renewal_canceled: set[str] = field(default_factory=set)


def kopecks(amount: Any) -> int:
    """YooKassa's ``{"value": "1500.00"}`` (or a bare value) in integer kopecks, exactly."""
    value = amount.get("value") if isinstance(amount, dict) else amount
    if value is None:
        return 0
    cents = Decimal(str(value)) * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"not a whole number of kopecks: {value!r}")
    return int(cents)


def parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)  # YooKassa's precision: ms


def add_months(moment: datetime, months: int) -> datetime:
    """Calendar months, the day clamped (Jan 31 + 1 month = Feb 28/29), as a paid period is."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def periods_between(start: datetime, end: datetime, months: int) -> int | None:
    """How many periods of ``months`` lead from ``start`` to ``end`` exactly; None when none does."""
    moment, count = start, 0
    while moment < end and count < 1000:
        moment, count = add_months(moment, months), count + 1
    return count if moment == end else None


def yookassa_class(payment: dict[str, Any]) -> str | None:
    """``kept`` / ``refunded`` / ``canceled``; None while YooKassa has not decided (pending, held)."""
    status = payment.get("status")
    if status == "canceled":
        return "canceled"
    if status != "succeeded":
        return None
    refunded = kopecks(payment.get("refunded_amount"))
    return "refunded" if refunded == kopecks(payment["amount"]) else "kept"


def _metadata(payment: dict[str, Any]) -> dict[str, Any]:
    metadata = payment.get("metadata")
    return metadata if isinstance(metadata, dict) else {}


def check(observed: Observed) -> list[Violation]:
    violations: list[Violation] = []
    add = violations.append
    by_ours: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for payment in observed.yookassa_payments:
        payment_id = _metadata(payment).get("paymentId")
        if not isinstance(payment_id, str):
            add(
                Violation(
                    "yookassa_payment_has_record", payment["id"], "YooKassa payment without our paymentId"
                )
            )
            continue
        by_ours[payment_id].append(payment)
    refunds_of: dict[str, list[dict[str, Any]]] = defaultdict(list)
    refund_by_id = {refund["id"]: refund for refund in observed.yookassa_refunds}
    for refund in observed.yookassa_refunds:
        if refund.get("status") == "succeeded":
            refunds_of[refund["payment_id"]].append(refund)

    _check_records(observed, by_ours, add)
    _check_states(observed, by_ours, refunds_of, add)
    _check_admin_refunds(observed, by_ours, refund_by_id, add)
    _check_orders(observed, add)
    _check_subscriptions(observed, add)
    _check_canceled_renewals(observed, add)
    if observed.final_reconcile.get("checked", 1) != 0 or observed.final_reconcile.get("deferred"):
        add(
            Violation(
                "none_pending", "ReconcilerFunction", f"its last run still found {observed.final_reconcile}"
            )
        )
    if observed.receipts is not None:
        _check_receipts(observed, refunds_of, add)
    for split in observed.split_double_clicks:
        add(Violation("double_click_one_payment", split.split(":")[0], split))
    if observed.recorder is not None:
        _check_answers(observed.recorder, add)
    for line in observed.crashes:
        add(Violation("no_unhandled_exception", "stack log", line[:300]))
    return violations


def _check_records(observed: Observed, by_ours: dict[str, list[dict[str, Any]]], add: Any) -> None:
    """Each YooKassa payment resolves to one of ours with the same amount, customer and subject."""
    for payment_id, payments in by_ours.items():
        if len(payments) > 1:
            ids = ", ".join(p["id"] for p in payments)
            add(
                Violation(
                    "yookassa_payment_has_record", payment_id, f"{len(payments)} YooKassa payments: {ids}"
                )
            )
        ours = observed.ours.get(payment_id)
        for payment in payments:
            if ours is None:
                add(
                    Violation("yookassa_payment_has_record", payment_id, f"YooKassa {payment['id']}: no record")
                )
                continue
            metadata = _metadata(payment)
            differs = []
            if kopecks(payment["amount"]) != ours.get("amount"):
                differs.append(f"amount {kopecks(payment['amount'])} vs ours {ours.get('amount')}")
            for key in ("orderId", "subscriptionId"):
                if key in metadata and metadata[key] != ours.get(key):
                    differs.append(f"{key} {metadata[key]} vs ours {ours.get(key)}")
            if differs:
                add(Violation("yookassa_payment_has_record", payment_id, "; ".join(differs)))


def _check_states(
    observed: Observed,
    by_ours: dict[str, list[dict[str, Any]]],
    refunds_of: dict[str, list[dict[str, Any]]],
    add: Any,
) -> None:
    for payment_id, ours in sorted(observed.ours.items()):
        if ours is None:
            if payment_id not in by_ours:
                add(Violation("state_matches_yookassa", payment_id, "our record cannot be read"))
            continue
        status = ours.get("status")
        if status == "pending":
            add(Violation("none_pending", payment_id, "ours is still pending"))
        payments = by_ours.get(payment_id, [])
        amount, refunded = int(ours.get("amount", 0)), int(ours.get("refundedAmount", 0))
        if refunded > amount:
            add(Violation("refund_within_paid", payment_id, f"ours refunded {refunded} of {amount}"))
        if not payments:
            if status in CHARGED or refunded:
                add(
                    Violation(
                        "state_matches_yookassa", payment_id, f"ours is {status}; YooKassa has no payment"
                    )
                )
            continue
        payment = payments[0]
        kind = yookassa_class(payment)
        if kind is None:
            add(Violation("none_pending", payment_id, f"YooKassa {payment['id']} is {payment.get('status')}"))
        elif status not in OURS_FOR_YOOKASSA[kind]:
            reason = (payment.get("cancellation_details") or {}).get("reason", "")
            add(
                Violation(
                    "state_matches_yookassa",
                    payment_id,
                    f"ours {status}, YooKassa {payment.get('status')} {reason}".strip()
                    + f" (refunded {kopecks(payment.get('refunded_amount'))} of {kopecks(payment['amount'])})",
                )
            )
        theirs = kopecks(payment.get("refunded_amount"))
        if theirs > kopecks(payment["amount"]):
            add(
                Violation(
                    "refund_within_paid", payment_id, f"YooKassa refunded {theirs} of {payment['amount']}"
                )
            )
        if refunded != theirs:
            add(Violation("refunds_add_up", payment_id, f"ours refundedAmount {refunded}, YooKassa's {theirs}"))
        listed = sum(kopecks(refund["amount"]) for refund in refunds_of.get(payment["id"], []))
        if listed != theirs:
            add(
                Violation(
                    "refunds_add_up", payment_id, f"YooKassa's refunds sum to {listed}, refunded {theirs}"
                )
            )


def _check_admin_refunds(
    observed: Observed,
    by_ours: dict[str, list[dict[str, Any]]],
    refund_by_id: dict[str, dict[str, Any]],
    add: Any,
) -> None:
    """What admins were told (200 answers) is what YooKassa did, and never more than was paid."""
    told: dict[str, dict[str, int]] = defaultdict(dict)
    for accepted in observed.accepted_refunds:
        told[accepted.payment_id][accepted.refund_id] = accepted.amount
        refund = refund_by_id.get(accepted.refund_id)
        payments = by_ours.get(accepted.payment_id, [])
        if refund is None:
            add(
                Violation(
                    "refunds_add_up", accepted.payment_id, f"refund {accepted.refund_id}: not at YooKassa"
                )
            )
            continue
        if kopecks(refund["amount"]) != accepted.amount or (
            payments and refund["payment_id"] != payments[0]["id"]
        ):
            add(
                Violation(
                    "refunds_add_up",
                    accepted.payment_id,
                    f"refund {accepted.refund_id}: {accepted.admin} was told {accepted.amount}, YooKassa has "
                    f"{kopecks(refund['amount'])} of {refund['payment_id']}",
                )
            )
    for payment_id, refunds in told.items():
        ours = observed.ours.get(payment_id)
        if ours is not None and sum(refunds.values()) > int(ours.get("amount", 0)):
            add(
                Violation(
                    "refund_within_paid",
                    payment_id,
                    f"admins were told {sum(refunds.values())} refunded of {ours.get('amount')}",
                )
            )


def _kept_for(observed: Observed, key: str, subject_id: str) -> list[dict[str, Any]]:
    return [
        payment
        for payment in observed.yookassa_payments
        if _metadata(payment).get(key) == subject_id and yookassa_class(payment) == "kept"
    ]


def _check_orders(observed: Observed, add: Any) -> None:
    for order_id, order in sorted(observed.orders.items()):
        kept = _kept_for(observed, "orderId", order_id)
        status = order.get("status") if order is not None else None
        delivered = status in ("paid", "completed")
        ids = ", ".join(str(_metadata(p).get("paymentId")) for p in kept)
        if len(kept) > 1:
            add(Violation("paid_once", order_id, f"{len(kept)} payments kept for one order: {ids}"))
        elif kept and not delivered:
            add(Violation("no_money_for_nothing", order_id, f"order {status}, yet {ids} kept its money"))
        elif not kept and delivered:
            add(Violation("money_matches_delivery", order_id, f"order {status} with no payment kept"))


def _check_subscriptions(observed: Observed, add: Any) -> None:
    """The paid time a subscription grants is what the money kept for it bought: one period per payment
    kept (a partial refund keeps it) captured since its paid time began; none for a refund in full."""
    for subscription_id, view in sorted(observed.subscriptions.items()):
        kept = _kept_for(observed, "subscriptionId", subscription_id)
        start, end = (view or {}).get("startDate"), (view or {}).get("endDate")
        if view is None or start is None or end is None or view.get("status") == "pending":
            if kept:
                ids = ", ".join(str(_metadata(p).get("paymentId")) for p in kept)
                add(Violation("no_money_for_nothing", subscription_id, f"nothing granted, yet {ids} kept"))
            continue
        began, ended = parse_time(start), parse_time(end)
        months = 12 if view.get("subscriptionType") == "yearly" else 1
        granted = periods_between(began, ended, months)
        counted = [p for p in kept if "captured_at" in p and parse_time(p["captured_at"]) >= began]
        ids = ", ".join(str(_metadata(p).get("paymentId")) for p in counted) or "none"
        if granted is None:
            add(
                Violation(
                    "money_matches_delivery",
                    subscription_id,
                    f"{start}..{end} is no whole number of {months}-month periods (kept: {ids})",
                )
            )
        elif len(counted) > granted:
            add(
                Violation(
                    "paid_once",
                    subscription_id,
                    f"{len(counted)} payments kept ({ids}) for {granted} period(s) granted, {start}..{end}",
                )
            )
        elif len(counted) < granted:
            add(
                Violation(
                    "money_matches_delivery",
                    subscription_id,
                    f"{granted} period(s) granted ({start}..{end}) for {len(counted)} payment(s) kept: {ids}",
                )
            )


def _check_canceled_renewals(observed: Observed, add: Any) -> None:
    """A customer who turned renewal off before it was due keeps no renewal charge (its time bought
    nothing they asked for: the service must give such a charge back)."""
    for payment in observed.yookassa_payments:
        metadata = _metadata(payment)
        renewal = metadata.get("paymentId") not in observed.created
        if (
            metadata.get("subscriptionId") in observed.renewal_canceled
            and renewal
            and yookassa_class(payment) == "kept"
        ):
            add(
                Violation(
                    "no_money_for_nothing",
                    str(metadata.get("subscriptionId")),
                    f"renewal {metadata.get('paymentId')} kept after the customer turned renewal off",
                )
            )


def _receipt_total(receipt: dict[str, Any]) -> int:
    """Σ quantity × unit price, in kopecks (quantities may have up to 3 decimals)."""
    total = Decimal(0)
    for item in receipt.get("items", []):
        total += Decimal(str(item.get("quantity", 0))) * Decimal(str(item["amount"]["value"])) * 100
    if total != total.to_integral_value():
        return -1
    return int(total)


def _check_receipts(observed: Observed, refunds_of: dict[str, list[dict[str, Any]]], add: Any) -> None:
    assert observed.receipts is not None
    for payment in observed.yookassa_payments:
        if payment.get("status") != "succeeded":
            continue
        payment_id = str(_metadata(payment).get("paymentId"))
        receipts = observed.receipts.get(payment["id"], [])
        own = [r for r in receipts if r.get("type") == "payment" and not r.get("settlements")]
        amount = kopecks(payment["amount"])
        if len(own) != 1:
            add(Violation("receipts_add_up", payment_id, f"{len(own)} payment receipts for {payment['id']}"))
        for receipt in own:
            if _receipt_total(receipt) != amount:
                add(
                    Violation(
                        "receipts_add_up", payment_id, f"receipt {receipt['id']}: {_receipt_total(receipt)}"
                    )
                )
        by_refund = {r.get("refund_id"): r for r in receipts if r.get("type") == "refund"}
        for refund in refunds_of.get(payment["id"], []):
            refund_receipt = by_refund.get(refund["id"])
            if refund_receipt is None:
                add(Violation("receipts_add_up", payment_id, f"refund {refund['id']} has no receipt"))
            elif _receipt_total(refund_receipt) != kopecks(refund["amount"]):
                add(
                    Violation(
                        "receipts_add_up",
                        payment_id,
                        f"refund receipt {refund_receipt['id']}: {_receipt_total(refund_receipt)}"
                        f" for {kopecks(refund['amount'])}",
                    )
                )
        _check_settlement(payment_id, str(_metadata(payment).get("orderId")), amount, receipts, add)


def _check_settlement(
    payment_id: str, order_id: str, amount: int, receipts: list[dict[str, Any]], add: Any
) -> None:
    """A payment's receipts as a ledger, oldest first: the prepayment, returns of it (refund receipts), and
    at most one settlement receipt, whose items add up to what it settles, and which settles exactly the
    prepayment still held when it was registered (paid - returned before it)."""
    held = amount
    settlements = 0
    for receipt in receipts:
        total = _receipt_total(receipt)
        if receipt.get("type") == "refund":
            held -= total
            continue
        if not receipt.get("settlements"):
            continue
        settlements += 1
        settled = sum(kopecks(s["amount"]) for s in receipt["settlements"])
        if total != settled:
            add(
                Violation(
                    "receipts_add_up",
                    payment_id,
                    f"settlement {receipt['id']}: items {total}, settles {settled}",
                )
            )
        if settled != held:
            add(
                Violation(
                    "settlement_settles_what_is_left",
                    payment_id,
                    f"order {order_id}: settlement receipt {receipt['id']} settles {settled} of prepayment, "
                    f"{held} was left ({amount} prepaid, {amount - held} returned before it)",
                )
            )
    if settlements > 1:
        add(Violation("receipts_add_up", payment_id, f"{settlements} settlement receipts for one payment"))


def _check_answers(recorder: Recorder, add: Any) -> None:
    examples = recorder.examples
    for key, count in sorted(recorder.unexpected_5xx.items()):
        add(Violation("no_5xx", key, f"{count} answer(s); e.g. {examples.get('no_5xx', [''])[:3]}"))
    for key, count in sorted(recorder.not_enveloped.items()):
        add(
            Violation(
                "errors_in_envelope",
                key,
                f"{count} answer(s); e.g. {examples.get('errors_in_envelope', [''])[:3]}",
            )
        )
    for key, count in sorted(recorder.hangs.items()):
        add(Violation("no_hang", key, f"{count} request(s); e.g. {examples.get('no_hang', [''])[:3]}"))


def coverage(observed: Observed) -> dict[str, int]:
    """What the checks looked at: a run that checked nothing proves nothing."""
    known = {_metadata(p).get("paymentId") for p in observed.yookassa_payments}
    granted = 0
    for view in observed.subscriptions.values():
        if view and view.get("startDate") and view.get("endDate") and view.get("status") != "pending":
            months = 12 if view.get("subscriptionType") == "yearly" else 1
            granted += periods_between(parse_time(view["startDate"]), parse_time(view["endDate"]), months) or 0
    return {
        "oursPayments": len(observed.ours),
        "comparedWithYooKassa": sum(1 for pid, ours in observed.ours.items() if ours and pid in known),
        "yookassaPayments": len(observed.yookassa_payments),
        "yookassaRefunds": len(observed.yookassa_refunds),
        "orders": sum(1 for order in observed.orders.values() if order is not None),
        "subscriptions": sum(1 for view in observed.subscriptions.values() if view is not None),
        "periodsGranted": granted,
        "adminRefundsTold": len(observed.accepted_refunds),
        "receipts": sum(len(r) for r in (observed.receipts or {}).values()),
        "requests": observed.recorder.calls if observed.recorder is not None else 0,
    }


def by_invariant(violations: list[Violation]) -> dict[str, int]:
    counts = Counter(v.invariant for v in violations)
    return {name: counts.get(name, 0) for name in INVARIANTS}


def outcome_of(
    ours: dict[str, Any] | None, payments: list[dict[str, Any]], created: bool, admin_refunded: bool
) -> str:
    """A payment's outcome for the table: ``<kind>: <what became of it>``."""
    kind = "order" if ours is not None and ours.get("type") == "order" else "subscription"
    if ours is not None and ours.get("type") == "subscription" and not created:
        kind = "renewal"
    if ours is None:
        return f"{kind}: no record of ours"
    if ours.get("status") == "pending":
        return f"{kind}: pending"
    if not payments:
        return f"{kind}: never reached YooKassa ({ours.get('status')})"
    payment = payments[0]
    if payment.get("status") == "canceled":
        reason = (payment.get("cancellation_details") or {}).get("reason", "")
        return f"{kind}: expired unpaid" if reason.startswith("expired") else f"{kind}: declined ({reason})"
    if payment.get("status") != "succeeded":
        return f"{kind}: {payment.get('status')} at YooKassa"
    refunded, amount = kopecks(payment.get("refunded_amount")), kopecks(payment["amount"])
    if refunded == 0:
        return f"{kind}: paid"
    if refunded < amount:
        return f"{kind}: paid, partly refunded"
    return f"{kind}: refunded in full" + (" by admins" if admin_refunded else " automatically (undeliverable)")
