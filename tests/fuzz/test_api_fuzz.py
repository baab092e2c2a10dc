"""Schemathesis against the local stack, from openapi.json: every operation, with and without a token.

`python -m local dev` runs as a subprocess on free ports (the gateway verifies JWTs like API Gateway,
DynamoDB is moto's server, YooKassa the sandbox). For each operation schemathesis generates valid and
invalid requests (derandomized: the same ones every run); each is sent once with an admin token and once
without. Every answer must be below 500, and every error our envelope, or, for a JWT route refused by the
gateway, API Gateway's own ``{"message": ...}``. Bounded: a few dozen requests per operation.
"""

import contextlib
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode

from local.template import ROOT
from scripts.openapi import OPENAPI_PATH

MAX_EXAMPLES = 25
START_TIMEOUT = 60.0
# The test session's own settings must not leak into the stack: it brings its own DynamoDB and sandbox.
SESSION_ONLY = (
    "AWS_ENDPOINT_URL",
    "YOOKASSA_",
    "TABLE_NAME",
    "POWERTOOLS_",
    "FRONTEND_URL",
    "STALE_",
    "PROVIDER_",
    "PYTEST",
)

schema = schemathesis.openapi.from_path(str(OPENAPI_PATH))
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], database="none")


@dataclass(frozen=True)
class LocalStack:
    api_url: str
    webhook_url: str
    token: str


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def local_stack() -> Iterator[LocalStack]:
    ports = {name: _free_port() for name in ("API_PORT", "WEBHOOK_PORT", "SANDBOX_PORT", "DYNAMODB_PORT")}
    env = {k: v for k, v in os.environ.items() if not k.startswith(SESSION_ONLY)}
    env.update({name: str(port) for name, port in ports.items()})
    process = subprocess.Popen(
        [sys.executable, "-m", "local", "dev"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            if "ready" in line:
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        if not ready.wait(START_TIMEOUT):
            pytest.fail("the local stack did not get ready:\n" + "".join(output[-40:]))
        api = f"http://127.0.0.1:{ports['API_PORT']}"
        admin = {"sub": "alice", "scope": "payments/admin"}
        issued = requests.post(f"{api}/_local/token", json=admin, timeout=10)
        issued.raise_for_status()
        yield LocalStack(api, f"http://127.0.0.1:{ports['WEBHOOK_PORT']}", issued.json()["access_token"])
    finally:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=15)
        if process.poll() is None:
            process.kill()
            process.wait(timeout=5)


def check(case: Any, response: requests.Response, authorized: bool) -> None:
    where = f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}"
    if case.method.upper() != case.operation.method.upper():
        # Schemathesis also probes methods the route does not have. API Gateway (and the local gateway)
        # answers those itself, {"message": "Not Found"}, before any function; the local gateway's HTTP
        # server answers methods it has no handler for at all (TRACE) with 501.
        assert response.status_code in {404, 405, 501}, where
        return
    assert response.status_code < 500, where
    if response.status_code < 400:
        return
    body = response.json()
    guarded = bool(case.operation.definition.raw.get("security"))
    if guarded and response.status_code in {401, 403} and set(body) == {"message"}:
        return  # API Gateway's JWT authorizer refused it, as documented
    assert set(body) == {"error"}, where
    assert isinstance(body["error"].get("code"), str) and isinstance(body["error"].get("message"), str), where
    if guarded and not authorized:
        assert response.status_code == 401, where


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_route_answers_5xx_or_leaves_the_envelope(case: Any, local_stack: LocalStack) -> None:
    is_webhook = bool(case.operation.definition.raw.get("servers"))
    base_url = local_stack.webhook_url if is_webhook else local_stack.api_url
    for authorized in (True, False):
        headers = {"Authorization": f"Bearer {local_stack.token}"} if authorized else {}
        response = case.call(base_url=base_url, headers=headers, timeout=15)
        check(case, response, authorized)
