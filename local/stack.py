"""The whole payment service on one machine: DynamoDB, the YooKassa sandbox, the gateway, the demo data.

``LocalStack`` is used by ``python -m local dev`` (long-running) and ``python -m local invoke`` (one event).
The handlers' configuration is this process's environment, set once here before the first handler loads:
handlers run in this process (the demo data's seeding, ``invoke``, ``LAMBDA_CONCURRENCY=0``) or in the
gateway's worker processes, which are started with a copy of it.
"""

import json
import logging
import os
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from local import lambda_runtime
from local.auth import TokenIssuer, dev_authorizer, dev_issuer
from local.cli.state import StackState, remove_state, state_file, write_state
from local.dynamodb import (
    DEFAULT_TABLE_NAME,
    REGION,
    BotoSeeder,
    DemoOrder,
    DemoPlan,
    LocalDynamoDB,
    demo_data,
    ensure_port_free,
    ensure_table,
    seed_demo_data,
)
from local.gateway import Gateway, GatewayServers, Request, build_event
from local.schedules import Scheduler
from local.template import functions, http_routes, load
from local.workers import DEFAULT_CONCURRENCY, WorkerPools, lambda_concurrency

log = logging.getLogger("local.stack")

SANDBOX_SHOP_ID = "123456"
SANDBOX_SECRET_KEY = "test_sandbox_secret"  # noqa: S105 - the sandbox's well-known test key
LOOPBACK_NETWORKS = ("127.0.0.0/8", "::1/128")
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "0.0.0.0")
ADMIN_SCOPE = "payments/admin"
# Never recorded in .local-state/stack.json: the credentials are named by their source only.
UNRECORDED_SETTINGS = frozenset({"YOOKASSA_SHOP_ID", "YOOKASSA_SECRET_KEY", "YOOKASSA_SECRET_ARN"})
# The admin routes of ARCHITECTURE.md section 3: the demo data goes through our own handlers.
PUT_ORDER_ROUTE = "PUT /admin/orders/{orderId}"
PUT_PLAN_ROUTE = "PUT /admin/plans/{planId}"


@dataclass(frozen=True)
class StackConfig:
    host: str = "127.0.0.1"
    api_port: int = 3000
    webhook_port: int = 3001
    sandbox_port: int = 8090
    dynamodb_port: int = 8000
    table_name: str = DEFAULT_TABLE_NAME
    lambda_concurrency: int = DEFAULT_CONCURRENCY  # workers per function; 0 = in this process

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> "StackConfig":
        return cls(
            api_port=int(environ.get("API_PORT", cls.api_port)),
            webhook_port=int(environ.get("WEBHOOK_PORT", cls.webhook_port)),
            sandbox_port=int(environ.get("SANDBOX_PORT", cls.sandbox_port)),
            dynamodb_port=int(environ.get("DYNAMODB_PORT", cls.dynamodb_port)),
            table_name=environ.get("TABLE_NAME", DEFAULT_TABLE_NAME),
            lambda_concurrency=lambda_concurrency(environ),
        )


def uses_real_yookassa(environ: Mapping[str, str] = os.environ) -> bool:
    """Real test-shop credentials in the environment replace the sandbox."""
    api_url = environ.get("YOOKASSA_API_URL", "")
    has_credentials = bool(environ.get("YOOKASSA_SHOP_ID") and environ.get("YOOKASSA_SECRET_KEY") and api_url)
    return has_credentials and urlsplit(api_url).hostname not in LOCAL_HOSTS


def sandbox_fiscalization(environ: Mapping[str, str] = os.environ) -> bool:
    """``SANDBOX_FISCALIZATION=1``: the sandbox wants a 54-FZ receipt with every payment, as a shop with
    fiscalisation on does (``1``/``true``/``yes``/``on``; anything else, or unset, is off)."""
    return environ.get("SANDBOX_FISCALIZATION", "").strip().lower() in {"1", "true", "yes", "on"}


def allowed_networks() -> str:
    """YooKassa's published list as the template deploys it, plus loopback: local mode only."""
    default = load()["Parameters"]["WebhookAllowedNetworks"]["Default"]
    return ",".join([default, *LOOPBACK_NETWORKS])


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _answers_http(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own loopback URLs
            return True
    except urllib.error.HTTPError:
        return True  # any HTTP answer means the port serves
    except OSError:
        return False


def _accepts_tcp(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


class HandlerSeeder:
    """Seeds through the admin handlers with an admin token, so the demo data passes our own validation."""

    def __init__(self, issuer: TokenIssuer) -> None:
        self.authorizer = dev_authorizer(issuer)
        self.token = issuer.mint("local-seed", ADMIN_SCOPE)
        self.routes = {route.route_key: route for route in http_routes()}

    @classmethod
    def available(cls) -> bool:
        routes = {route.route_key: route for route in http_routes()}
        known = functions()
        for key in (PUT_ORDER_ROUTE, PUT_PLAN_ROUTE):
            route = routes.get(key)
            if route is None:
                return False
            function = known[route.function]
            module = function.handler.rpartition(".")[0].replace(".", "/")
            if not (function.code_uri / f"{module}.py").is_file():
                return False
        return True

    def _put(self, route_key: str, item_id: str, body: dict[str, Any]) -> None:
        route = self.routes[route_key]
        param = route.path.rpartition("{")[2].rstrip("}")
        path = route.path.replace(f"{{{param}}}", item_id)
        request = Request(
            method=route.method,
            raw_path=path,
            raw_query="",
            headers=[("host", "127.0.0.1"), ("content-type", "application/json"), ("user-agent", "local-seed")],
            body=json.dumps(body).encode(),
            source_ip="127.0.0.1",
        )
        event = build_event(
            request,
            route_key=route.route_key,
            path_parameters={param: item_id},
            authorizer=self.authorizer.authorize(f"Bearer {self.token}", route.scopes),
        )
        result = lambda_runtime.invoke(route.function, event)
        status = result.get("statusCode", 200) if isinstance(result, dict) else 200
        if not 200 <= status < 300:
            raise RuntimeError(f"seeding {route.method} {path} failed: {status} {result.get('body')}")

    def put_order(self, order: DemoOrder) -> None:
        body = {"userId": order.user_id, "amount": order.amount, "description": order.description}
        self._put(PUT_ORDER_ROUTE, order.order_id, body)

    def put_plan(self, plan: DemoPlan) -> None:
        self._put(PUT_PLAN_ROUTE, plan.plan_id, {"name": plan.name, "prices": plan.prices})


class LocalStack:
    """Starts the parts in dependency order and stops them in reverse."""

    def __init__(self, config: StackConfig, environ: MutableMapping[str, str] = os.environ) -> None:
        self.config = config
        self.environ = environ
        self.dynamodb: LocalDynamoDB | None = None
        self.sandbox: Any = None
        self.servers: GatewayServers | None = None
        self.scheduler: Scheduler | None = None
        self.issuer: TokenIssuer | None = None
        self.yookassa_api_url = ""
        self.recorded: Path | None = None  # .local-state/stack.json, while it records this stack

    # ---------------------------------------------------------------- parts
    def start_dynamodb(self) -> None:
        env = self.environ
        env.update({"AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION})
        # Any credentials do for moto; real ones already in the environment are kept for other endpoints.
        env.setdefault("AWS_ACCESS_KEY_ID", "test")
        env.setdefault("AWS_SECRET_ACCESS_KEY", "test")
        self.dynamodb = LocalDynamoDB.start(self.config.host, self.config.dynamodb_port)
        client = self.dynamodb.client
        if ensure_table(client, self.config.table_name):
            log.info("created table %s at %s", self.config.table_name, self.dynamodb.endpoint)

    def start_yookassa(self, webhook_urls: tuple[str, ...]) -> None:
        if uses_real_yookassa(self.environ):
            self.yookassa_api_url = self.environ["YOOKASSA_API_URL"]
            log.info(
                "using the YooKassa API at %s (real credentials in the environment)", self.yookassa_api_url
            )
            return
        from local.yookassa_sandbox import start_sandbox

        self.sandbox = start_sandbox(
            host=self.config.host,
            port=self.config.sandbox_port,
            webhook_urls=webhook_urls,
            shop_id=SANDBOX_SHOP_ID,
            secret_key=SANDBOX_SECRET_KEY,
            fiscalization=sandbox_fiscalization(self.environ),
        )
        if self.sandbox.engine.fiscalization:
            log.info("the YooKassa sandbox wants a 54-FZ receipt with every payment (SANDBOX_FISCALIZATION)")
        self.yookassa_api_url = self.sandbox.api_url

    def configure_environment(self, frontend_url: str) -> None:
        """The handlers' settings, before any handler loads (they read them once per cold start)."""
        assert self.dynamodb is not None
        env = self.environ
        env.update(
            {
                "TABLE_NAME": self.config.table_name,
                "FRONTEND_URL": env.get("FRONTEND_URL") or frontend_url,
                "YOOKASSA_API_URL": self.yookassa_api_url,
                "AWS_ENDPOINT_URL_DYNAMODB": self.dynamodb.endpoint,
                "POWERTOOLS_SERVICE_NAME": "payments",
                "POWERTOOLS_METRICS_NAMESPACE": "CleanHouse/Payments",
                "POWERTOOLS_TRACE_DISABLED": "1",
            }
        )
        env.setdefault("WEBHOOK_ALLOWED_NETWORKS", allowed_networks())
        if self.sandbox is not None:
            env["YOOKASSA_SHOP_ID"] = SANDBOX_SHOP_ID
            env["YOOKASSA_SECRET_KEY"] = SANDBOX_SECRET_KEY
            env.pop("YOOKASSA_SECRET_ARN", None)

    def seed(self) -> int:
        assert self.dynamodb is not None and self.issuer is not None
        client = self.dynamodb.client
        if HandlerSeeder.available():
            return seed_demo_data(client, self.config.table_name, HandlerSeeder(self.issuer))
        log.warning("admin handlers not found: seeding the demo data directly into the table")
        return seed_demo_data(client, self.config.table_name, BotoSeeder(client, self.config.table_name))

    def demo_data(self, user: str) -> dict[str, Any]:
        assert self.dynamodb is not None
        return demo_data(self.dynamodb.client, self.config.table_name, user)

    # ---------------------------------------------------------------- whole stack
    def start_dev(self) -> None:
        """Everything ``make dev`` runs; ports 0 mean "any free port"."""
        config = self.config
        api_port = config.api_port or free_port(config.host)
        webhook_port = config.webhook_port or free_port(config.host)
        self.config = config = replace(config, api_port=api_port, webhook_port=webhook_port)
        ports = {"API_PORT": api_port, "WEBHOOK_PORT": webhook_port}
        if not uses_real_yookassa(self.environ):
            ports["SANDBOX_PORT"] = config.sandbox_port
        for setting, port in ports.items():
            ensure_port_free(config.host, port, setting)
        self.environ["API_PORT"] = str(api_port)
        self.issuer = dev_issuer(api_port)
        self.start_dynamodb()
        self.start_yookassa((f"http://{config.host}:{webhook_port}/webhooks/yookassa",))
        self.configure_environment(self.api_url)
        self.seed()
        # Like Lambda, one process per concurrent invocation of a function, each with this environment.
        workers = (
            WorkerPools(config.lambda_concurrency, environ=self.environ) if config.lambda_concurrency else None
        )
        gateway = Gateway(
            issuer=self.issuer,
            frontend_url=self.environ["FRONTEND_URL"],
            demo_data=self.demo_data,
            workers=workers,
        )
        self.servers = GatewayServers.start(gateway, config.host, api_port, webhook_port)
        # The template's schedules, on their cadence, through the same runner as POST /_local/run.
        self.scheduler = Scheduler(gateway.runner)
        self.scheduler.start()

    def start_for_invoke(self) -> None:
        """What one ``invoke`` needs: the table with the demo data and a YooKassa to talk to."""
        self.config = replace(
            self.config, webhook_port=StackConfig.webhook_port, sandbox_port=0, dynamodb_port=0
        )
        self.issuer = dev_issuer(self.config.api_port)
        self.start_dynamodb()
        self.start_yookassa(())
        self.configure_environment(f"http://{self.config.host}:{self.config.api_port}")
        self.seed()

    @property
    def api_url(self) -> str:
        return f"http://{self.config.host}:{self.config.api_port}"

    @property
    def webhook_url(self) -> str:
        return f"http://{self.config.host}:{self.config.webhook_port}/webhooks/yookassa"

    def wait_ready(self, timeout: float = 20.0) -> None:
        """Block until every port answers."""
        checks = {"API": lambda: _answers_http(f"{self.api_url}/_local/jwks.json")}
        checks["webhook Function URL"] = lambda: _accepts_tcp(self.config.host, self.config.webhook_port)
        if self.dynamodb is not None:
            endpoint = self.dynamodb.endpoint
            checks["DynamoDB"] = lambda: _answers_http(endpoint)
        if self.sandbox is not None:
            base_url = self.sandbox.base_url
            checks["YooKassa sandbox"] = lambda: _answers_http(base_url)
        deadline = time.monotonic() + timeout
        pending = dict(checks)
        while pending:
            pending = {name: check for name, check in pending.items() if not check()}
            if pending and time.monotonic() > deadline:
                raise TimeoutError(f"not answering after {timeout:.0f} s: {', '.join(pending)}")
            if pending:
                time.sleep(0.1)

    # ---------------------------------------------------------------- .local-state/stack.json
    def record_state(self) -> bool:
        """Write where this stack runs to ``.local-state/stack.json`` (``LOCAL_STATE_DIR``), for the
        ``payments`` command; another live stack's record is left alone (False)."""
        from payments.settings import Settings

        assert self.dynamodb is not None
        names = {name.upper() for name in Settings.model_fields} - UNRECORDED_SETTINGS
        state = StackState(
            pid=os.getpid(),
            started_at=datetime.now(UTC).isoformat(timespec="seconds"),
            api_url=self.api_url,
            webhook_url=self.webhook_url,
            dynamodb_endpoint=self.dynamodb.endpoint,
            region=self.environ.get("AWS_REGION", REGION),
            table_name=self.config.table_name,
            yookassa_api_url=self.yookassa_api_url,
            sandbox_url=self.sandbox.base_url if self.sandbox is not None else None,
            credentials="sandbox" if self.sandbox is not None else "environment",
            settings={name: value for name, value in self.environ.items() if name in names},
        )
        path = state_file(self.environ)
        if not write_state(state, path):
            log.warning("%s records another running stack: `payments` talks to that one", path)
            return False
        self.recorded = path
        return True

    def stop(self) -> None:
        """Stop in reverse order; each part is stopped even if another fails to."""
        if self.recorded is not None:  # first: nobody should find a stack that is going away
            remove_state(self.recorded, os.getpid())
            self.recorded = None
        steps: list[tuple[str, Callable[[], None]]] = []
        if self.scheduler is not None:  # first: no run may start against parts being stopped
            steps.append(("scheduler", self.scheduler.stop))
        if self.sandbox is not None:
            steps.append(("YooKassa sandbox", self.sandbox.stop))
        if self.servers is not None:
            steps.append(("gateway", self.servers.stop))
        if self.dynamodb is not None:
            steps.append(("DynamoDB", self.dynamodb.stop))
        for name, stop in steps:
            try:
                stop()
            except Exception:
                log.exception("stopping the %s failed", name)
        self.sandbox = self.servers = self.dynamodb = self.scheduler = None
