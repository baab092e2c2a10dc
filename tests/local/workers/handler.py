"""A test-only Lambda handler for the worker pools' tests (``tests/local/workers/template.yaml``).

The request (an HTTP body, or the event itself) says what to do: ``sleep`` seconds, ``raise`` a message,
``crash`` the process, write ``started``/``finished`` marker files. The answer says who did it and when:
the worker's pid and the invocation's start and end (``time.time()``), and ``WORKER_TEST_SETTING`` as the
worker's environment has it.
"""

import json
import os
import time
from pathlib import Path
from typing import Any


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    started = time.time()
    body = event.get("body")
    order: dict[str, Any] = json.loads(body) if isinstance(body, str) else event
    if order.get("started"):
        Path(order["started"]).write_text(str(os.getpid()))
    if order.get("crash"):
        os._exit(3)  # a runtime that dies mid-invocation, as Lambda's Runtime.ExitError
    if order.get("raise"):
        raise RuntimeError(order["raise"])
    time.sleep(float(order.get("sleep", 0)))
    if order.get("finished"):
        Path(order["finished"]).write_text(str(os.getpid()))
    reply = {
        "pid": os.getpid(),
        "started": started,
        "ended": time.time(),
        "function": context.function_name,
        "setting": os.environ.get("WORKER_TEST_SETTING"),
    }
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(reply)}
