"""The harness's plumbing: the services process, the console, and capturing what handlers log."""

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[1]

_console_fd = 2


def say(message: str) -> None:
    """Progress, on the terminal's stderr even while the handlers' output is being captured."""
    os.write(_console_fd, (message + "\n").encode())


@dataclass(frozen=True)
class Endpoints:
    aws_endpoint: str  # moto: DynamoDB and Secrets Manager
    sandbox_url: str
    yookassa_api_url: str
    shop_id: str
    secret_key: str
    region: str
    transactions: str = ""  # how moto's TransactWriteItems rolls back (bench/services.py)


class Services:
    """``bench.services`` as a child process: started on free loopback ports, stopped on exit."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[str] | None = None
        self.endpoints: Endpoints | None = None

    def __enter__(self) -> "Services":
        self._process = subprocess.Popen(
            [sys.executable, "-m", "bench.services"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            self.__exit__(None, None, None)
            raise RuntimeError("bench.services did not start (its error is above)")
        self.endpoints = Endpoints(**json.loads(line))
        return self

    def yookassa_counts(self) -> dict[str, int]:
        """Every ``/v3`` request the sandbox has received, by route (counted at the sandbox)."""
        process = self._process
        assert process is not None and process.stdin is not None and process.stdout is not None
        process.stdin.write("counts\n")
        process.stdin.flush()
        counts: dict[str, int] = json.loads(process.stdout.readline())
        return counts

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(OSError):
            assert process.stdin is not None
            process.stdin.write("stop\n")
            process.stdin.close()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def diff_counts(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {key: after[key] - before.get(key, 0) for key in after if after[key] - before.get(key, 0)}


class OutputCapture:
    """Points file descriptors 1 and 2 at one temporary file, as Lambda points them at its log pipe, so
    what the handlers write (Powertools' handler holds ``sys.stdout`` as it was at import, so only a
    descriptor-level capture sees it all) can be measured per operation: ``mark()`` before, ``since()``
    after."""

    def __init__(self) -> None:
        self._file: IO[bytes] | None = None
        self._saved: tuple[int, int] | None = None

    def __enter__(self) -> "OutputCapture":
        global _console_fd  # noqa: PLW0603 - one console per process
        sys.stdout.flush()
        sys.stderr.flush()
        self._file = tempfile.TemporaryFile()
        self._saved = (os.dup(1), os.dup(2))
        os.dup2(self._file.fileno(), 1)
        os.dup2(self._file.fileno(), 2)
        _console_fd = self._saved[1]
        return self

    def mark(self) -> int:
        sys.stdout.flush()
        sys.stderr.flush()
        assert self._file is not None
        return os.fstat(self._file.fileno()).st_size

    def since(self, mark: int) -> bytes:
        end = self.mark()
        assert self._file is not None
        return os.pread(self._file.fileno(), end - mark, mark)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        global _console_fd  # noqa: PLW0603 - one console per process
        sys.stdout.flush()
        sys.stderr.flush()
        if self._saved is not None:
            os.dup2(self._saved[0], 1)
            os.dup2(self._saved[1], 2)
            for fd in self._saved:
                os.close(fd)
            self._saved = None
        _console_fd = 2
        if self._file is not None:
            self._file.close()
            self._file = None


@contextlib.contextmanager
def timed(label: str) -> Iterator[None]:
    started = time.perf_counter()
    say(f"{label} ...")
    yield
    say(f"{label}: {time.perf_counter() - started:.1f} s")


def lines_of(output: bytes) -> int:
    return output.count(b"\n") + (1 if output and not output.endswith(b"\n") else 0)


def as_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)
