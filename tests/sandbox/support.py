"""Helpers for the sandbox tests: a webhook receiver, plain-HTTP calls, JSON checks."""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

from local.yookassa_sandbox import Sandbox

ID_PATTERN = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
TIME_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
RETURN_PAGE = "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Shop</title></head><body>"
RETURN_PAGE += "<h1 id='thanks'>Спасибо! Магазин получил вас обратно.</h1></body></html>"
GATE_LIMIT_SECONDS = 30.0  # a blocked POST is answered after this at the latest, released or not


class Receiver:
    """A webhook receiver on 127.0.0.1 that records every POST and can be told to fail or stall."""

    def __init__(self) -> None:
        self.lock = threading.Condition()
        self.received: list[dict[str, Any]] = []
        self.returns: list[str] = []
        self.fail_remaining = 0
        self.fail_status = 500
        self.stall_seconds = 0.0
        self.gate: threading.Event | None = None  # block(): every POST waits for release()
        self.generation = 0  # bumped by reset(): a request still stalling from an earlier test is not recorded
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    status = 200
                    if receiver.fail_remaining > 0:
                        receiver.fail_remaining -= 1
                        status = receiver.fail_status
                    stall = receiver.stall_seconds
                    gate = receiver.gate
                    generation = receiver.generation
                if stall:
                    time.sleep(stall)
                if gate is not None:
                    gate.wait(GATE_LIMIT_SECONDS)
                with receiver.lock:
                    if generation != receiver.generation:
                        self.close_connection = True
                        return
                    receiver.received.append(
                        {
                            "path": self.path,
                            "content_type": self.headers.get("Content-Type"),
                            "body": json.loads(body),
                            "answered": status,
                            "at": time.monotonic(),
                        }
                    )
                    receiver.lock.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def do_GET(self) -> None:  # the shop's return_url page for the browser test
                with receiver.lock:
                    receiver.returns.append(self.path)
                page = RETURN_PAGE.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhooks/yookassa"

    @property
    def return_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/shop/return"

    def block(self) -> None:
        """Hold every POST unanswered (and unrecorded) until ``release()``."""
        with self.lock:
            self.gate = threading.Event()

    def release(self) -> None:
        with self.lock:
            gate, self.gate = self.gate, None
        if gate is not None:
            gate.set()

    def reset(self) -> None:
        self.release()
        with self.lock:
            self.generation += 1
            self.received.clear()
            self.returns.clear()
            self.fail_remaining = 0
            self.fail_status = 500
            self.stall_seconds = 0.0

    def fail(self, times: int, status: int = 500) -> None:
        with self.lock:
            self.fail_remaining = times
            self.fail_status = status

    def bodies(self) -> list[dict[str, Any]]:
        with self.lock:
            return [item["body"] for item in self.received]

    def events(self) -> list[tuple[str, str]]:
        return [(body["event"], body["object"]["id"]) for body in self.bodies()]

    def wait_for(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Block until at least ``count`` notifications arrived; return all bodies."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"expected {count} webhooks, got {len(self.received)}: {self.events()}"
                    )
                self.lock.wait(left)
        return self.bodies()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def wait_until(check: Callable[[], Any], timeout: float = 5.0, interval: float = 0.01) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)


# ------------------------------------------------------------------------------------------ plain HTTP
class Api:
    """Raw HTTP to the sandbox with requests: what the SDK hides."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.session = requests.Session()
        self.auth = (sandbox.shop_id, sandbox.secret_key)

    def post(
        self, path: str, body: Any = None, key: str | None = "auto", headers: dict[str, str] | None = None
    ) -> requests.Response:
        all_headers = dict(headers or {})
        if key == "auto":
            key = str(uuid.uuid4())
        if key is not None:
            all_headers["Idempotence-Key"] = key
        return self.session.post(
            f"{self.sandbox.api_url}{path}", json=body, headers=all_headers, auth=self.auth, timeout=10
        )

    def get(self, path: str, params: dict[str, Any] | None = None) -> requests.Response:
        return self.session.get(f"{self.sandbox.api_url}{path}", params=params, auth=self.auth, timeout=10)

    def helper(self, method: str, path: str, body: Any = None) -> requests.Response:
        return self.session.request(method, f"{self.sandbox.base_url}{path}", json=body, timeout=10)

    def create(self, key: str | None = "auto", **overrides: Any) -> dict[str, Any]:
        response = self.post("/payments", payment_body(**overrides), key=key)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def succeed(self, payment_id: str, card: str | None = None) -> dict[str, Any]:
        response = self.helper(
            "POST", f"/sandbox/payments/{payment_id}/succeed", {"card": card} if card else {}
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    def payment(self, payment_id: str) -> dict[str, Any]:
        response = self.get(f"/payments/{payment_id}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def all_payments(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 100}
            if cursor:
                params["cursor"] = cursor
            page = self.get("/payments", params).json()
            items.extend(page["items"])
            cursor = page.get("next_cursor")
            if not cursor:
                return items

    def advance(self, seconds: float) -> dict[str, Any]:
        response = self.helper("POST", "/sandbox/clock", {"advanceSeconds": seconds})
        assert response.status_code == 200, response.text
        return dict(response.json())

    def webhook_log(self, **params: str) -> list[dict[str, Any]]:
        response = self.session.get(f"{self.sandbox.base_url}/sandbox/webhooks", params=params, timeout=10)
        return list(response.json()["items"])


def payment_body(
    value: str = "1500.00",
    capture: bool = True,
    return_url: str = "https://shop.example/return",
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "amount": {"value": value, "currency": "RUB"},
        "capture": capture,
        "confirmation": {"type": "redirect", "return_url": return_url},
        "description": "Заказ №1",
    }
    for key, item in extra.items():
        if item is None:
            body.pop(key, None)
        else:
            body[key] = item
    return body


def assert_error(response: requests.Response, status: int, code: str, parameter: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["type"] == "error"
    assert body["code"] == code
    assert uuid.UUID(body["id"])
    assert isinstance(body["description"], str) and body["description"]
    if parameter is not None:
        assert body.get("parameter") == parameter, body
    return dict(body)


def walk(value: Any, path: str = "$") -> Iterator[tuple[str, Any]]:
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from walk(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk(item, f"{path}[{index}]")


def assert_no_nulls(value: Any) -> None:
    nulls = [path for path, item in walk(value) if item is None]
    assert not nulls, f"null at {nulls}"


def parse_time(text: str) -> datetime:
    assert TIME_PATTERN.match(text), text
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
