"""The local stack runs functions as Lambda does: a pool of worker processes per function, one request at a
time per worker, ``LAMBDA_CONCURRENCY`` workers at most, started on demand.

The functions are test-only (``tests/local/workers/``): they sleep, raise or crash on request and answer
with their worker's pid and the invocation's start and end, so that parallelism is asserted on recorded
overlaps, never on wall-clock speed.
"""

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from local.auth import TokenIssuer
from local.gateway import Gateway, GatewayServers, IntegrationTimeout, LocalLambda
from local.stack import free_port
from local.template import ROOT
from local.workers import WorkerPools, lambda_concurrency
from tests.local.env import clean_environment

TEMPLATE = Path(__file__).resolve().parent / "workers" / "template.yaml"
WORK = "WorkFunction"
WAIT = 10.0  # upper bound of every wait in these tests


@dataclass
class PooledGateway:
    servers: GatewayServers
    pools: WorkerPools

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.servers.api.port}"

    @property
    def function_url(self) -> str:
        return f"http://127.0.0.1:{self.servers.function_url.port}"

    def work(self, path: str = "/work", **order: Any) -> requests.Response:
        return requests.post(f"{self.api}{path}", json=order, timeout=WAIT + 20)

    def together(self, count: int, **order: Any) -> list[dict[str, Any]]:
        """``count`` requests at once; their answers, each asserted to be a 200."""
        with ThreadPoolExecutor(count) as executor:
            responses = list(executor.map(lambda _: self.work(**order), range(count)))
        assert [r.status_code for r in responses] == [200] * count, [r.text for r in responses]
        return [r.json() for r in responses]


def start(issuer: TokenIssuer, size: int, **environ: str) -> PooledGateway:
    pools = WorkerPools(size, TEMPLATE, environ={**os.environ, **environ})
    gateway = Gateway(issuer=issuer, frontend_url="http://127.0.0.1:3000", template=TEMPLATE, workers=pools)
    return PooledGateway(GatewayServers.start(gateway), pools)


@pytest.fixture
def pooled(issuer: TokenIssuer) -> Iterator[PooledGateway]:
    running = start(issuer, size=4, WORKER_TEST_SETTING="from the stack")
    yield running
    running.servers.stop()


def most_at_once(invocations: list[dict[str, Any]]) -> int:
    """The largest number of invocations running at one moment, from their recorded starts and ends."""
    edges = sorted([(i["started"], 1) for i in invocations] + [(i["ended"], -1) for i in invocations])
    running = peak = 0
    for _, change in edges:  # an end sorts before a start at the same instant
        running += change
        peak = max(peak, running)
    return peak


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def wait_for(path: Path) -> None:
    deadline = time.monotonic() + WAIT
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.01)


# ------------------------------------------------------------------------------------ concurrency
def test_concurrent_requests_to_one_function_run_at_once_in_separate_workers(pooled: PooledGateway) -> None:
    first, second = pooled.together(2, sleep=0.5)

    assert first["pid"] != second["pid"]
    assert first["started"] < second["ended"] and second["started"] < first["ended"], "they overlapped"
    assert os.getpid() not in (first["pid"], second["pid"]), "not in the gateway's process"
    assert sorted(pooled.pools.pids) == sorted([first["pid"], second["pid"]])


def test_a_warm_worker_serves_consecutive_requests(pooled: PooledGateway) -> None:
    pids = {pooled.work().json()["pid"] for _ in range(3)}

    assert len(pids) == 1
    assert pooled.pools.pids == sorted(pids), "one request at a time needs one worker"


def test_no_more_than_lambda_concurrency_run_at_once(issuer: TokenIssuer) -> None:
    running = start(issuer, size=2)
    try:
        invocations = running.together(5, sleep=0.3)
    finally:
        running.servers.stop()

    assert len({i["pid"] for i in invocations}) <= 2
    assert most_at_once(invocations) == 2


def test_a_request_waits_for_a_worker_no_longer_than_its_caller(tmp_path: Path) -> None:
    """With every worker busy a request queues; past its caller's wait (the integration timeout) it is
    answered as one, and it never runs later."""
    pools = WorkerPools(1, TEMPLATE)
    run = LocalLambda(template=TEMPLATE, workers=pools)
    try:
        with ThreadPoolExecutor(1) as executor:
            busy = executor.submit(run, WORK, {"sleep": 1.0, "started": str(tmp_path / "busy")}, WAIT)
            wait_for(tmp_path / "busy")

            with pytest.raises(IntegrationTimeout):
                run(WORK, {"finished": str(tmp_path / "queued")}, wait=0.3)
            first = json.loads(busy.result(WAIT)["body"])

        after = json.loads(run(WORK, {})["body"])
        assert not (tmp_path / "queued").exists(), "the abandoned request never ran"
        assert after["pid"] == first["pid"], "the worker was free again"
    finally:
        pools.close()


# ------------------------------------------------------------------------------------ failures
def test_a_crashed_worker_is_replaced_and_its_request_gets_an_error_answer(pooled: PooledGateway) -> None:
    before = pooled.work().json()["pid"]

    crashed = pooled.work(crash=True)

    assert crashed.status_code == 500
    assert crashed.json() == {"message": "Internal Server Error"}
    assert not alive(before)
    after = pooled.work()
    assert after.status_code == 200
    assert after.json()["pid"] != before
    hook = requests.post(pooled.function_url, json={"crash": True}, timeout=WAIT)
    assert hook.status_code == 502, "a Function URL answers a function error with 502"


def test_a_handler_error_is_a_500_and_the_worker_lives_on(pooled: PooledGateway) -> None:
    before = pooled.work().json()["pid"]

    failed = pooled.work(**{"raise": "boom"})

    assert failed.status_code == 500
    assert failed.json() == {"message": "Internal Server Error"}
    assert pooled.work().json()["pid"] == before


def test_a_function_past_its_timeout_is_stopped_and_replaced(pooled: PooledGateway) -> None:
    before = pooled.work("/short").json()["pid"]  # ShortFunction: Timeout 1

    late = pooled.work("/short", sleep=3)

    assert late.status_code == 500
    assert not alive(before), "Lambda stops an invocation at its timeout"
    assert pooled.work("/short").json()["pid"] != before


def test_scheduled_runs_on_request_run_in_a_worker(pooled: PooledGateway) -> None:
    response = requests.post(f"{pooled.api}/_local/run/{WORK}", json={}, timeout=WAIT)

    assert response.status_code == 200, response.text
    answer = json.loads(response.json()["body"])
    assert answer["function"] == WORK
    assert answer["pid"] in pooled.pools.pids


def test_workers_get_the_stacks_environment(pooled: PooledGateway) -> None:
    assert pooled.work().json()["setting"] == "from the stack"


# ------------------------------------------------------------------------------------ stopping
def test_stopping_the_gateway_stops_every_worker(issuer: TokenIssuer) -> None:
    running = start(issuer, size=3)
    pids = {i["pid"] for i in running.together(3, sleep=0.3)}
    assert len(pids) == 3 and all(alive(pid) for pid in pids)

    running.servers.stop()

    assert not any(alive(pid) for pid in pids)
    assert not set(children(os.getpid())) & pids


def test_make_dev_runs_functions_in_workers_and_stops_them_on_sigterm() -> None:
    ports = {name: free_port() for name in ("API_PORT", "WEBHOOK_PORT", "SANDBOX_PORT", "DYNAMODB_PORT")}
    env = clean_environment(LAMBDA_CONCURRENCY="2", **{name: str(port) for name, port in ports.items()})
    with tempfile.TemporaryFile() as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "local", "dev"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + 30
            while not re.search(rb"^ready in", (out.seek(0), out.read())[1], re.MULTILINE):
                assert process.poll() is None and time.monotonic() < deadline, "make dev did not start"
                time.sleep(0.1)
            api = f"http://127.0.0.1:{ports['API_PORT']}"
            with ThreadPoolExecutor(3) as executor:
                statuses = list(executor.map(lambda _: requests.get(f"{api}/health", timeout=30), range(3)))
            workers = children(process.pid)

            assert [r.status_code for r in statuses] == [200] * 3
            assert 1 <= len(workers) <= 2, "LAMBDA_CONCURRENCY=2: two workers of HealthFunction at most"

            process.send_signal(signal.SIGTERM)
            assert process.wait(15) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        out.seek(0)
        output = out.read().decode(errors="replace")
    assert not any(alive(pid) for pid in workers), "no worker outlives the stack"
    assert '"function_name":"HealthFunction"' in output, "the workers' output (its metrics) reaches the stack's"


def test_lambda_concurrency_defaults_to_four_and_zero_means_in_process() -> None:
    assert lambda_concurrency({}) == 4
    assert lambda_concurrency({"LAMBDA_CONCURRENCY": "0"}) == 0
    assert lambda_concurrency({"LAMBDA_CONCURRENCY": " 8 "}) == 8
    with pytest.raises(ValueError, match="LAMBDA_CONCURRENCY"):
        lambda_concurrency({"LAMBDA_CONCURRENCY": "-1"})
