"""The plugin object that measures, on every process (each pytest-xdist worker included).

It makes each test's ``perf``, and in the test's call phase judges the result against the
stored baseline -- re-measuring a suspected regression first -- and fails the test that
regressed. What it measured and decided leaves the process attached to the call-phase report,
as plain builtins, for the controller's :class:`~.reporting.PerfReporter`.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, TypeVar

import pytest

from ..gate.settings import SettingError, TestSettings, parse_marker
from .context import PerfBaselineWarning, SessionContext

if TYPE_CHECKING:
    from ..gate.compare import TestComparison
    from ..gate.judge import Judge, Reference
    from ..measure.perf import Perf
    from ..metrics.result import TestResult

__all__ = ["COMPARISON_ATTR", "LEVEL_ATTR", "RESULT_ATTR", "PerfMeasurer"]

_T = TypeVar("_T")

PERF_KEY = pytest.StashKey["Perf"]()
SETTINGS_KEY = pytest.StashKey[TestSettings]()
RESULT_KEY = pytest.StashKey["TestResult"]()
COMPARISON_KEY = pytest.StashKey["TestComparison"]()

# Attributes on the call-phase report: plain builtins, so they survive xdist's serialisation
# and reach the controller, which alone writes baselines and reports.
RESULT_ATTR = "perfbaseline"
COMPARISON_ATTR = "perfbaseline_comparison"
LEVEL_ATTR = "perfbaseline_level_thresholds"
"""The test's gated time and rate metrics and their thresholds: a save starts the test's
history afresh when one of them moved by more (markers are only read where the test runs)."""


class PerfMeasurer:
    """Makes each test's ``perf`` and judges what it measured; registered on every process."""

    def __init__(self, context: SessionContext) -> None:
        self.context = context
        self.options = context.options
        self._judge: Judge | None = None

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        # How fast the machine is, before any test loads it: the reference for telling a
        # busy machine from slowed code (see gate/machine.py). Only where it can matter: a
        # confirmation re-measure, and a save, which records it for later compares.
        options = self.options
        checks = options.save or (options.compare and options.confirm)
        if checks and options.settle_s > 0 and not options.disabled:
            from ..gate.machine import MachineWatch

            self.context.machine = MachineWatch()
            self.context.machine.calibrate()

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        # The session's false-alarm budget is shared by the perf tests that will run, so the
        # call phase of the first one already knows its share.
        self.context.perf_tests = sum(
            1 for item in session.items if "perf" in getattr(item, "fixturenames", ())
        )

    # -- the fixture's object ------------------------------------------------------------------

    def test_settings(self, item: pytest.Item) -> TestSettings:
        settings = self.options.base
        # Farthest marker first (module, class), the test's own last: the closest wins.
        for mark in reversed(list(item.iter_markers("perf"))):
            try:
                settings = parse_marker(mark.kwargs, mark.args, settings)
            except SettingError as exc:
                pytest.fail(f"{item.nodeid}: @pytest.mark.perf: {exc}", pytrace=False)
        return settings

    def create_perf(self, item: pytest.Item, clock: Callable[[], int]) -> Perf:
        from ..measure.perf import Perf

        settings = self.test_settings(item)
        perf = Perf(
            rounds=settings.rounds,
            warmup=settings.warmup,
            clock=clock,
            cost_of=self.context.cost_of,
            on_unpriced=self.context.warn_unpriced,
            on_no_usage=self.context.warn_no_usage,
            on_warning=self.context.warn,
            warn_cold_start=True,
            disabled=self.options.disabled,
        )
        item.stash[PERF_KEY] = perf
        item.stash[SETTINGS_KEY] = settings
        return perf

    # -- the call phase ------------------------------------------------------------------------

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, None, None]:
        outcome = yield  # a failing test raises here, and its rounds are not kept
        perf = item.stash.get(PERF_KEY, None)
        if perf is None or self.options.disabled or not perf.measured:
            return outcome
        from ..reports.junit import junit_properties

        result = perf.finish(item.nodeid)
        comparison = None
        if self.options.compare:
            result, comparison = self._judge_test(item, perf, result)
            item.stash[COMPARISON_KEY] = comparison
        item.stash[RESULT_KEY] = result
        item.user_properties.extend(junit_properties(result, comparison))
        if comparison is not None and comparison.regressed and self.options.fail:
            from ..gate.messages import failure_message

            pytest.fail(failure_message(comparison), pytrace=False)
        return outcome

    def _judge_test(
        self, item: pytest.Item, perf: Perf, result: TestResult
    ) -> tuple[TestResult, TestComparison]:
        """The test's comparison, confirmed by a re-measure when a regression is suspected."""
        from ..events import emit

        reference = self._reference(item)
        comparison = self._compare(item, reference, result)
        if comparison.suspected and self.options.confirm:
            result, comparison = self._remeasure(item, perf, reference, comparison)
        regressed = [c.metric for c in comparison.regressed]
        emit(
            "verdict",
            item.nodeid,
            f"{item.nodeid}: {comparison.verdict}"
            + (f" ({', '.join(regressed)})" if regressed else ""),
            level=logging.WARNING if regressed else logging.INFO,
            verdict=comparison.verdict,
            regressed_metrics=regressed,
        )
        return result, comparison

    def _reference(self, item: pytest.Item) -> Reference | None:
        """The test's stored baseline; None when it has none or its file cannot be read."""
        from ..baseline.store import BaselineError
        from ..events import emit
        from ..gate.judge import Reference

        try:
            entry = self.context.store.load(item.nodeid)
        except BaselineError as exc:
            problem: BaselineError | None = exc
        else:
            problem = None
        if problem is not None:  # outside the except: the failure shows no chained traceback
            emit("baseline not loaded", str(problem.path), str(problem), level=logging.WARNING)
            if self.options.fail:
                pytest.fail(f"{item.nodeid}: cannot compare: {problem}", pytrace=False)
            warnings.warn(PerfBaselineWarning(f"cannot compare: {problem}"), stacklevel=1)
            return None
        if entry is None:
            return None
        return Reference(
            entry.result,
            entry.environment,
            entry.profile,
            drift=entry.drift,
            sessions=entry.sessions,
        )

    def _compare(
        self, item: pytest.Item, reference: Reference | None, result: TestResult
    ) -> TestComparison:
        from ..events import emit

        if self._judge is None:
            self._judge = self.context.judge()
        started = time.perf_counter()
        comparison = self._judge.judge(reference, result, item.stash[SETTINGS_KEY])
        emit(
            "compared",
            item.nodeid,
            f"compared {item.nodeid} with its baseline in profile {self.context.profile}: "
            f"{comparison.verdict}",
            duration_s=time.perf_counter() - started,
            verdict=comparison.verdict,
            profile=self.context.profile,
            metrics_compared=len(comparison.comparisons),
        )
        return comparison

    def _machine_reference(self, reference: Reference | None) -> float | None:
        """The probe saved with this test's baseline, if it was timed on a machine like this."""
        if reference is None or not reference.environment.same_machine_kind(
            self.context.environment
        ):
            return None
        return reference.environment.machine_probe_s

    def _remeasure(
        self, item: pytest.Item, perf: Perf, reference: Reference | None, first: TestComparison
    ) -> tuple[TestResult, TestComparison]:
        """Run the test again, as pytest-rerunfailures would, and judge the fresh rounds alone.

        That bounds the false-alarm rate by the fresh test's level, however lax the suspicion
        was. A busy machine first gets time to quieten.
        """
        from ..events import emit
        from ..gate.confirm import confirm

        started = time.perf_counter()
        machine = self.context.machine
        slowdown, waited = None, None
        probe = self._machine_reference(reference)
        if machine is not None:
            settling = machine.settle(self.options.settle_s, probe)
            waited, slowdown = settling.waited_s, settling.slowdown
        perf.reset()
        item.runtest()
        result = perf.finish(item.nodeid)
        if machine is not None and slowdown is not None:
            # a burst can also begin during the re-measure: look again afterwards
            slowdown = max(slowdown, machine.slowdown(probe))
        comparison = confirm(
            first,
            self._compare(item, reference, result),
            machine_slowdown=slowdown,
            settle_waited_s=waited,
        )
        emit(
            "re-measured",
            item.nodeid,
            f"re-measured {item.nodeid} to check a suspected regression of "
            f"{', '.join(comparison.suspected)}: {comparison.confirmation}",
            duration_s=time.perf_counter() - started,
            suspected=list(comparison.suspected),
            confirmation=comparison.confirmation,
            settle_waited_s=waited,
            machine_slowdown=slowdown,
            excused=list(comparison.excused),
        )
        return result, comparison

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        if call.when == "call":
            result = item.stash.get(RESULT_KEY, None)
            if result is not None:
                setattr(report, RESULT_ATTR, result.to_dict())
                settings = item.stash.get(SETTINGS_KEY, None)
                if settings is not None:
                    setattr(report, LEVEL_ATTR, _level_thresholds(settings, result))
            comparison = item.stash.get(COMPARISON_KEY, None)
            if comparison is not None:
                setattr(report, COMPARISON_ATTR, comparison.to_dict())
        if call.when != "setup":
            # The report now carries all that leaves the test. pytest keeps every item until
            # the session ends, and the Perf holds each round's chunks: let them go now.
            _release(item)
        return report


def _level_thresholds(settings: TestSettings, result: TestResult) -> dict[str, float]:
    return {
        name: settings.threshold.for_metric(name, info.kind)
        for name, info in result.infos.items()
        if info.kind in ("time", "rate") and settings.gates(name, custom=False)
    }


def _release(item: pytest.Item) -> None:
    """Drop what a test's measuring left in its stash (its Perf, result and comparison)."""
    _drop(item.stash, PERF_KEY)
    _drop(item.stash, SETTINGS_KEY)
    _drop(item.stash, RESULT_KEY)
    _drop(item.stash, COMPARISON_KEY)


def _drop(stash: pytest.Stash, key: pytest.StashKey[_T]) -> None:
    if key in stash:
        del stash[key]
