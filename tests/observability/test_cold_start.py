"""Cold-start import time of every function, measured in fresh interpreters and printed (not asserted).

Each function's ``app`` module is imported the way Lambda does at init (the layer on ``sys.path``, the
code directory first), in a new process, twice; the table shows the faster run (the one least disturbed
by other load). This machine is not a Graviton Lambda, and its venv's botocore also loads awscrt, which
the Lambda runtime lacks: read the numbers relative to each other and to earlier runs.
"""

import json
import os
import subprocess
import sys

from local.lambda_runtime import LAYER_PATH
from local.template import functions

RUNS = 2
PROBE = """
import json, sys, time
started = time.perf_counter()
sys.path[:0] = [sys.argv[1], sys.argv[2]]
before = len(sys.modules)
import app
print(json.dumps({"seconds": time.perf_counter() - started, "modules": len(sys.modules) - before}))
"""


def _import_once(code_dir: str, env: dict[str, str]) -> dict[str, float]:
    run = subprocess.run(
        [sys.executable, "-c", PROBE, code_dir, str(LAYER_PATH)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    measured: dict[str, float] = json.loads(run.stdout.strip().splitlines()[-1])
    return measured


def test_print_the_cold_start_import_time_of_every_function() -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTHON", "COV_", "PYTEST"))  # a clean interpreter, like Lambda's
    }
    env.update(AWS_LAMBDA_FUNCTION_NAME="cold-start-probe", POWERTOOLS_METRICS_DISABLED="1")
    rows = []
    for logical_id, function in sorted(functions().items()):
        runs = [_import_once(str(function.code_uri), env) for _ in range(RUNS)]
        seconds = min(r["seconds"] for r in runs)
        rows.append((logical_id, seconds * 1000, int(runs[0]["modules"])))
    width = max(len(name) for name, _, _ in rows)
    lines = [f"{'function':<{width}}  import ms (best of {RUNS})  modules", "-" * (width + 36)]
    lines += [f"{name:<{width}}  {ms:>24.0f}  {modules:>7}" for name, ms, modules in rows]
    print("\ncold-start import time, python " + sys.version.split()[0] + "\n" + "\n".join(lines))
    assert len(rows) == len(functions())
