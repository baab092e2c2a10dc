"""The chaos run's table (stdout) and its JSON (``bench/results/chaos-<YYYY-MM-DD>.json``)."""

import json
from pathlib import Path
from typing import Any

from chaos.invariants import INVARIANTS
from local.template import ROOT

RESULTS = ROOT / "bench" / "results"


def default_path(results: dict[str, Any]) -> Path:
    return RESULTS / f"chaos-{results['date']}.json"


def write(results: dict[str, Any], path: Path | None) -> Path:
    target = path or default_path(results)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    return target


def _rubles(kopecks: int) -> str:
    rubles, rest = divmod(abs(kopecks), 100)
    sign = "-" if kopecks < 0 else ""
    return f"{sign}{rubles:,}".replace(",", " ") + f",{rest:02d} ₽"


def _table(title: str, header: tuple[str, str], rows: list[tuple[str, str]]) -> list[str]:
    width = max([len(header[0]), *(len(name) for name, _ in rows)])
    lines = [title, f"  {header[0]:<{width}}  {header[1]}", f"  {'-' * width}  {'-' * len(header[1])}"]
    lines += [f"  {name:<{width}}  {value}" for name, value in rows] or [f"  {'(none)':<{width}}"]
    return [*lines, ""]


def render(results: dict[str, Any], path: Path | None = None) -> str:
    faults = results["faults"]["byKind"]
    payments = results["payments"]
    violations = results["violations"]
    money = payments["moneyKopecks"]
    lines = [
        "",
        f"make chaos SEED={results['seed']} PAYMENTS={results['parameters']['payments']}: "
        f"{payments['total']} payments of ours, {payments['yookassaPayments']} at YooKassa, "
        f"{results['requests']['total']} requests, {results['seconds']['total']:.0f} s",
        "",
    ]
    lines += _table(
        "Faults injected (by the sandbox)",
        ("kind", "injected / consumed"),
        [(kind, f"{n['injected']} / {n['consumed']}") for kind, n in faults.items()],
    )
    lines += _table(
        "Webhook deliveries (the sandbox's log)",
        ("delivery", "count"),
        [(kind, str(count)) for kind, count in results["faults"]["webhookDeliveries"].items()],
    )
    lines += _table(
        "Payments by outcome",
        ("outcome", "payments"),
        [(outcome, str(count)) for outcome, count in payments["byOutcome"].items()],
    )
    lines += _table(
        "Money (YooKassa's records / ours)",
        ("", "YooKassa / ours"),
        [
            ("charged", f"{_rubles(money['yookassaCharged'])} / {_rubles(money['oursCharged'])}"),
            ("refunded", f"{_rubles(money['yookassaRefunded'])} / {_rubles(money['oursRefunded'])}"),
        ],
    )
    expected = results["requests"]["expected5xx"]
    if expected:
        lines += _table(
            "5xx answers that are not violations (YooKassa made slow or failing on purpose)",
            ("answer", "count"),
            [(answer, str(count)) for answer, count in expected.items()],
        )
    lines += _table(
        "Violations by invariant",
        ("invariant", "violations"),
        [(name, str(violations["byInvariant"][name])) for name in INVARIANTS],
    )
    checked = results["checked"]
    lines.append(
        f"  checked: {checked['oursPayments']} payments of ours ({checked['comparedWithYooKassa']} against "
        f"YooKassa's), {checked['yookassaRefunds']} refunds, {checked['orders']} orders, "
        f"{checked['subscriptions']} subscriptions ({checked['periodsGranted']} paid periods), "
        f"{checked['receipts']} receipts, {checked['requests']} requests"
    )
    for detail in violations["details"][:40]:
        lines.append(f"  ! {detail['invariant']}: {detail['subject']}: {detail['detail']}")
    if len(violations["details"]) > 40:
        lines.append(f"  ... and {len(violations['details']) - 40} more in the JSON")
    verdict = "no violations" if not violations["total"] else f"{violations['total']} VIOLATION(S)"
    where = f"; written to {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}" if path else ""
    lines += ["", f"{verdict}{where}", ""]
    return "\n".join(lines)
