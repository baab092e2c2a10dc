"""(4) Reconciler throughput: a backlog of payments YooKassa has succeeded whose webhooks never came, one
``ReconcilerFunction`` invocation with a generous remaining time, payments settled per second.

Twice: against the sandbox as it is (loopback, ~1 ms a call: what our code costs), and with every
``GET /v3/payments/{id}`` held ``latency_ms`` by the sandbox's ``delay`` fault (what YooKassa's own
latency, ~150 ms, makes of a run). The first is paired with the same requests replayed bare, serially.
"""

import time
from typing import Any

import requests

from bench.infra import Services, diff_counts, say
from bench.recorder import BareClient, Recorder
from bench.scenarios import Shop, context_of, handler_of, reconcile_time

FUNCTION = "ReconcilerFunction"
GENEROUS_TIMEOUT_SECONDS = 3600


def _backlog(shop: Shop, size: int) -> None:
    for done in range(1, size + 1):
        shop.paid_but_unknown()
        if done % 100 == 0:
            say(f"  backlog: {done}/{size}")


def _run(shop: Shop, recorder: Recorder, services: Services, expected: int) -> dict[str, Any]:
    handler = handler_of(FUNCTION)
    context = context_of(FUNCTION, GENEROUS_TIMEOUT_SECONDS)
    event = shop.scheduled_event(FUNCTION, reconcile_time())
    before = services.yookassa_counts()
    with recorder.recording() as recording:
        started, cpu = time.perf_counter(), time.process_time()  # every thread: it may use a pool
        summary = handler(event, context)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    yookassa = diff_counts(services.yookassa_counts(), before)
    asked = [call.url.rsplit("/", 1)[-1] for call in recording.http if call.method == "GET"]
    if summary.get("errors") or summary.get("checked", 0) < expected:
        raise RuntimeError(f"the reconciler did not check the backlog of {expected}: {summary}")
    if summary.get("fixed") != expected:
        say(
            f"  WARNING: {summary} for a backlog of {expected}; YooKassa was asked about "
            f"{len(set(asked))} distinct payments in {len(asked)} GETs"
        )
    return {
        "payments": expected,
        "summary": summary,
        "wall_s": wall,
        "cpu_s": cpu,
        "payments_per_s": expected / wall,
        "cpu_ms_per_payment": cpu * 1000 / expected,
        "dynamodb_requests": len(recording.dynamodb),
        "dynamodb": recording.dynamodb_operations(),
        "dynamodb_per_payment": len(recording.dynamodb) / expected,
        "yookassa_requests": sum(yookassa.values()),
        "yookassa": yookassa,
        "yookassa_per_payment": sum(yookassa.values()) / expected,
        "distinct_payments_fetched": len(set(asked)),
        "_recording": recording,
    }


def measure(
    shop: Shop,
    recorder: Recorder,
    bare: BareClient,
    services: Services,
    table: str,
    size: int,
    delayed_size: int,
    latency_ms: int,
) -> dict[str, Any]:
    shop.use_table(table)
    say(f"  making a backlog of {size} paid payments whose webhooks were lost")
    _backlog(shop, size)
    local = _run(shop, recorder, services, size)
    steps = bare.prepare(local.pop("_recording"))
    started = time.perf_counter()
    bare.run(steps)
    bare_wall = time.perf_counter() - started
    local["bare_wall_s"] = bare_wall
    local["bare_payments_per_s"] = size / bare_wall
    local["ratio"] = local["wall_s"] / bare_wall
    say(
        f"  {size} payments: {local['payments_per_s']:.0f}/s (bare replay "
        f"{local['bare_payments_per_s']:.0f}/s), {local['dynamodb_per_payment']:.1f} DynamoDB + "
        f"{local['yookassa_per_payment']:.1f} YooKassa requests each"
    )
    result: dict[str, Any] = {"local": local}
    if delayed_size:
        say(f"  again with YooKassa answering in {latency_ms} ms: {delayed_size} payments")
        _backlog(shop, delayed_size)
        fault = {
            "route": "GET /v3/payments/{id}",
            "fault": "delay",
            "delayMs": latency_ms,
            "count": 10 * delayed_size,
        }
        faults_url = f"{shop.endpoints.sandbox_url}/sandbox/faults"
        requests.post(faults_url, json=fault, timeout=10).raise_for_status()
        try:
            delayed = _run(shop, recorder, services, delayed_size)
        finally:
            requests.delete(faults_url, timeout=10).raise_for_status()
        delayed.pop("_recording")
        delayed["yookassa_latency_ms"] = latency_ms
        result["delayed"] = delayed
        say(f"  at {latency_ms} ms per YooKassa call: {delayed['payments_per_s']:.1f} payments/s")
    return result
