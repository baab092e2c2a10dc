"""A local stand-in for API Gateway (HTTP API) and a Lambda Function URL.

Every route comes from ``template.yaml`` (``local.template.http_routes``); nothing here names a product
route. A request becomes the payload v2.0 event API Gateway would send (the shape of
``sam local generate-event apigateway http-api-proxy``), the route's JWT authorizer and scopes are
enforced with API Gateway's answers, the function runs in a worker process of its pool
(``local.workers``), or in this process (``local.lambda_runtime``) one invocation at a time, and its
result is turned into HTTP the way API Gateway does. The webhook function is served on its own port like
a Function URL. The same server hands out dev tokens under ``/_local`` and serves the demo frontend.
"""

import base64
import json
import logging
import mimetypes
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from local import lambda_runtime
from local.auth import AuthError, JwtAuthorizer, TokenIssuer
from local.schedules import AlreadyRunning, NotScheduled, ScheduledRunner, parse_time
from local.template import TEMPLATE, Route, functions, http_routes, load
from local.workers import NoWorker, WorkerError, WorkerPools

log = logging.getLogger("local.gateway")
access_log = logging.getLogger("local.access")

DEMO_DIR = Path(__file__).resolve().parent / "demo"
ACCOUNT_ID = "000000000000"
API_ID = "local"
FUNCTION_URL_ID = "localfunctionurl"
# Documented service limits: HTTP API payloads up to 10 MB, Lambda's synchronous invocation up to 6 MB,
# HTTP API's integration timeout 30 s.
API_PAYLOAD_LIMIT = 10 * 1024 * 1024
FUNCTION_URL_PAYLOAD_LIMIT = 6 * 1024 * 1024
INTEGRATION_TIMEOUT_SECONDS = 30.0
# Content types API Gateway passes as text; any other body arrives base64-encoded.
TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript", "application/yaml")
TEXT_SUFFIXES = ("+json", "+xml")
FORM_TYPE = "application/x-www-form-urlencoded"
RUN_PREFIX = "/_local/run/"
# A chunk-size line is a few hex digits and maybe an extension; a trailer line a header.
CHUNK_LINE_LIMIT = 8 * 1024
CHUNK_TRAILER_LINES = 64
# After refusing a body: how long and how much of the rest is read and dropped before closing.
DISCARD_TIMEOUT_SECONDS = 0.2
DISCARD_READS, DISCARD_READ_SIZE = 64, 64 * 1024

Invoker = Callable[[str, dict[str, Any]], Any]
DemoData = Callable[[str], dict[str, Any]]


# --------------------------------------------------------------------------------------- HTTP in/out
@dataclass
class Request:
    method: str
    raw_path: str
    raw_query: str
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str
    protocol: str = "HTTP/1.1"

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return ",".join(values) if values else None


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    @classmethod
    def json(cls, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> "Response":
        body = json.dumps(payload, ensure_ascii=False).encode()
        return cls(status, [("content-type", "application/json"), *(headers or {}).items()], body)

    @classmethod
    def message(cls, status: int, text: str, headers: Mapping[str, str] | None = None) -> "Response":
        """API Gateway's own error answers: ``{"message": "..."}``."""
        return cls.json(status, {"message": text}, headers)

    @classmethod
    def error(cls, status: int, code: str, text: str) -> "Response":
        """Our own error envelope, for what the local stack itself answers (as the handlers do)."""
        return cls.json(status, {"error": {"code": code, "message": text}})


# --------------------------------------------------------------------------------------- events
def _is_text(content_type: str | None) -> bool:
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media.startswith(TEXT_TYPES) or media.endswith(TEXT_SUFFIXES) or media == FORM_TYPE


def _joined(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Repeated names join with commas, as in API Gateway's payload v2.0."""
    joined: dict[str, str] = {}
    for name, value in pairs:
        joined[name] = f"{joined[name]},{value}" if name in joined else value
    return joined


def build_event(
    request: Request,
    *,
    route_key: str = "$default",
    path_parameters: Mapping[str, str] | None = None,
    authorizer: Mapping[str, Any] | None = None,
    account_id: str = ACCOUNT_ID,
    api_id: str = API_ID,
    request_id: str | None = None,
) -> dict[str, Any]:
    """The payload v2.0 event of one request (HTTP API and Function URL share the shape)."""
    now = datetime.now(UTC)
    headers: list[tuple[str, str]] = []
    cookies: list[str] = []
    for name, value in request.headers:
        if name.lower() == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
        else:
            headers.append((name.lower(), value))
    header_map = _joined(headers)
    host = header_map.get("host", "127.0.0.1")
    # API Gateway appends the caller's address to whatever X-Forwarded-For the client sent.
    forwarded = header_map.get("x-forwarded-for")
    header_map["x-forwarded-for"] = f"{forwarded}, {request.source_ip}" if forwarded else request.source_ip
    header_map.setdefault("x-forwarded-proto", "http")
    header_map.setdefault("x-forwarded-port", host.rpartition(":")[2] if ":" in host else "80")
    header_map.setdefault("x-amzn-trace-id", f"Root=1-{int(now.timestamp()):08x}-{secrets.token_hex(12)}")
    if request.body:
        header_map["content-length"] = str(len(request.body))

    event: dict[str, Any] = {"version": "2.0", "routeKey": route_key, "rawPath": request.raw_path}
    event["rawQueryString"] = request.raw_query
    if cookies:
        event["cookies"] = cookies
    event["headers"] = header_map
    if request.raw_query:
        event["queryStringParameters"] = _joined(parse_qsl(request.raw_query, keep_blank_values=True))
    request_context: dict[str, Any] = {"accountId": account_id, "apiId": api_id}
    if authorizer is not None:
        request_context["authorizer"] = dict(authorizer)
    request_context |= {
        "domainName": host,
        "domainPrefix": host.split(".", 1)[0],
        "http": {
            "method": request.method,
            "path": request.raw_path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": header_map.get("user-agent", ""),
        },
        "requestId": request_id or new_request_id(),
        "routeKey": route_key,
        "stage": "$default",
        "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(now.timestamp() * 1000),
    }
    event["requestContext"] = request_context
    encoded = False
    if request.body:
        text = _text_body(request.body, header_map.get("content-type"))
        encoded = text is None
        event["body"] = base64.b64encode(request.body).decode() if text is None else text
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    event["isBase64Encoded"] = encoded
    return event


def _text_body(body: bytes, content_type: str | None) -> str | None:
    if not _is_text(content_type):
        return None
    try:
        return body.decode()
    except UnicodeDecodeError:
        return None


def new_request_id() -> str:
    """API Gateway's request ids look like ``Mc7UVioPPHcEKPA=``."""
    return base64.b64encode(secrets.token_bytes(10)).decode()


class BadLambdaResponse(ValueError):
    pass


def lambda_result_to_response(result: Any) -> Response:
    """Payload v2.0 response mapping: a dict with ``statusCode`` is a proxy result; anything else is
    JSON that API Gateway wraps in a 200."""
    if not (isinstance(result, dict) and "statusCode" in result):
        return Response.json(200, result)
    status = result["statusCode"]
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise BadLambdaResponse(f"statusCode must be an integer HTTP status, got {status!r}")
    headers = [(str(k).lower(), str(v)) for k, v in (result.get("headers") or {}).items()]
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((str(name).lower(), str(v)) for v in values)
    headers.extend(("set-cookie", str(c)) for c in result.get("cookies") or ())
    body = result.get("body")
    if body is None:
        raw = b""
    elif not isinstance(body, str):
        raise BadLambdaResponse(f"body must be a string, got {type(body).__name__}")
    elif result.get("isBase64Encoded"):
        raw = base64.b64decode(body)
    else:
        raw = body.encode()
    if raw and not any(name == "content-type" for name, _ in headers):
        headers.append(("content-type", "application/json"))
    return Response(status, headers, raw)


# --------------------------------------------------------------------------------------- template
@dataclass(frozen=True)
class CorsConfig:
    allow_origins: tuple[str, ...]
    allow_methods: tuple[str, ...] = ("*",)
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age: int | None = None
    allow_credentials: bool = False

    def allows(self, origin: str) -> bool:
        return "*" in self.allow_origins or origin in self.allow_origins

    def origin_header(self, origin: str) -> str:
        return "*" if "*" in self.allow_origins and not self.allow_credentials else origin


def _resolve(value: Any, parameters: Mapping[str, str]) -> Any:
    """Resolve ``!Ref Parameter`` against local values; other intrinsics are unknowable locally."""
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return parameters.get(value["Ref"])
    if isinstance(value, list):
        resolved = (_resolve(v, parameters) for v in value)
        return [v for v in resolved if v is not None]
    return value


def cors_config(parameters: Mapping[str, str], template: Path = TEMPLATE) -> CorsConfig | None:
    """The HttpApi's ``CorsConfiguration`` (or the HttpApi Globals'), with parameters resolved."""
    parsed = load(template)
    apis = [r for r in parsed["Resources"].values() if r["Type"] == "AWS::Serverless::HttpApi"]
    config = next(
        (a["Properties"]["CorsConfiguration"] for a in apis if "CorsConfiguration" in a.get("Properties", {})),
        parsed.get("Globals", {}).get("HttpApi", {}).get("CorsConfiguration"),
    )
    if config is None or config is False:
        return None
    if config is True:
        return CorsConfig(allow_origins=("*",), allow_headers=("*",))
    config = {k: _resolve(v, parameters) for k, v in config.items()}
    return CorsConfig(
        allow_origins=tuple(config.get("AllowOrigins") or ()),
        allow_methods=tuple(m.upper() for m in config.get("AllowMethods") or ("*",)),
        allow_headers=tuple(config.get("AllowHeaders") or ()),
        expose_headers=tuple(config.get("ExposeHeaders") or ()),
        max_age=config.get("MaxAge"),
        allow_credentials=bool(config.get("AllowCredentials", False)),
    )


def _specificity(route: Route) -> tuple[int, int]:
    # API Gateway prefers the most specific match: literal segments over {params}, exact methods over ANY.
    return (route.path.count("{"), route.method == "ANY")


# --------------------------------------------------------------------------------------- invoking
class LocalLambda:
    """Runs functions like Lambda: in worker pools, or in this process one invocation at a time.

    With ``workers`` (``make dev``), every function has its own pool of worker processes, one
    invocation at a time per worker (``local.workers``): concurrent requests run concurrently, as on
    AWS. Without, the functions run in this process like warm Lambda containers, one invocation at a
    time: all handlers then share one interpreter, and Powertools keeps per-invocation state on
    module-level objects (the resolver's current event, the logger's keys, the metrics buffer shared by
    every function), so serialising invocations is what keeps them isolated. An invocation longer than
    the function's Timeout counts as Lambda's "Task timed out" (a worker is stopped then, as Lambda
    stops it); the caller stops waiting after the integration timeout, like API Gateway, and that wait
    includes the time spent waiting for a free worker.
    """

    def __init__(
        self,
        invoke: Invoker = lambda_runtime.invoke,
        template: Path = TEMPLATE,
        *,
        workers: WorkerPools | None = None,
    ) -> None:
        self._invoke = invoke
        self._workers = workers
        self._timeouts = {fid: fn.timeout for fid, fn in functions(template).items()}
        self._lock = threading.Lock()

    def close(self) -> None:
        """Stop the workers (a no-op in-process)."""
        if self._workers is not None:
            self._workers.close()

    def __call__(
        self,
        function_id: str,
        event: dict[str, Any],
        wait: float = INTEGRATION_TIMEOUT_SECONDS,
        done: Callable[[], None] | None = None,
    ) -> Any:
        """Return the function's result; raise what it raised, ``TimeoutError`` past its Timeout, or
        ``IntegrationTimeout`` when nothing came back within ``wait`` seconds.

        ``done`` is called exactly once, when the invocation has really ended, which may be after the
        caller stopped waiting: the scheduler uses it so that two runs of one function never overlap.
        """
        outcome: dict[str, Any] = {}
        finished = threading.Event()
        deadline = time.monotonic() + wait

        def run() -> None:
            try:
                if self._workers is not None:
                    outcome["result"] = self._workers.invoke(function_id, event, deadline)
                else:
                    outcome["result"] = self._in_process(function_id, event)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller, like Lambda's error result
                outcome["error"] = exc
            finally:
                if done is not None:
                    done()
                finished.set()

        try:
            threading.Thread(target=run, name=f"lambda-{function_id}", daemon=True).start()
        except BaseException:
            if done is not None:
                done()
            raise
        if not finished.wait(wait):
            raise IntegrationTimeout(f"{function_id} did not answer within {wait:.0f} s")
        if isinstance(outcome.get("error"), NoWorker):  # no worker freed up within the wait
            raise IntegrationTimeout(f"{function_id} did not answer within {wait:.0f} s: {outcome['error']}")
        if "error" in outcome:
            raise outcome["error"]
        return outcome["result"]

    def _in_process(self, function_id: str, event: dict[str, Any]) -> Any:
        with self._lock:
            started = time.monotonic()
            result = self._invoke(function_id, event)
            elapsed = time.monotonic() - started
        timeout = self._timeouts.get(function_id, 3)
        if elapsed > timeout:
            raise TimeoutError(f"Task timed out after {timeout:.2f} seconds")
        return result


class IntegrationTimeout(Exception):
    pass


# --------------------------------------------------------------------------------------- gateway
class Gateway:
    """Routing, auth, CORS and the local endpoints; the HTTP servers are thin shells around it."""

    def __init__(
        self,
        *,
        issuer: TokenIssuer,
        frontend_url: str,
        template: Path = TEMPLATE,
        invoker: Invoker | None = None,
        demo_data: DemoData | None = None,
        workers: WorkerPools | None = None,
    ) -> None:
        """``workers``: run the functions in these pools (``make dev``); without, in this process with
        ``invoker`` (default ``lambda_runtime.invoke``), one at a time."""
        if workers is not None and invoker is not None:
            raise ValueError("either workers or an in-process invoker, not both")
        self.issuer = issuer
        self.frontend_url = frontend_url
        self.authorizer: JwtAuthorizer = JwtAuthorizer(issuer.key.jwks(), issuer.issuer, [issuer.audience])
        self.routes = sorted(http_routes(template), key=_specificity)
        self.cors = cors_config({"FrontendUrl": frontend_url}, template)
        url_functions = [fid for fid, fn in functions(template).items() if fn.function_url]
        if len(url_functions) > 1:
            log.warning("only the first Function URL is served locally: %s", url_functions[0])
        self.function_url_function = url_functions[0] if url_functions else None
        self.invoke = LocalLambda(invoker or lambda_runtime.invoke, template, workers=workers)
        self.runner = ScheduledRunner(self.invoke, template)
        self.demo_data = demo_data

    def close(self) -> None:
        """Stop the functions' workers, if any."""
        self.invoke.close()

    # ---------------------------------------------------------------- API port
    def handle_api(self, request: Request) -> Response:
        origin = request.header("origin")
        if request.method == "OPTIONS" and origin and request.header("access-control-request-method"):
            return self._preflight(origin)
        response = self._route_api(request)
        if origin and self.cors:
            response.headers = [(k, v) for k, v in response.headers if not k.startswith("access-control-")]
            if self.cors.allows(origin):
                response.headers.extend(self._cors_headers(origin))
        return response

    def _route_api(self, request: Request) -> Response:
        path = request.raw_path
        for route in self.routes:
            match = route.pattern.match(path)
            if match and route.method in (request.method, "ANY"):
                return self._call_route(route, match.groupdict(), request)
        if path.startswith("/_local/") or path == "/.well-known/openid-configuration":
            return self._local(request)
        if request.method in ("GET", "HEAD"):
            page = self._demo(path)
            if page is not None:
                return self._canonical_origin(request) or page
        return Response.message(404, "Not Found")

    def _call_route(self, route: Route, params: dict[str, str], request: Request) -> Response:
        request_id = new_request_id()
        authorizer = None
        if route.auth:
            try:
                authorizer = self.authorizer.authorize(request.header("authorization"), route.scopes)
            except AuthError as exc:
                log.info("%s refused by the JWT authorizer: %s", route.route_key, exc.description or "no token")
                return Response.json(exc.status, exc.body, {**exc.headers, "apigw-requestid": request_id})
        event = build_event(
            request,
            route_key=route.route_key,
            path_parameters={k: unquote(v) for k, v in params.items()},
            authorizer=authorizer,
            request_id=request_id,
        )
        response = self._run(route.function, event, error_status=500)
        response.headers.append(("apigw-requestid", request_id))
        return response

    def _run(self, function_id: str, event: dict[str, Any], error_status: int) -> Response:
        try:
            result = self.invoke(function_id, event)
        except IntegrationTimeout:
            log.error("%s: integration timeout (%.0f s)", function_id, INTEGRATION_TIMEOUT_SECONDS)
            return Response.message(503, "Service Unavailable")
        except WorkerError as exc:  # its traceback, if any, is in the worker's own output
            log.error(
                "%s failed (%s: %s); answering %s as AWS would", function_id, exc.error_type, exc, error_status
            )
            return self._function_error(error_status)
        except Exception:
            log.exception("%s raised; answering %s as AWS would", function_id, error_status)
            return self._function_error(error_status)
        try:
            return lambda_result_to_response(result)
        except (BadLambdaResponse, TypeError, ValueError):
            log.exception("%s returned a response API Gateway cannot use", function_id)
            return self._function_error(error_status)

    @staticmethod
    def _function_error(status: int) -> Response:
        if status == 502:  # a Function URL answers a function error in plain text
            return Response(502, [("content-type", "text/plain")], b"Internal Server Error")
        return Response.message(status, "Internal Server Error")

    def _preflight(self, origin: str) -> Response:
        if not self.cors or not self.cors.allows(origin):
            return Response(204)
        headers = self._cors_headers(origin)
        headers.append(("access-control-allow-methods", ",".join(self.cors.allow_methods)))
        if self.cors.allow_headers:
            headers.append(
                ("access-control-allow-headers", ",".join(h.lower() for h in self.cors.allow_headers))
            )
        if self.cors.max_age is not None:
            headers.append(("access-control-max-age", str(self.cors.max_age)))
        return Response(204, headers)

    def _cors_headers(self, origin: str) -> list[tuple[str, str]]:
        assert self.cors is not None
        headers = [("access-control-allow-origin", self.cors.origin_header(origin)), ("vary", "origin")]
        if self.cors.expose_headers:
            headers.append(("access-control-expose-headers", ",".join(self.cors.expose_headers)))
        if self.cors.allow_credentials:
            headers.append(("access-control-allow-credentials", "true"))
        return headers

    # ---------------------------------------------------------------- /_local
    def _local(self, request: Request) -> Response:
        path, method = request.raw_path, request.method
        if path in ("/_local/jwks.json", "/_local/.well-known/jwks.json") and method == "GET":
            return Response.json(200, self.issuer.key.jwks())
        discovery = ("/_local/.well-known/openid-configuration", "/.well-known/openid-configuration")
        if path in discovery and method == "GET":
            return Response.json(200, self.issuer.openid_configuration())
        if path == "/_local/token" and method == "POST":
            return self._token(request)
        if path.startswith(RUN_PREFIX) and method == "POST":
            return self._run_scheduled(unquote(path.removeprefix(RUN_PREFIX)), request.body)
        if path == "/_local/demo-data" and method == "GET" and self.demo_data is not None:
            query = dict(parse_qsl(request.raw_query))
            user = query.get("user", "")
            if not user:
                return Response.json(
                    400, {"error": {"code": "validation_error", "message": "user is required"}}
                )
            return Response.json(200, self.demo_data(user))
        return Response.message(404, "Not Found")

    def _token(self, request: Request) -> Response:
        try:
            payload = json.loads(request.body or b"{}")
        except ValueError:
            payload = None
        if not isinstance(payload, dict) or not isinstance(payload.get("sub"), str) or not payload["sub"]:
            message = 'body must be JSON like {"sub": "alice", "scope": "payments/admin"}'
            return Response.json(400, {"error": {"code": "validation_error", "message": message}})
        scope = payload.get("scope") or ""
        if not isinstance(scope, str):
            scope = " ".join(str(s) for s in scope)
        return Response.json(200, self.issuer.token_response(payload["sub"], scope))

    def _run_scheduled(self, function_id: str, body: bytes) -> Response:
        """``POST /_local/run/{LogicalId}`` ``{"time": "<ISO 8601>"}``: one scheduled run, now, with that
        ``time`` as the function's notion of now; its result, or our envelope."""
        if function_id not in self.runner.function_ids:
            known = ", ".join(self.runner.function_ids) or "none"
            return Response.error(
                404,
                "not_found",
                f"{function_id!r} is not a scheduled function of template.yaml (they are: {known})",
            )
        try:
            payload = json.loads(body) if body.strip() else {}
        except ValueError:
            return Response.error(
                400, "malformed_json", 'the body must be JSON like {"time": "2026-11-29T17:00:00Z"}'
            )
        if not isinstance(payload, dict) or set(payload) - {"time"}:
            return Response.error(400, "bad_request", 'the body may only hold "time": {"time": "<ISO 8601>"}')
        at = None
        if "time" in payload:
            try:
                at = parse_time(payload["time"]) if isinstance(payload["time"], str) else None
            except ValueError:
                at = None
            if at is None:
                return Response.error(
                    400,
                    "bad_request",
                    '"time" must be an ISO 8601 instant with its offset, like 2026-11-29T17:00:00Z',
                )
        try:
            result = self.runner.run(function_id, at)
        except NotScheduled:
            return Response.error(404, "not_found", f"{function_id!r} is not a scheduled function")
        except AlreadyRunning:
            return Response.error(409, "already_running", f"{function_id}'s previous run has not finished")
        except IntegrationTimeout:
            log.error("%s: still running after its timeout; not waiting any longer", function_id)
            return Response.error(504, "function_timeout", f"{function_id} did not finish in time")
        except Exception as exc:  # noqa: BLE001 - the function's error result, as one log line and one envelope
            kind = exc.error_type if isinstance(exc, WorkerError) else type(exc).__name__
            log.warning("%s: run on request failed: %s: %s", function_id, kind, exc)
            return Response.error(500, "function_error", f"{function_id} raised {kind}: {exc}")
        return Response.json(200, result)

    # ---------------------------------------------------------------- demo frontend
    def _demo(self, path: str) -> Response | None:
        pages = {"/": "index.html", "/index.html": "index.html", "/payment/result": "result.html"}
        if path in pages:
            return self._static(DEMO_DIR / pages[path])
        if path.startswith("/static/"):
            file = (DEMO_DIR / path.removeprefix("/static/")).resolve()
            if file.is_relative_to(DEMO_DIR) and file.is_file():
                return self._static(file)
        if path == "/favicon.ico":
            return Response(204)
        return None

    def _canonical_origin(self, request: Request) -> Response | None:
        """The demo keeps its token in localStorage, which is per origin, and YooKassa returns the
        browser to FRONTEND_URL: a page opened as http://localhost:3000 moves to FRONTEND_URL's origin."""
        host = request.header("host") or ""
        origin = urlsplit(self.frontend_url)
        hostname, _, port = host.partition(":")
        if hostname != "localhost" or origin.hostname != "127.0.0.1" or port != str(origin.port or 80):
            return None
        target = f"{origin.scheme}://{origin.netloc}{request.raw_path}"
        target += f"?{request.raw_query}" if request.raw_query else ""
        return Response(302, [("location", target)])

    @staticmethod
    def _static(file: Path) -> Response:
        content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        if content_type.startswith("text/") or content_type.endswith("javascript"):
            content_type += "; charset=utf-8"
        headers = [("content-type", content_type), ("cache-control", "no-cache")]
        return Response(200, headers, file.read_bytes())

    # ---------------------------------------------------------------- Function URL port
    def handle_function_url(self, request: Request) -> Response:
        if self.function_url_function is None:
            return Response.message(404, "Not Found")
        event = build_event(request, account_id="anonymous", api_id=FUNCTION_URL_ID)
        return self._run(self.function_url_function, event, error_status=502)


# --------------------------------------------------------------------------------------- servers
class BadBody(Exception):
    """A request body refused before it reaches a route: its status, code and message."""

    def __init__(self, status: int, code: str, text: str) -> None:
        super().__init__(text)
        self.status, self.code, self.text = status, code, text


def _handler_class(handle: Callable[[Request], Response], payload_limit: int) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "local-gateway"
        sys_version = ""
        timeout = 60  # idle keep-alive connections do not hold a thread forever

        def handle_expect_100(self) -> bool:
            if self._too_large():
                self._write(Response.message(413, "Request Entity Too Large"), started=time.monotonic())
                return False
            return super().handle_expect_100()

        def _too_large(self) -> bool:
            length = self.headers.get("content-length")
            return length is not None and length.isdigit() and int(length) > payload_limit

        def _read_body(self) -> bytes:
            if "chunked" in (self.headers.get("transfer-encoding") or "").lower():
                return self._read_chunked()
            length = self.headers.get("content-length")
            return self.rfile.read(int(length)) if length and length.isdigit() else b""

        def _line(self) -> bytes:
            line = self.rfile.readline(CHUNK_LINE_LIMIT + 1)
            if not line.endswith(b"\n"):
                raise BadBody(400, "bad_request", "malformed chunked body: a line is too long or cut off")
            return line.rstrip(b"\r\n")

        def _read_chunked(self) -> bytes:
            """RFC 9112 chunked coding, bounded like a Content-Length body: the running total is checked
            against the limit before a chunk is read, so an oversized body is refused, never buffered."""
            chunks: list[bytes] = []
            total = 0
            while True:
                size_text = self._line().split(b";", 1)[0].strip()
                if not re.fullmatch(rb"[0-9A-Fa-f]{1,16}", size_text):
                    raise BadBody(400, "bad_request", "malformed chunked body: a chunk size is not hexadecimal")
                size = int(size_text, 16)
                if size == 0:
                    break
                total += size
                if total > payload_limit:
                    raise BadBody(413, "payload_too_large", f"the body is over {payload_limit} bytes")
                chunk = self.rfile.read(size)
                if len(chunk) != size or self._line() != b"":
                    raise BadBody(400, "bad_request", "malformed chunked body: a chunk does not match its size")
                chunks.append(chunk)
            for _ in range(CHUNK_TRAILER_LINES):  # trailer fields, up to the empty line
                if self._line() == b"":
                    return b"".join(chunks)
            raise BadBody(400, "bad_request", "malformed chunked body: too many trailer lines")

        def _dispatch(self) -> None:
            started = time.monotonic()
            if self._too_large():
                self.close_connection = True
                self._write(Response.message(413, "Request Entity Too Large"), started)
                return
            try:
                body = self._read_body()
            except BadBody as refused:
                # The rest of the body is unread (or unreadable): this connection cannot carry another request.
                self.close_connection = True
                log.info("%s %s refused: %s", self.command, self.path.partition("?")[0], refused.text)
                self._write(Response.error(refused.status, refused.code, refused.text), started)
                self._discard_rest()
                return
            raw_path, _, raw_query = self.path.partition("?")
            request = Request(
                method=self.command,
                raw_path=raw_path,
                raw_query=raw_query,
                headers=list(self.headers.items()),
                body=body,
                source_ip=self.client_address[0],
                protocol=self.request_version,
            )
            try:
                response = handle(request)
            except Exception:
                log.exception("gateway failure on %s %s", self.command, raw_path)
                response = Response.message(500, "Internal Server Error")
            self._write(response, started)

        def _discard_rest(self) -> None:
            """Briefly read and drop what the client is still sending: closing a socket with unread input
            resets the connection, and the client could lose our answer with it. Bounded in time and
            size; nothing is kept."""
            try:
                self.connection.settimeout(DISCARD_TIMEOUT_SECONDS)
                for _ in range(DISCARD_READS):
                    if not self.rfile.read1(DISCARD_READ_SIZE):
                        return
            except OSError:
                return

        def _write(self, response: Response, started: float) -> None:
            self.send_response(response.status)
            if self.close_connection:
                self.send_header("connection", "close")
            for name, value in response.headers:
                self.send_header(name, value)
            self.send_header("content-length", str(len(response.body)))
            self.end_headers()
            if self.command != "HEAD" and response.body:
                self.wfile.write(response.body)
            elapsed_ms = (time.monotonic() - started) * 1000
            # Method, path, status and time only: never headers (Authorization), queries or bodies.
            access_log.info(
                "%s %s %s %.0fms", self.command, self.path.partition("?")[0], response.status, elapsed_ms
            )

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _dispatch

        def log_message(self, format: str, *args: Any) -> None:
            """Silence http.server's own log: the access log above replaces it."""

        def log_error(self, format: str, *args: Any) -> None:
            log.debug(format, *args)

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


@dataclass
class Listener:
    server: ThreadingHTTPServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])


def serve(
    handle: Callable[[Request], Response], host: str, port: int, payload_limit: int, name: str
) -> Listener:
    server = _Server((host, port), _handler_class(handle, payload_limit))
    thread = threading.Thread(target=server.serve_forever, args=(0.1,), name=name, daemon=True)
    thread.start()
    return Listener(server, thread)


@dataclass
class GatewayServers:
    """The API port and the Function URL port of one gateway."""

    gateway: Gateway
    api: Listener
    function_url: Listener

    @classmethod
    def start(
        cls, gateway: Gateway, host: str = "127.0.0.1", api_port: int = 0, webhook_port: int = 0
    ) -> "GatewayServers":
        api = serve(gateway.handle_api, host, api_port, API_PAYLOAD_LIMIT, "gateway-api")
        try:
            url = serve(
                gateway.handle_function_url, host, webhook_port, FUNCTION_URL_PAYLOAD_LIMIT, "gateway-url"
            )
        except OSError:
            stop_listener(api)
            raise
        return cls(gateway, api, url)

    def stop(self) -> None:
        """Stop listening, then stop the gateway's workers."""
        try:
            for listener in (self.api, self.function_url):
                stop_listener(listener)
        finally:
            self.gateway.close()


def stop_listener(listener: Listener) -> None:
    listener.server.shutdown()
    listener.server.server_close()
    listener.thread.join(timeout=5)
