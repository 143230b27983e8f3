"""What one calibration session came to, read from its exit code and its ``--perf-json`` report.

Pure logic for ``gate_calibration.py``: no subprocesses, no clock. A session is

- **failed**: pytest exited 1 and the report has a test whose verdict is ``regressed`` (the
  gate failed it: a false alarm in an A/A cell, a detection in an A/B cell);
- **undecided**: not failed, and some test's verdict is ``undecided`` (a verdict newer gates
  give when more rounds could not settle it; reports without it simply never have one);
- **other**: failed, but not by the gate (a workload's own assertion, a crash), or wrote no
  report;
- **passed**: everything else. A regression the gate excused because the machine was busy is
  a pass, counted apart as *excused*.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OUTCOMES = ("failed", "undecided", "passed", "other")


@dataclass(frozen=True)
class Session:
    """One compare session: its outcome, the tests the gate failed, and what it measured."""

    outcome: str
    """One of :data:`OUTCOMES`."""
    failed_tests: tuple[str, ...] = ()
    """Node ids of the tests that failed with a ``regressed`` verdict."""
    excused: bool = False
    """A regression was seen but not failed: the machine was busy while re-measuring."""
    medians: Mapping[str, float] = field(default_factory=dict)
    """Each test's median ``round_s``, to put measured slowdowns beside the nominal ones."""
    verdicts: Mapping[str, int] = field(default_factory=dict)
    """How many tests got each verdict (``unchanged``, ``inconclusive``, ...)."""


def _tests(report: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    if not report:
        return []
    tests = report.get("tests")
    return [t for t in tests if isinstance(t, Mapping)] if isinstance(tests, list) else []


def _verdict(test: Mapping[str, Any]) -> str | None:
    comparison = test.get("comparison")
    if not isinstance(comparison, Mapping):
        return None
    verdict = comparison.get("verdict")
    return verdict if isinstance(verdict, str) else None


def _median_round_s(test: Mapping[str, Any]) -> float | None:
    metric = (test.get("metrics") or {}).get("round_s")
    summary = metric.get("summary") if isinstance(metric, Mapping) else None
    median = summary.get("median") if isinstance(summary, Mapping) else None
    return float(median) if isinstance(median, (int, float)) else None


def classify(exit_code: int, report: Mapping[str, Any] | None) -> Session:
    """The session's outcome from pytest's exit code and its JSON report (``None``: none)."""
    tests = _tests(report)
    regressed = [t for t in tests if _verdict(t) == "regressed"]
    failed_tests = tuple(
        str(t.get("nodeid")) for t in regressed if t.get("outcome", "failed") == "failed"
    )
    excused = any((t.get("comparison") or {}).get("excused") for t in tests)
    medians = {str(t.get("nodeid")): m for t in tests if (m := _median_round_s(t)) is not None}
    verdicts = Counter(v for t in tests if (v := _verdict(t)) is not None)
    if exit_code == 1 and failed_tests:
        outcome = "failed"
    elif report is not None and exit_code in (0, 1) and verdicts["undecided"]:
        # an undecided test fails the session under --perf-undecided=fail (the default)
        outcome = "undecided"
    elif report is None or exit_code not in (0, 1) or (exit_code == 1 and not regressed):
        outcome = "other"
    else:
        outcome = "passed"
    return Session(outcome, failed_tests, excused, medians, dict(verdicts))


def read_report(path: Path) -> dict[str, Any] | None:
    """A session's JSON report, or ``None`` when it wrote none (or half of one)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


@dataclass(frozen=True)
class Cell:
    """The sessions of one condition and one variant (A/A, a slowdown)."""

    sessions: tuple[Session, ...]

    def count(self, outcome: str) -> int:
        return sum(s.outcome == outcome for s in self.sessions)

    @property
    def excused(self) -> int:
        return sum(s.excused and s.outcome == "passed" for s in self.sessions)

    def verdicts(self) -> dict[str, int]:
        """Tests per verdict over all the cell's sessions."""
        total: Counter[str] = Counter()
        for s in self.sessions:
            total.update(s.verdicts)
        return dict(sorted(total.items()))

    def failed_tests(self) -> dict[str, int]:
        """How many sessions failed each test, most often failed first."""
        counts: dict[str, int] = {}
        for s in self.sessions:
            for nodeid in s.failed_tests:
                counts[nodeid] = counts.get(nodeid, 0) + 1
        return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))

    def summary(self) -> str:
        """``failed/total`` with the undecided, other and excused sessions when there are any."""
        text = f"{self.count('failed')}/{len(self.sessions)}"
        extra = [f"{self.count(k)} {k}" for k in ("undecided", "other") if self.count(k)]
        if self.excused:
            extra.append(f"{self.excused} excused")
        return text + (f" ({', '.join(extra)})" if extra else "")


def measured_slowdowns(
    baseline: Iterable[Mapping[str, float]], cell: Cell, tests: Sequence[str] | None = None
) -> list[float]:
    """Per test in ``tests`` (all: ``None``), sorted: its median round time's ratio.

    ``baseline`` holds the medians of the sessions that saved the baseline; a test's
    reference is the median of those, its current value the median over the cell's sessions.
    """
    reference = _pooled(baseline)
    current = _pooled(s.medians for s in cell.sessions)
    return sorted(
        value / reference[nodeid]
        for nodeid, value in current.items()
        if (tests is None or nodeid in tests) and reference.get(nodeid)
    )


def describe_slowdowns(ratios: Sequence[float]) -> str:
    """``1.52x`` for one test, ``1.52x (1.31x-2.04x)``: the median and the range, or ``-``."""
    if not ratios:
        return "-"
    median = f"{statistics.median(ratios):.2f}x"
    if len(ratios) == 1:
        return median
    return f"{median} ({ratios[0]:.2f}x-{ratios[-1]:.2f}x)"


def _pooled(medians: Iterable[Mapping[str, float]]) -> dict[str, float]:
    values: dict[str, list[float]] = {}
    for per_test in medians:
        for nodeid, value in per_test.items():
            values.setdefault(nodeid, []).append(value)
    return {nodeid: statistics.median(v) for nodeid, v in values.items()}
