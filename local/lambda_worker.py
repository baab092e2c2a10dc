"""One Lambda execution environment of the local stack: a process that loads one function's handler (its
INIT, a cold start) and then handles one event at a time, for as long as its pool keeps it.

Started only by ``local.workers`` as ``python -u -m local.lambda_worker FD SPEC``: ``FD`` is its end of a
socket pair to the pool, ``SPEC`` the function as JSON (``logical_id``, ``code_uri``, ``handler``,
``timeout``). Both ways, one JSON object per line. The worker says ``{"ready": pid}`` (or
``{"init_error": ...}`` and exits), then answers every ``{"event": ...}`` with ``{"result": ...}`` or
``{"error": {"type", "message"}}``. It exits when the pool closes its end. The handler's output
(Powertools' JSON lines, tracebacks) goes to the stack's own stdout and stderr, which the worker shares.
"""

import decimal
import json
import logging
import os
import signal
import socket
import sys
import traceback
import warnings
from pathlib import Path
from typing import Any, BinaryIO

from local.lambda_runtime import LambdaContext, load_handler
from local.template import Function


def _decimal(value: object) -> float:
    """Lambda's Python runtime serialises a ``Decimal`` in a result as a number."""
    if isinstance(value, decimal.Decimal):
        return float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _send(out: BinaryIO, message: dict[str, Any]) -> None:
    try:
        line = json.dumps(message, ensure_ascii=False, default=_decimal)
    except (TypeError, ValueError) as exc:  # Lambda's Runtime.MarshalError
        line = json.dumps(
            {"error": {"type": "Runtime.MarshalError", "message": f"Unable to marshal response: {exc}"}}
        )
    out.write(line.encode() + b"\n")
    out.flush()


def _describe(exc: BaseException) -> dict[str, str]:
    return {"type": type(exc).__name__, "message": str(exc)}


def _configure_logging() -> None:
    """As ``python -m local dev`` configures its own process, where the handlers used to run."""
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.WARNING,
        format="%(asctime)s %(levelname)-7s %(name)-14s %(message)s",
        datefmt="%H:%M:%S",
    )
    warnings.filterwarnings("ignore", message="No application metrics to publish")


def main(argv: list[str]) -> int:
    # Ctrl-C reaches the whole process group: the stack stops its workers itself, after its servers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    fd, spec = int(argv[0]), json.loads(argv[1])
    _configure_logging()
    channel = socket.socket(fileno=fd)
    requests, replies = channel.makefile("rb"), channel.makefile("wb")
    function = Function(
        logical_id=spec["logical_id"],
        code_uri=Path(spec["code_uri"]),
        handler=spec["handler"],
        timeout=int(spec["timeout"]),
    )
    try:
        handler = load_handler(function)
    except Exception as exc:  # noqa: BLE001 - Lambda's Runtime.InitError: logged, answered, then exit
        traceback.print_exc()
        _send(replies, {"init_error": _describe(exc)})
        return 1
    _send(replies, {"ready": os.getpid()})
    for line in requests:
        event = json.loads(line)["event"]
        context = LambdaContext(function_name=function.logical_id, timeout_seconds=function.timeout)
        try:
            result = handler(event, context)
        except Exception as exc:  # noqa: BLE001 - the function's error result, logged as Lambda logs it
            traceback.print_exc()
            _send(replies, {"error": _describe(exc)})
        else:
            _send(replies, {"result": result})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
