"""The template's schedules run locally: expressions, the scheduler's cadence, and ``POST /_local/run``.

The scheduler tests use the real ``ScheduledRunner`` and ``LocalLambda`` with a recording stand-in for
the function, and a cadence of a few milliseconds instead of five minutes; they synchronise on events
signalled by the stand-in, never on sleeps.
"""

import json
import logging
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from local.gateway import LocalLambda
from local.schedules import (
    AlreadyRunning,
    Rate,
    ScheduledFunction,
    ScheduledRunner,
    ScheduleError,
    Scheduler,
    parse_cron,
    parse_expression,
    parse_rate,
    parse_time,
    scheduled_event,
    scheduled_functions,
)
from local.template import ROOT, TEMPLATE, schedules
from tests.local.conftest import RunningGateway

WAIT = 10.0  # upper bound of every wait on a signal
RECONCILER = "ReconcilerFunction"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


# ------------------------------------------------------------------------------------ expressions
def test_the_template_runs_the_reconciler_every_five_minutes() -> None:
    [reconciler] = [s for s in scheduled_functions(schedules()) if s.event.function == RECONCILER]

    assert (reconciler.event.type, reconciler.event.expression) == ("ScheduleV2", "rate(5 minutes)")
    assert reconciler.cadence == Rate(timedelta(minutes=5))
    assert reconciler.skipped is None


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [
        ("rate(1 minute)", 60),
        ("rate(5 minutes)", 300),
        ("rate(1 hour)", 3600),
        ("rate(2 hours)", 7200),
        ("rate(1 day)", 86400),
        ("rate(7 days)", 7 * 86400),
    ],
)
def test_rates_in_minutes_hours_and_days(expression: str, seconds: int) -> None:
    assert parse_rate(expression).interval == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    "expression", ["rate(0 minutes)", "rate(5 weeks)", "rate(five minutes)", "rate(-1 minutes)", "rate(5)"]
)
def test_a_malformed_rate_is_refused_with_the_expression(expression: str) -> None:
    with pytest.raises(ScheduleError, match=r"rate"):
        parse_rate(expression)


@pytest.mark.parametrize(
    ("expression", "timezone", "after", "expected"),
    [
        ("cron(0 17 * * ? *)", None, "2026-11-29T17:00:00Z", "2026-11-30T17:00:00Z"),
        ("cron(0/15 * * * ? *)", None, "2026-11-29T17:02:10Z", "2026-11-29T17:15:00Z"),
        ("cron(5,35 8-9 * * ? *)", None, "2026-11-29T08:40:00Z", "2026-11-29T09:05:00Z"),
        # 2026-11-28 is a Saturday: weekdays resume on Monday
        ("cron(0 9 ? * MON-FRI *)", None, "2026-11-28T10:00:00Z", "2026-11-30T09:00:00Z"),
        ("cron(0 9 ? * 1 *)", None, "2026-11-28T10:00:00Z", "2026-11-29T09:00:00Z"),  # 1 = Sunday
        ("cron(30 0 1 JAN ? 2027)", None, "2026-11-29T17:00:00Z", "2027-01-01T00:30:00Z"),
        ("cron(0 9 * * ? *)", "Europe/Moscow", "2026-11-29T07:00:00Z", "2026-11-30T06:00:00Z"),
    ],
)
def test_cron_gives_the_next_time_strictly_after(
    expression: str, timezone: str | None, after: str, expected: str
) -> None:
    assert parse_cron(expression, timezone).next_after(utc(after)) == utc(expected)


def test_a_cron_whose_years_are_over_never_runs_again() -> None:
    assert parse_cron("cron(0 0 1 1 ? 2020)").next_after(utc("2026-11-29T17:00:00Z")) is None


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("cron(0 12 L * ? *)", "L, W or #"),
        ("cron(0 12 15W * ? *)", "L, W or #"),
        ("cron(0 12 ? * 6#3 *)", "L, W or #"),
        ("cron(0 12 * * * *)", "exactly one of day-of-month and day-of-week"),
        ("cron(0 12 * * ?)", "is not cron"),
        ("cron(61 12 * * ? *)", "not in 0-59"),
        ("at(2026-12-01T10:00:00)", "one-time"),
        ("every 5 minutes", "neither rate"),
    ],
)
def test_what_cannot_run_locally_says_why(expression: str, reason: str) -> None:
    with pytest.raises(ScheduleError, match=reason):
        parse_expression(expression)


def test_skipped_schedules_are_logged_with_their_reason(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    template = tmp_path / "template.yaml"
    extra = """
  MonthEndFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/health/
      Handler: app.handler
      Events:
        MonthEnd:
          Type: ScheduleV2
          Properties:
            ScheduleExpression: cron(0 23 L * ? *)
  PausedFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/health/
      Handler: app.handler
      Events:
        Nightly:
          Type: Schedule
          Properties:
            Schedule: rate(1 day)
            Enabled: false
"""
    template.write_text(TEMPLATE.read_text().replace("\nResources:\n", f"\nResources:{extra}", 1))
    scheduler = Scheduler(ScheduledRunner(LocalLambda(lambda fid, event: {}, template), template))

    with caplog.at_level(logging.INFO, logger="local.schedules"):
        scheduler.start()
        scheduler.stop()

    assert "not scheduling MonthEndFunction (ScheduleV2 cron(0 23 L * ? *))" in caplog.text
    assert "uses L, W or #" in caplog.text
    assert "not scheduling PausedFunction (Schedule rate(1 day)): the schedule is disabled" in caplog.text
    assert f"scheduled {RECONCILER} (ScheduleV2 rate(5 minutes)), every 300 s" in caplog.text


# ------------------------------------------------------------------------------------ events
def test_the_event_is_the_committed_one_with_this_runs_time_and_id() -> None:
    committed = json.loads((ROOT / "events" / f"{RECONCILER}.json").read_text())

    first = scheduled_event(RECONCILER, utc("2026-11-29T20:10:00+03:00"))
    second = scheduled_event(RECONCILER, utc("2026-11-29T17:15:00Z"))

    assert first["time"] == "2026-11-29T17:10:00Z"
    assert (first["source"], first["detail-type"]) == ("aws.scheduler", "Scheduled Event")
    assert {k: v for k, v in first.items() if k not in ("id", "time")} == {
        k: v for k, v in committed.items() if k not in ("id", "time")
    }
    assert first["id"] != second["id"]


def test_a_function_without_an_events_file_gets_awss_default_notification(tmp_path: Path) -> None:
    event = scheduled_event("NightlyFunction", utc("2026-11-29T17:00:00Z"), "Schedule", tmp_path)

    assert (event["source"], event["detail-type"], event["time"]) == (
        "aws.events",
        "Scheduled Event",
        "2026-11-29T17:00:00Z",
    )


@pytest.mark.parametrize("text", ["2026-11-29T17:00:00", "tomorrow", "2026-13-01T00:00:00Z", ""])
def test_a_time_without_an_offset_or_unreadable_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_time(text)


# ------------------------------------------------------------------------------------ the scheduler
class Recorder:
    """Stands in for the function: records each run's event, signals, and can fail or block."""

    def __init__(self, fail_first: int = 0) -> None:
        self.events: list[dict[str, Any]] = []
        self.fail_first = fail_first
        self.release = threading.Event()
        self.release.set()
        self.entered = threading.Event()
        self._changed = threading.Condition()

    def __call__(self, function_id: str, event: dict[str, Any]) -> dict[str, Any]:
        self.entered.set()
        self.release.wait(WAIT)
        with self._changed:
            self.events.append(event)
            self._changed.notify_all()
            if len(self.events) <= self.fail_first:
                raise RuntimeError(f"run {len(self.events)} failed")
        return {"checked": 0}

    def wait_for(self, runs: int) -> None:
        with self._changed:
            assert self._changed.wait_for(lambda: len(self.events) >= runs, WAIT), self.events


@pytest.fixture
def fast() -> Iterator[tuple[Recorder, ScheduledRunner, Scheduler]]:
    """The reconciler's schedule at a 20 ms rate, running the recorder."""
    recorder = Recorder(fail_first=2)
    runner = ScheduledRunner(LocalLambda(recorder))
    [real] = [s for s in runner.schedules if s.event.function == RECONCILER]
    runner.schedules = [ScheduledFunction(real.event, Rate(timedelta(milliseconds=20)))]
    scheduler = Scheduler(runner)
    yield recorder, runner, scheduler
    recorder.release.set()
    scheduler.stop()


def test_the_scheduler_runs_on_its_cadence_and_a_failing_run_is_one_log_line(
    fast: tuple[Recorder, ScheduledRunner, Scheduler], caplog: pytest.LogCaptureFixture
) -> None:
    recorder, _, scheduler = fast

    with caplog.at_level(logging.INFO, logger="local.schedules"):
        scheduler.start()
        recorder.wait_for(4)
        scheduler.stop()

    times = [parse_time(e["time"]) for e in recorder.events]
    assert times == sorted(times) and len(set(times)) == len(times)
    failures = [r for r in caplog.records if "failed" in r.getMessage()]
    assert len(failures) >= 2
    assert "RuntimeError: run 1 failed" in failures[0].getMessage()
    assert all(r.exc_info is None for r in caplog.records), "no traceback for a failed run"
    assert not [t for t in threading.enumerate() if t.name == f"schedule-{RECONCILER}"], "stop() stops it"


def test_runs_of_one_function_never_overlap(fast: tuple[Recorder, ScheduledRunner, Scheduler]) -> None:
    recorder, runner, scheduler = fast
    recorder.fail_first = 0
    recorder.release.clear()  # the first run blocks until released

    scheduler.start()
    assert recorder.entered.wait(WAIT)

    with pytest.raises(AlreadyRunning):
        runner.run(RECONCILER, wait_for_previous=False)
    recorder.release.set()
    recorder.wait_for(2)
    # A run on request waits for the one in progress instead of failing.
    assert runner.run(RECONCILER, utc("2026-11-29T17:10:00Z")) == {"checked": 0}
    assert "2026-11-29T17:10:00Z" in [e["time"] for e in recorder.events]


# ------------------------------------------------------------------------------------ POST /_local/run
def run(gw: RunningGateway, function_id: str, body: Any = None, raw: bytes | None = None) -> requests.Response:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    return requests.post(f"{gw.api}/_local/run/{function_id}", data=data, timeout=10)


def test_a_run_on_request_passes_its_time_and_answers_the_functions_result(gw: RunningGateway) -> None:
    gw.fake.handlers[RECONCILER] = lambda event: {"checked": 1, "fixed": 1, "unfinished": False}

    response = run(gw, RECONCILER, {"time": "2026-11-29T20:10:00+03:00"})

    assert response.status_code == 200, response.text
    assert response.json() == {"checked": 1, "fixed": 1, "unfinished": False}
    function, event = gw.fake.last
    assert function == RECONCILER
    assert event["time"] == "2026-11-29T17:10:00Z"
    assert event["source"] == "aws.scheduler"


def test_a_run_without_a_body_runs_as_of_now(gw: RunningGateway) -> None:
    before = datetime.now(UTC).replace(microsecond=0)

    assert run(gw, RECONCILER).status_code == 200
    assert run(gw, RECONCILER, {}).status_code == 200

    for _, event in gw.fake.calls:
        assert before <= parse_time(event["time"]) <= datetime.now(UTC)


@pytest.mark.parametrize("function_id", ["NoSuchFunction", "HealthFunction", "PaymentStatusFunction"])
def test_an_unknown_or_unscheduled_function_is_404(gw: RunningGateway, function_id: str) -> None:
    response = run(gw, function_id, {})

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert RECONCILER in response.json()["error"]["message"], "names what can be run"
    assert gw.fake.calls == []


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"not json", "malformed_json"),
        (b"[]", "bad_request"),
        (b'"2026-11-29T17:00:00Z"', "bad_request"),
        (b'{"time": "yesterday"}', "bad_request"),
        (b'{"time": "2026-11-29T17:00:00"}', "bad_request"),
        (b'{"time": 1764435600}', "bad_request"),
        (b'{"time": null}', "bad_request"),
        (b'{"when": "2026-11-29T17:00:00Z"}', "bad_request"),
    ],
)
def test_a_bad_body_or_time_is_400(gw: RunningGateway, raw: bytes, code: str) -> None:
    response = run(gw, RECONCILER, raw=raw)

    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]
    assert gw.fake.calls == []


def test_a_function_that_raises_is_500_in_the_envelope_without_a_traceback(
    gw: RunningGateway, caplog: pytest.LogCaptureFixture
) -> None:
    def boom(event: dict[str, Any]) -> Any:
        raise RuntimeError("All 3 checks failed")

    gw.fake.handlers[RECONCILER] = boom

    response = run(gw, RECONCILER, {"time": "2026-11-29T17:10:00Z"})

    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "function_error"
    assert "RuntimeError" in error["message"] and "All 3 checks failed" in error["message"]
    assert "Traceback" not in response.text
    assert all(r.exc_info is None for r in caplog.records)
    assert run(gw, RECONCILER, {}).status_code == 500, "a failed run leaves the function runnable"


# ------------------------------------------------------------------------------------ invoke --api
def invoke_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "local", "invoke", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_invoke_api_runs_a_scheduled_function_in_the_running_stack(gw: RunningGateway) -> None:
    gw.fake.handlers[RECONCILER] = lambda event: {"checked": 2, "fixed": 1}

    done = invoke_cli(RECONCILER, "--api", gw.api, "--time", "2026-11-29T17:10:00Z")

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"checked": 2, "fixed": 1}
    assert gw.fake.last[1]["time"] == "2026-11-29T17:10:00Z"


def test_invoke_api_refuses_what_it_cannot_run(gw: RunningGateway) -> None:
    unscheduled = invoke_cli("HealthFunction", "--api", gw.api)
    bad_time = invoke_cli(RECONCILER, "--api", gw.api, "--time", "soon")
    with_event = invoke_cli(RECONCILER, "--api", gw.api, "-e", f"events/{RECONCILER}.json")

    assert unscheduled.returncode == 2 and RECONCILER in unscheduled.stderr
    assert bad_time.returncode == 2 and "--time" in bad_time.stderr
    assert with_event.returncode == 2 and "--time" in with_event.stderr
    assert gw.fake.calls == []
