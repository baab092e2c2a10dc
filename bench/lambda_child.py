"""One cold start, the way Lambda's Python runtime does it: a fresh interpreter, ``sys.path`` as Lambda's,
the handler module imported (the INIT phase), one event handled, then the timings written to a pipe.

Run only by ``bench/cold.py`` as ``python -I -S -B lambda_child.py SPEC_FILE RESULT_FD``: isolated (no
``PYTHON*`` variables, no user site), without ``site`` (no site-packages: the spec lists every directory
the process may import from), and without writing bytecode (root ignores ``chmod a-w``, so ``-B`` is
what keeps the read-only copies free of ``__pycache__``, as Lambda's ``/opt`` and ``/var/task`` are).

Standard library only, and as little of it as possible: whatever this file imports, the bare baseline
pays too, so it cancels out of the ratios.
"""

import json
import os
import resource
import sys
import time


class Context:
    """The attributes of Lambda's context object that Powertools and our handlers read."""

    def __init__(self, spec: dict[str, object]) -> None:
        self.function_name = str(spec["function_name"])
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = int(str(spec["memory_mb"]))
        self.aws_request_id = str(spec["request_id"])
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:000000000000:function:{self.function_name}"
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "2026/01/01/[$LATEST]0123456789abcdef"
        self._deadline = time.monotonic() + float(str(spec["timeout_seconds"]))

    def get_remaining_time_in_millis(self) -> int:
        return max(int((self._deadline - time.monotonic()) * 1000), 0)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    booted_ns = time.monotonic_ns()
    spec_file, result_fd = sys.argv[1], int(sys.argv[2])
    with open(spec_file, encoding="utf-8") as file:
        spec = json.load(file)
    # Lambda: the function's directory, the layer's python/, then the runtime's own packages; the
    # interpreter's standard library stays where it is (after them).
    sys.path[:0] = [str(entry) for entry in spec["path"]]
    module_name, _, attribute = str(spec["handler"]).rpartition(".")
    status: object = None
    answer: object = None
    error = None
    init_ns = init_cpu = None
    try:
        __import__(module_name)  # the C import path: -X importtime times it (importlib's would not)
        handler = getattr(sys.modules[module_name], attribute)
        init_ns, init_cpu = time.monotonic_ns(), _cpu()
        answer = handler(spec["event"], Context(spec))
        status = answer.get("statusCode", "ok") if isinstance(answer, dict) else "ok"
    except Exception as exc:  # noqa: BLE001 - reported to the harness, which fails the run
        error = f"{type(exc).__name__}: {exc}"
    done_ns, done_cpu = time.monotonic_ns(), _cpu()
    sys.stdout.flush()
    sys.stderr.flush()
    result = {
        "booted_ns": booted_ns,
        "init_ns": init_ns,
        "init_cpu": init_cpu,
        "done_ns": done_ns,
        "done_cpu": done_cpu,
        "status": status,
        "answer": answer if isinstance(answer, dict) and "statusCode" not in answer else None,
        "error": error,
        "modules": len(sys.modules),
        "max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }
    os.write(result_fd, json.dumps(result).encode())
    os.close(result_fd)
    os._exit(0)  # Lambda freezes the process here; its teardown is nobody's cold start


if __name__ == "__main__":
    main()
