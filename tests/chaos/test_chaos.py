"""`make chaos`, CI-sized: a fixed seed, tens of checkouts, the whole bad day (faults, double-clicks, price
changes, refunds by several admins, completions, renewals with declines and races, reconciliation)
against its own `python -m local dev`, over HTTP, run once for this module. Each invariant is its own test,
so a violation names itself; the stack is stopped whatever happens."""

import json
from pathlib import Path
from typing import Any

import pytest

from chaos.invariants import INVARIANTS
from chaos.run import Options, run_chaos

pytestmark = pytest.mark.e2e

# Seed 77 with 30 checkouts: every order and subscription outcome of chaos/plan.py, four renewal courses
# and both renewal races, and three orders completed after a partial refund (tests/chaos/test_invariants.py).
CI_SEED = 77
CI_PAYMENTS = 30

# An invariant the service is known to break in this run, with the reason: its test is xfail(strict=True),
# so it fails again the moment the service is fixed (then delete the entry).
KNOWN_VIOLATIONS: dict[str, str] = {}


@pytest.fixture(scope="module")
def chaos_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    output: Path = tmp_path_factory.mktemp("chaos") / "chaos.json"
    run_chaos(Options(seed=CI_SEED, payments=CI_PAYMENTS, workers=6, output=output, quiet=True))
    results: dict[str, Any] = json.loads(output.read_text())
    return results


def test_the_run_proves_something_and_cleans_up(chaos_results: dict[str, Any]) -> None:
    results = chaos_results
    assert results["seed"] == CI_SEED and results["parameters"]["payments"] == CI_PAYMENTS
    assert set(results["violations"]["byInvariant"]) == set(INVARIANTS)
    assert results["stackExitCode"] == 0, "the stack must stop cleanly on SIGTERM"
    checked = results["checked"]
    assert checked["comparedWithYooKassa"] >= CI_PAYMENTS
    assert checked["yookassaRefunds"] > 0 and checked["periodsGranted"] > 0 and checked["receipts"] > 0
    assert sum(kind["consumed"] for kind in results["faults"]["byKind"].values()) >= 10
    assert any(
        run["function"] == "RenewalFunction" and run["result"].get("charged") for run in results["schedule"]
    )


@pytest.mark.parametrize(
    "invariant",
    [
        pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=KNOWN_VIOLATIONS[name]))
        if name in KNOWN_VIOLATIONS
        else name
        for name in INVARIANTS
    ],
)
def test_the_invariant_holds(chaos_results: dict[str, Any], invariant: str) -> None:
    details = [v for v in chaos_results["violations"]["details"] if v["invariant"] == invariant]
    lines = "\n".join(f"{v['subject']}: {v['detail']}" for v in details[:20])
    assert not details, f"seed {CI_SEED}, {len(details)} violation(s) of {invariant}:\n{lines}"
