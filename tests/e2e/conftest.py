"""`python -m local dev` as a subprocess on free ports, and a client that talks to it over HTTP only."""

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from local.stack import free_port
from local.template import ROOT
from tests.local.env import clean_environment

START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
POLL_TIMEOUT = 20.0


@dataclass
class DevStack:
    """One `python -m local dev` process."""

    process: subprocess.Popen[bytes]
    log: Path
    ports: dict[str, int]
    startup_seconds: float = 0.0

    @classmethod
    def start(cls) -> "DevStack":
        ports = {name: free_port() for name in ("API_PORT", "WEBHOOK_PORT", "SANDBOX_PORT", "DYNAMODB_PORT")}
        env = clean_environment(**{name: str(port) for name, port in ports.items()})
        fd, name = tempfile.mkstemp(prefix="local-dev-", suffix=".log")
        log = Path(name)
        started = time.monotonic()
        with os.fdopen(fd, "w") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "local", "dev"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        stack = cls(process, log, ports)
        while not re.search(r"^ready in", stack.output(), re.MULTILINE):
            if process.poll() is not None:
                raise RuntimeError(f"`python -m local dev` exited with {process.returncode}:\n{stack.output()}")
            if time.monotonic() - started > START_TIMEOUT:
                stack.stop()
                raise TimeoutError(f"not ready after {START_TIMEOUT:.0f} s:\n{stack.output()}")
            time.sleep(0.1)
        stack.startup_seconds = time.monotonic() - started
        print(f"\n`python -m local dev` was ready in {stack.startup_seconds:.1f} s ({stack.log})")
        return stack

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> int | None:
        """SIGTERM, as `make dev`'s Ctrl-C or a supervisor would; the exit code, or None if it hung."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                return None
        return self.process.returncode

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.ports['API_PORT']}"

    @property
    def sandbox(self) -> str:
        return f"http://127.0.0.1:{self.ports['SANDBOX_PORT']}"


class Client:
    """The API as a frontend or curl sees it."""

    def __init__(self, stack: DevStack) -> None:
        self.stack = stack
        self._tokens: dict[tuple[str, str], str] = {}

    def token(self, sub: str, scope: str = "") -> str:
        if (sub, scope) not in self._tokens:
            response = requests.post(
                f"{self.stack.api}/_local/token", json={"sub": sub, "scope": scope}, timeout=10
            )
            response.raise_for_status()
            self._tokens[sub, scope] = response.json()["access_token"]
        return self._tokens[sub, scope]

    def call(
        self, method: str, path: str, user: str | None = "alice", scope: str = "", **kw: Any
    ) -> requests.Response:
        headers = kw.pop("headers", {})
        if user is not None:
            headers["Authorization"] = f"Bearer {self.token(user, scope)}"
        return requests.request(method, f"{self.stack.api}{path}", headers=headers, timeout=30, **kw)

    def put_order(self, user: str, amount: int, description: str = "Уборка для теста") -> str:
        order_id = f"e2e-{uuid.uuid4().hex[:12]}"
        body = {"userId": user, "amount": amount, "description": description}
        response = self.call("PUT", f"/admin/orders/{order_id}", "e2e-admin", "payments/admin", json=body)
        assert response.status_code == 200, response.text
        return order_id

    def create_order_payment(self, order_id: str, amount: int, user: str = "alice") -> dict[str, Any]:
        response = self.call(
            "POST", "/orders/payment/create", user, json={"orderId": order_id, "amount": amount}
        )
        assert response.status_code in (200, 201), response.text
        created: dict[str, Any] = response.json()
        return created

    def sandbox(self, path: str, body: dict[str, Any] | None = None) -> Any:
        response = requests.post(f"{self.stack.sandbox}{path}", json=body or {}, timeout=10)
        assert response.ok, response.text
        return response.json() if response.content else None

    def wait_for_status(self, payment_id: str, expected: set[str], user: str = "alice") -> dict[str, Any]:
        deadline = time.monotonic() + POLL_TIMEOUT
        while True:
            response = self.call("GET", f"/payment-status/{payment_id}", user)
            assert response.status_code == 200, response.text
            payment: dict[str, Any] = response.json()
            if payment["status"] in expected:
                return payment
            assert time.monotonic() < deadline, (
                f"still {payment['status']} after {POLL_TIMEOUT:.0f} s: {payment}"
            )
            time.sleep(0.5)

    def plan_price(self, plan_id: str, kind: str) -> int:
        """A seeded plan's price, as the demo data has it."""
        [plan] = [p for p in self.demo_data("alice")["plans"] if p["planId"] == plan_id]
        price: int = plan["prices"][kind]
        return price

    def demo_data(self, user: str) -> dict[str, Any]:
        response = requests.get(f"{self.stack.api}/_local/demo-data", params={"user": user}, timeout=10)
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data


def yookassa_id(payment_url: str) -> str:
    """The sandbox's checkout URL carries YooKassa's payment id: ...?orderId=<id>."""
    match = re.search(r"[?&]orderId=([^&]+)", payment_url)
    assert match, payment_url
    return match.group(1)


@pytest.fixture(scope="session")
def dev_stack() -> Iterator[DevStack]:
    stack = DevStack.start()
    yield stack
    code = stack.stop()
    assert code == 0, f"`python -m local dev` exited with {code} on SIGTERM:\n{stack.output()[-3000:]}"


@pytest.fixture(scope="session")
def client(dev_stack: DevStack) -> Client:
    return Client(dev_stack)
