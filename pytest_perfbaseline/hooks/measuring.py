"""The plugin object that measures, on every process (each pytest-xdist worker included).

It makes each test's ``perf``, and in the test's call phase judges the result against the
stored baseline -- re-measuring a suspected regression first -- and fails the test that
regressed. What it measured and decided rides on the call-phase report to the controller's
:class:`~.reporting.PerfReporter`: as the objects themselves within one process, as plain
builtins (``to_dict``) only where the report leaves it (a pytest-xdist worker's reports, or
any plugin that serialises reports).
"""

from __future__ import annotations

import functools
import logging
import time
import warnings
from collections.abc import Callable, Generator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from ..gate.settings import SettingError, TestSettings, parse_marker
from .context import PerfBaselineWarning, SessionContext

if TYPE_CHECKING:
    from ..gate.ab import ABResult
    from ..gate.compare import Recheck, TestComparison
    from ..gate.confirm import MachineState
    from ..gate.judge import Judge, Reference
    from ..gate.sequential import Budget
    from ..measure.perf import Perf
    from ..metrics.result import TestResult

__all__ = ["AB_ATTR", "COMPARISON_ATTR", "LEVEL_ATTR", "RESULT_ATTR", "PerfMeasurer"]

_T = TypeVar("_T")

PERF_KEY = pytest.StashKey["Perf"]()
SETTINGS_KEY = pytest.StashKey[TestSettings]()
RESULT_KEY = pytest.StashKey["TestResult"]()
COMPARISON_KEY = pytest.StashKey["TestComparison"]()
AB_KEY = pytest.StashKey["ABResult"]()
MAX_ATTEMPTS = 2
"""Re-measures of a suspected regression: a second one, after waiting again, when the first
was made on a machine busy enough to explain it."""

# Attributes on the call-phase report, for the controller, which alone writes baselines and
# reports: a TestResult and a TestComparison in the process, their to_dict() when serialised.
RESULT_ATTR = "perfbaseline"
COMPARISON_ATTR = "perfbaseline_comparison"
AB_ATTR = "perfbaseline_ab"
"""An A/B test's ABResult (``perf.ab``): in the process, or its to_dict() when serialised."""
LEVEL_ATTR = "perfbaseline_level_thresholds"
"""The test's gated time and rate metrics and their thresholds: a save starts the test's
history afresh when one of them moved by more (markers are only read where the test runs)."""


@dataclass(frozen=True)
class _Trial:
    """A test being decided: its item, its ``perf``, its baseline and its measuring budget."""

    item: pytest.Item
    perf: Perf
    reference: Reference
    budget: Budget


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

            self.context.machine = MachineWatch(budget_s=options.settle_total_s)
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
            if not (mark.kwargs or mark.args):  # the bare marker every perf test is given
                continue
            try:
                settings = parse_marker(mark.kwargs, mark.args, settings)
            except SettingError as exc:
                pytest.fail(f"{item.nodeid}: @pytest.mark.perf: {exc}", pytrace=False)
        return settings

    def create_perf(self, item: pytest.Item, clock: Callable[[], int]) -> Perf:
        from ..measure.perf import Perf

        settings = self.test_settings(item)
        on_record = self.context.on_record
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
            min_round_s=settings.min_round_s,
            ab_judge=self._ab_judge(settings),
            on_round=self.context.on_round,
            on_record=None if on_record is None else functools.partial(on_record, item.nodeid),
        )
        item.stash[PERF_KEY] = perf
        item.stash[SETTINGS_KEY] = settings
        return perf

    def _ab_judge(self, settings: TestSettings) -> Callable[..., ABResult]:
        """Decides the test's ``perf.ab`` with its threshold, gate and share of the budget."""
        alpha = (
            settings.alpha
            if settings.alpha is not None
            else self.options.alpha / max(1, self.context.perf_tests)
        )

        def judge(a: TestResult, b: TestResult, labels: tuple[str, str], fail: bool) -> ABResult:
            from ..gate.ab import judge_ab

            return judge_ab(a, b, labels=labels, settings=settings, test_alpha=alpha, fail=fail)

        return judge

    def _ab_outcome(self, item: pytest.Item, result: ABResult) -> None:
        """Keep an A/B test's result for the reports, and fail the test if b regressed."""
        from ..gate.ab import ab_failure_message, with_nodeid
        from ..reports.ab import ab_junit_properties

        result = with_nodeid(result, item.nodeid)
        item.stash[AB_KEY] = result
        item.user_properties.extend(ab_junit_properties(result))
        if result.regressed and result.fail and self.options.fail:
            pytest.fail(ab_failure_message(result), pytrace=False)

    # -- the call phase ------------------------------------------------------------------------

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, None, None]:
        started = time.perf_counter()
        outcome = yield  # a failing test raises here, and its rounds are not kept
        call_s = time.perf_counter() - started
        perf = item.stash.get(PERF_KEY, None)
        if perf is not None and perf.ab_result is not None and not self.options.disabled:
            # an A/B test decides itself: nothing saved, nothing compared with a baseline
            self._ab_outcome(item, perf.ab_result)
            return outcome
        if perf is None or self.options.disabled or not perf.measured:
            return outcome
        from ..reports.junit import junit_properties

        result = perf.finish(item.nodeid)
        comparison = None
        if self.options.compare:
            result, comparison = self._judge_test(item, perf, result, call_s)
            item.stash[COMPARISON_KEY] = comparison
        item.stash[RESULT_KEY] = result
        item.user_properties.extend(junit_properties(result, comparison))
        if comparison is not None and self._fails(comparison):
            from ..gate.messages import failure_message

            pytest.fail(failure_message(comparison), pytrace=False)
        return outcome

    def _fails(self, comparison: TestComparison) -> bool:
        """Whether the verdict fails the test, under ``--perf-fail`` and ``--perf-undecided``."""
        if not self.options.fail:
            return False
        return bool(comparison.regressed) or (
            bool(comparison.undecided) and self.options.fail_undecided
        )

    def _judge_test(
        self, item: pytest.Item, perf: Perf, result: TestResult, call_s: float
    ) -> tuple[TestResult, TestComparison]:
        """The test's comparison: more rounds while inconclusive, a re-measure if suspected.

        ``call_s``: how long the test's call took, which its first measurement spent.
        """
        from ..events import emit, enabled
        from ..gate.sequential import Budget

        reference = self._reference(item)
        settings = item.stash[SETTINGS_KEY]
        budget = Budget(settings)
        budget.spend(len(result.rounds), call_s)
        comparison = self._compare(item, reference, result)
        if self.options.confirm and reference is not None:
            trial = _Trial(item, perf, reference, budget)
            result, comparison = self._decide(trial, result, comparison)
        regressed = [c.metric for c in (*comparison.regressed, *comparison.undecided)]
        if enabled(logging.WARNING if regressed else logging.INFO):
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

    def _decide(
        self, trial: _Trial, result: TestResult, first: TestComparison
    ) -> tuple[TestResult, TestComparison]:
        """Grow an inconclusive measurement, then re-measure a suspected regression afresh."""
        from dataclasses import replace

        result, comparison, recheck = self._grow(trial, result, first)
        self.context.neighbours.add(comparison)
        if comparison.suspected:
            return self._remeasure(trial, comparison, recheck)
        if recheck.looks > 1 or recheck.budget:
            comparison = replace(comparison, recheck=recheck)
        return result, comparison

    def _grow(
        self, trial: _Trial, result: TestResult, comparison: TestComparison
    ) -> tuple[TestResult, TestComparison, Recheck]:
        """More rounds of the same measurement while gated metrics are inconclusive.

        A suspected metric grows too, until it regresses at its level: the more rounds showed
        it, the more the fresh re-measure gets. These looks only choose what to re-measure
        (see gate/sequential.py): a test fails only on a fresh re-measure, so looking again
        does not raise the false-alarm rate.
        """
        from ..gate.compare import Recheck

        if result.implicit:  # a test body timed without perf(fn): one round a run, no more
            return result, comparison, Recheck()
        looks, extra = 1, 0
        while not comparison.regressed:
            more = trial.budget.extension(comparison, looks)
            if more <= 0:
                break
            trial.perf.more_rounds(more)
            result = self._rerun(trial, kept=len(result.rounds))
            looks, extra = looks + 1, extra + more
            comparison = self._compare(trial.item, trial.reference, result)
        recheck = Recheck(
            extra_rounds=extra, looks=looks, budget=trial.budget.why_stopped(comparison, looks)
        )
        return result, comparison, recheck

    def _rerun(self, trial: _Trial, kept: int) -> TestResult:
        """Run the test body again (as pytest-rerunfailures would); what ``perf`` has now.

        ``kept``: the rounds ``perf`` kept from before, which this run does not spend.
        """
        started = time.perf_counter()
        trial.item.runtest()
        result = trial.perf.finish(trial.item.nodeid)
        trial.budget.spend(max(0, len(result.rounds) - kept), time.perf_counter() - started)
        return result

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
        from ..events import emit, enabled

        if self._judge is None:
            self._judge = self.context.judge()
        started = time.perf_counter()
        comparison = self._judge.judge(reference, result, item.stash[SETTINGS_KEY])
        if enabled():
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
        self, trial: _Trial, first: TestComparison, recheck: Recheck
    ) -> tuple[TestResult, TestComparison]:
        """Re-measure a suspected regression afresh, and judge the fresh rounds alone.

        That bounds the false-alarm rate by the fresh test's level, however lax the suspicion
        was. A busy machine first gets time to quieten; a regression that a busy machine could
        explain is re-measured once more before it is called undecided (gate/confirm.py).
        """
        from ..events import emit
        from ..gate.confirm import confirm
        from ..gate.sequential import confirm_rounds

        item = trial.item
        started = time.perf_counter()
        rounds = confirm_rounds(first, item.stash[SETTINGS_KEY], trial.budget)
        recheck = replace(recheck, confirm_rounds=rounds)
        while True:
            recheck = replace(recheck, attempts=recheck.attempts + 1)
            result, state = self._fresh_rounds(trial, rounds)
            fresh = self._compare(item, trial.reference, result)
            comparison = confirm(first, fresh, state, recheck)
            assert comparison.recheck is not None
            recheck = comparison.recheck
            if not self._try_again(comparison, trial.budget, rounds):
                break
        emit(
            "re-measured",
            item.nodeid,
            f"re-measured {item.nodeid} to check a suspected regression of "
            f"{', '.join(comparison.suspected)}: {recheck.confirmation}",
            duration_s=time.perf_counter() - started,
            suspected=list(comparison.suspected),
            confirmation=recheck.confirmation,
            attempts=recheck.attempts,
            settle_waited_s=recheck.waited_s,
            machine_slowdown=recheck.machine_slowdown,
            undecided=[c.metric for c in comparison.undecided],
        )
        return result, comparison

    def _try_again(self, comparison: TestComparison, budget: Budget, rounds: int) -> bool:
        """Whether an undecided re-measure gets another attempt after more waiting."""
        machine = self.context.machine
        recheck = comparison.recheck
        return (
            recheck is not None
            and recheck.confirmation == "undecided"
            and recheck.attempts < MAX_ATTEMPTS
            and machine is not None
            and machine.stopped_waiting is None
            and budget.affordable() >= rounds
        )

    def _fresh_rounds(self, trial: _Trial, rounds: int) -> tuple[TestResult, MachineState]:
        """Wait for a busy machine, measure ``rounds`` fresh rounds, and say how busy it was."""
        from ..gate.confirm import MachineState

        machine = self.context.machine
        probe = self._machine_reference(trial.reference)
        slowdown, waited, no_wait = None, 0.0, None
        if machine is not None:
            no_wait = machine.stopped_waiting
            settling = machine.settle(self.options.settle_s, probe)
            waited, slowdown = settling.waited_s, settling.slowdown
        trial.perf.reset()
        trial.perf.more_rounds(rounds)
        cpu_started, wall_started = time.process_time(), time.perf_counter()
        result = self._rerun(trial, kept=0)  # after reset(): fresh rounds only
        cpu = time.process_time() - cpu_started
        wall = time.perf_counter() - wall_started
        if machine is not None and slowdown is not None:
            # a burst can also begin during the re-measure: look again afterwards
            slowdown = max(slowdown, machine.slowdown(probe))
        state = MachineState(
            slowdown=slowdown,
            cpu_share=cpu / wall if wall > 0 else None,
            neighbours=self.context.neighbours.drift(exclude=trial.item.nodeid),
            waited_s=waited,
            no_wait=no_wait,
        )
        return result, state

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        if call.when == "call":
            result = item.stash.get(RESULT_KEY, None)
            if result is not None:
                # the raw gaps stay where they were measured (the histogram travels), as
                # they would across processes: pytest keeps every report to the end
                if result.gaps_ns:
                    result = replace(result, gaps_ns=())
                setattr(report, RESULT_ATTR, result)
                settings = item.stash.get(SETTINGS_KEY, None)
                if settings is not None:
                    setattr(report, LEVEL_ATTR, _level_thresholds(settings, result))
            comparison = item.stash.get(COMPARISON_KEY, None)
            if comparison is not None:
                setattr(report, COMPARISON_ATTR, comparison)
            ab = item.stash.get(AB_KEY, None)
            if ab is not None:
                setattr(report, AB_ATTR, ab)
        if call.when != "setup":
            # The report now carries all that leaves the test. pytest keeps every item until
            # the session ends, and the Perf holds each round's chunks: let them go now.
            _release(item)
        return report

    @pytest.hookimpl(wrapper=True)
    def pytest_report_to_serializable(
        self, report: pytest.CollectReport | pytest.TestReport
    ) -> Generator[None, dict[str, Any] | None, dict[str, Any] | None]:
        # A report leaving the process (an xdist worker's, pytest-reportlog's): our objects
        # as plain builtins, the only encoding of them that crosses (see from_serializable).
        data = yield
        if data is not None:
            for key in (RESULT_ATTR, COMPARISON_ATTR, AB_ATTR):
                value = data.get(key)
                if value is not None and not isinstance(value, dict):
                    data[key] = value.to_dict()
        return data

    @pytest.hookimpl(wrapper=True)
    def pytest_report_from_serializable(
        self, data: dict[str, Any]
    ) -> Generator[None, object, object]:
        report = yield
        if isinstance(report, pytest.TestReport):
            _objects_from_builtins(report)
        return report


def _objects_from_builtins(report: pytest.TestReport) -> None:
    """Rebuild a deserialised report's result and comparison from their builtins."""
    result = getattr(report, RESULT_ATTR, None)
    if isinstance(result, dict):
        from ..metrics.result import TestResult

        setattr(report, RESULT_ATTR, TestResult.from_dict(result))
    comparison = getattr(report, COMPARISON_ATTR, None)
    if isinstance(comparison, dict):
        from ..gate.compare import TestComparison

        setattr(report, COMPARISON_ATTR, TestComparison.from_dict(comparison))
    ab = getattr(report, AB_ATTR, None)
    if isinstance(ab, dict):
        from ..gate.ab import ABResult

        setattr(report, AB_ATTR, ABResult.from_dict(ab))


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
    _drop(item.stash, AB_KEY)


def _drop(stash: pytest.Stash, key: pytest.StashKey[_T]) -> None:
    if key in stash:
        del stash[key]
