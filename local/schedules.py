"""The template's ``Schedule`` / ``ScheduleV2`` events, run locally.

On AWS, EventBridge Scheduler invokes the reconciler every 5 minutes with an event whose ``time`` is the
function's notion of now. Locally ``make dev`` does the same on the same cadence (``Scheduler``), and
``POST /_local/run/{LogicalId}`` runs one now with any ``time`` (``ScheduledRunner``), so a lost webhook
can be settled on demand, "ten minutes later", without waiting or moving the machine's clock.

Expressions: ``rate(N minute|minutes|hour|hours|day|days)`` and AWS's six-field ``cron(...)`` without
``L``, ``W`` and ``#``; anything else is skipped with the reason in the log, never guessed.
"""

import copy
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from local.template import ROOT, TEMPLATE, ScheduleEvent, functions, schedules

log = logging.getLogger("local.schedules")

EVENTS_DIR = ROOT / "events"
# How far ahead a cron is searched for its next time: a cron that never fires within it never fires.
CRON_HORIZON_DAYS = 8 * 366
RATE_UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}
MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
MONTHS = {name: i for i, name in enumerate(MONTH_NAMES, 1)}
WEEKDAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}


class ScheduleError(ValueError):
    """An expression this local scheduler cannot run; the message says why."""


# --------------------------------------------------------------------------------------- time
def parse_time(text: str) -> datetime:
    """An ISO 8601 instant with its offset (``2026-11-29T17:00:00Z``); a time without one is refused,
    since "17:00 somewhere" would silently be read as UTC."""
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError(f"{text!r} has no UTC offset (add Z or +03:00)")
    return parsed.astimezone(UTC)


def format_time(moment: datetime) -> str:
    """EventBridge's ``time``: UTC, second precision, ``Z`` (sub-seconds kept only when given)."""
    utc = moment.astimezone(UTC)
    pattern = "%Y-%m-%dT%H:%M:%S.%fZ" if utc.microsecond else "%Y-%m-%dT%H:%M:%SZ"
    return utc.strftime(pattern)


# --------------------------------------------------------------------------------------- cadences
class Cadence(Protocol):
    def next_after(self, moment: datetime) -> datetime | None:
        """The first run strictly after ``moment`` (aware, UTC), or ``None`` when there is none."""
        ...


@dataclass(frozen=True)
class Rate:
    interval: timedelta

    def next_after(self, moment: datetime) -> datetime:
        return moment + self.interval

    def __str__(self) -> str:
        return f"every {self.interval.total_seconds():g} s"


def parse_rate(expression: str) -> Rate:
    match = re.fullmatch(r"rate\(\s*(\d+)\s+([a-z]+)\s*\)", expression.strip())
    if not match or match.group(2) not in RATE_UNITS:
        raise ScheduleError(f"{expression!r} is not rate(N minute|minutes|hour|hours|day|days)")
    value = int(match.group(1))
    if value < 1:
        raise ScheduleError(f"{expression!r}: the rate must be a positive whole number")
    return Rate(timedelta(seconds=value * RATE_UNITS[match.group(2)]))


@dataclass(frozen=True)
class Cron:
    """AWS's ``cron(minutes hours day-of-month month day-of-week year)``; day-of-week 1 = Sunday."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int] | None  # None: "?" (the day of week decides)
    months: frozenset[int]
    weekdays: frozenset[int] | None  # None: "?" (the day of month decides)
    years: frozenset[int]
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))

    def _day_matches(self, day: date) -> bool:
        if day.year not in self.years or day.month not in self.months:
            return False
        if self.days is not None and day.day not in self.days:
            return False
        aws_weekday = (day.weekday() + 1) % 7 + 1  # Python: Monday 0; AWS: Sunday 1
        return self.weekdays is None or aws_weekday in self.weekdays

    def next_after(self, moment: datetime) -> datetime | None:
        start = (moment.astimezone(self.timezone) + timedelta(minutes=1)).replace(second=0, microsecond=0)
        hours, minutes = sorted(self.hours), sorted(self.minutes)
        for offset in range(CRON_HORIZON_DAYS):
            day = start.date() + timedelta(days=offset)
            if not self._day_matches(day):
                continue
            for hour in hours:
                for minute in minutes:
                    local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=self.timezone)
                    if local >= start:
                        return local.astimezone(UTC)
        return None


CRON_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (  # name, lowest, highest, names
    ("minutes", 0, 59, {}),
    ("hours", 0, 23, {}),
    ("day-of-month", 1, 31, {}),
    ("month", 1, 12, MONTHS),
    ("day-of-week", 1, 7, WEEKDAYS),
    ("year", 1970, 2199, {}),
)


def _cron_field(text: str, name: str, low: int, high: int, names: dict[str, int]) -> frozenset[int] | None:
    if text == "?":
        if name not in ("day-of-month", "day-of-week"):
            raise ScheduleError(f"'?' is only allowed in day-of-month or day-of-week, not in {name}")
        return None
    unsupported = f"{name} {text!r} uses L, W or #, which the local scheduler does not support"
    if "#" in text:
        raise ScheduleError(unsupported)

    def number(token: str) -> int:
        if re.fullmatch(r"\d*L|\d*W|LW", token.upper()):
            raise ScheduleError(unsupported)
        value = int(token) if token.isdigit() else names.get(token.upper())
        if value is None or not low <= value <= high:
            raise ScheduleError(f"{name}: {token!r} is not in {low}-{high}")
        return value

    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text.isdigit() and int(step_text) > 0 else None
        if step_text and step is None:
            raise ScheduleError(f"{name}: {part!r} has a bad step")
        if base == "*":
            first, last = low, high
        elif "-" in base:
            first_text, _, last_text = base.partition("-")
            first, last = number(first_text), number(last_text)
            if first > last:
                raise ScheduleError(f"{name}: the range {base!r} runs backwards")
        else:
            first = number(base)
            last = high if step else first
        values.update(range(first, last + 1, step or 1))
    return frozenset(values)


def parse_cron(expression: str, timezone: str | None = None) -> Cron:
    match = re.fullmatch(r"cron\((.*)\)", expression.strip())
    fields = match.group(1).split() if match else []
    if len(fields) != len(CRON_FIELDS):
        raise ScheduleError(f"{expression!r} is not cron(minutes hours day-of-month month day-of-week year)")
    parsed = [_cron_field(text, *spec) for text, spec in zip(fields, CRON_FIELDS, strict=True)]
    minutes, hours, days, months, weekdays, years = parsed
    if (days is None) == (weekdays is None):
        raise ScheduleError(f"{expression!r}: exactly one of day-of-month and day-of-week must be '?'")
    try:
        zone = ZoneInfo(timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ScheduleError(f"unknown ScheduleExpressionTimezone {timezone!r}") from exc
    assert minutes is not None and hours is not None and months is not None and years is not None
    return Cron(minutes, hours, days, months, weekdays, years, zone)


def parse_expression(expression: str, timezone: str | None = None) -> Cadence:
    """A cadence for ``rate(...)`` or ``cron(...)``; ``ScheduleError`` says why anything else is not run."""
    text = expression.strip()
    if text.startswith("rate("):
        return parse_rate(text)
    if text.startswith("cron("):
        return parse_cron(text, timezone)
    if text.startswith("at("):
        raise ScheduleError(f"{expression!r} is a one-time schedule; run it with POST /_local/run")
    raise ScheduleError(f"{expression!r} is neither rate(...) nor cron(...)")


# --------------------------------------------------------------------------------------- events
def _default_event(schedule_type: str, function_id: str) -> dict[str, Any]:
    """What AWS delivers when the schedule has no Input: EventBridge's "Scheduled Event"."""
    source, service = (
        ("aws.scheduler", "scheduler") if schedule_type == "ScheduleV2" else ("aws.events", "events")
    )
    resource = "schedule/default" if schedule_type == "ScheduleV2" else "rule"
    return {
        "version": "0",
        "detail-type": "Scheduled Event",
        "source": source,
        "account": "000000000000",
        "region": "eu-central-1",
        "resources": [f"arn:aws:{service}:eu-central-1:000000000000:{resource}/{function_id}Schedule"],
        "detail": "{}" if schedule_type == "ScheduleV2" else {},
    }


def scheduled_event(
    function_id: str, at: datetime, schedule_type: str = "ScheduleV2", events_dir: Path = EVENTS_DIR
) -> dict[str, Any]:
    """``events/<LogicalId>.json`` (else AWS's default notification) with this run's ``time`` and id."""
    file = events_dir / f"{function_id}.json"
    base: dict[str, Any] = (
        json.loads(file.read_text()) if file.is_file() else _default_event(schedule_type, function_id)
    )
    event = copy.deepcopy(base)
    event["id"] = str(uuid.uuid4())
    event["time"] = format_time(at)
    return event


# --------------------------------------------------------------------------------------- running
class Invoke(Protocol):
    """``local.gateway.LocalLambda``: the one way functions run locally (in workers or in-process)."""

    def __call__(
        self, function_id: str, event: dict[str, Any], wait: float = ..., done: Callable[[], None] | None = ...
    ) -> Any: ...


class NotScheduled(LookupError):
    pass


class AlreadyRunning(RuntimeError):
    pass


@dataclass(frozen=True)
class ScheduledFunction:
    """One schedule and what the local scheduler makes of it."""

    event: ScheduleEvent
    cadence: Cadence | None  # None: not run on a cadence (``skipped`` says why)
    skipped: str | None = None


def scheduled_functions(events: Iterable[ScheduleEvent]) -> list[ScheduledFunction]:
    found = []
    for event in events:
        if not event.enabled:
            found.append(ScheduledFunction(event, None, "the schedule is disabled in template.yaml"))
            continue
        try:
            found.append(ScheduledFunction(event, parse_expression(event.expression, event.timezone)))
        except ScheduleError as exc:
            found.append(ScheduledFunction(event, None, str(exc)))
    return found


class ScheduledRunner:
    """Runs a scheduled function once, never two runs of one function at a time.

    The scheduler's ticks and ``POST /_local/run`` share it: a tick finding a run in progress is
    skipped (as a slow reconciler on AWS simply has its next invocation later), a ``/_local/run``
    waits for it, so a test asking for a run always gets its own.
    """

    def __init__(self, invoke: Invoke, template: Path = TEMPLATE, events_dir: Path = EVENTS_DIR) -> None:
        self._invoke = invoke
        self.events_dir = events_dir
        self.schedules = scheduled_functions(schedules(template))
        self._timeouts = {fid: fn.timeout for fid, fn in functions(template).items()}
        self._locks = {s.event.function: threading.Lock() for s in self.schedules}

    def schedule_of(self, function_id: str) -> ScheduledFunction:
        for schedule in self.schedules:
            if schedule.event.function == function_id:
                return schedule
        raise NotScheduled(function_id)

    @property
    def function_ids(self) -> list[str]:
        return sorted(self._locks)

    def timeout(self, function_id: str) -> int:
        return self._timeouts.get(function_id, 3)

    def run(self, function_id: str, at: datetime | None = None, *, wait_for_previous: bool = True) -> Any:
        """Invoke with the scheduled event for ``at`` (default: now); return what the function returned,
        raise what it raised. ``AlreadyRunning`` when a run is in progress and we may not wait for it."""
        schedule = self.schedule_of(function_id)
        event = scheduled_event(function_id, at or datetime.now(UTC), schedule.event.type, self.events_dir)
        lock = self._locks[function_id]
        timeout = self.timeout(function_id)
        if not lock.acquire(timeout=timeout + 1 if wait_for_previous else 0):
            raise AlreadyRunning(f"{function_id} is still running")
        # ``done`` releases the lock when the invocation really ends, even after we stopped waiting for it.
        return self._invoke(function_id, event, wait=timeout + 1, done=lock.release)


class Scheduler:
    """One thread per runnable schedule, each calling ``ScheduledRunner`` on its cadence until stopped.

    The first run is one period after the start (a rate) or at the cron's next time, as when the
    schedule is deployed; a tick that finds the previous run still going is skipped, and missed ticks
    are not made up for.
    """

    def __init__(
        self, runner: ScheduledRunner, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.runner = runner
        self.clock = clock
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.next_runs: dict[str, datetime | None] = {}

    def start(self) -> None:
        for schedule in self.runner.schedules:
            event = schedule.event
            where = f"{event.function} ({event.type} {event.expression})"
            if schedule.cadence is None:
                log.warning("not scheduling %s: %s", where, schedule.skipped)
                continue
            first = schedule.cadence.next_after(self.clock().replace(microsecond=0))
            self.next_runs[event.function] = first
            if first is None:
                log.warning("not scheduling %s: it has no time left to run", where)
                continue
            log.info("scheduled %s, %s; first run at %s", where, schedule.cadence, format_time(first))
            thread = threading.Thread(
                target=self._loop, args=(schedule, first), name=f"schedule-{event.function}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(deadline - time.monotonic(), 0))
            if thread.is_alive():
                log.warning("%s: a run is still in progress; not waiting for it", thread.name)
        self._threads.clear()

    def _loop(self, schedule: ScheduledFunction, due: datetime | None) -> None:
        assert schedule.cadence is not None
        function_id = schedule.event.function
        while due is not None:
            if self._stop.wait(max((due - self.clock()).total_seconds(), 0)):
                return
            self._tick(function_id, due)
            following, missed, now = schedule.cadence.next_after(due), 0, self.clock()
            while following is not None and following <= now:
                following, missed = schedule.cadence.next_after(following), missed + 1
            if missed:
                log.warning("%s: %d scheduled run(s) skipped while the previous one ran", function_id, missed)
            self.next_runs[function_id] = due = following

    def _tick(self, function_id: str, due: datetime) -> None:
        started = time.monotonic()
        try:
            self.runner.run(function_id, due, wait_for_previous=False)
        except AlreadyRunning:
            log.warning(
                "%s: scheduled run at %s skipped: the previous run is still going",
                function_id,
                format_time(due),
            )
        except Exception as exc:  # noqa: BLE001 - one line per failed run; the stack carries on
            log.warning(
                "%s: scheduled run at %s failed after %.1f s: %s: %s",
                function_id,
                format_time(due),
                time.monotonic() - started,
                getattr(exc, "error_type", type(exc).__name__),  # a worker's error names the handler's
                exc,
            )
        else:
            log.info(
                "%s: scheduled run at %s done in %.1f s",
                function_id,
                format_time(due),
                time.monotonic() - started,
            )
