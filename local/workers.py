"""Lambda's concurrency model for the local stack: every function runs in a pool of worker processes.

A worker (``local.lambda_worker``) is one execution environment: it loads its function once (a cold
start) and handles one event at a time. A pool starts a worker when a request finds none idle, up to its
size (``LAMBDA_CONCURRENCY``, as a function's reserved concurrency); beyond that, requests wait for a
worker, for as long as their caller waits. A worker that dies is dropped (its request fails, as a crashed
runtime's does on AWS) and the next request that needs one starts a new one; one that runs past its
function's Timeout is stopped, as Lambda stops it. Workers are started with ``subprocess`` (never a fork
of this multi-threaded process) and speak one JSON object per line over a socket pair; their stdout and
stderr are this process's, so the handlers' logs appear where they did when they ran in-process.
"""

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from local.template import ROOT, TEMPLATE, Function, functions

log = logging.getLogger("local.workers")

DEFAULT_CONCURRENCY = 4
# Lambda's INIT has 10 s; past it the init is retried within the function's own Timeout.
INIT_TIMEOUT_SECONDS = 10.0
STOP_TIMEOUT_SECONDS = 2.0
READ_SIZE = 64 * 1024


def lambda_concurrency(environ: Mapping[str, str] = os.environ) -> int:
    """``LAMBDA_CONCURRENCY``: workers per function (default 4); 0 runs every function in this process,
    one invocation at a time."""
    raw = environ.get("LAMBDA_CONCURRENCY", "").strip()
    if not raw:
        return DEFAULT_CONCURRENCY
    if not raw.isdigit():
        raise ValueError(f"LAMBDA_CONCURRENCY must be a whole number (0 = in-process), not {raw!r}")
    return int(raw)


class WorkerError(Exception):
    """An invocation that failed in or with its worker; the gateway answers it as AWS answers a function
    error (500 on the API, 502 on a Function URL)."""

    error_type = "WorkerError"


class FunctionError(WorkerError):
    """The handler raised: ``error_type`` is the exception's class name in the worker."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


class WorkerCrashed(WorkerError):
    error_type = "Runtime.ExitError"


class InitError(WorkerError):
    error_type = "Runtime.InitError"


class FunctionTimeout(WorkerError, TimeoutError):
    error_type = "Sandbox.Timedout"


class NoWorker(TimeoutError):
    """Every worker stayed busy for as long as the caller waited (or the pool closed meanwhile)."""


class Worker:
    """One worker process and our end of its socket pair; used by one thread at a time."""

    def __init__(self, function: Function, process: subprocess.Popen[bytes], channel: socket.socket) -> None:
        self.function = function
        self.process = process
        self.channel = channel
        self._buffer = bytearray()

    @property
    def pid(self) -> int:
        return self.process.pid

    @classmethod
    def start(cls, function: Function, environ: Mapping[str, str], timeout: float) -> "Worker":
        """Start a worker and wait for its INIT to finish: ``InitError`` if the handler did not load."""
        started = time.monotonic()
        ours, theirs = socket.socketpair()
        spec = {
            "logical_id": function.logical_id,
            "code_uri": str(function.code_uri),
            "handler": function.handler,
            "timeout": function.timeout,
        }
        try:
            process = subprocess.Popen(
                [sys.executable, "-u", "-m", "local.lambda_worker", str(theirs.fileno()), json.dumps(spec)],
                cwd=ROOT,
                env=dict(environ),
                stdin=subprocess.DEVNULL,
                pass_fds=(theirs.fileno(),),
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        worker = cls(function, process, ours)
        try:
            hello = worker._receive(timeout)
        except TimeoutError:
            worker.stop()
            raise InitError(f"{function.logical_id}: the worker did not load within {timeout:.0f} s") from None
        except WorkerError:
            worker.stop()
            raise
        if "init_error" in hello:
            worker.stop()
            error = hello["init_error"]
            raise InitError(f"{function.logical_id} failed to load: {error['type']}: {error['message']}")
        elapsed = time.monotonic() - started
        log.info("%s: worker %s started (a cold start, %.1f s)", function.logical_id, worker.pid, elapsed)
        return worker

    def invoke(self, event: dict[str, Any]) -> Any:
        """The handler's result; ``FunctionError`` if it raised, ``FunctionTimeout`` past the function's
        Timeout (the worker is then stopped), ``WorkerCrashed`` if the worker died."""
        timeout = self.function.timeout
        try:
            self.channel.sendall(json.dumps({"event": event}).encode() + b"\n")
        except OSError:
            raise self._crashed() from None
        try:
            reply = self._receive(timeout)
        except TimeoutError:
            self.stop()
            raise FunctionTimeout(f"Task timed out after {timeout:.2f} seconds") from None
        if "error" in reply:
            raise FunctionError(reply["error"]["type"], reply["error"]["message"])
        return reply["result"]

    def _receive(self, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        searched = 0
        while (end := self._buffer.find(b"\n", searched)) < 0:
            searched = len(self._buffer)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            self.channel.settimeout(remaining)
            try:
                chunk = self.channel.recv(READ_SIZE)
            except TimeoutError:
                raise
            except OSError:
                chunk = b""
            if not chunk:
                raise self._crashed()
            self._buffer += chunk
        message: dict[str, Any] = json.loads(self._buffer[:end])
        del self._buffer[: end + 1]
        return message

    def _crashed(self) -> WorkerCrashed:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(STOP_TIMEOUT_SECONDS)
        code = self.process.returncode
        self.stop()
        return WorkerCrashed(f"{self.function.logical_id}'s worker {self.pid} exited (code {code})")

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL) and reap it; safe to call more than once."""
        self.channel.close()
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class FunctionPool:
    """Up to ``size`` workers of one function, started on demand; the most recently used idle worker
    takes the next request, so a steady trickle of requests keeps hitting one warm worker."""

    def __init__(self, function: Function, size: int, environ: Mapping[str, str]) -> None:
        if size < 1:
            raise ValueError("a pool has at least one worker")
        self.function = function
        self.size = size
        self._environ = environ
        self._ready = threading.Condition()
        self._idle: list[Worker] = []
        self._workers: set[Worker] = set()
        self._starting = 0
        self._closed = False

    @property
    def pids(self) -> list[int]:
        with self._ready:
            return sorted(worker.pid for worker in self._workers)

    def invoke(self, event: dict[str, Any], deadline: float) -> Any:
        """Run ``event`` in a worker; wait for one until ``deadline`` (``time.monotonic()``) at most."""
        worker = self._acquire(deadline)
        healthy = False
        try:
            result = worker.invoke(event)
            healthy = True
            return result
        except FunctionError:
            healthy = True  # the handler raised; its environment lives on, as on AWS
            raise
        finally:
            self._release(worker, healthy and worker.alive)

    def _acquire(self, deadline: float) -> Worker:
        with self._ready:
            while True:
                if self._closed:
                    raise NoWorker(f"{self.function.logical_id}: the stack is stopping")
                if self._idle:
                    return self._idle.pop()
                if len(self._workers) + self._starting < self.size:
                    self._starting += 1
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise NoWorker(f"{self.function.logical_id}: all {self.size} workers stayed busy")
                self._ready.wait(remaining)
        try:
            worker = Worker.start(self.function, self._environ, INIT_TIMEOUT_SECONDS + self.function.timeout)
        except BaseException:
            with self._ready:
                self._starting -= 1
                self._ready.notify()
            raise
        with self._ready:
            self._starting -= 1
            closed = self._closed
            if not closed:
                self._workers.add(worker)
        if closed:
            worker.stop()
            raise NoWorker(f"{self.function.logical_id}: the stack is stopping")
        return worker

    def _release(self, worker: Worker, healthy: bool) -> None:
        with self._ready:
            keep = healthy and not self._closed
            if keep:
                self._idle.append(worker)
            else:
                self._workers.discard(worker)
            self._ready.notify()
        if not keep:
            worker.stop()

    def close(self) -> None:
        """Stop every worker, busy or idle; requests still waiting get ``NoWorker``."""
        with self._ready:
            self._closed = True
            workers = list(self._workers)
            self._workers.clear()
            self._idle.clear()
            self._ready.notify_all()
        for worker in workers:  # SIGTERM to all first, then wait: they stop in parallel
            with contextlib.suppress(OSError):
                worker.channel.shutdown(socket.SHUT_RDWR)
            if worker.alive:
                with contextlib.suppress(ProcessLookupError):
                    worker.process.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.stop()


class WorkerPools:
    """One ``FunctionPool`` per function of the template, each created on its first invocation."""

    def __init__(
        self,
        size: int = DEFAULT_CONCURRENCY,
        template: Path = TEMPLATE,
        environ: Mapping[str, str] = os.environ,
    ) -> None:
        if size < 1:
            raise ValueError("LAMBDA_CONCURRENCY 0 runs the functions in-process: there is no pool to build")
        self.size = size
        self.environ = environ
        self._functions = functions(template)
        self._pools: dict[str, FunctionPool] = {}
        self._lock = threading.Lock()
        self._closed = False

    def pool(self, function_id: str) -> FunctionPool:
        with self._lock:
            if self._closed:
                raise NoWorker(f"{function_id}: the stack is stopping")
            if function_id not in self._pools:
                self._pools[function_id] = FunctionPool(self._functions[function_id], self.size, self.environ)
            return self._pools[function_id]

    def invoke(self, function_id: str, event: dict[str, Any], deadline: float) -> Any:
        return self.pool(function_id).invoke(event, deadline)

    @property
    def pids(self) -> list[int]:
        with self._lock:
            pools = list(self._pools.values())
        return sorted(pid for pool in pools for pid in pool.pids)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            pools = list(self._pools.values())
        for pool in pools:
            pool.close()
