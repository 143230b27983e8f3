"""The judge: one test's verdict against its reference, shared by the plugin and the CLI.

It holds the session's policy -- how the false-alarm budget is shared among tests, when a
baseline is stale, how its origin is described -- so that ``pytest --perf-compare`` and
``perfbaseline compare A.json B.json`` decide and explain alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

from ..baseline.environment import Environment, describe_origin
from ..metrics.result import TestResult
from .compare import BaselineSamples, Provenance, TestComparison, compare_test
from .messages import PYTEST_ACCEPT, failure_message
from .settings import TestSettings

__all__ = ["Judge", "Reference"]


@dataclass(frozen=True)
class Reference:
    """What a test is compared with: an earlier result and where and when it was measured."""

    result: TestResult
    environment: Environment
    profile: str
    source: str | None = None
    """Where it was read from, when messages should say (a report file)."""
    drift: Mapping[str, float] = field(default_factory=dict)
    """Metric key -> between-session drift allowance (a ratio > 1) of a baseline that pools
    several saving sessions; absent: none."""
    sessions: int = 1
    """How many saving sessions the reference pools."""


@dataclass(frozen=True)
class Judge:
    """Compares tests with their references under one session's policy.

    ``alpha`` is the session's false-alarm budget, shared evenly by ``perf_tests`` tests
    unless a test sets its own; ``max_age_s`` (None: never) makes older references stale;
    ``here`` is the environment of the current measurement, called ``here_name`` where a
    reference's machine differs; ages are taken at ``now`` (None: the clock's now);
    ``accept`` is how the user accepts a new performance level.
    """

    alpha: float
    perf_tests: int
    max_age_s: float | None
    here: Environment
    here_name: str = "this machine"
    now: datetime | None = None
    accept: str = PYTEST_ACCEPT
    _last: list[BaselineSamples] = field(
        default_factory=list, init=False, repr=False, compare=False
    )
    """The baseline samples of the last test judged: its next look compares the same ones."""
    _origins: dict[tuple[Environment, str, str | None], tuple[datetime | None, str]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    """When and where each reference's environment was saved, as :meth:`provenance` tells it:
    the tests of a baseline file share a handful of environments, parsed and described once."""

    def test_alpha(self, settings: TestSettings) -> float:
        """A test's share of the session's false-alarm budget."""
        if settings.alpha is not None:
            return settings.alpha
        return self.alpha / max(1, self.perf_tests)

    def provenance(self, reference: Reference) -> Provenance:
        """When and where ``reference`` was measured, as messages tell it."""
        env = reference.environment
        key = (env, reference.profile, reference.source)
        found = self._origins.get(key)
        if found is None:
            origin = describe_origin(env, reference.profile, self.here, self.here_name)
            if reference.source is not None:
                origin += f"; {reference.source}"
            if len(self._origins) >= 256:  # a CLI comparing many files: keep it bounded
                self._origins.clear()
            found = self._origins[key] = (env.saved_at_datetime, origin)
        when, origin = found
        # as baseline.environment.age_seconds takes it, from the date parsed once
        age = (
            None
            if when is None
            else ((self.now or datetime.now(timezone.utc)) - when).total_seconds()
        )
        return Provenance(
            saved_at=env.saved_at,
            origin=origin,
            age_s=age,
            stale=age is not None and self.max_age_s is not None and age > self.max_age_s,
        )

    def judge(
        self, reference: Reference | None, current: TestResult, settings: TestSettings
    ) -> TestComparison:
        """Every metric of ``current`` against ``reference`` (None: the test is new)."""
        prepared = None
        if reference is not None:
            if not self._last or self._last[0].result is not reference.result:
                self._last[:] = [BaselineSamples(reference.result)]
            prepared = self._last[0]
        comparison = compare_test(
            reference.result if reference is not None else None,
            current,
            settings,
            self.test_alpha(settings),
            provenance=self.provenance(reference) if reference is not None else None,
            drift=reference.drift if reference is not None else None,
            prepared=prepared,
        )
        if reference is None or reference.sessions == 1:
            return comparison
        return replace(comparison, baseline_sessions=reference.sessions)

    def failure_message(self, comparison: TestComparison) -> str:
        """What a regressed test fails with, ending with how to accept the change."""
        return failure_message(comparison, self.accept)
