"""(2) Warm latency and (3) requests per operation, in this process (a warm container), against the same
requests done bare.

One iteration is a payment's life: a new order's create, a second create of it (the pending payment
reused), the customer pays (sandbox), YooKassa's ``payment.succeeded`` webhook, an admin's partial
refund; plus a poll of a paid payment. Each operation is timed next to its bare twin (the DynamoDB and
YooKassa requests the operation made, replayed with plain boto3 and requests; bench/recorder.py),
alternating which goes first. Wall time and this process's CPU time (all its threads: a handler may use
a pool; nothing else runs here, the servers are in another process).
"""

import gc
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bench.infra import OutputCapture, Services, diff_counts, lines_of, say
from bench.recorder import AwsCall, BareClient, Index, Recorder, Recording, Units, item_size, units_of
from bench.scenarios import Payment, Shop, context_of, handler_of
from bench.stats import paired, summary

OPERATIONS = {  # name -> the function that serves it
    "poll": "PaymentStatusFunction",
    "create new": "CreateOrderPaymentFunction",
    "create reused": "CreateOrderPaymentFunction",
    "webhook": "YooKassaWebhookFunction",
    "refund": "RefundPaymentFunction",
}


@dataclass
class Sample:
    wall: float
    cpu: float
    log_bytes: int = 0
    log_lines: int = 0


@dataclass
class Samples:
    ours: list[Sample] = field(default_factory=list)
    bare: list[Sample] = field(default_factory=list)


@dataclass
class Warm:
    shop: Shop
    recorder: Recorder
    bare: BareClient
    capture: OutputCapture
    polled: Payment  # a paid payment, polled throughout
    last: dict[str, Recording] = field(default_factory=dict)  # the latest recording of each operation
    samples: dict[str, Samples] = field(default_factory=dict)

    def ours(self, operation: str, event: dict[str, Any], measure: bool = True) -> Any:
        function = OPERATIONS[operation]
        handler, context = handler_of(function), context_of(function)
        mark = self.capture.mark()
        with self.recorder.recording() as recording:
            started, cpu = time.perf_counter(), time.process_time()
            answer = handler(event, context)
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        logged = self.capture.since(mark)
        status = answer.get("statusCode") if isinstance(answer, dict) else None
        if not isinstance(status, int) or not 200 <= status < 300:
            raise RuntimeError(f"{operation}: {status} {answer}")
        self.last[operation] = recording
        if measure:
            sample = Sample(wall, cpu, len(logged), lines_of(logged))
            self.samples.setdefault(operation, Samples()).ours.append(sample)
        return answer

    def twin(self, operation: str, measure: bool = True) -> None:
        steps = self.bare.prepare(self.last[operation])
        started, cpu = time.perf_counter(), time.process_time()
        self.bare.run(steps)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        if measure:
            self.samples.setdefault(operation, Samples()).bare.append(Sample(wall, cpu))

    def pair(self, operation: str, event: dict[str, Any], first_ours: bool, measure: bool = True) -> Any:
        if first_ours or operation not in self.last:
            answer = self.ours(operation, event, measure)
            self.twin(operation, measure)
            return answer
        self.twin(operation, measure)
        return self.ours(operation, event, measure)

    def iteration(self, index: int, measure: bool = True) -> None:
        shop = self.shop
        first_ours = index % 2 == 0
        order_id, user = shop.new_order()
        event = shop.create_order_event(order_id, user)
        created = json.loads(self.pair("create new", event, first_ours, measure)["body"])
        payment = Payment(created["paymentId"], Shop.yookassa_id_of(created), user, order_id)
        self.pair("create reused", event, not first_ours, measure)
        obj = shop.succeed(payment)
        self.pair("webhook", shop.webhook_event(obj), first_ours, measure)
        self.pair("refund", shop.refund_event(payment), not first_ours, measure)
        self.pair("poll", shop.poll_event(self.polled), first_ours, measure)


def setup(shop: Shop, table: str) -> dict[str, Payment]:
    """The warm table: the plan, the paid payment every poll reads, and a payment left pending (polled
    at the end, when it is older than the stale threshold)."""
    shop.use_table(table)
    shop.put_plan()
    return {"paid": shop.paid_order_payment(), "pending": shop.create_order_payment(*shop.new_order())}


def measure(warm: Warm, pairs: int, warmup: int) -> dict[str, Any]:
    for i in range(max(1, warmup)):
        warm.iteration(i, measure=False)
    # What exists now lives as long as a container (imports, clients, caches): out of the collector's
    # way, as in a Lambda process, whose heap is far smaller than this one (moto and the test helpers
    # are loaded here), so its full collections would cost more here than there.
    gc.collect()
    gc.freeze()
    try:
        for i in range(pairs):
            warm.iteration(i)
    finally:
        gc.unfreeze()
    results: dict[str, Any] = {}
    for operation, samples in warm.samples.items():
        results[operation] = {
            "function": OPERATIONS[operation],
            "wall": paired([s.wall for s in samples.ours], [s.wall for s in samples.bare]),
            "cpu": paired([s.cpu for s in samples.ours], [s.cpu for s in samples.bare]),
            "log_bytes": summary([s.log_bytes for s in samples.ours]),
            "log_lines": summary([s.log_lines for s in samples.ours]),
        }
        wall = results[operation]["wall"]
        say(
            f"  {operation}: {wall['ours']['median'] * 1000:.2f} ms vs bare "
            f"{wall['bare']['median'] * 1000:.2f} ms = {wall['ratio']['median']:.2f}x"
        )
    return results


# ---------------------------------------------------------------------------------------- counts
@dataclass
class Counted:
    dynamodb: dict[str, int]
    units: Units
    yookassa: dict[str, int]  # at the sandbox
    yookassa_client: int  # as the client sent them (cross-check)
    other_aws: dict[str, int]
    calls: list[dict[str, Any]]  # each DynamoDB call: its units and the items it wrote

    def as_dict(self) -> dict[str, Any]:
        return {
            "dynamodb_requests": sum(self.dynamodb.values()),
            "dynamodb": self.dynamodb,
            "read_units": self.units.read,
            "write_units": self.units.write,
            "index_write_units": self.units.index_write,
            "yookassa_requests": sum(self.yookassa.values()),
            "yookassa": self.yookassa,
            "yookassa_client_requests": self.yookassa_client,
            "other_aws": self.other_aws,
            "calls": self.calls,
        }


class Counter:
    def __init__(
        self, recorder: Recorder, services: Services, indexes: list[Index], keys: tuple[str, ...]
    ) -> None:
        self.recorder, self.services, self.indexes, self.keys = recorder, services, indexes, keys

    def count(self, call: Callable[[], Any]) -> tuple[Counted, Any]:
        """What ``call`` asked of DynamoDB (with the units, from every written item's before and after),
        of YooKassa (counted at the sandbox) and of any other AWS service."""
        before = self.services.yookassa_counts()
        with self.recorder.recording(images=True) as recording:
            answer = call()
        units = Units()
        calls = []
        for aws_call in recording.dynamodb:
            call_units = units_of(aws_call, self.indexes, self.keys)
            units.add(call_units)
            calls.append(describe(aws_call, call_units))
        counted = Counted(
            dynamodb=recording.dynamodb_operations(),
            units=units,
            yookassa=diff_counts(self.services.yookassa_counts(), before),
            yookassa_client=len(recording.http),
            other_aws=recording.other_aws(),
            calls=calls,
        )
        return counted, answer


def describe(call: AwsCall, units: Units) -> dict[str, Any]:
    """One DynamoDB call for the JSON: what it was, what it cost, which items (by key prefix) it wrote."""
    described: dict[str, Any] = {
        "operation": call.operation,
        "read_units": units.read,
        "write_units": units.write,
        "index_write_units": units.index_write,
    }
    if call.params.get("IndexName"):
        described["index"] = call.params["IndexName"]
    if call.operation == "GetItem":
        described["item"] = _kind_of(call.params["Key"])
        described["bytes"] = item_size((call.response or {}).get("Item"))
    if call.error:
        described["error"] = call.error
    if call.written:
        described["items"] = [
            {
                "kind": written.kind,
                "item": _kind_of(written.key),
                "bytes_before": item_size(written.before),
                "bytes_after": item_size(written.after),
            }
            for written in call.written
        ]
    return described


def _kind_of(key: dict[str, Any]) -> str:
    """``PAYMENT#…/META`` for ``{"PK": {"S": "PAYMENT#ab12"}, "SK": {"S": "META"}}``."""
    parts = [str(next(iter(value.values()))).split("#", 1)[0] for value in key.values()]
    return "/".join(parts)


def count_operations(shop: Shop, counter: Counter, polled: Payment, pending: Payment) -> dict[str, Any]:
    """Each operation counted twice: as the first request of a container (runtime caches empty: the
    secret is read) and warm."""
    from payments import runtime
    from payments.settings import Settings

    def invoke(operation: str, event: dict[str, Any]) -> Any:
        function = OPERATIONS[operation]
        return handler_of(function)(event, context_of(function))

    results: dict[str, Any] = {}
    for label in ("first", "warm-up", "warm"):
        first = label == "first"

        def fresh(first: bool = first) -> None:
            if first:
                runtime.reset()

        order_id, user = shop.new_order()
        event = shop.create_order_event(order_id, user)
        fresh()
        counted, answer = counter.count(lambda: invoke("create new", event))  # noqa: B023 - called at once
        results.setdefault("create new", {})[label] = counted.as_dict()
        created = json.loads(answer["body"])
        payment = Payment(created["paymentId"], Shop.yookassa_id_of(created), user, order_id)
        fresh()
        counted, _ = counter.count(lambda: invoke("create reused", event))  # noqa: B023
        results.setdefault("create reused", {})[label] = counted.as_dict()
        webhook = shop.webhook_event(shop.succeed(payment))
        fresh()
        counted, _ = counter.count(lambda: invoke("webhook", webhook))  # noqa: B023
        results.setdefault("webhook", {})[label] = counted.as_dict()
        refund = shop.refund_event(payment)
        fresh()
        counted, _ = counter.count(lambda: invoke("refund", refund))  # noqa: B023
        results.setdefault("refund", {})[label] = counted.as_dict()
        poll = shop.poll_event(polled)
        fresh()
        counted, _ = counter.count(lambda: invoke("poll", poll))  # noqa: B023
        results.setdefault("poll", {})[label] = counted.as_dict()
    for passes in results.values():
        del passes["warm-up"]  # the caches the first pass emptied are full again

    # A poll of a payment pending longer than the stale threshold asks YooKassa (at most once per
    # interval); the same poll again right after must not.
    settings = Settings.from_env(os.environ)
    created_at = datetime.fromisoformat(_created_at(shop, pending))
    wait = settings.stale_pending_seconds + 1 - (datetime.now(UTC) - created_at).total_seconds()
    if wait > 0:
        say(f"  waiting {wait:.0f} s for the pending payment to be older than the stale threshold")
        time.sleep(wait)
    poll = shop.poll_event(pending)
    for label in ("first", "again"):
        counted, _ = counter.count(lambda: invoke("poll", poll))
        results.setdefault("poll stale", {})[label] = counted.as_dict()
    return results


def _created_at(shop: Shop, payment: Payment) -> str:
    obj = shop.provider_payment(payment)
    return str(obj["created_at"]).replace("Z", "+00:00")
