"""Reads template.yaml: the one place routes, functions and the table are declared.

The local gateway, the invoke command and the tests all derive from it, so a route added to the
template appears locally with no second declaration.
"""

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "template.yaml"


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # as in the template: /payment-status/{paymentId}
    function: str  # logical id
    auth: bool  # False for Authorizer: NONE
    scopes: tuple[str, ...] = ()

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"

    @functools.cached_property
    def pattern(self) -> re.Pattern[str]:
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.path))
        return re.compile(f"^{regex}$")


@dataclass(frozen=True)
class ScheduleEvent:
    """One ``Schedule`` (EventBridge rule) or ``ScheduleV2`` (EventBridge Scheduler) event of a function."""

    function: str  # logical id
    name: str  # the event's key under Events
    type: str  # "Schedule" or "ScheduleV2"
    expression: str  # rate(...), cron(...) or at(...), as written
    timezone: str | None = None  # ScheduleV2's ScheduleExpressionTimezone (cron and at only)
    enabled: bool = True


@dataclass(frozen=True)
class Function:
    logical_id: str
    code_uri: Path
    handler: str  # module.function
    environment: dict[str, Any] = field(default_factory=dict)
    timeout: int = 3
    function_url: bool = False


@functools.cache
def load(path: Path = TEMPLATE) -> dict[str, Any]:
    parsed: dict[str, Any] = yaml_parse(path.read_text())
    return parsed


def functions(path: Path = TEMPLATE) -> dict[str, Function]:
    template = load(path)
    globals_fn = template.get("Globals", {}).get("Function", {})
    global_env = globals_fn.get("Environment", {}).get("Variables", {})
    found = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        props = resource["Properties"]
        env = {**global_env, **props.get("Environment", {}).get("Variables", {})}
        found[logical_id] = Function(
            logical_id=logical_id,
            code_uri=(path.parent / props["CodeUri"]).resolve(),
            handler=props["Handler"],
            environment=env,
            timeout=int(props.get("Timeout", globals_fn.get("Timeout", 3))),
            function_url="FunctionUrlConfig" in props,
        )
    return found


def http_routes(path: Path = TEMPLATE) -> list[Route]:
    template = load(path)
    routes = []
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for event in resource["Properties"].get("Events", {}).values():
            if event["Type"] != "HttpApi":
                continue
            props = event["Properties"]
            auth = props.get("Auth", {})
            routes.append(
                Route(
                    method=props["Method"].upper(),
                    path=props["Path"],
                    function=logical_id,
                    auth=auth.get("Authorizer") != "NONE",
                    scopes=tuple(auth.get("AuthorizationScopes", ())),
                )
            )
    return routes


def schedules(path: Path = TEMPLATE) -> list[ScheduleEvent]:
    """Every schedule of every function, enabled or not (the local scheduler says what it skips)."""
    found = []
    for logical_id, resource in load(path)["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for name, event in resource["Properties"].get("Events", {}).items():
            if event["Type"] not in ("Schedule", "ScheduleV2"):
                continue
            props = event.get("Properties", {})
            if event["Type"] == "Schedule":
                expression, timezone = props.get("Schedule"), None
                enabled = props.get("Enabled", True) is not False and props.get("State", "ENABLED") == "ENABLED"
            else:
                expression, timezone = props.get("ScheduleExpression"), props.get("ScheduleExpressionTimezone")
                enabled = props.get("State", "ENABLED") == "ENABLED"
            found.append(
                ScheduleEvent(
                    function=logical_id,
                    name=name,
                    type=event["Type"],
                    expression=expression if isinstance(expression, str) else repr(expression),
                    timezone=timezone if isinstance(timezone, str) else None,
                    enabled=enabled,
                )
            )
    return found


def table_definition(path: Path = TEMPLATE, table_name: str = "payments") -> dict[str, Any]:
    """``create_table`` keyword arguments for the table, exactly as the template declares it."""
    props = load(path)["Resources"]["PaymentsTable"]["Properties"]
    kwargs = {
        k: props[k] for k in ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes") if k in props
    }
    return {"TableName": table_name, "BillingMode": "PAY_PER_REQUEST", **kwargs}


def ttl_attribute(path: Path = TEMPLATE) -> str | None:
    spec = load(path)["Resources"]["PaymentsTable"]["Properties"].get("TimeToLiveSpecification")
    return spec["AttributeName"] if spec else None
