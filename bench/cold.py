"""(1) Cold starts: every function of template.yaml, as ``make build`` ships it, in a fresh python3.13
process (bench/lambda_child.py), one real event each, paired with the bare boto3 handler.

Each function's events live in a table of their own (``bench-cold-<LogicalId>``): the reconciler and
the renewal function see exactly the one payment or subscription their run is about, whatever the other
functions' runs left behind.
"""

import json
import os
import select
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.infra import lines_of, say
from bench.lambda_env import Staged, function_environment, lambda_variables, memory_size
from bench.scenarios import ADMIN, Payment, Shop, reconcile_time, renewal_time
from bench.stats import paired, summary
from tests.support import http_event

CHILD = Path(__file__).with_name("lambda_child.py")
BARE_ID = "BareBoto3Handler"
# The interpreter itself (the virtualenv's python is a link to it); -S keeps its site-packages out.
PYTHON = getattr(sys, "_base_executable", sys.executable)
CHILD_GRACE_SECONDS = 60  # beyond the function's own timeout

EventMaker = Callable[[Shop, Any], dict[str, Any]]


@dataclass(frozen=True)
class ColdCase:
    """What one function's cold start handles: data made once per table, then an event per run."""

    once: Callable[[Shop], Any]
    event: EventMaker
    what: str
    expect: Callable[[Any], bool] | None = None  # a scheduled function's summary: did it do the work?


def _nothing(shop: Shop) -> None:
    return None


def _paid_order(shop: Shop) -> Payment:
    return shop.paid_order_payment()


def _paid_subscription(shop: Shop) -> Payment:
    return shop.paid_subscription()[0]


def _create_order(shop: Shop, _: Any) -> dict[str, Any]:
    return shop.create_order_event(*shop.new_order())


def _create_subscription(shop: Shop, _: Any) -> dict[str, Any]:
    return shop.create_subscription_event(shop.unique("sub"), shop.unique("user"))


def _webhook(shop: Shop, _: Any) -> dict[str, Any]:
    return shop.webhook_event(shop.provider_payment(shop.paid_but_unknown()))


def _reconcile(shop: Shop, _: Any) -> dict[str, Any]:
    shop.paid_but_unknown()
    return shop.scheduled_event("ReconcilerFunction", reconcile_time())


def _renewal(shop: Shop, _: Any) -> dict[str, Any]:
    _, obj = shop.paid_subscription(auto_renew=True)
    return shop.scheduled_event("RenewalFunction", renewal_time(obj["captured_at"]))


def _auto_renew(shop: Shop, _: Any) -> dict[str, Any]:
    payment, _ = shop.paid_subscription(auto_renew=True)
    return http_event("AutoRenewFunction", path_params={"subscriptionId": payment.subject_id}, sub=payment.user)


def _complete(shop: Shop, _: Any) -> dict[str, Any]:
    payment = shop.paid_order_payment()
    return http_event(
        "CompleteOrderFunction", path_params={"orderId": payment.subject_id}, sub="ops", scopes=(ADMIN,)
    )


CASES: dict[str, ColdCase] = {
    "PaymentStatusFunction": ColdCase(
        _paid_order, lambda shop, p: shop.poll_event(p), "poll of a paid order payment"
    ),
    "OrderPaymentStatusFunction": ColdCase(
        _paid_order,
        lambda shop, p: shop.poll_event(p, "OrderPaymentStatusFunction"),
        "poll of a paid order payment",
    ),
    "SubscriptionPaymentStatusFunction": ColdCase(
        _paid_subscription,
        lambda shop, p: shop.poll_event(p, "SubscriptionPaymentStatusFunction"),
        "poll of a paid subscription payment",
    ),
    "OrderPaymentFunction": ColdCase(
        _paid_order,
        lambda shop, p: http_event("OrderPaymentFunction", path_params={"orderId": p.subject_id}, sub=p.user),
        "latest payment of a paid order",
    ),
    "SubscriptionsFunction": ColdCase(
        _paid_subscription,
        lambda shop, p: http_event(
            "SubscriptionsFunction", path_params={"subscriptionId": p.subject_id}, sub=p.user
        ),
        "an active subscription",
    ),
    "CreateOrderPaymentFunction": ColdCase(_nothing, _create_order, "create for a new order"),
    "CreateSubscriptionPaymentFunction": ColdCase(
        _nothing, _create_subscription, "create for a new subscription"
    ),
    "HealthFunction": ColdCase(_nothing, lambda shop, _: http_event("HealthFunction", sub=None), "GET /health"),
    "PutOrderFunction": ColdCase(
        _nothing, lambda shop, _: shop.put_order_event(shop.unique("order"), shop.unique("user")), "a new order"
    ),
    "PutPlanFunction": ColdCase(
        _nothing, lambda shop, _: shop.put_plan_event(shop.unique("plan")), "a new plan"
    ),
    "CompleteOrderFunction": ColdCase(_nothing, _complete, "complete a paid order"),
    "RefundPaymentFunction": ColdCase(
        _nothing,
        lambda shop, _: shop.refund_event(shop.paid_order_payment()),
        "partial refund of a paid payment",
    ),
    "YooKassaWebhookFunction": ColdCase(_nothing, _webhook, "payment.succeeded of a pending payment"),
    "ReconcilerFunction": ColdCase(
        _nothing, _reconcile, "one payment paid, its webhook lost", lambda summary: summary.get("fixed") == 1
    ),
    "AutoRenewFunction": ColdCase(_nothing, _auto_renew, "cancel renewal of an active subscription"),
    "RenewalFunction": ColdCase(
        _nothing, _renewal, "one subscription due for renewal", lambda summary: summary.get("renewed") == 1
    ),
}


@dataclass
class Run:
    wall: float  # s, process start -> handler returned
    cpu: float  # s, user + system, of the process until then
    init_wall: float  # s, process start -> handler module imported (Lambda's INIT)
    init_cpu: float
    log_bytes: int
    log_lines: int
    modules: int
    status: Any
    answer: Any
    imports: dict[str, Any] | None = None  # -X importtime, for the profiling run only


@dataclass
class ColdRunner:
    staged: Staged
    env_base: dict[str, str]  # variables every function process gets (credentials, endpoints)
    overrides: dict[str, str]  # the template's variables that point at the stand-ins
    region: str
    spec_dir: Path
    failures: list[str] = field(default_factory=list)

    def environment(self, logical_id: str, table: str) -> dict[str, str]:
        memory = memory_size(logical_id) if logical_id != BARE_ID else 1024
        env = function_environment(logical_id if logical_id != BARE_ID else "PaymentStatusFunction", {})
        env.update(self.overrides)
        env["TABLE_NAME"] = table
        env.update(lambda_variables(logical_id, memory, self.region))
        env.update(self.env_base)
        return env

    def run(self, logical_id: str, event: dict[str, Any], table: str, import_profile: bool = False) -> Run:
        if logical_id == BARE_ID:
            assert self.staged.bare is not None
            function_dir, handler, timeout = self.staged.bare, "app.handler", 28
        else:
            from local.template import functions

            function = functions()[logical_id]
            function_dir, handler, timeout = (
                self.staged.functions[logical_id],
                function.handler,
                function.timeout,
            )
        spec = {
            "path": self.staged.path_for(function_dir),
            "handler": handler,
            "event": event,
            "function_name": logical_id,
            "memory_mb": memory_size(logical_id) if logical_id != BARE_ID else 1024,
            "timeout_seconds": timeout,
            "request_id": str(uuid.uuid4()),
        }
        spec_file = self.spec_dir / f"{uuid.uuid4().hex}.json"
        spec_file.write_text(json.dumps(spec))
        env = self.environment(logical_id, table)
        read_fd, write_fd = os.pipe()
        with tempfile.TemporaryFile() as output:
            options = ["-X", "importtime"] if import_profile else []
            started = time.monotonic_ns()
            process = subprocess.Popen(
                [PYTHON, "-I", "-S", "-B", *options, str(CHILD), str(spec_file), str(write_fd)],
                env=env,
                cwd=function_dir,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=output,
                pass_fds=(write_fd,),
            )
            os.close(write_fd)
            try:
                raw = _read_all(read_fd, timeout + CHILD_GRACE_SECONDS)
            except TimeoutError:
                process.kill()
                raise
            finally:
                os.close(read_fd)
                process.wait(timeout=30)
            output.seek(0)
            logged = output.read()
        spec_file.unlink()
        if not raw:
            raise RuntimeError(
                f"{logical_id}: the cold process died: {logged.decode(errors='replace')[-2000:]}"
            )
        result = json.loads(raw)
        if result["error"] or not _succeeded(result["status"]):
            raise RuntimeError(
                f"{logical_id}: {result['error'] or result['status']}\n"
                + logged.decode(errors="replace")[-3000:]
            )
        return Run(
            wall=(result["done_ns"] - started) / 1e9,
            cpu=result["done_cpu"],
            init_wall=(result["init_ns"] - started) / 1e9,
            init_cpu=result["init_cpu"],
            log_bytes=len(logged),
            log_lines=lines_of(logged),
            modules=result["modules"],
            status=result["status"],
            answer=result["answer"],
            imports=import_profile_of(logged) if import_profile else None,
        )


def import_profile_of(output: bytes, top: int = 12) -> dict[str, Any]:
    """What importing the handler module (``app``) cost, from ``-X importtime``'s tree: its direct
    imports by cumulative time, and every module under it by top-level package, by self time (ms; the
    option itself slows imports down, so read them as shares)."""
    pending: dict[int, list[dict[str, Any]]] = {}
    for line in output.decode(errors="replace").splitlines():
        if not line.startswith("import time:") or "|" not in line or "self [us]" in line:
            continue
        own, cumulative, name_field = line.removeprefix("import time:").split("|", 2)
        depth = (len(name_field) - len(name_field.lstrip(" ")) - 1) // 2
        entry = {
            "name": name_field.strip(),
            "self_ms": int(own) / 1000,
            "cumulative_ms": int(cumulative) / 1000,
            "children": pending.pop(depth + 1, []),
        }
        pending.setdefault(depth, []).append(entry)
    app = next((e for e in pending.get(0, []) if e["name"] == "app"), None)
    if app is None:
        return {}
    by_package: dict[str, float] = {}
    stack = list(app["children"])
    while stack:
        entry = stack.pop()
        package = entry["name"].split(".", 1)[0]
        by_package[package] = by_package.get(package, 0.0) + entry["self_ms"]
        stack.extend(entry["children"])
    direct = sorted(app["children"], key=lambda e: -e["cumulative_ms"])[:top]
    return {
        "app_cumulative_ms": app["cumulative_ms"],
        "direct_imports_ms": {e["name"]: round(e["cumulative_ms"], 1) for e in direct},
        "self_ms_by_package": {
            name: round(ms, 1) for name, ms in sorted(by_package.items(), key=lambda kv: -kv[1])[:top]
        },
    }


def _read_all(fd: int, timeout: float) -> bytes:
    """Everything written to ``fd`` until its writer closes it, or ``TimeoutError``."""
    deadline = time.monotonic() + timeout
    chunks: list[bytes] = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"a cold-start process gave no answer in {timeout:.0f} s")
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


def _succeeded(status: Any) -> bool:
    return status == "ok" or (isinstance(status, int) and 200 <= status < 300)


def measure(
    runner: ColdRunner,
    shop: Shop,
    function_ids: list[str],
    pairs: int,
    bare_event: dict[str, Any],
    bare_table: str,
    table_of: Callable[[str], str],
) -> dict[str, Any]:
    """``pairs`` cold starts of each function, each next to one of the bare handler (alternating which
    goes first), and the ratios of each pair."""
    # The first process of all reads the interpreter from disk: one unmeasured pair warms the page cache.
    runner.run(BARE_ID, bare_event, bare_table)
    results: dict[str, Any] = {}
    for logical_id in function_ids:
        case = CASES.get(logical_id)
        if case is None:
            say(f"  {logical_id}: no cold-start case in bench/cold.py; skipped")
            results[logical_id] = {"skipped": "no case in bench/cold.py"}
            continue
        shop.use_table(table_of(logical_id))
        shop.put_plan()
        data = case.once(shop)
        ours: list[Run] = []
        bare: list[Run] = []
        for i in range(pairs):
            event = case.event(shop, data)
            order = [(logical_id, event, table_of(logical_id)), (BARE_ID, bare_event, bare_table)]
            for name, evt, table in order if i % 2 == 0 else reversed(order):
                run = runner.run(name, evt, table)
                if name == BARE_ID:
                    bare.append(run)
                    continue
                if case.expect is not None and not case.expect(run.answer):
                    raise RuntimeError(f"{logical_id} did not do the work of its event: {run.answer}")
                ours.append(run)
        results[logical_id] = summarize(case.what, ours, bare)
        # One more, unmeasured, under -X importtime: where the import time goes.
        profiled = runner.run(logical_id, case.event(shop, data), table_of(logical_id), import_profile=True)
        results[logical_id]["imports"] = profiled.imports
        wall = results[logical_id]["wall"]
        say(
            f"  {logical_id}: {wall['ours']['median'] * 1000:.0f} ms vs bare "
            f"{wall['bare']['median'] * 1000:.0f} ms = {wall['ratio']['median']:.2f}x "
            f"(CPU {results[logical_id]['cpu']['ratio']['median']:.2f}x)"
        )
    return results


def summarize(what: str, ours: list[Run], bare: list[Run]) -> dict[str, Any]:
    return {
        "event": what,
        "wall": paired([r.wall for r in ours], [r.wall for r in bare]),
        "cpu": paired([r.cpu for r in ours], [r.cpu for r in bare]),
        "init_wall": paired([r.init_wall for r in ours], [r.init_wall for r in bare]),
        "init_cpu": paired([r.init_cpu for r in ours], [r.init_cpu for r in bare]),
        "log_bytes": summary([r.log_bytes for r in ours]),
        "log_lines": summary([r.log_lines for r in ours]),
        "modules": summary([r.modules for r in ours]),
        "bare_modules": summary([r.modules for r in bare]),
    }
