"""How ``payments`` prints: Rich tables for people, ``--json`` (camelCase, integer kopecks, ISO 8601
times, like the API) for scripts."""

import json
from collections.abc import Iterable
from dataclasses import fields, is_dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel
from rich.console import Console
from rich.table import Table
from rich.text import Text

from local.cli.operations import (
    Listed,
    Reconciled,
    RenewalPreview,
    Replayed,
    Shown,
    SubscriptionShown,
    Synced,
    Triggered,
)
from payments.domain import Payment
from payments.schemas import RefundAccepted


# ---------------------------------------------------------------------------------------------- JSON
def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def plain(value: Any) -> Any:
    """Dataclasses, pydantic views, enums and times as JSON values (camelCase keys)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    if is_dataclass(value) and not isinstance(value, type):
        return {camel(f.name): plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dict):
        return {str(plain(k)): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(item) for item in value]
    return value


def dumps(value: Any) -> str:
    return json.dumps(plain(value), ensure_ascii=False, indent=2)


def changes_json(changes: Iterable[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """``(entity, field, before, after)`` or ``(field, before, after)`` rows as objects."""
    rows = []
    for change in changes:
        *entity, name, before, after = change
        row = {"field": camel(name), "before": plain(before), "after": plain(after)}
        rows.append({"entity": entity[0], **row} if entity else row)
    return rows


# ---------------------------------------------------------------------------------------------- text
def rub(kopecks: int | None) -> str:
    """``150000`` -> ``1 500,00 ₽`` (as YooKassa's checkout shows it)."""
    if kopecks is None:
        return "—"
    rubles, rest = divmod(abs(kopecks), 100)
    sign = "-" if kopecks < 0 else ""
    return f"{sign}{rubles:,}".replace(",", " ") + f",{rest:02d} ₽"


def when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment is not None else "—"


def text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return when(value)
    if isinstance(value, Enum):
        return str(value.value)
    return str(value)


def _table(title: str | None = None, *columns: str) -> Table:
    table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False, header_style="bold")
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def _facts(rows: Iterable[tuple[str, Any]]) -> Table:
    table = Table(show_header=False, show_edge=False, pad_edge=False, box=None)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for name, value in rows:
        table.add_row(name, value if isinstance(value, Text) else text(value))
    return table


def payment_facts(payment: Payment) -> list[tuple[str, Any]]:
    subject = ("order", payment.order_id) if payment.order_id else ("subscription", payment.subscription_id)
    rows: list[tuple[str, Any]] = [
        ("payment", payment.payment_id),
        ("YooKassa id", payment.yookassa_id),
        ("type", payment.type),
        ("status", payment.status),
        ("user", payment.user_id),
        subject,
        ("amount", rub(payment.amount)),
        ("refunded", rub(payment.refunded_amount)),
        ("created", payment.created_at),
        ("paid", payment.paid_at),
    ]
    if payment.refund_reserved:
        rows.append(("refund held", rub(payment.refund_reserved)))
    if payment.plan_id:
        rows.append(("plan", f"{payment.plan_id} ({payment.subscription_type})"))
    if payment.cancellation_reason:
        rows.append(("cancellation", f"{payment.cancellation_reason} ({payment.cancellation_party})"))
    if payment.renewal_attempt:
        rows.append(("renewal try", f"{payment.renewal_attempt}{' (last)' if payment.final_attempt else ''}"))
    if not payment.capture:
        rows.append(("capture", "two-stage"))
    if payment.delivered is False:
        rows.append(("delivered", "no: refunded as undeliverable"))
    return rows


def _money_or(value: Any, field: str) -> str:
    return rub(value) if field in {"amount", "refunded"} and isinstance(value, int) else text(value)


def show(console: Console, shown: Shown) -> None:
    console.print(_facts(payment_facts(shown.payment)))
    subject = shown.subject
    if subject is not None:
        console.print(f"\n{type(subject).__name__.lower()}: {getattr(subject, 'status', '')}", highlight=False)
    console.print()
    compared = _table("Ours and YooKassa's", "", "ours", "YooKassa", "")
    for row in shown.comparisons:
        mark = Text("differs", style="bold red") if row.differs else Text("")
        style = "red" if row.differs else None
        compared.add_row(
            row.field,
            Text(_money_or(row.ours, row.field), style=style or ""),
            Text(_money_or(row.theirs, row.field), style=style or ""),
            mark,
        )
    console.print(compared)
    if shown.differences:
        console.print()
        for difference in shown.differences:
            console.print(Text(f"! {difference.message}", style="bold red"))
    else:
        console.print(Text("\nno differences", style="green"))
    if shown.provider_refunds or shown.refund_requests:
        console.print()
        refunds = _table("Refunds", "refund", "amount", "ours", "YooKassa", "receipt")
        recorded = {r.refund_id for r in shown.applied_refunds}
        provider = {r.id: r for r in shown.provider_refunds}
        for request in shown.refund_requests:
            theirs = provider.get(request.yookassa_refund_id or "")
            refunds.add_row(
                request.yookassa_refund_id or f"(request {request.request_id})",
                rub(request.amount),
                f"{request.state}{f' ({request.failure_reason})' if request.failure_reason else ''}",
                text(theirs.status if theirs else None),
                text(theirs.receipt_registration if theirs else None),
            )
        known = {r.yookassa_refund_id for r in shown.refund_requests}
        for refund in shown.provider_refunds:
            if refund.id not in known:
                refunds.add_row(
                    refund.id,
                    rub(refund.amount),
                    "recorded" if refund.id in recorded else "not recorded",
                    text(refund.status),
                    text(refund.receipt_registration),
                )
        console.print(refunds)
    console.print()
    if shown.audit:
        trail = _table("Webhook audit trail", "received", "event", "object", "YooKassa said", "outcome", "from")
        for entry in shown.audit:
            trail.add_row(
                when(entry.received_at),
                entry.event,
                entry.object_id,
                text(entry.fetched_status),
                entry.outcome,
                entry.source_ip,
            )
        console.print(trail)
    else:
        console.print("no webhook notifications recorded (kept 90 days)")


def show_json(shown: Shown) -> str:
    return dumps(
        {
            "payment": shown.payment,
            "subject": shown.subject,
            "yookassa": shown.provider,
            "yookassaError": shown.provider_error,
            "yookassaRefunds": shown.provider_refunds,
            "comparison": shown.comparisons,
            "differences": shown.differences,
            "refundRequests": shown.refund_requests,
            "appliedRefunds": shown.applied_refunds,
            "audit": shown.audit,
        }
    )


def listed(console: Console, result: Listed) -> None:
    table = _table(
        None, "payment", "status", "amount", "user", "order / subscription", "created", "YooKassa id"
    )
    for p in result.payments:
        table.add_row(
            p.payment_id,
            str(p.status),
            rub(p.amount),
            p.user_id,
            p.subject_id,
            when(p.created_at),
            text(p.yookassa_id),
        )
    if result.payments:
        console.print(table)
    how = f"with a {result.source}" if result.source.startswith("Scan") else f"from the {result.source}"
    console.print(f"{len(result.payments)} payment(s), read {how}", style="dim", highlight=False)


def listed_json(result: Listed) -> str:
    return dumps({"payments": result.payments, "source": result.source})


def synced(console: Console, result: Synced) -> None:
    outcome = result.result.outcome
    console.print(
        f"YooKassa says {result.fetched.status}; {outcome}"
        + (f" ({result.result.reason})" if result.result.reason else ""),
        highlight=False,
    )
    if result.changes:
        table = _table(None, "", "field", "before", "after")
        for entity, name, before, after in result.changes:
            table.add_row(entity, name, _money_or(before, name), _money_or(after, name))
        console.print(table)
    else:
        console.print("nothing changed", style="dim")


def synced_json(result: Synced) -> str:
    return dumps(
        {
            "paymentId": result.after.payment_id,
            "yookassaStatus": result.fetched.status,
            "outcome": result.result.outcome,
            "reason": result.result.reason or None,
            "changes": changes_json(result.changes),
            "payment": result.after,
        }
    )


def reconciled(console: Console, result: Reconciled) -> None:
    s = result.summary
    title = "Reconciler pass (dry run: nothing written or sent)" if result.dry_run else "Reconciler pass"
    table = _table(title, "checked", "settled", "still pending", "failed", "conflicts", "refunds checked")
    table.add_row(
        str(s.checked), str(result.settled), str(result.still_pending), str(result.failed),
        str(s.conflicts), str(s.refunds_checked),
    )  # fmt: skip
    console.print(table)
    if s.unfinished:
        console.print("ran out of time: the next run continues", style="yellow")
    failed = [p for p in s.failed_payment_ids if p not in {c[0] for c in result.calls}]
    if failed:
        console.print(f"failed: {', '.join(failed)} (see `payments show <id>`)", style="red", highlight=False)
    if result.dry_run:
        if result.planned:
            plan = _table("Would write", "", "id", "changes")
            for change in result.planned:
                described = (
                    ", ".join(f"{name}: {text(a)} → {text(b)}" for name, a, b in change.changes) or "new"
                )
                plan.add_row(change.kind, change.id, described)
            console.print(plan)
        for payment_id, call in result.calls:
            console.print(f"would ask YooKassa to {call} for {payment_id}", highlight=False)
        if not result.planned and not result.calls:
            console.print("nothing would change", style="dim")
    console.print(f"{result.seconds:.1f} s", style="dim")


def reconciled_json(result: Reconciled) -> str:
    s = result.summary
    return dumps(
        {
            "dryRun": result.dry_run,
            "checked": s.checked,
            "settled": result.settled,
            "stillPending": result.still_pending,
            "failed": result.failed,
            "conflicts": s.conflicts,
            "refundsChecked": s.refunds_checked,
            "deferred": s.deferred,
            "unfinished": s.unfinished,
            "failedPaymentIds": [p for p in s.failed_payment_ids if p not in {c[0] for c in result.calls}],
            "wouldWrite": [
                {"entity": c.kind, "id": c.id, "changes": changes_json(c.changes)} for c in result.planned
            ],
            "wouldCall": [{"paymentId": p, "call": call} for p, call in result.calls],
            "seconds": round(result.seconds, 3),
        }
    )


def refunded(console: Console, accepted: RefundAccepted) -> None:
    console.print(
        _facts(
            [
                ("refund", accepted.refund_id),
                ("amount", rub(accepted.amount)),
                ("status", accepted.status),
                ("payment", accepted.payment_id),
                ("payment status", accepted.payment_status),
                ("refunded so far", rub(accepted.refunded_amount)),
            ]
        )
    )


def preview_row(preview: RenewalPreview) -> list[str]:
    s = preview.subscription
    what = preview.action
    if preview.action == "charge" and preview.attempt:
        what = f"charge, try {preview.attempt}{' (last)' if preview.final else ''}"
    if preview.action == "end":
        what = f"end: {preview.end_status}"
    card = s.payment_method.card_last4 if s.payment_method else None
    plan = f"{preview.plan_id or s.plan_id} ({preview.subscription_type or s.subscription_type})"
    return [
        s.subscription_id,
        s.user_id,
        str(s.status),
        plan,
        when(s.end_date),
        what + (f" — {preview.problem}" if preview.problem else ""),
        when(preview.at),
        rub(preview.amount) if preview.amount is not None else "—",
        f"*{card}" if card else "—",
    ]


def due(console: Console, previews: list[RenewalPreview], within: str) -> None:
    table = _table(
        None, "subscription", "user", "status", "plan", "paid until", "renewal would", "at", "amount", "card"
    )
    for preview in previews:
        table.add_row(*preview_row(preview))
    if previews:
        console.print(table)
        total = sum(p.amount or 0 for p in previews if p.action == "charge" and not p.problem)
        console.print(f"{len(previews)} due within {within}; charges total {rub(total)}", highlight=False)
    else:
        console.print(f"nothing due within {within}", style="dim", highlight=False)


def preview_json(preview: RenewalPreview) -> dict[str, Any]:
    data = plain(preview)
    data["subscriptionId"] = preview.subscription.subscription_id
    del data["subscription"]
    return dict(data)


def due_json(previews: list[RenewalPreview]) -> str:
    return dumps({"due": [{"subscription": plain(p.subscription), **preview_json(p)} for p in previews]})


def subscription(console: Console, shown: SubscriptionShown) -> None:
    s = shown.subscription
    rows: list[tuple[str, Any]] = [
        ("subscription", s.subscription_id),
        ("user", s.user_id),
        ("status", s.status),
        ("plan", f"{s.plan_id} ({s.subscription_type})"),
        ("paid from", s.start_date),
        ("paid until", s.end_date),
        ("periods paid", s.periods_paid),
        ("auto-renew", "on" if s.auto_renew else "off"),
    ]
    if s.payment_method:
        rows.append(("card", f"{s.payment_method.card_type or ''} *{s.payment_method.card_last4 or '?'}"))
    if s.scheduled_change:
        change = s.scheduled_change
        rows.append(
            ("scheduled", f"{change.plan_id} ({change.subscription_type}) from {when(change.starts_at)}")
        )
    if s.canceled_at:
        rows.append(("renewal off since", s.canceled_at))
    if s.renewal_failures:
        rows.append(("declined renewals", f"{s.renewal_failures} (first {when(s.first_failure_at)})"))
    rows.append(("next charge", shown.next_charge_at))
    console.print(_facts(rows))
    console.print()
    row = preview_row(shown.renewal)
    console.print(f"renewal: {row[5]} at {row[6]}, {row[7]}", highlight=False)
    if shown.payments:
        console.print()
        table = _table("Payments", "payment", "status", "amount", "created", "YooKassa id")
        for p in shown.payments:
            table.add_row(p.payment_id, str(p.status), rub(p.amount), when(p.created_at), text(p.yookassa_id))
        console.print(table)


def subscription_json(shown: SubscriptionShown) -> str:
    return dumps(
        {
            "subscription": shown.subscription,
            "nextChargeAt": shown.next_charge_at,
            "renewal": preview_json(shown.renewal),
            "payments": shown.payments,
        }
    )


def replayed(console: Console, result: Replayed) -> None:
    r = result.result
    console.print(
        f"{result.event} for {result.kind} {result.object_id}: "
        f"YooKassa says {r.fetched_status}; outcome {r.outcome}"
        + (f" (payment {r.payment_id})" if r.payment_id else ""),
        highlight=False,
    )
    if result.changes:
        table = _table(None, "field", "before", "after")
        for name, before, after in result.changes:
            table.add_row(name, _money_or(before, name), _money_or(after, name))
        console.print(table)
    else:
        console.print("nothing changed", style="dim")


def replayed_json(result: Replayed) -> str:
    return dumps(
        {
            "objectId": result.object_id,
            "kind": result.kind,
            "event": result.event,
            "outcome": result.result.outcome,
            "yookassaStatus": result.result.fetched_status,
            "paymentId": result.result.payment_id,
            "changes": changes_json(result.changes),
        }
    )


def triggered(console: Console, result: Triggered) -> None:
    console.print(f"sandbox: {result.helper} for {result.object_id}", highlight=False)
    d = result.delivery
    if d is None:
        console.print("no delivery seen yet (is a webhook URL configured?)", style="yellow")
        return
    if "statusCode" in d:
        console.print(f"{d.get('event')} delivered to {d.get('url')}: {d['statusCode']}", highlight=False)
    else:
        console.print(f"{d.get('event')} not delivered to {d.get('url')}: {d.get('error')}", style="red")


def triggered_json(result: Triggered) -> str:
    return dumps(
        {
            "event": result.event,
            "objectId": result.object_id,
            "helper": result.helper,
            "delivery": result.delivery,
        }
    )
