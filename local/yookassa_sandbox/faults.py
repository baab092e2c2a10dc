"""Fault injection: the next N requests of an API route (or the next N webhooks) misbehave on purpose."""

from __future__ import annotations

import re
import threading
import uuid
from dataclasses import dataclass, replace
from typing import Any

from .errors import invalid_request

__all__ = ["API_FAULTS", "API_ROUTES", "WEBHOOKS", "WEBHOOK_FAULTS", "Fault", "FaultRegistry"]

WEBHOOKS = "webhooks"
API_FAULTS = frozenset({"500_applied", "500", "429", "202", "delay", "drop_connection"})
WEBHOOK_FAULTS = frozenset({"drop", "duplicate", "delay", "reorder"})
API_ROUTES = frozenset(
    {
        "POST /v3/payments",
        "GET /v3/payments",
        "GET /v3/payments/{id}",
        "POST /v3/payments/{id}/capture",
        "POST /v3/payments/{id}/cancel",
        "POST /v3/refunds",
        "GET /v3/refunds",
        "GET /v3/refunds/{id}",
        "POST /v3/receipts",
        "GET /v3/receipts",
        "GET /v3/receipts/{id}",
        "GET /v3/me",
    }
)
MAX_DELAY_MS = 600_000


@dataclass
class Fault:
    id: str
    route: str
    fault: str
    count: int
    delay_ms: int = 0
    times: int = 1

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "route": self.route, "fault": self.fault, "count": self.count}
        if self.fault == "delay":
            out["delayMs"] = self.delay_ms
        if self.fault == "duplicate":
            out["times"] = self.times
        return out


def normalize_route(route: Any) -> str:
    if not isinstance(route, str) or not route.strip():
        raise invalid_request("route is required: 'METHOD /v3/path' or 'webhooks'", "route")
    text = route.strip()
    if text.lower() == WEBHOOKS:
        return WEBHOOKS
    parts = text.split(None, 1)
    if len(parts) != 2:
        raise invalid_request(f"Unknown route {route!r}: use 'METHOD /v3/path' or 'webhooks'", "route")
    method, path = parts[0].upper(), parts[1].split("?", 1)[0].rstrip("/")
    if not path.startswith("/v3/"):
        path = "/v3" + (path if path.startswith("/") else "/" + path)
    path = re.sub(r"\{[^}/]*\}", "{id}", path)
    normalized = f"{method} {path}"
    if normalized not in API_ROUTES:
        known = ", ".join(sorted(API_ROUTES))
        raise invalid_request(f"Unknown route {route!r}. Known routes: {known}, webhooks", "route")
    return normalized


def _positive_int(body: dict[str, Any], name: str, default: int, maximum: int) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= maximum:
        raise invalid_request(f"{name} must be an integer from 1 to {maximum}", name)
    return value


class FaultRegistry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, body: Any) -> Fault:
        if not isinstance(body, dict):
            raise invalid_request("Body must be a JSON object")
        route = normalize_route(body.get("route"))
        kind = body.get("fault")
        allowed = WEBHOOK_FAULTS if route == WEBHOOKS else API_FAULTS
        if kind not in allowed:
            raise invalid_request(
                f"Unknown fault {kind!r} for {route}; use one of: {', '.join(sorted(allowed))}", "fault"
            )
        fault = Fault(
            id=str(uuid.uuid4()),
            route=route,
            fault=str(kind),
            count=_positive_int(body, "count", 1, 1_000_000),
        )
        if kind == "delay":
            fault.delay_ms = _positive_int(body, "delayMs", 1000, MAX_DELAY_MS)
        if kind == "duplicate":
            fault.times = _positive_int(body, "times", 1, 100)
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, route: str) -> tuple[Fault, int] | None:
        """Consume one use of the oldest fault on ``route``: (the fault, uses left after this one)."""
        with self._lock:
            for fault in self._faults:
                if fault.route == route:
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                    return replace(fault), fault.count
        return None

    def items(self) -> list[dict[str, Any]]:
        with self._lock:
            return [fault.to_json() for fault in self._faults]

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
