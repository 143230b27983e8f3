"""How benchmarks/gate_calibration.py counts a session: exit code plus ``--perf-json`` verdicts.

The benchmark itself runs real sessions on a real clock; this checks only its bookkeeping, on
hand-made reports.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture(scope="module")
def outcomes() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "calibration_outcomes", BENCHMARKS / "calibration_outcomes.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while building
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


def entry(
    nodeid: str, verdict: str | None, outcome: str = "passed", **extra: Any
) -> dict[str, Any]:
    comparison = None if verdict is None else {"verdict": verdict, "excused": [], **extra}
    return {"nodeid": nodeid, "outcome": outcome, "comparison": comparison, "metrics": {}}


def report(*tests: dict[str, Any]) -> dict[str, Any]:
    return {"tests": list(tests)}


def test_a_regressed_failed_test_fails_the_session(outcomes: ModuleType) -> None:
    data = report(entry("t.py::a", "unchanged"), entry("t.py::b", "regressed", "failed"))
    session = outcomes.classify(1, data)
    assert session.outcome == "failed"
    assert session.failed_tests == ("t.py::b",)


def test_a_failure_without_a_regression_is_another_failure(outcomes: ModuleType) -> None:
    # the workload's own assertion failed: neither a false alarm nor a detection
    assert outcomes.classify(1, report(entry("t.py::a", "unchanged", "failed"))).outcome == "other"
    assert outcomes.classify(2, report(entry("t.py::a", "unchanged"))).outcome == "other"
    assert outcomes.classify(0, None).outcome == "other"  # no report written


def test_undecided_counts_apart_and_its_absence_is_fine(outcomes: ModuleType) -> None:
    undecided = report(entry("t.py::a", "unchanged"), entry("t.py::b", "undecided"))
    assert outcomes.classify(0, undecided).outcome == "undecided"
    # under --perf-undecided=fail (the default) the session exits 1, and it is still undecided
    assert outcomes.classify(1, undecided).outcome == "undecided"
    assert outcomes.classify(1, undecided).verdicts == {"unchanged": 1, "undecided": 1}
    today = report(entry("t.py::a", "inconclusive"), entry("t.py::b", None))
    assert outcomes.classify(0, today).outcome == "passed"


def test_an_excused_regression_passes_and_is_counted(outcomes: ModuleType) -> None:
    data = report(entry("t.py::a", "regressed", "passed", excused=["round_s"]))
    session = outcomes.classify(0, data)
    assert (session.outcome, session.excused, session.failed_tests) == ("passed", True, ())
    cell = outcomes.Cell((session, outcomes.classify(0, report(entry("t.py::a", "unchanged")))))
    assert cell.summary() == "0/2 (1 excused)"


def test_a_cell_counts_failed_tests_and_outcomes(outcomes: ModuleType) -> None:
    failed = report(
        entry("t.py::a", "regressed", "failed"), entry("t.py::b", "regressed", "failed")
    )
    sessions = (
        outcomes.classify(1, failed),
        outcomes.classify(1, report(entry("t.py::b", "regressed", "failed"))),
        outcomes.classify(0, report(entry("t.py::b", "undecided"))),
        outcomes.classify(1, report(entry("t.py::b", "unchanged", "failed"))),
    )
    cell = outcomes.Cell(sessions)
    assert cell.failed_tests() == {"t.py::b": 2, "t.py::a": 1}
    assert cell.summary() == "2/4 (1 undecided, 1 other)"


def test_measured_slowdowns_compare_medians_per_test(outcomes: ModuleType) -> None:
    def timed(median: float, nodeid: str = "t.py::a") -> Any:
        data = report(entry(nodeid, "unchanged"))
        data["tests"][0]["metrics"] = {"round_s": {"summary": {"median": median}}}
        return outcomes.classify(0, data)

    baseline = [{"t.py::a": 1.0, "t.py::b": 2.0}, {"t.py::a": 3.0}]  # a's reference: 2.0
    cell = outcomes.Cell((timed(3.0), timed(5.0), timed(2.0, "t.py::b")))
    ratios = outcomes.measured_slowdowns(baseline, cell)
    assert ratios == [1.0, 2.0]
    assert outcomes.measured_slowdowns(baseline, cell, ["t.py::a"]) == [2.0]
    assert outcomes.describe_slowdowns(ratios) == "1.50x (1.00x-2.00x)"
    assert outcomes.describe_slowdowns([]) == "-"
