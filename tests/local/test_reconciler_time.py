"""The reconciler's notion of now is its event's ``time``: what lets ``POST /_local/run`` (and a
delayed or retried run on AWS) judge payments' ages as of the run it stands for."""

import sys
from datetime import UTC, datetime
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from local import lambda_runtime
from local.template import functions

RECONCILER = "ReconcilerFunction"
SEVENTEEN_TEN = datetime(2026, 11, 29, 17, 10, tzinfo=UTC)


@pytest.fixture(scope="module")
def app() -> ModuleType:
    lambda_runtime.load_handler(functions()[RECONCILER])
    return sys.modules[f"lambda_{RECONCILER}"]


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ({"time": "2026-11-29T17:10:00Z"}, SEVENTEEN_TEN),
        ({"time": "2026-11-29T20:10:00+03:00"}, SEVENTEEN_TEN),
        ({"time": "2026-11-29T17:10:00"}, SEVENTEEN_TEN),
        ({"scheduledTime": "2026-11-29T17:10:00Z"}, SEVENTEEN_TEN),
        (
            {"time": "2026-11-29T17:10:00Z", "scheduledTime": "2026-01-01T00:00:00Z"},
            SEVENTEEN_TEN,
        ),
        (
            {"time": "not a time", "scheduledTime": "2026-11-29T17:10:00Z"},
            SEVENTEEN_TEN,
        ),
    ],
)
def test_now_is_the_events_time(app: ModuleType, event: dict[str, Any], expected: datetime) -> None:
    assert app.event_time(event) == expected


@pytest.mark.parametrize("event", [{}, {"time": "soon"}, {"time": 1764436200}, {"detail": "{}"}])
def test_without_a_readable_time_now_is_the_clock(app: ModuleType, event: dict[str, Any]) -> None:
    before = datetime.now(UTC)

    now = app.event_time(event)

    assert before <= now <= datetime.now(UTC)


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_the_handler_reconciles_as_of_the_events_time(app: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, datetime] = {}

    def reconcile(store: Any, yookassa: Any, settings: Any, now: datetime, remaining: Any) -> Any:
        seen["now"] = now
        return SimpleNamespace(all_failed=False, as_dict=lambda: {"checked": 0})

    monkeypatch.setattr(app, "reconcile", reconcile)
    monkeypatch.setattr(app, "runtime", SimpleNamespace(store=object, yookassa=object, settings=object))

    result = lambda_runtime.invoke(RECONCILER, {"time": "2026-11-29T17:10:00Z", "source": "aws.scheduler"})

    assert result == {"checked": 0}
    assert seen["now"] == SEVENTEEN_TEN
