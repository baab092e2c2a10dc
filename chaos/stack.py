"""The chaos run's own stack: ``python -m local dev`` as a subprocess on free ports, stopped at the end.

The stack's environment is this one without any of the service's settings (a shell's ``TABLE_NAME`` or
``YOOKASSA_*`` must not leak in: the run is reproducible from its seed), plus the chaos settings below.
"""

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from local.stack import SANDBOX_SECRET_KEY, SANDBOX_SHOP_ID, free_port
from local.template import ROOT

START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
PORT_SETTINGS = ("API_PORT", "WEBHOOK_PORT", "SANDBOX_PORT", "DYNAMODB_PORT")
# Never inherited from the caller's environment: these are the run's to set (or the defaults').
INHERITED_PREFIXES = ("AWS_ENDPOINT_URL", "YOOKASSA_", "POWERTOOLS_", "PYTEST", "SANDBOX_")

# YooKassa's bounds compressed 4-5x, like the test suite's (tests/conftest.py): a slow response past the
# read timeout costs seconds, not tens of seconds, so a default run stays within minutes while every path
# (retry under the same key, budget exhausted -> 504 provider_timeout, the poll's own budget) is taken.
# A poll re-asks YooKassa after 2 s instead of 15 s, so lost webhooks are also found by polls.
COMPRESSED_SETTINGS = {
    "YOOKASSA_CONNECT_TIMEOUT": "1",
    "YOOKASSA_READ_TIMEOUT": "2",
    "YOOKASSA_BUDGET_SECONDS": "5",
    "STALE_PENDING_SECONDS": "2",
    "PROVIDER_REFRESH_INTERVAL_SECONDS": "1",
    # The reconciler takes payments pending 10 s (not 2 min): run every few seconds while customers pay,
    # it races their webhooks, polls and retried creates.
    "RECONCILE_AFTER_SECONDS": "10",
}
READ_TIMEOUT_SECONDS = float(COMPRESSED_SETTINGS["YOOKASSA_READ_TIMEOUT"])
BUDGET_SECONDS = float(COMPRESSED_SETTINGS["YOOKASSA_BUDGET_SECONDS"])


def _service_settings() -> frozenset[str]:
    """The service's setting names (``payments.settings.Settings``), upper case, as the environment has them."""
    layer = str(ROOT / "layers" / "payments")
    if layer not in sys.path:
        sys.path.insert(0, layer)
    from payments.settings import Settings

    return frozenset(name.upper() for name in Settings.model_fields)


def stack_environment(ports: dict[str, int], state_dir: Path, receipts: bool) -> dict[str, str]:
    settings = _service_settings()
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in settings and not name.startswith(INHERITED_PREFIXES) and name not in PORT_SETTINGS
    }
    env.update({name: str(port) for name, port in ports.items()})
    env.update(COMPRESSED_SETTINGS)
    # `payments` (the CLI) must not find this stack instead of a developer's `make dev`.
    env["LOCAL_STATE_DIR"] = str(state_dir)
    if receipts:
        env.update(RECEIPTS="on", SANDBOX_FISCALIZATION="1")
    env["PYTHONUNBUFFERED"] = "1"
    return env


@dataclass
class ChaosStack:
    """One ``python -m local dev`` process and where it listens."""

    process: subprocess.Popen[bytes]
    log: Path
    ports: dict[str, int]
    state_dir: Path
    settings: dict[str, str] = field(default_factory=dict)
    startup_seconds: float = 0.0

    @classmethod
    def start(cls, receipts: bool) -> "ChaosStack":
        ports = {name: free_port() for name in PORT_SETTINGS}
        state_dir = Path(tempfile.mkdtemp(prefix="chaos-state-"))
        env = stack_environment(ports, state_dir, receipts)
        fd, name = tempfile.mkstemp(prefix="chaos-stack-", suffix=".log")
        log = Path(name)
        started = time.monotonic()
        with os.fdopen(fd, "w") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "local", "dev"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        settings = {k: env[k] for k in (*COMPRESSED_SETTINGS, "RECEIPTS", "SANDBOX_FISCALIZATION") if k in env}
        if "LAMBDA_CONCURRENCY" in env:
            settings["LAMBDA_CONCURRENCY"] = env["LAMBDA_CONCURRENCY"]
        stack = cls(process, log, ports, state_dir, settings)
        while not re.search(r"^ready in", stack.output(), re.MULTILINE):
            if process.poll() is not None:
                raise RuntimeError(f"`python -m local dev` exited with {process.returncode}:\n{stack.tail()}")
            if time.monotonic() - started > START_TIMEOUT:
                stack.stop()
                raise TimeoutError(
                    f"`python -m local dev` not ready after {START_TIMEOUT:.0f} s:\n{stack.tail()}"
                )
            time.sleep(0.1)
        stack.startup_seconds = time.monotonic() - started
        return stack

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def functions_line(self) -> str:
        """How the stack runs the functions, as its banner says (worker processes, LAMBDA_CONCURRENCY)."""
        match = re.search(r"^\s*Functions\s+(.+)$", self.output(), re.MULTILINE)
        return match.group(1).strip() if match else "in the stack's process, one invocation at a time"

    def tail(self, chars: int = 4000) -> str:
        return self.output()[-chars:]

    def stop(self) -> int | None:
        """SIGTERM, as Ctrl-C would; the exit code, or None when it had to be killed."""
        code: int | None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                code = self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                code = None
        else:
            code = self.process.returncode
        for leftover in sorted(self.state_dir.glob("**/*"), reverse=True):
            if leftover.is_file():
                leftover.unlink(missing_ok=True)
            else:
                leftover.rmdir()
        self.state_dir.rmdir()
        return code

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.ports['API_PORT']}"

    @property
    def sandbox(self) -> str:
        return f"http://127.0.0.1:{self.ports['SANDBOX_PORT']}"

    @property
    def shop_credentials(self) -> tuple[str, str]:
        return SANDBOX_SHOP_ID, SANDBOX_SECRET_KEY
