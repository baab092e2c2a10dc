"""``.local-state/stack.json``: where a running ``make dev`` stack is, for the ``payments`` command.

``python -m local dev`` writes it once every part answers and removes it when it stops; ``payments`` reads
it (flags override). It holds addresses and non-secret settings only: the credentials are named by their
source (``sandbox``: the sandbox's well-known test key; ``environment``: ``YOOKASSA_SHOP_ID`` /
``YOOKASSA_SECRET_KEY`` in the caller's environment), never written.

Standard library only: the local stack imports this module at start.
"""

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
STATE_DIR_ENV = "LOCAL_STATE_DIR"  # another directory than the checkout's .local-state/
STATE_FILE_NAME = "stack.json"
FORMAT_VERSION = 1


def state_dir(environ: Mapping[str, str] = os.environ) -> Path:
    configured = environ.get(STATE_DIR_ENV)
    return Path(configured) if configured else ROOT / ".local-state"


def state_file(environ: Mapping[str, str] = os.environ) -> Path:
    return state_dir(environ) / STATE_FILE_NAME


@dataclass(frozen=True)
class StackState:
    """One running local stack, as ``make dev`` started it."""

    pid: int
    started_at: str  # ISO 8601, UTC
    api_url: str
    webhook_url: str
    dynamodb_endpoint: str
    region: str
    table_name: str
    yookassa_api_url: str
    sandbox_url: str | None  # the sandbox's base URL (its /sandbox helpers); None with real YooKassa
    credentials: str  # "sandbox" | "environment"
    # The handlers' settings as the stack configured them (environment names, no secret).
    settings: dict[str, str] = field(default_factory=dict)
    version: int = FORMAT_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> "StackState":
        data: Any = json.loads(text)
        if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
            raise ValueError(f"not a version {FORMAT_VERSION} stack file")
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**known)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def read_state(path: Path) -> StackState | None:
    """The recorded stack, or ``None`` when there is no (readable) file."""
    try:
        return StackState.from_json(path.read_text())
    except (OSError, ValueError, TypeError):
        return None


def write_state(state: StackState, path: Path) -> bool:
    """Record ``state`` unless another live stack is recorded there (the first one keeps the file; a
    stale file of a stack that died is replaced). True when written."""
    existing = read_state(path)
    if existing is not None and existing.pid != state.pid and pid_alive(existing.pid):
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{state.pid}.tmp")
    temporary.write_text(state.to_json())
    temporary.replace(path)
    return True


def remove_state(path: Path, pid: int) -> None:
    """Remove the file if it records the stack of ``pid`` (another stack's record is left alone)."""
    existing = read_state(path)
    if existing is not None and existing.pid == pid:
        path.unlink(missing_ok=True)
