"""HTTP front end: the ``/v3`` API, the ``/sandbox`` helpers, the ``/checkout`` pages; ``start_sandbox``."""

from __future__ import annotations

import base64
import contextlib
import hmac
import json
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from . import checkout
from .clock import Clock, format_ms
from .engine import CHECKOUT_PATH, Engine
from .errors import ApiError, error_body, invalid_request, not_found
from .faults import FaultRegistry
from .webhooks import WebhookDispatcher

__all__ = ["DEFAULT_SECRET_KEY", "DEFAULT_SHOP_ID", "Sandbox", "start_sandbox"]

log = logging.getLogger("yookassa_sandbox")

DEFAULT_SHOP_ID = "123456"
DEFAULT_SECRET_KEY = "test_sandbox_secret"  # noqa: S105 - the sandbox's well-known test key
TICK_SECONDS = 0.02
JSON_TYPE = "application/json; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = JSON_TYPE
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(status, body, JSON_TYPE, headers or {})


def html_response(status: int, page: str) -> Response:
    return Response(status, page.encode("utf-8"), HTML_TYPE, {"Cache-Control": "no-store"})


def redirect(location: str) -> Response:
    return Response(303, b"", HTML_TYPE, {"Location": location, "Cache-Control": "no-store"})


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(body: bytes) -> Any:
    """An empty body means ``{}``; numbers with a fraction become Decimal (money is never float)."""
    if not body.strip():
        return {}
    try:
        return json.loads(body.decode("utf-8"), parse_float=Decimal, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid_request("Request body is not valid JSON") from exc


def _outcome(body: bytes) -> Any:
    """``outcome`` from a next_charge body: whatever is wrong with the body is wrong with ``outcome``."""
    try:
        payload = parse_json(body)
    except ApiError as exc:
        raise invalid_request(exc.description, "outcome") from exc
    if not isinstance(payload, dict):
        raise invalid_request('Request body must be a JSON object: {"outcome": ...}', "outcome")
    return payload.get("outcome")


# ------------------------------------------------------------------------------------------ routes
@dataclass(frozen=True)
class Route:
    pattern: re.Pattern[str]
    template: str
    methods: tuple[str, ...]


def _route(template: str, *methods: str) -> Route:
    regex = "^" + re.escape(template).replace(re.escape("{id}"), "([^/]+)") + "$"
    return Route(re.compile(regex), template, methods)


API_ROUTES = (
    _route("/v3/payments", "GET", "POST"),
    _route("/v3/payments/{id}", "GET"),
    _route("/v3/payments/{id}/capture", "POST"),
    _route("/v3/payments/{id}/cancel", "POST"),
    _route("/v3/refunds", "GET", "POST"),
    _route("/v3/refunds/{id}", "GET"),
    _route("/v3/receipts", "GET", "POST"),
    _route("/v3/receipts/{id}", "GET"),
    _route("/v3/me", "GET"),
)
HELPER_ROUTES = (
    _route("/sandbox", "GET"),
    _route("/sandbox/payments/{id}/succeed", "POST"),
    _route("/sandbox/payments/{id}/cancel", "POST"),
    _route("/sandbox/payments/{id}/expire", "POST"),
    _route("/sandbox/payment_methods/{id}/next_charge", "POST"),
    _route("/sandbox/receipts", "GET"),
    _route("/sandbox/webhooks", "GET"),
    _route("/sandbox/webhooks/redeliver", "POST"),
    _route("/sandbox/clock", "GET", "POST"),
    _route("/sandbox/faults", "GET", "POST", "DELETE"),
    _route("/sandbox/reset", "POST"),
)
CHECKOUT_ROUTES = (
    _route(CHECKOUT_PATH, "GET"),
    _route(checkout.PAY_PATH, "POST"),
    _route(checkout.THREE_DS_PATH, "GET", "POST"),
)


def _match(routes: Iterable[Route], path: str) -> tuple[Route, tuple[str, ...]] | None:
    for route in routes:
        found = route.pattern.match(path)
        if found:
            return route, tuple(unquote(group) for group in found.groups())
    return None


class App:
    """Turns (method, path, headers, body) into a Response; no sockets here."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.engine = sandbox.engine
        self.faults = sandbox.faults
        self.dispatcher = sandbox.dispatcher
        token = base64.b64encode(f"{sandbox.shop_id}:{sandbox.secret_key}".encode()).decode("ascii")
        self._expected_auth = f"Basic {token}".encode()
        self.shop_name = f"Тестовый магазин {sandbox.shop_id}"

    def handle(self, method: str, target: str, headers: Message, body: bytes) -> Response:
        parts = urlsplit(target)
        path = parts.path.rstrip("/") or "/"
        query = {key: values[-1] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
        if path == "/v3" or path.startswith("/v3/"):
            with self.sandbox._answering():
                return self._api(method, path, query, headers, body)
        if path == "/sandbox" or path.startswith("/sandbox/"):
            return self._guard(lambda: self._helpers(method, path, query, body))
        if path.startswith("/checkout/"):
            return self._checkout(method, path, query, body)
        if path == "/" and method in {"GET", "HEAD"}:
            return json_response(200, self._about())
        return json_response(404, error_body("not_found", f"Unknown path {path}"))

    @staticmethod
    def _guard(call: Callable[[], Response]) -> Response:
        try:
            return call()
        except ApiError as exc:
            return json_response(exc.status, exc.body())

    def _about(self) -> dict[str, Any]:
        return {
            "name": "YooKassa sandbox",
            "api_url": self.sandbox.api_url,
            "shop_id": self.sandbox.shop_id,
            "test": True,
            "helpers": f"{self.sandbox.base_url}/sandbox",
        }

    # ------------------------------------------------------------------------------ /v3
    def _authorized(self, header: str | None) -> bool:
        if not header:
            return False
        return hmac.compare_digest(header.strip().encode("utf-8", "replace"), self._expected_auth)

    def _api(self, method: str, path: str, query: dict[str, str], headers: Message, body: bytes) -> Response:
        if not self._authorized(headers.get("Authorization")):
            return json_response(
                401,
                error_body(
                    "invalid_credentials",
                    "Error in shopId or secret key. Check their validity. "
                    "You can reissue the key in the Merchant Profile",
                ),
            )
        matched = _match(API_ROUTES, path)
        if matched is None:
            return json_response(404, error_body("not_found", f"Unknown API path {path}"))
        route, params = matched
        if method not in route.methods:
            return json_response(
                405,
                error_body("invalid_request", f"Method {method} is not allowed for {route.template}"),
                {"Allow": ", ".join(route.methods)},
            )
        route_key = f"{method} {route.template}"
        taken = self.faults.take(route_key)
        fault = taken[0] if taken else None
        if fault is not None:
            early = self._early_fault(fault.fault, fault.delay_ms)
            if early is not None:
                return early
        response = self._guard(lambda: self._api_call(method, route, route_key, params, query, headers, body))
        if fault is not None and fault.fault == "500_applied":
            return self._internal_error()
        return response

    @staticmethod
    def _internal_error() -> Response:
        return json_response(
            500,
            error_body(
                "internal_server_error",
                "Internal server error. The result is unknown: repeat the request with the same data "
                "and the same Idempotence-Key",
            ),
        )

    def _early_fault(self, kind: str, delay_ms: int) -> Response | None:
        if kind == "drop_connection":
            return Response(0, drop=True)
        if kind == "500":
            return self._internal_error()
        if kind == "429":
            return json_response(
                429, error_body("too_many_requests", "Too many requests. Repeat the request later")
            )
        if kind == "202":
            return json_response(
                202, {"type": "processing", "description": "Request accepted", "retry_after": 1800}
            )
        if kind == "delay":
            time.sleep(delay_ms / 1000.0)
        return None

    def _api_call(
        self,
        method: str,
        route: Route,
        route_key: str,
        params: tuple[str, ...],
        query: dict[str, str],
        headers: Message,
        body: bytes,
    ) -> Response:
        engine = self.engine
        if method == "GET":
            template = route.template
            if template == "/v3/payments":
                return json_response(200, engine.list_payments(query))
            if template == "/v3/payments/{id}":
                return json_response(200, engine.get_payment(params[0]))
            if template == "/v3/refunds":
                return json_response(200, engine.list_refunds(query))
            if template == "/v3/refunds/{id}":
                return json_response(200, engine.get_refund(params[0]))
            if template == "/v3/receipts":
                return json_response(200, engine.list_receipts(query))
            if template == "/v3/receipts/{id}":
                return json_response(200, engine.get_receipt(params[0]))
            return json_response(200, engine.me())
        content_type = (headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        if (content_type or body.strip()) and content_type != "application/json":
            return json_response(
                415,
                error_body("invalid_request", "Unsupported Content-Type: send the body as application/json"),
            )
        key = headers.get("Idempotence-Key")
        if key is None or not key.strip():
            raise invalid_request("Idempotence key is empty", "Idempotence-Key")
        if len(key) > 64:
            raise invalid_request("Idempotence key is too long. Max. length is 64", "Idempotence-Key")
        payload = parse_json(body)
        operation: Callable[[Any], tuple[str, str]]
        if route.template == "/v3/payments":
            operation = engine.op_create_payment
        elif route.template == "/v3/payments/{id}/capture":
            operation = engine.op_capture(params[0])
        elif route.template == "/v3/payments/{id}/cancel":
            operation = engine.op_cancel(params[0])
        elif route.template == "/v3/receipts":
            operation = engine.op_create_receipt
        else:
            operation = engine.op_create_refund
        return json_response(200, engine.idempotent(route_key, key, payload, operation))

    # ------------------------------------------------------------------------------ /sandbox
    def _helpers(self, method: str, path: str, query: dict[str, str], body: bytes) -> Response:
        matched = _match(HELPER_ROUTES, path)
        if matched is None:
            raise not_found(f"Unknown sandbox helper {path}")
        route, params = matched
        if method not in route.methods:
            return json_response(
                405,
                error_body("invalid_request", f"Method {method} is not allowed for {route.template}"),
                {"Allow": ", ".join(route.methods)},
            )
        engine, template = self.engine, route.template
        if template == "/sandbox/payment_methods/{id}/next_charge":
            return json_response(200, engine.helper_next_charge(params[0], _outcome(body)))
        payload = parse_json(body) if method == "POST" else {}
        if not isinstance(payload, dict):
            raise invalid_request("Request body must be a JSON object")
        if template == "/sandbox":
            return json_response(200, {**self._about(), **engine.counts(), "now": self.sandbox.clock.iso()})
        if template.startswith("/sandbox/payments/"):
            payment_id = params[0]
            if template.endswith("/succeed"):
                card = payload.get("card")
                if card is not None and not isinstance(card, str):
                    raise invalid_request("card must be a string", "card")
                return json_response(200, engine.helper_succeed(payment_id, card))
            if template.endswith("/cancel"):
                return json_response(200, engine.helper_cancel(payment_id, payload))
            return json_response(200, engine.helper_expire(payment_id))
        if template == "/sandbox/receipts":  # a bare JSON list, for tests
            return json_response(200, engine.receipts_of(query.get("payment_id")))
        if template == "/sandbox/webhooks":
            items = self.dispatcher.log_items(query.get("objectId"), query.get("event"))
            return json_response(200, {"items": items})
        if template == "/sandbox/webhooks/redeliver":
            object_id = payload.get("objectId")
            if object_id is not None and (
                not isinstance(object_id, str) or not self.dispatcher.knows(object_id)
            ):
                raise not_found(f"No notification was ever sent for object {object_id}")
            ids = self.dispatcher.redeliver(object_id)
            return json_response(200, {"redelivered": len(ids), "notificationIds": ids})
        if template == "/sandbox/clock":
            if method == "POST":
                seconds = payload.get("advanceSeconds", 0)
                if isinstance(seconds, bool) or not isinstance(seconds, int | Decimal) or seconds < 0:
                    raise invalid_request("advanceSeconds must be a number >= 0", "advanceSeconds")
                engine.advance_clock(float(seconds))
                self.dispatcher.tick()
            return json_response(200, self._clock())
        if template == "/sandbox/faults":
            if method == "POST":
                return json_response(200, self.faults.add(payload).to_json())
            if method == "DELETE":
                self.faults.clear()
            return json_response(200, {"items": self.faults.items()})
        # /sandbox/reset
        self.faults.clear()
        engine.reset()
        return json_response(200, {"reset": True, **self._clock()})

    def _clock(self) -> dict[str, Any]:
        clock = self.sandbox.clock
        now = clock.now_ms()
        return {"now": format_ms(now), "offsetSeconds": clock.offset_ms() / 1000, "timeScale": clock.time_scale}

    # ------------------------------------------------------------------------------ /checkout
    def _checkout(self, method: str, path: str, query: dict[str, str], body: bytes) -> Response:
        matched = _match(CHECKOUT_ROUTES, path)
        if matched is None:
            return html_response(404, checkout.not_found_page())
        route, _ = matched
        if method not in route.methods and not (method == "HEAD" and "GET" in route.methods):
            return Response(
                405, b"Method Not Allowed", "text/plain; charset=utf-8", {"Allow": ", ".join(route.methods)}
            )
        form = query
        if method == "POST":
            text = body.decode("utf-8", "replace")
            form = {key: values[-1] for key, values in parse_qs(text, keep_blank_values=True).items()}
        order_id = form.get("orderId", "")
        view = self.engine.checkout_view(order_id) if order_id else None
        if view is None:
            return html_response(404, checkout.not_found_page())
        payment, return_url = view
        page_url = f"{CHECKOUT_PATH}?orderId={quote(order_id)}"
        if route.template == CHECKOUT_PATH:
            return html_response(200, checkout.payment_page(payment, self.shop_name, return_url))
        if route.template == checkout.PAY_PATH:
            outcome = self.engine.checkout_pay(
                order_id, form.get("cardNumber", ""), form.get("expiry", ""), form.get("cvc", "").strip()
            )
            if outcome.kind == "error":
                return html_response(
                    400, checkout.payment_page(payment, self.shop_name, return_url, error=outcome.message)
                )
        else:
            token = form.get("token", "")
            if method in {"GET", "HEAD"}:
                if payment["status"] != "pending" or not self.engine.three_ds_session_valid(order_id, token):
                    return redirect(page_url)
                return html_response(200, checkout.three_ds_page(payment, self.shop_name, token))
            outcome = self.engine.checkout_three_ds(
                order_id, token, form.get("code", "").strip(), confirm=form.get("action", "confirm") != "cancel"
            )
            if outcome.kind == "error":
                return html_response(
                    400, checkout.three_ds_page(payment, self.shop_name, token, error=outcome.message)
                )
        if outcome.kind == "three_ds":
            return redirect(f"{checkout.THREE_DS_PATH}?orderId={quote(order_id)}&token={quote(outcome.token)}")
        if outcome.kind == "redirect" and outcome.url:
            return redirect(outcome.url)
        return redirect(page_url)


# ------------------------------------------------------------------------------------------ HTTP server
class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256
    app: App

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address, _Handler)
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def track(self, connection: socket.socket, add: bool) -> None:
        with self._connections_lock:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
            self._connections.clear()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "YooKassaSandbox/1.0"
    sys_version = ""
    timeout = 120
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stalls
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def _read_body(self) -> bytes | None:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = self.headers.get("Content-Length") or "0"
        if not (length.strip().isascii() and length.strip().isdigit()):
            return None
        return self.rfile.read(int(length)) if int(length) else b""

    def _serve(self) -> None:
        try:
            body = self._read_body()
        except (ValueError, OSError):
            body = None
        if body is None:
            self.close_connection = True
            response = json_response(400, error_body("invalid_request", "Malformed request body framing"))
        else:
            try:
                response = self.server.app.handle(self.command, self.path, self.headers, body)
            except Exception:
                log.exception("unhandled error in %s %s", self.command, urlsplit(self.path).path)
                response = json_response(500, error_body("internal_server_error", "Sandbox internal error"))
        if response.drop:
            log.info("%s %s dropped", self.command, self.path)
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD" and response.body:
                self.wfile.write(response.body)
        except OSError:
            self.close_connection = True  # the client went away (e.g. it timed out during a delay fault)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.info("%s %s %s", self.command, self.path, code)

    def log_error(self, format: str, *args: Any) -> None:
        log.debug("http error: " + format, *args)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug(format, *args)


# ------------------------------------------------------------------------------------------ embedding
class Sandbox:
    """A running sandbox. ``webhook_urls`` is a live list: changes take effect for the next event."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        webhook_urls: Iterable[str] = (),
        shop_id: str = DEFAULT_SHOP_ID,
        secret_key: str = DEFAULT_SECRET_KEY,
        fiscalization: bool = False,
        two_stage: bool = True,
        time_scale: float = 1.0,
        state_file: str | os.PathLike[str] | None = None,
        payment_term_seconds: int = 3600,
    ) -> None:
        self.shop_id = str(shop_id)
        self.secret_key = str(secret_key)
        self._webhook_urls: list[str] = list(webhook_urls)
        self.clock = Clock(time_scale)
        self.faults = FaultRegistry()
        self.dispatcher = WebhookDispatcher(self.clock, self.faults, lambda: list(self._webhook_urls))
        self.engine = Engine(
            shop_id=self.shop_id,
            clock=self.clock,
            dispatcher=self.dispatcher,
            fiscalization=fiscalization,
            two_stage=two_stage,
            payment_term_seconds=payment_term_seconds,
            state_file=state_file,
        )
        self._server = _Server((host, port))
        self.host = host
        self.port = int(self._server.server_address[1])
        netloc = f"[{host}]" if ":" in host else host
        self.base_url = f"http://{netloc}:{self.port}"
        self.api_url = f"{self.base_url}/v3"
        self.engine.base_url = self.base_url
        self._server.app = App(self)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._stopped = False
        self._answered = threading.Condition()  # wait_idle(): API requests being answered
        self._answering_count = 0

    @contextlib.contextmanager
    def _answering(self) -> Iterator[None]:
        with self._answered:
            self._answering_count += 1
        try:
            yield
        finally:
            with self._answered:
                self._answering_count -= 1
                self._answered.notify_all()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until nothing is in flight (True), or ``timeout`` seconds passed (False): no ``/v3``
        request is being answered (one whose client gave up during a ``delay`` fault included) and the
        webhook dispatcher is idle (``WebhookDispatcher.wait_idle``)."""
        deadline = time.monotonic() + timeout
        with self._answered:
            if not self._answered.wait_for(lambda: self._answering_count == 0, timeout):
                return False
        return self.dispatcher.wait_idle(max(0.0, deadline - time.monotonic()))

    @property
    def webhook_urls(self) -> list[str]:
        return self._webhook_urls

    @webhook_urls.setter
    def webhook_urls(self, urls: Iterable[str]) -> None:
        self._webhook_urls = list(urls)

    def start(self) -> Sandbox:
        server_thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="sandbox-http", daemon=True
        )
        ticker = threading.Thread(target=self._tick_forever, name="sandbox-ticker", daemon=True)
        self._threads = [server_thread, ticker]
        for thread in self._threads:
            thread.start()
        return self

    def _tick_forever(self) -> None:
        while not self._stop.wait(TICK_SECONDS):
            try:
                self.engine.tick()
                self.dispatcher.tick()
            except Exception:
                log.exception("sandbox ticker failed")

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._stop.set()
        if self._threads:  # shutdown() would wait forever for a loop that never started
            self._server.shutdown()
        self._server.server_close()
        self._server.close_connections()
        self.dispatcher.stop()
        for thread in self._threads:
            thread.join(timeout=5)

    def wait(self) -> None:
        """Block until ``stop()`` (for the CLI)."""
        self._stop.wait()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<Sandbox {self.base_url} shop {self.shop_id}>"


def start_sandbox(
    host: str = "127.0.0.1",
    port: int = 0,
    webhook_urls: Iterable[str] = (),
    shop_id: str = DEFAULT_SHOP_ID,
    secret_key: str = DEFAULT_SECRET_KEY,
    fiscalization: bool = False,
    two_stage: bool = True,
    time_scale: float = 1.0,
    state_file: str | os.PathLike[str] | None = None,
    payment_term_seconds: int = 3600,
) -> Sandbox:
    """Start a sandbox in daemon threads (port 0 = any free port) and return it, already serving."""
    return Sandbox(
        host=host,
        port=port,
        webhook_urls=webhook_urls,
        shop_id=shop_id,
        secret_key=secret_key,
        fiscalization=fiscalization,
        two_stage=two_stage,
        time_scale=time_scale,
        state_file=state_file,
        payment_term_seconds=payment_term_seconds,
    ).start()
