"""The figures as one readable table, and as JSON in bench/results/."""

import json
from pathlib import Path
from typing import Any

from bench.costs import FLOOR_UNITS, PROFILE

SHORT = {
    "GetItem": "Get",
    "PutItem": "Put",
    "UpdateItem": "Update",
    "DeleteItem": "Delete",
    "TransactWriteItems": "Tx",
    "TransactGetItems": "TxGet",
    "Query": "Query",
    "BatchWriteItem": "Batch",
}
COST_NAMES = {
    "api_gateway": "API Gateway HTTP API",
    "lambda_requests": "Lambda requests",
    "lambda_compute": "Lambda GB-seconds",
    "dynamodb_reads": "DynamoDB reads",
    "dynamodb_writes": "DynamoDB writes",
    "logs": "CloudWatch Logs",
    "secrets_manager": "Secrets Manager",
}


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        padded = [
            str(cell).ljust(width) if i == 0 else str(cell).rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(padded).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(row) for row in rows)])


def _ms(stats: dict[str, Any]) -> str:
    return f"{stats['median'] * 1000:.1f}" if stats.get("median") is not None else "-"


def _ratio(stats: dict[str, Any]) -> str:
    if stats.get("median") is None:
        return "-"
    return f"{stats['median']:.2f}x [{stats['q1']:.2f}-{stats['q3']:.2f}]"


def _kinds(operations: dict[str, int], per: float = 1) -> str:
    return " ".join(f"{n / per:g} {SHORT.get(op, op)}" for op, n in sorted(operations.items()))


def _routes(routes: dict[str, int], per: float = 1) -> str:
    return ", ".join(f"{n / per:g} {route.replace('/v3', '')}" for route, n in sorted(routes.items())) or "-"


def _header(results: dict[str, Any]) -> list[str]:
    machine, params = results["machine"], results["parameters"]
    return [
        f"make bench, {results['date']}: {machine['cpu']} ({machine['cores']} cores, {machine['arch']}), "
        f"Python {machine['python']}, commit {machine['commit']}; load average before/after: "
        f"{machine['load_average'][:1]} / {machine.get('load_average_after', [])[:1]}",
        f"N = {params['pairs']} warm pairs, {params['cold_pairs']} cold pairs per function; reconciler backlog "
        f"{params['reconcile_n']} (+{params['reconcile_delayed_n']} at {params['yookassa_latency_ms']} ms); "
        f"YooKassa credentials: {params['credentials']}{'; QUICK' if params['quick'] else ''}",
        "Ratio = ours / baseline of each pair (pairs run alternately in this run): median [quartiles].",
        "",
    ]


def _cold(cold: dict[str, Any]) -> list[str]:
    rows = []
    for function, figures in cold.items():
        if "skipped" in figures:
            rows.append([function, *["-"] * 7, figures["skipped"]])
            continue
        rows.append(
            [
                function,
                _ms(figures["wall"]["ours"]),
                _ms(figures["cpu"]["ours"]),
                _ms(figures["init_wall"]["ours"]),
                _ms(figures["wall"]["bare"]),
                _ratio(figures["wall"]["ratio"]),
                _ratio(figures["cpu"]["ratio"]),
                f"{figures['modules']['median']:.0f}",
                f"{figures['log_bytes']['median']:.0f}",
            ]
        )
    headers = [
        "function",
        "wall ms",
        "CPU ms",
        "init ms",
        "bare ms",
        "wall ratio",
        "CPU ratio",
        "modules",
        "log B",
    ]
    imports = []
    for function in ("PaymentStatusFunction", "CreateOrderPaymentFunction", "YooKassaWebhookFunction"):
        profile = cold.get(function, {}).get("imports") or {}
        if profile:
            shares = list(profile["self_ms_by_package"].items())[:7]
            packages = ", ".join(f"{name} {ms:.0f}" for name, ms in shares)
            imports.append(f"    {function}: import app {profile['app_cumulative_ms']:.0f} ms; {packages}")
    if imports:
        imports.insert(
            0, "where importing the handler goes (-X importtime, self ms by package; all in the JSON):"
        )
    return [
        "(1) Cold start: fresh python3.13, the layer as `make build` ships it (read-only), Lambda's sys.path, "
        "one event;",
        "    baseline: a bare boto3 handler (import, client, one GetItem). init = process start to handler "
        "imported.",
        _table(headers, rows),
        *imports,
        "",
    ]


def _warm(warm: dict[str, Any]) -> list[str]:
    rows = [
        [
            operation,
            _ms(figures["wall"]["ours"]),
            _ms(figures["wall"]["bare"]),
            _ratio(figures["wall"]["ratio"]),
            _ms(figures["cpu"]["ours"]),
            _ms(figures["cpu"]["bare"]),
            _ratio(figures["cpu"]["ratio"]),
            _modelled(figures.get("at_aws_latency")),
            f"{figures['log_bytes']['median']:.0f} / {figures['log_lines']['median']:.0f}",
        ]
        for operation, figures in warm.items()
    ]
    headers = ["operation", "ours ms", "bare ms", "wall ratio", "CPU ms", "bare CPU", "CPU ratio", "on AWS"]
    return [
        "(2) Warm latency in one process after warm-up; baseline: the same DynamoDB and YooKassa requests done "
        "bare (boto3, requests);",
        "    on AWS = modelled: each side's CPU at the function's memory + those requests at AWS/YooKassa "
        "latencies (bench/costs.py)",
        _table([*headers, "log B / lines"], rows),
        "",
    ]


def _modelled(modelled: dict[str, Any] | None) -> str:
    if not modelled:
        return "-"
    return f"{modelled['ours_ms']:.0f}/{modelled['bare_ms']:.0f} ms = {modelled['ratio']:.2f}x"


def _requests(counts: dict[str, Any], reconciler: dict[str, Any]) -> list[str]:
    rows = []
    for operation, passes in counts.items():
        for label, counted in passes.items():
            rows.append(
                [
                    f"{operation} ({label})",
                    str(counted["dynamodb_requests"]),
                    _kinds(counted["dynamodb"]),
                    f"{counted['read_units']:g}",
                    f"{counted['write_units']:g} ({counted['index_write_units']:g})",
                    str(counted["yookassa_requests"]),
                    _routes(counted["yookassa"]),
                    ", ".join(f"{n} {k}" for k, n in counted["other_aws"].items()) or "-",
                ]
            )
    n = reconciler["payments"]
    rows.append(
        [
            f"reconciler, per payment (of {n})",
            f"{reconciler['dynamodb_per_payment']:.2f}",
            _kinds(reconciler["dynamodb"], n),
            "",
            "",
            f"{reconciler['yookassa_per_payment']:.2f}",
            _routes(reconciler["yookassa"], n),
            "",
        ]
    )
    headers = ["operation", "DynamoDB", "kinds", "RRU", "WRU (GSI)", "YooKassa", "routes", "other AWS"]
    return [
        "(3) Requests per operation: DynamoDB counted at botocore, YooKassa at the sandbox; request units from "
        "the measured item sizes",
        "    (WRU includes GSI writes, in brackets); 'first' = a container's first request (caches empty)",
        _table(headers, rows),
        "",
    ]


def _reconciler(results: dict[str, Any]) -> list[str]:
    local = results["reconciler"]["local"]
    lines = [
        f"(4) Reconciler: {local['payments']} payments in {local['wall_s']:.2f} s = "
        f"{local['payments_per_s']:.0f} payments/s, {local['cpu_ms_per_payment']:.1f} ms CPU each;",
        f"    the same requests replayed bare, serially: {local['bare_payments_per_s']:.0f}/s "
        f"(time ratio ours / bare {local['ratio']:.2f}x)",
    ]
    delayed = results["reconciler"].get("delayed")
    if delayed:
        budget = results["reconciler"]["run_budget_s"]
        per_run = delayed["payments_per_s"] * budget
        runs = max(1, -(-10_000 // max(1, int(per_run))))
        lines.append(
            f"    with YooKassa answering in {delayed['yookassa_latency_ms']} ms: "
            f"{delayed['payments_per_s']:.1f} payments/s -> {per_run:,.0f} per run ({budget:.0f} s usable of "
            f"{results['reconciler']['timeout_s']} s); a 10,000 backlog takes {runs} run(s)"
        )
    return [*lines, ""]


def _cost(cost: dict[str, Any]) -> list[str]:
    floor = cost["floor"]["components"]
    rows = [[COST_NAMES[k], f"${v:,.2f}", f"${floor.get(k, 0.0):,.2f}"] for k, v in cost["components"].items()]
    rows.append(["total", f"${cost['total']:,.2f}", f"${cost['floor']['total']:,.2f}"])
    memory = ", ".join(f"{op} {mb} MB" for op, mb in cost["memory_mb"].items())
    profile = ", ".join(f"{n} {op}" for op, n in PROFILE.items())
    floor_units = ", ".join(f"{op} {r}R+{w}W" for op, (r, w) in FLOOR_UNITS.items())
    sweep = [
        f"    {mb:>4} MB: ${v['total']:,.2f} ({v['ratio']:.2f}x); billed ms warm/cold: "
        + ", ".join(f"{op} {v['billed_ms_warm'][op]:.0f}/{v['billed_ms_cold'][op]:.0f}" for op in PROFILE)
        for mb, v in cost["memory_sweep"].items()
    ]
    per_op = [
        f"    {op}: billed {f['billed_ms_warm']:.0f} ms warm, {f['billed_ms_cold']:.0f} ms cold; "
        f"{f['log_bytes_per_invocation']:.0f} log bytes per invocation; ${f['total']:,.2f}"
        for op, f in cost["per_operation"].items()
    ]
    best = ", ".join(f"{fn} {mb} MB" for fn, mb in cost["best_memory_mb_per_function"].items())
    return [
        f"(5) Cost of {cost['payments']:,} payments ({profile} each; {cost['cold_fraction']:.0%} cold starts), "
        f"{cost['prices']['region']} prices as of {cost['prices']['as_of']}; memory as deployed: {memory}",
        _table(["component", "ours", "floor"], rows),
        f"ratio to the floor: {cost['ratio']:.2f}x (floor: the same API Gateway and Lambda requests, DynamoDB "
        f"{floor_units} units, no compute, no logs)",
        *per_op,
        f"memory, the three at one size: cheapest {cost['best_memory_mb']} MB; each on its own: {best}",
        *sweep,
    ]


def render(results: dict[str, Any]) -> str:
    return "\n".join(
        [
            *_header(results),
            *_cold(results["cold_start"]),
            *_warm(results["warm"]),
            *_requests(results["requests"], results["reconciler"]["local"]),
            *_reconciler(results),
            *_cost(results["cost"]),
        ]
    )


def write(results: dict[str, Any], directory: Path, name: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str) + "\n")
    return path
