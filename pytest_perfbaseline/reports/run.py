"""The run report: everything a session measured and decided, built once at its end.

:class:`RunReport` is what every report is made from -- JSON (:mod:`.json_report`), CSV,
Markdown, the terminal summary -- and what decides the session's exit status.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from ..baseline.environment import Environment
from ..gate.ab import ABResult
from ..gate.compare import TestComparison
from ..metrics.result import TestResult

if TYPE_CHECKING:
    from .recommendation import Recommendation

__all__ = ["VERDICT_ORDER", "RunReport", "TestEntry"]

VERDICT_ORDER = ("regressed", "undecided", "improved", "inconclusive", "unchanged", "new")
"""Verdicts worst first, as summaries count them."""


@dataclass(frozen=True)
class TestEntry:
    """One perf test of the run."""

    __test__ = False

    nodeid: str
    outcome: str
    """pytest's outcome of the call phase: ``passed``, ``failed`` or ``skipped``."""
    result: TestResult
    comparison: TestComparison | None = None


@dataclass(frozen=True)
class RunReport:
    """A session's perf results and verdicts, with where and how they were obtained."""

    created_at: str
    environment: Environment
    profile: str
    compare: bool
    save: bool
    alpha: float
    confirm: bool
    fail_on_regression: bool
    perf_tests: int
    tests: tuple[TestEntry, ...]
    saved: tuple[str, ...] = ()
    save_errors: tuple[str, ...] = ()
    ab_tests: tuple[ABResult, ...] = ()
    """The A/B tests (``perf.ab``), by node id: decided within the test, never saved."""

    @cached_property
    def recommendations(self) -> tuple[Recommendation, ...]:
        """What the run's results alone recommend, most pressing first: worked out once, for
        the terminal summary, the JSON report and the run history alike."""
        from .recommendation import sort_recommendations
        from .single_run import run_recommendations

        return tuple(sort_recommendations(run_recommendations(self)))

    def counts(self) -> dict[str, int]:
        """Tests per verdict, in compare mode (a test is as bad as its worst gated metric)."""
        counts = dict.fromkeys(VERDICT_ORDER, 0)
        for entry in self.tests:
            if entry.comparison is not None:
                counts[entry.comparison.verdict] += 1
        return counts
