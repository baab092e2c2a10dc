"""``make dev`` records where it runs in ``.local-state/stack.json`` and removes it when it stops; the
``payments`` command finds the stack there. One real ``python -m local dev`` (a few seconds)."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from local.cli.state import StackState, read_state, remove_state, write_state
from tests.cli.conftest import Cli
from tests.e2e.conftest import DevStack

ROOT = Path(__file__).resolve().parents[2]


def state(pid: int, api_url: str = "http://127.0.0.1:3000") -> StackState:
    return StackState(
        pid=pid,
        started_at="2026-11-29T18:00:00+00:00",
        api_url=api_url,
        webhook_url="http://127.0.0.1:3001/webhooks/yookassa",
        dynamodb_endpoint="http://127.0.0.1:8000",
        region="eu-central-1",
        table_name="cleanhouse-payments-local",
        yookassa_api_url="http://127.0.0.1:8090/v3",
        sandbox_url="http://127.0.0.1:8090",
        credentials="sandbox",
        settings={"FRONTEND_URL": "http://127.0.0.1:3000"},
    )


def test_the_first_live_stack_keeps_the_file_and_only_its_own_stop_removes_it(tmp_path: Path) -> None:
    path = tmp_path / "stack.json"
    parent = os.getppid()  # alive: stands in for a stack that was started first
    assert write_state(state(parent), path)
    assert not write_state(state(os.getpid(), "http://127.0.0.1:4000"), path)  # a second stack
    assert read_state(path) == state(parent)
    remove_state(path, os.getpid())  # the second one stops: not its file
    assert path.exists()
    remove_state(path, parent)
    assert not path.exists()

    dead = 2**22 + 777  # above pid_max: no such process
    assert write_state(state(dead), path)
    assert write_state(state(os.getpid()), path)  # a stale file is replaced
    assert read_state(path) == state(os.getpid())
    path.write_text("{not json")
    assert read_state(path) is None


def test_the_file_reads_back_as_written_and_refuses_another_format() -> None:
    assert StackState.from_json(state(1).to_json()) == state(1)
    with pytest.raises(ValueError, match="version"):
        StackState.from_json(json.dumps({"version": 99}))


@pytest.mark.e2e
def test_make_dev_records_its_stack_and_payments_finds_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Cli
) -> None:
    monkeypatch.setenv("LOCAL_STATE_DIR", str(tmp_path))
    dev = DevStack.start()
    try:
        recorded = json.loads((tmp_path / "stack.json").read_text())
        assert recorded["pid"] == dev.process.pid
        assert recorded["api_url"] == dev.api and recorded["sandbox_url"] == dev.sandbox
        assert recorded["dynamodb_endpoint"] == f"http://127.0.0.1:{dev.ports['DYNAMODB_PORT']}"
        assert recorded["credentials"] == "sandbox" and "YOOKASSA_SECRET_KEY" not in recorded["settings"]

        listed = cli.json("list", "--status", "pending")  # the seeded demo has none yet
        assert listed == {"payments": [], "source": "PendingIndex"}
        assert cli("show", "no-such-payment").exit_code == 3  # the dev stack's table answered
    finally:
        assert dev.stop() == 0
    assert not (tmp_path / "stack.json").exists()
    gone = cli("list")
    assert gone.exit_code == 4 and "no local stack is running" in gone.stderr


def test_the_installed_console_script_runs_from_anywhere(tmp_path: Path) -> None:
    script = shutil.which("payments", path=str(ROOT / ".venv" / "bin"))
    if script is None:
        pytest.skip("`make setup` installs .venv/bin/payments; not installed here")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"LOCAL_STATE_DIR": str(tmp_path)}
    ran = subprocess.run(
        [script, "list"], check=False, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert ran.returncode == 4, ran.stderr
    assert "no local stack is running" in ran.stderr
