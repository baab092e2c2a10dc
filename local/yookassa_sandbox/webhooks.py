"""Webhook delivery: one background worker per URL, YooKassa's redelivery schedule, a delivery log.

Deliveries never happen inside the request that caused them: ``publish`` only queues. Anything but
HTTP 200 (or a connection error / timeout) is retried at 10, 42, 84, 168, 672, 5376 and 86016 seconds
after the event on the emulator's clock, then given up (8 attempts in all).
"""

from __future__ import annotations

import heapq
import http.client
import itertools
import json
import logging
import queue
import ssl
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .clock import Clock, format_ms
from .faults import WEBHOOKS, FaultRegistry

__all__ = ["ATTEMPT_TIMEOUT_SECONDS", "REDELIVERY_OFFSETS", "Notification", "WebhookDispatcher"]

log = logging.getLogger("yookassa_sandbox")

REDELIVERY_OFFSETS = (10, 42, 84, 168, 672, 5376, 86016)
ATTEMPT_TIMEOUT_SECONDS = 5.0
LOG_LIMIT = 100_000  # the delivery log keeps the newest entries only
USER_AGENT = "YooKassa-Sandbox-Webhooks/1.0"


@dataclass
class Notification:
    id: str
    event: str
    object_id: str
    payload: dict[str, Any]
    event_ms: int
    urls: tuple[str, ...]
    body: bytes = b""

    def __post_init__(self) -> None:
        if not self.body:
            self.body = json.dumps(self.payload, ensure_ascii=False).encode("utf-8")


@dataclass
class _Job:
    notification: Notification
    url: str
    attempt: int
    chain_ms: int
    generation: int
    due_ms: int = 0
    not_before: float = 0.0
    copy: int = 0
    fault: str | None = None
    manual: bool = False
    seq: int = field(default=0, compare=False)


def post_json(url: str, body: bytes, timeout: float) -> tuple[int | None, str | None]:
    """One delivery attempt: (HTTP status, None) or (None, error text)."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return None, f"unsupported webhook URL {url!r}"
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        # YooKassa accepts any certificate on the receiver, self-signed included
        context = ssl._create_unverified_context()  # noqa: S323
        connection = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=timeout, context=context)
    else:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request(
            "POST",
            target,
            body=body,
            headers={"Content-Type": "application/json", "User-Agent": USER_AGENT},
        )
        response = connection.getresponse()
        response.read()
        return response.status, None
    except (OSError, http.client.HTTPException) as exc:
        return None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    finally:
        connection.close()


class _UrlWorker:
    """Delivers to one URL in order, so one slow receiver never holds up another."""

    def __init__(self, dispatcher: WebhookDispatcher, url: str) -> None:
        self.queue: queue.Queue[_Job | None] = queue.Queue()
        self.thread = threading.Thread(
            target=self._run, args=(dispatcher,), name=f"sandbox-webhooks {url}", daemon=True
        )
        self.thread.start()

    def _run(self, dispatcher: WebhookDispatcher) -> None:
        while True:
            job = self.queue.get()
            if job is None:
                return
            try:
                dispatcher._attempt(job)
            except Exception:  # never let one bad delivery kill the worker
                log.exception("webhook delivery failed unexpectedly")
            finally:
                dispatcher._finished()


class WebhookDispatcher:
    def __init__(
        self,
        clock: Clock,
        faults: FaultRegistry,
        urls: Callable[[], list[str]],
        timeout: float = ATTEMPT_TIMEOUT_SECONDS,
    ) -> None:
        self._clock = clock
        self._faults = faults
        self._urls = urls
        self.timeout = timeout
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # notified whenever an attempt finishes
        self._in_flight = 0  # jobs handed to a worker and not yet attempted to the end
        self._heap: list[tuple[int, int, _Job]] = []
        self._delayed: list[_Job] = []
        self._counter = itertools.count()
        self._workers: dict[str, _UrlWorker] = {}
        self._log: deque[dict[str, Any]] = deque(maxlen=LOG_LIMIT)
        self._latest: dict[str, Notification] = {}
        self._held: list[Notification] = []
        self._generation = 0
        self._stopped = False

    # ------------------------------------------------------------------ publishing
    def publish(self, event: str, obj: dict[str, Any]) -> Notification:
        """Queue ``{"type": "notification", "event", "object"}`` for every configured webhook URL."""
        notification = Notification(
            id=str(uuid.uuid4()),
            event=event,
            object_id=str(obj["id"]),
            payload={"type": "notification", "event": event, "object": obj},
            event_ms=self._clock.now_ms(),
            urls=tuple(dict.fromkeys(self._urls())),
        )
        with self._lock:
            self._latest[notification.object_id] = notification
        if not notification.urls:
            return notification
        taken = self._faults.take(WEBHOOKS)
        if taken is None:
            self._start(notification)
            return notification
        fault, remaining = taken
        if fault.fault == "drop":
            at = format_ms(self._clock.now_ms())
            with self._lock:
                for url in notification.urls:
                    entry = self._entry(notification, url, 0, at, fault="drop")
                    entry.update(ok=False, error="dropped by fault injection: never sent, never redelivered")
                    self._log.append(entry)
        elif fault.fault == "duplicate":
            self._start(notification, fault="duplicate", copies=fault.times)
        elif fault.fault == "delay":
            self._start(notification, fault="delay", delay_ms=fault.delay_ms)
        elif fault.fault == "reorder":
            with self._lock:
                self._held.append(notification)
            if remaining <= 0:
                self.release_held()
        return notification

    def _start(
        self,
        notification: Notification,
        fault: str | None = None,
        copies: int = 0,
        delay_ms: int = 0,
        manual: bool = False,
        urls: tuple[str, ...] | None = None,
    ) -> None:
        chain_ms = self._clock.now_ms() if manual else notification.event_ms
        for url in urls or notification.urls:
            job = _Job(notification, url, 1, chain_ms, self._generation, fault=fault, manual=manual)
            if delay_ms:
                job.not_before = time.monotonic() + delay_ms / 1000.0
                with self._lock:
                    self._delayed.append(job)
                continue
            self._submit(job)
            for copy in range(1, copies + 1):
                self._submit(
                    _Job(
                        notification, url, 1, chain_ms, self._generation, copy=copy, fault=fault, manual=manual
                    )
                )

    def release_held(self) -> int:
        """Deliver the notifications held by a ``reorder`` fault, newest first."""
        with self._lock:
            held, self._held = self._held, []
        for notification in reversed(held):
            self._start(notification, fault="reorder")
        return len(held)

    def redeliver(self, object_id: str | None = None) -> list[str]:
        """Send the latest notification of one object (or of every object) again, as a fresh chain."""
        self.release_held()
        with self._lock:
            if object_id is None:
                chosen = sorted(self._latest.values(), key=lambda n: n.event_ms)
            else:
                chosen = [self._latest[object_id]] if object_id in self._latest else []
        current = tuple(dict.fromkeys(self._urls()))
        for notification in chosen:
            self._start(notification, manual=True, urls=current or notification.urls)
        return [notification.id for notification in chosen]

    def knows(self, object_id: str) -> bool:
        with self._lock:
            return object_id in self._latest

    # ------------------------------------------------------------------ scheduling
    def _submit(self, job: _Job) -> None:
        with self._lock:
            if self._stopped or job.generation != self._generation:
                return
            worker = self._workers.get(job.url)
            if worker is None:
                worker = self._workers[job.url] = _UrlWorker(self, job.url)
            self._in_flight += 1
        worker.queue.put(job)

    def _finished(self) -> None:
        with self._lock:
            self._in_flight -= 1
            self._changed.notify_all()

    def tick(self) -> None:
        """Hand every due retry (emulator clock) and every expired delay (real clock) to its worker."""
        now = self._clock.now_ms()
        mono = time.monotonic()
        due: list[_Job] = []
        with self._lock:
            while self._heap and self._heap[0][0] <= now:
                due.append(heapq.heappop(self._heap)[2])
            if self._delayed:
                ready = [job for job in self._delayed if job.not_before <= mono]
                self._delayed = [job for job in self._delayed if job.not_before > mono]
                due.extend(ready)
        for job in due:
            self._submit(job)

    def next_due_ms(self) -> int | None:
        with self._lock:
            return self._heap[0][0] if self._heap else None

    def _attempt(self, job: _Job) -> None:
        if job.generation != self._generation:
            return
        at = format_ms(self._clock.now_ms())
        status, error = post_json(job.url, job.notification.body, self.timeout)
        ok = status == 200
        entry = self._entry(job.notification, job.url, job.attempt, at, fault=job.fault)
        entry["ok"] = ok
        if status is not None:
            entry["statusCode"] = status
        if error is not None:
            entry["error"] = error
        if job.copy:
            entry["copy"] = job.copy
        if job.manual:
            entry["manual"] = True
        with self._lock:
            if job.generation != self._generation:
                return
            self._log.append(entry)
            if ok or job.copy or job.attempt > len(REDELIVERY_OFFSETS):
                return
            retry = _Job(
                job.notification,
                job.url,
                job.attempt + 1,
                job.chain_ms,
                job.generation,
                due_ms=job.chain_ms + REDELIVERY_OFFSETS[job.attempt - 1] * 1000,
                manual=job.manual,
            )
            heapq.heappush(self._heap, (retry.due_ms, next(self._counter), retry))

    @staticmethod
    def _entry(
        notification: Notification, url: str, attempt: int, at: str, fault: str | None = None
    ) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "notificationId": notification.id,
            "event": notification.event,
            "objectId": notification.object_id,
            "url": url,
            "attempt": attempt,
            "at": at,
        }
        if fault:
            entry["fault"] = fault
        return entry

    # ------------------------------------------------------------------ inspection and life cycle
    def idle(self) -> bool:
        """Nothing to deliver now: no attempt queued or under way, no retry due on the emulator's clock,
        no ``delay`` fault's copy waiting. Retries due later on the emulator's clock, and notifications
        a ``reorder`` fault holds until its batch is complete, wait for a cause: they do not count."""
        with self._lock:
            return self._idle_locked(self._clock.now_ms())

    def _idle_locked(self, now_ms: int) -> bool:
        due = bool(self._heap) and self._heap[0][0] <= now_ms
        return self._in_flight == 0 and not self._delayed and not due

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until ``idle()`` (True), or ``timeout`` seconds passed (False). A test that asserts that
        nothing was delivered waits for this first, instead of sleeping: whatever was due has been tried
        by then, and is in the delivery log."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                if self._idle_locked(self._clock.now_ms()):
                    return True
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                # a retry falls due by the clock and a delay expires by real time, with no notify: look
                # again at least every 10 ms (the ticker hands them to a worker within TICK_SECONDS)
                self._changed.wait(min(left, 0.01))

    def log_items(self, object_id: str | None = None, event: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            items = list(self._log)
        if object_id:
            items = [item for item in items if item["objectId"] == object_id]
        if event:
            items = [item for item in items if item["event"] == event]
        return items

    def reset(self) -> None:
        with self._lock:
            self._generation += 1
            self._heap.clear()
            self._delayed.clear()
            self._log.clear()
            self._latest.clear()
            self._held.clear()

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            self._generation += 1
            workers = list(self._workers.values())
            self._workers.clear()
        for worker in workers:
            worker.queue.put(None)
