"""Loads and invokes the template's functions in this process, the way Lambda would.

Each function's module is loaded from its CodeUri under a unique name (every handler file is called
``app.py``), once, like a warm Lambda container; the layer is on ``sys.path`` as ``/opt/python`` is.
"""

import importlib.util
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from local.template import ROOT, Function, functions

LAYER_PATH = ROOT / "layers" / "payments"
if str(LAYER_PATH) not in sys.path:
    sys.path.insert(0, str(LAYER_PATH))

_modules: dict[str, ModuleType] = {}


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object that Powertools and our code read."""

    function_name: str
    timeout_seconds: int = 28
    memory_limit_in_mb: int = 1024
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    invoked_function_arn: str = ""
    log_group_name: str = ""
    log_stream_name: str = ""
    function_version: str = "$LATEST"
    _started: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.invoked_function_arn = f"arn:aws:lambda:eu-central-1:000000000000:function:{self.function_name}"
        self.log_group_name = f"/aws/lambda/{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(int((self.timeout_seconds - (time.monotonic() - self._started)) * 1000), 0)


def load_handler(function: Function) -> Any:
    module_name, _, attr = function.handler.rpartition(".")
    key = function.logical_id
    if key not in _modules:
        file = Path(function.code_uri) / f"{module_name.replace('.', '/')}.py"
        spec = importlib.util.spec_from_file_location(f"lambda_{key}", file)
        assert spec is not None and spec.loader is not None, file
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        _modules[key] = module
    return getattr(_modules[key], attr)


def invoke(logical_id: str, event: dict[str, Any]) -> Any:
    function = functions()[logical_id]
    handler = load_handler(function)
    return handler(event, LambdaContext(function_name=logical_id, timeout_seconds=function.timeout))


def reset_modules() -> None:
    """Forget loaded handlers: the next invoke is a cold start (tests that change settings use this)."""
    for key in list(_modules):
        sys.modules.pop(f"lambda_{key}", None)
    _modules.clear()
