"""One chaos run, start to finish: stack, catalog, checkouts under faults, the schedules on a compressed
calendar, reconciliation, then the checks and the report.

The calendar (scheduled functions get their ``time``; the sandbox's clock is moved along with it, so
YooKassa and the service agree on what "now" is, as in production):

1. checkouts at the real time, while faults are injected between them and the reconciler runs every
   few seconds; then the scripted corner cases (``chaos.scenarios``), alone;
2. the reconciler at now + 10 min; then YooKassa's clock moves past the payment term (61 min): every
   abandoned payment expires (its notification may be lost: faults) and the reconciler runs again;
3. renewals: every monthly subscription with renewal on is charged at (its end - 1 h), twice (a re-run
   must not charge again), with declines and revoked cards set on the saved cards beforehand and faults
   injected; the retries 1, 3 and 5 days later; a last run after every paid time ended; the reconciler
   10 minutes after each;
4. the faults are cleared and the reconciler runs, 20 minutes apart, until it finds nothing to do (at
   most ``FINAL_RECONCILE_ROUNDS`` times).
"""

import json
import math
import random
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from chaos import report
from chaos.client import Api, HarnessError, Recorder, Sandbox
from chaos.invariants import Observed, Violation, by_invariant, check, coverage, outcome_of, parse_time
from chaos.plan import ADMINS, FaultSpec, OrderCheckout, Plan, RefundAsk, SubscriptionCheckout, make_plan
from chaos.scenarios import (
    CANCEL_RENEWAL,
    GET_SUBSCRIPTION,
    LIST_SUBSCRIPTIONS,
    PAYMENT_STATUS,
    World,
    complete_while_refund_unknown,
    refund_together,
    run_checkout,
    seed_catalog,
    together,
)
from chaos.stack import ChaosStack

FINAL_RECONCILE_ROUNDS = 12
RETRY_DAYS = (1, 3, 5)  # RENEWAL_RETRY_DAYS' default, which the chaos stack keeps
RENEW_BEFORE = timedelta(hours=24)  # RENEW_BEFORE_HOURS' default
PAYMENT_TERM = timedelta(minutes=61)  # past YooKassa's (the sandbox's) 1 h payment term
RECONCILE_EVERY = 5.0  # seconds between reconciler runs while customers pay
DELAY_MARGIN_SECONDS = 2.0  # a delayed POST started by a webhook a moment after our last call
# What the gateway and scheduler log when a function raised, timed out or answered what API Gateway cannot
# use. (A BrokenPipeError traceback is a client that stopped waiting: the sandbox gives a webhook 5 s.)
CRASH_PATTERNS = re.compile(
    r"answering \d+ as AWS would|cannot use|run on request failed|integration timeout|still running after its"
    r"|scheduled run at .* failed|gateway failure"
)


@dataclass(frozen=True)
class Options:
    seed: int = 1
    payments: int = 300
    workers: int = 8
    receipts: bool = True
    output: Path | None = None  # default: bench/results/chaos-<date>.json
    quiet: bool = False


@dataclass
class Outcome:
    results: dict[str, Any]
    violations: list[Violation]
    path: Path | None

    @property
    def ok(self) -> bool:
        return not self.violations


@dataclass
class FaultLog:
    injected: Counter[str] = field(default_factory=Counter)
    remaining: Counter[str] = field(default_factory=Counter)
    refused: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    longest_post_delay: float = 0.0  # seconds, of any delay fault on a POST route

    def inject(self, sandbox: Sandbox, body: dict[str, Any]) -> None:
        status, answer = sandbox.helper("/sandbox/faults", body)
        with self._lock:
            if status == 200:
                self.injected[_fault_kind(body)] += int(body.get("count", 1))
                if _is_post_delay(body):
                    self.longest_post_delay = max(self.longest_post_delay, int(body["delayMs"]) / 1000)
            else:
                self.refused.append(f"{body}: {status} {answer}")

    def post_delays_used(self, sandbox: Sandbox) -> int:
        """How many delayed POSTs the sandbox has taken so far (injected minus still queued)."""
        remaining = sum(
            int(item.get("count", 1))
            for item in sandbox.get("/sandbox/faults").get("items", [])
            if _is_post_delay(item)
        )
        with self._lock:
            post_delay_kinds = [k for k in self.injected if k.startswith("POST ") and k.endswith(" delay")]
            injected = sum(self.injected[kind] for kind in post_delay_kinds)
            cleared = sum(self.remaining[kind] for kind in post_delay_kinds)
        return injected - cleared - remaining

    def clear(self, sandbox: Sandbox) -> None:
        for item in sandbox.get("/sandbox/faults").get("items", []):
            self.remaining[_fault_kind(item)] += int(item.get("count", 1))
        sandbox.delete("/sandbox/faults")

    def as_dict(self) -> dict[str, Any]:
        kinds = sorted(self.injected)
        return {
            kind: {
                "injected": self.injected[kind],
                "consumed": self.injected[kind] - self.remaining[kind],
            }
            for kind in kinds
        }


def _fault_kind(body: dict[str, Any]) -> str:
    return FaultSpec(0, body).kind


def _is_post_delay(body: dict[str, Any]) -> bool:
    return body.get("fault") == "delay" and str(body.get("route", "")).startswith("POST ")


class Progress:
    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.started = time.monotonic()

    def __call__(self, text: str) -> None:
        if not self.quiet:
            sys.stderr.write(f"[chaos {time.monotonic() - self.started:6.1f} s] {text}\n")
            sys.stderr.flush()


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Calendar:
    """The scheduled functions' times and the sandbox's clock, moved forward together."""

    def __init__(self, api: Api, sandbox: Sandbox, faults: FaultLog, progress: Progress) -> None:
        self.api = api
        self.sandbox = sandbox
        self.faults = faults
        self.progress = progress
        self.runs: list[dict[str, Any]] = []
        self.latest = datetime.now(UTC)
        self.delays_waited_for = 0

    def advance_sandbox(self, to: datetime) -> None:
        """Move YooKassa's clock to ``to``. Not while a delayed POST may still be held by a ``delay`` fault:
        it would be handled after the jump, when its Idempotence-Key (24 h) is forgotten, and make a second
        payment or refund no real YooKassa could (its request arrived before): wait those out first."""
        while (used := self.faults.post_delays_used(self.sandbox)) > self.delays_waited_for:
            time.sleep(self.faults.longest_post_delay + DELAY_MARGIN_SECONDS)
            self.delays_waited_for = used
        now = parse_time(str(self.sandbox.get("/sandbox/clock")["now"]))
        seconds = math.ceil((to - now).total_seconds())
        if seconds > 0:
            self.sandbox.must("/sandbox/clock", {"advanceSeconds": seconds})

    def run(self, function_id: str, at: datetime) -> dict[str, Any]:
        result = self.api.run_scheduled(function_id, iso(at))
        self.latest = max(self.latest, at)
        self.runs.append({"function": function_id, "time": iso(at), "result": result})
        self.progress(f"{function_id} at {iso(at)}: {result}")
        return result

    def keep_reconciling(self, stop: threading.Event, every: float = RECONCILE_EVERY) -> dict[str, int]:
        """The reconciler at the real now, every ``every`` seconds until ``stop``: its 5-minute schedule
        compressed, racing the customers' webhooks, polls and creates. Its results, summed."""
        total: Counter[str] = Counter()
        while not stop.wait(every):
            result = self.api.run_scheduled("ReconcilerFunction", iso(datetime.now(UTC)))
            total["runs"] += 1
            for key in ("checked", "fixed", "conflicts", "errors", "deferred"):
                total[key] += int(result.get(key, 0))
        return dict(total)


# ------------------------------------------------------------------------------------------ phases
def run_checkouts(
    world: World, faults: FaultLog, calendar: Calendar, workers: int, progress: Progress
) -> dict[str, int]:
    """Every checkout, ``workers`` at a time; the planned faults injected before the checkout they precede;
    the reconciler every few seconds meanwhile (its summed results)."""
    pending_faults = list(world.plan.faults)
    slots = threading.Semaphore(workers)
    errors: list[BaseException] = []
    done = Counter[str]()
    done_lock = threading.Lock()
    total = len(world.plan.checkouts)

    def one(checkout: OrderCheckout | SubscriptionCheckout) -> None:
        try:
            run_checkout(world, checkout)
        except BaseException as exc:  # noqa: BLE001 - reported after the pool drains
            errors.append(exc)
        finally:
            with done_lock:
                done["checkouts"] += 1
                finished = done["checkouts"]
            if finished % max(1, total // 10) == 0:
                progress(f"{finished}/{total} checkouts done")
            slots.release()

    stop = threading.Event()
    with ThreadPoolExecutor(max_workers=workers + 1, thread_name_prefix="checkout") as pool:
        reconciling = pool.submit(calendar.keep_reconciling, stop)
        try:
            for checkout in world.plan.checkouts:
                while pending_faults and pending_faults[0].before <= checkout.index:
                    faults.inject(world.sandbox, pending_faults.pop(0).body)
                slots.acquire()
                if errors:
                    slots.release()
                    break
                pool.submit(one, checkout)
            for _ in range(workers):  # every checkout has finished
                slots.acquire()
        finally:
            stop.set()
    if errors:
        raise errors[0]
    return reconciling.result()


def corner_cases(world: World, faults: FaultLog) -> None:
    """The scripted races (``chaos.scenarios``), after the seeded checkouts, with nothing else running and
    only their own faults queued: the same in every run, so what they catch is caught every time."""
    faults.clear(world.sandbox)
    complete_while_refund_unknown(world, lambda body: faults.inject(world.sandbox, body))


def expire_abandoned(world: World, calendar: Calendar, faults: FaultLog) -> None:
    start = datetime.now(UTC)
    calendar.run("ReconcilerFunction", start + timedelta(minutes=10))
    for body in world.plan.settle_faults:
        faults.inject(world.sandbox, body)
    calendar.advance_sandbox(start + PAYMENT_TERM)
    time.sleep(2)  # the expiry notifications go out (or are lost)
    calendar.run("ReconcilerFunction", start + PAYMENT_TERM + timedelta(minutes=10))


def _next_charge(world: World, method: str, outcome: str) -> None:
    status, answer = world.sandbox.helper(
        f"/sandbox/payment_methods/{method}/next_charge", {"outcome": outcome}
    )
    if status != 200:
        world.note(f"renewal: next_charge {outcome} refused ({answer})")


@dataclass(frozen=True)
class Renewing:
    """A subscription of the run that the renewal function will charge: its end and its saved card."""

    checkout: SubscriptionCheckout
    end: datetime
    method: str  # the saved card's id at YooKassa (the first payment's id)
    paid_by: str  # our payment that paid the running period


def renewals(world: World, calendar: Calendar, faults: FaultLog, progress: Progress) -> None:
    by_ours = _yookassa_by_ours(world.sandbox)
    candidates: list[Renewing] = []
    for c in world.plan.checkouts:
        if not isinstance(c, SubscriptionCheckout) or c.renewal is None:
            continue
        answer = world.api.call("GET", f"/subscriptions/{c.subscription_id}", GET_SUBSCRIPTION, c.user)
        view = answer.json()
        if not answer.ok or view.get("status") != "active" or not view.get("autoRenew"):
            continue
        method = (by_ours.get(str(view.get("lastPaymentId"))) or {}).get("payment_method") or {}
        if view.get("endDate") and method.get("saved"):
            end = parse_time(str(view["endDate"]))
            candidates.append(Renewing(c, end, str(method["id"]), str(view["lastPaymentId"])))
    if not candidates:
        progress("no subscription renews in this run")
        return
    first = min(r.end for r in candidates) - timedelta(hours=1)
    due = [r for r in candidates if r.end < first + RENEW_BEFORE]
    progress(f"{len(due)} subscriptions renew at {iso(first)}")
    first_outcome = {
        "renews": "succeeded",
        "customer_cancels": "succeeded",
        "declined_then_renews": "insufficient_funds",
        "declined_to_expiry": "insufficient_funds",
        "revoked": "permission_revoked",
    }
    for r in due:
        c = r.checkout
        if c.renewal == "customer_cancels" and c.renewal_race is None:
            canceled = world.api.call(
                "POST", f"/subscriptions/{c.subscription_id}/cancel", CANCEL_RENEWAL, c.user
            )
            if canceled.ok:
                world.renewal_canceled.add(c.subscription_id)
            _next_charge(world, r.method, "succeeded")  # were it charged anyway, it would go through
        elif c.renewal is not None:
            _next_charge(world, r.method, first_outcome[c.renewal])
    calendar.advance_sandbox(first)
    for body in world.plan.renewal_faults:
        faults.inject(world.sandbox, body)

    def race(r: Renewing) -> None:
        """While the renewal function runs: the customer turns renewal off, or an admin refunds the period."""
        c = r.checkout
        time.sleep(random.Random(f"{world.plan.seed}-{c.index}").uniform(0, 2))
        if c.renewal_race == "cancel":
            world.api.call("POST", f"/subscriptions/{c.subscription_id}/cancel", CANCEL_RENEWAL, c.user)
        else:
            refund_together(world, r.paid_by, (RefundAsk(ADMINS[2], None, None),))
        world.note(f"renewal race: {c.renewal_race}")

    racing = [r for r in due if r.checkout.renewal_race is not None]
    together(
        lambda: calendar.run("RenewalFunction", first),
        *(lambda r=r: race(r) for r in racing),
    )
    calendar.run("RenewalFunction", first)  # a re-run charges nothing twice
    calendar.run("ReconcilerFunction", first + timedelta(minutes=10))
    for day in RETRY_DAYS:
        for r in due:
            if r.checkout.renewal == "declined_to_expiry":
                _next_charge(world, r.method, "insufficient_funds")
            elif r.checkout.renewal == "declined_then_renews":
                _next_charge(world, r.method, "succeeded")
        at = first + timedelta(days=day, minutes=2)
        calendar.advance_sandbox(at)
        calendar.run("RenewalFunction", at)
        calendar.run("ReconcilerFunction", at + timedelta(minutes=10))
    last = max(r.end for r in due) + timedelta(days=max(RETRY_DAYS) + 1)
    calendar.advance_sandbox(last)
    calendar.run("RenewalFunction", last)  # paid time over: expired or canceled


def final_reconciliation(world: World, calendar: Calendar, faults: FaultLog) -> dict[str, Any]:
    faults.clear(world.sandbox)
    # A redelivery storm first: the latest notification of every object again (each must change nothing).
    storm = world.sandbox.must("/sandbox/webhooks/redeliver", {})
    world.note(f"notifications redelivered at the end: {storm.get('redelivered')}")
    time.sleep(2)
    at = calendar.latest + timedelta(minutes=10)
    result: dict[str, Any] = {}
    for _ in range(FINAL_RECONCILE_ROUNDS):
        result = calendar.run("ReconcilerFunction", at)
        if result.get("checked") == 0 and not result.get("deferred"):
            break
        at += timedelta(minutes=20)
    return result


# ------------------------------------------------------------------------------------------ evidence
def _yookassa_by_ours(sandbox: Sandbox) -> dict[str, dict[str, Any]]:
    return {
        str(payment.get("metadata", {}).get("paymentId")): payment
        for payment in sandbox.listing("/v3/payments")
    }


def _in_parallel[T, R](items: list[T], action: Callable[[T], R], workers: int = 8) -> list[R]:
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="check") as pool:
        return list(pool.map(action, items))


def gather(world: World, stack: ChaosStack, final: dict[str, Any], progress: Progress) -> Observed:
    sandbox, api = world.sandbox, world.api
    yookassa_payments = sandbox.listing("/v3/payments")
    yookassa_refunds = sandbox.listing("/v3/refunds")
    owners = {payment_id: created.user for payment_id, created in world.created.items()}
    for payment in yookassa_payments:
        metadata = payment.get("metadata") or {}
        if isinstance(metadata.get("paymentId"), str) and isinstance(metadata.get("userId"), str):
            owners.setdefault(metadata["paymentId"], metadata["userId"])

    subscriptions: dict[str, dict[str, Any] | None] = {}
    subscription_users = sorted({c.user for c in world.plan.checkouts if isinstance(c, SubscriptionCheckout)})
    listed: dict[str, dict[str, Any]] = {}
    for user in subscription_users:
        answer = api.call("GET", "/subscriptions", LIST_SUBSCRIPTIONS, user)
        for view in answer.json().get("subscriptions", []):
            listed[str(view["subscriptionId"])] = view
    for c in world.plan.checkouts:
        if isinstance(c, SubscriptionCheckout):
            view = listed.get(c.subscription_id)
            subscriptions[c.subscription_id] = view
            if view is not None and view.get("lastPaymentId"):
                owners.setdefault(str(view["lastPaymentId"]), c.user)

    progress(f"{len(yookassa_payments)} payments and {len(yookassa_refunds)} refunds at YooKassa; orders")
    orders: dict[str, dict[str, Any] | None] = {}
    order_ids = {c.order_id: c.user for c in world.plan.checkouts if isinstance(c, OrderCheckout)}
    order_ids.update(world.corner_orders)
    order_users = sorted(set(order_ids.values()))
    listed_orders = _in_parallel(order_users, lambda user: api.demo_data(user)["orders"], workers=4)
    demo = {order["orderId"]: order for orders_of_user in listed_orders for order in orders_of_user}
    for order_id in order_ids:
        orders[order_id] = demo.get(order_id)

    def read(payment_id: str) -> tuple[str, dict[str, Any] | None]:
        for _ in range(3):
            answer = api.call("GET", f"/payment-status/{payment_id}", PAYMENT_STATUS, owners[payment_id])
            if answer.ok:
                return payment_id, answer.json()
            if answer.status == 404:
                return payment_id, None
            time.sleep(0.5)
        return payment_id, None

    progress(f"{len(orders)} orders read; {len(owners)} payments of ours")
    ours = dict(_in_parallel(sorted(owners), read))
    progress("receipts" if world.receipts else "payments read")
    receipts = None
    if world.receipts:
        succeeded = [p["id"] for p in yookassa_payments if p.get("status") == "succeeded"]
        receipts = dict(
            _in_parallel(succeeded, lambda yid: (yid, sandbox.get("/sandbox/receipts", {"payment_id": yid})))
        )
    crashes = [line for line in stack.output().splitlines() if CRASH_PATTERNS.search(line)]
    return Observed(
        yookassa_payments=yookassa_payments,
        yookassa_refunds=yookassa_refunds,
        ours=ours,
        created=set(world.created),
        orders=orders,
        subscriptions=subscriptions,
        accepted_refunds=list(world.refunds),
        final_reconcile=final,
        split_double_clicks=list(world.split_double_clicks),
        receipts=receipts,
        crashes=crashes,
        recorder=world.api.recorder,
        renewal_canceled=set(world.renewal_canceled),
    )


def payments_table(observed: Observed) -> dict[str, Any]:
    by_ours: dict[str, list[dict[str, Any]]] = {}
    for payment in observed.yookassa_payments:
        by_ours.setdefault(str((payment.get("metadata") or {}).get("paymentId")), []).append(payment)
    admin_refunded = {refund.payment_id for refund in observed.accepted_refunds}
    outcomes = Counter(
        outcome_of(ours, by_ours.get(pid, []), pid in observed.created, pid in admin_refunded)
        for pid, ours in observed.ours.items()
    )
    from chaos.invariants import kopecks

    succeeded = [p for p in observed.yookassa_payments if p.get("status") == "succeeded"]
    charged = [
        o
        for o in observed.ours.values()
        if o is not None and o.get("status") in ("paid", "success", "refunded")
    ]
    money = {
        "yookassaCharged": sum(kopecks(p["amount"]) for p in succeeded),
        "yookassaRefunded": sum(kopecks(p.get("refunded_amount")) for p in succeeded),
        "oursCharged": sum(int(o.get("amount", 0)) for o in charged),
        "oursRefunded": sum(int(o.get("refundedAmount", 0)) for o in observed.ours.values() if o is not None),
    }
    return {
        "total": len(observed.ours),
        "yookassaPayments": len(observed.yookassa_payments),
        "yookassaRefunds": len(observed.yookassa_refunds),
        "byOutcome": dict(sorted(outcomes.items())),
        "moneyKopecks": money,
    }


def logged_problems(output: str) -> dict[str, int]:
    """The functions' ERROR and WARNING lines by message (Powertools' JSON lines): what the service itself
    noticed along the way (a lost race, a refund of undeliverable money, YooKassa's faults)."""
    counts: Counter[str] = Counter()
    for line in output.splitlines():
        start = line.find('{"level":')
        if start < 0:
            continue
        try:
            entry = json.loads(line[start:])
        except ValueError:
            continue
        if entry.get("level") in ("ERROR", "WARNING", "CRITICAL"):
            counts[f"{entry['level']} {entry.get('message')}"] += 1
    return dict(counts.most_common())


def webhook_deliveries(sandbox: Sandbox) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for item in sandbox.get("/sandbox/webhooks").get("items", []):
        if item.get("fault") == "drop":
            counts["dropped (fault)"] += 1
        elif item.get("copy"):
            counts["duplicate copy sent"] += 1
        elif item.get("ok"):
            counts["answered 200"] += 1
        elif item.get("statusCode") is not None:
            counts[f"answered {item['statusCode']} (redelivered)"] += 1
        else:
            counts["no answer (redelivered)"] += 1
    return dict(sorted(counts.items()))


# ------------------------------------------------------------------------------------------ the run
def run_chaos(options: Options) -> Outcome:
    progress = Progress(options.quiet)
    started = time.monotonic()
    plan: Plan = make_plan(options.seed, options.payments)
    progress(f"seed {options.seed}: {plan.summary()}")
    stack = ChaosStack.start(options.receipts)
    progress(f"stack ready in {stack.startup_seconds:.1f} s on {stack.api} (log {stack.log})")
    try:
        recorder = Recorder()
        api = Api(stack.api, recorder)
        sandbox = Sandbox(stack.sandbox, *stack.shop_credentials)
        world = World(api, sandbox, plan, options.receipts)
        faults = FaultLog()
        calendar = Calendar(api, sandbox, faults, progress)
        seed_catalog(world)
        progress("catalog seeded; checkouts start")
        checkouts_started = time.monotonic()
        reconciled = run_checkouts(world, faults, calendar, options.workers, progress)
        checkout_seconds = time.monotonic() - checkouts_started
        progress(f"checkouts done in {checkout_seconds:.0f} s; the scripted corner cases")
        corner_cases(world, faults)
        progress("abandoned payments expire")
        expire_abandoned(world, calendar, faults)
        renewals(world, calendar, faults, progress)
        final = final_reconciliation(world, calendar, faults)
        progress("checking the invariants")
        observed = gather(world, stack, final, progress)
        violations = check(observed)
        results: dict[str, Any] = {
            "date": datetime.now(UTC).strftime("%Y-%m-%d"),
            "seed": options.seed,
            "parameters": {
                "payments": options.payments,
                "workers": options.workers,
                "receipts": options.receipts,
                "stackSettings": stack.settings,
                "functions": stack.functions_line(),
            },
            "plan": plan.summary(),
            "faults": {
                "byKind": faults.as_dict(),
                "refused": faults.refused,
                "webhookDeliveries": webhook_deliveries(sandbox),
            },
            "payments": payments_table(observed),
            "checkouts": dict(sorted(world.checkout_notes.items())),
            "doubleClicks": world.double_clicks,
            "requests": {
                "total": recorder.calls,
                "byRouteAndStatus": dict(sorted(recorder.by_status.items())),
                "errorCodes": dict(sorted(recorder.error_codes.items())),
                "expected5xx": dict(recorder.expected_5xx),
            },
            "reconcilerDuringCheckouts": reconciled,
            "schedule": calendar.runs,
            "serviceLog": logged_problems(stack.output()),
            "checked": coverage(observed),
            "violations": {
                "total": len(violations),
                "byInvariant": by_invariant(violations),
                "details": [v.as_dict() for v in violations],
            },
            "seconds": {
                "total": round(time.monotonic() - started, 1),
                "checkouts": round(checkout_seconds, 1),
                "stackStart": round(stack.startup_seconds, 1),
            },
        }
    except HarnessError as exc:
        raise HarnessError(f"{exc}\n--- the stack's log ({stack.log}), last lines:\n{stack.tail()}") from exc
    finally:
        code = stack.stop()
        if code != 0:
            progress(f"the stack exited with {code} on SIGTERM (log {stack.log})")
    results["stackExitCode"] = code  # 0: it stopped cleanly on SIGTERM; None: it had to be killed
    path = report.write(results, options.output)
    if not options.quiet:
        sys.stdout.write(report.render(results, path))
        sys.stdout.flush()
    return Outcome(results, violations, path)
