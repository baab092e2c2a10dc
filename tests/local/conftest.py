"""The local gateway over real HTTP, with a recording stand-in for Lambda so that these tests are about
the gateway (events, auth, CORS, limits), not about the handlers."""

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from local.auth import DevKey, TokenIssuer, issuer_for
from local.gateway import Gateway, GatewayServers
from local.template import TEMPLATE

FRONTEND = "http://127.0.0.1:3000"

Handler = Callable[[dict[str, Any]], Any]


def ok(event: dict[str, Any]) -> dict[str, Any]:
    body = json.dumps({"ok": True})
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": body}


@dataclass
class FakeLambda:
    """Records every invocation; answers with the handler registered for the function (default: 200)."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    handlers: dict[str, Handler] = field(default_factory=dict)

    def __call__(self, function_id: str, event: dict[str, Any]) -> Any:
        self.calls.append((function_id, event))
        return self.handlers.get(function_id, ok)(event)

    @property
    def last(self) -> tuple[str, dict[str, Any]]:
        assert self.calls, "no function was invoked"
        return self.calls[-1]


@dataclass
class RunningGateway:
    servers: GatewayServers
    fake: FakeLambda
    issuer: TokenIssuer

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.servers.api.port}"

    @property
    def function_url(self) -> str:
        return f"http://127.0.0.1:{self.servers.function_url.port}"

    def token(self, sub: str = "alice", scope: str = "", **extra: Any) -> str:
        return self.issuer.mint(sub, scope, **extra)

    def get(self, path: str, token: str | None = None, **kw: Any) -> requests.Response:
        headers = kw.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return requests.get(f"{self.api}{path}", headers=headers, timeout=10, **kw)


@pytest.fixture(scope="session")
def dev_key(tmp_path_factory: pytest.TempPathFactory) -> DevKey:
    return DevKey.load_or_create(tmp_path_factory.mktemp("keys") / "dev-jwt-key.pem")


@pytest.fixture(scope="session")
def issuer(dev_key: DevKey) -> TokenIssuer:
    return TokenIssuer(dev_key, issuer_for(3000))


def start_gateway(issuer: TokenIssuer, template: Path = TEMPLATE, **kw: Any) -> RunningGateway:
    fake = FakeLambda()
    gateway = Gateway(issuer=issuer, frontend_url=FRONTEND, template=template, invoker=fake, **kw)
    return RunningGateway(GatewayServers.start(gateway), fake, issuer)


@pytest.fixture
def gw(issuer: TokenIssuer) -> Iterator[RunningGateway]:
    running = start_gateway(issuer, demo_data=lambda user: {"user": user, "orders": [], "plans": []})
    yield running
    running.servers.stop()
