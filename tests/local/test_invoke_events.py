"""Every event in events/ runs through `python -m local invoke`, the way `sam local invoke` would run it.

``events/<FunctionLogicalId>.json`` belongs to that function. Each invoke is its own process with its own
moto server and sandbox, so they run side by side and each test reads its own result.
"""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from local.dynamodb import LocalDynamoDB, ensure_table
from local.template import ROOT, functions
from tests.local.env import clean_environment

EVENTS = sorted((ROOT / "events").glob("*.json"))
TABLE = "invoke-events"


@pytest.fixture(scope="module")
def invocations() -> Iterator[dict[Path, "Future[subprocess.CompletedProcess[str]]"]]:
    """Run them all side by side against one moto server (``invoke`` uses AWS_ENDPOINT_URL_DYNAMODB
    when it is set, as `sam local invoke` would): each process then skips moto's 2 s start-up."""
    dynamodb = LocalDynamoDB.start() if "AWS_ENDPOINT_URL_DYNAMODB" not in os.environ else None
    endpoint = dynamodb.endpoint if dynamodb else os.environ["AWS_ENDPOINT_URL_DYNAMODB"]
    ensure_table(dynamodb.client if dynamodb else LocalDynamoDB(endpoint).client, TABLE)
    env = clean_environment(AWS_ENDPOINT_URL_DYNAMODB=endpoint, TABLE_NAME=TABLE)

    def run(event: Path) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "local", "invoke", event.stem, "-e", str(event.relative_to(ROOT))]
        return subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
        )

    with ThreadPoolExecutor(max_workers=4) as pool:
        yield {event: pool.submit(run, event) for event in EVENTS}
    if dynamodb:
        dynamodb.stop()


def test_every_function_has_an_event() -> None:
    assert {event.stem for event in EVENTS} >= {
        fid for fid, fn in functions().items() if (fn.code_uri / "app.py").exists()
    }


@pytest.mark.parametrize("event", EVENTS, ids=[e.stem for e in EVENTS])
def test_the_event_runs_through_local_invoke(event: Path, invocations: dict[Path, Any]) -> None:
    assert event.stem in functions(), f"{event.name} names no function of template.yaml"

    done = invocations[event].result()

    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert isinstance(result, dict)
    if "statusCode" in result:
        assert result["statusCode"] < 500, result
