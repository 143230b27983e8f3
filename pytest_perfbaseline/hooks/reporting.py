"""The plugin object that reports, on the controller only (never on a pytest-xdist worker).

It gathers every perf test's result and comparison from the call-phase reports, and at the end
of the session saves the baselines, builds the one :class:`~..reports.run.RunReport`, and
derives from it the report files, the terminal summary and the exit status.
"""

from __future__ import annotations

import logging
import os
import time
from typing import TYPE_CHECKING, Any

import pytest

from .context import SessionContext
from .measuring import COMPARISON_ATTR, RESULT_ATTR

if TYPE_CHECKING:
    from ..baseline.store import SaveReport
    from ..gate.compare import TestComparison
    from ..metrics.result import TestResult
    from ..reports.outputs import Outputs
    from ..reports.run import RunReport

__all__ = ["PerfReporter"]


class PerfReporter:
    """Saves baselines and writes every report from one run report; the controller's."""

    def __init__(self, config: pytest.Config, context: SessionContext) -> None:
        self.config = config
        self.context = context
        self.options = context.options
        self.results: dict[str, TestResult] = {}
        self.comparisons: dict[str, TestComparison] = {}
        self.outcomes: dict[str, str] = {}
        self.saved: SaveReport | None = None
        self.save_skipped_reason: str | None = None
        self.report: RunReport | None = None
        self.outputs: Outputs | None = None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call":
            return
        self.outcomes[report.nodeid] = report.outcome
        data = getattr(report, RESULT_ATTR, None)
        if data is not None:
            from ..metrics.result import TestResult

            self.results[report.nodeid] = TestResult.from_dict(data)
        comparison = getattr(report, COMPARISON_ATTR, None)
        if comparison is not None:
            from ..gate.compare import TestComparison

            self.comparisons[report.nodeid] = TestComparison.from_dict(comparison)

    # -- end of session ------------------------------------------------------------------------

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.options.disabled:
            return
        if self.options.save:
            self._save(exitstatus)
        if not self.results:
            return
        from ..reports.outputs import write_reports

        self.report = self.run_report()
        step_summary = (
            os.environ.get("GITHUB_STEP_SUMMARY") if self.options.github_summary else None
        )
        self.outputs = write_reports(
            self.report, self.options.report_paths(), step_summary, self.config.rootpath
        )
        failed = bool(self.outputs.errors) or bool(self.saved and self.saved.errors)
        if failed and session.exitstatus == pytest.ExitCode.OK:
            # Reported in the terminal summary and the exit status, not as a warning: at
            # session end, `-W error` would turn a warning into a traceback.
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def _save(self, exitstatus: int) -> None:
        from ..events import emit

        if exitstatus in (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.INTERNAL_ERROR):
            self.save_skipped_reason = "the run was interrupted; the stored baselines are unchanged"
            return
        if not self.results:
            return
        started = time.perf_counter()
        results = [self.results[nodeid] for nodeid in sorted(self.results)]
        if self.context.machine is not None:
            self.context.machine.sample()  # a second look, in case the session began busy
        environment = self.context.measured_environment
        self.saved = saved = self.context.store.save([(r, environment) for r in results])
        folder = str(self.options.baseline_dir / self.context.profile)
        if saved.saved:
            emit(
                "baseline saved",
                folder,
                f"saved the baselines of {len(saved.saved)} tests to {folder}",
                duration_s=time.perf_counter() - started,
                tests=len(saved.saved),
                files=[str(p) for p in saved.written],
            )
        for error in saved.errors:
            emit("baseline not saved", str(error.path), str(error), level=logging.WARNING)

    def run_report(self) -> RunReport:
        """Everything this session measured and decided."""
        from ..baseline.environment import utc_timestamp
        from ..reports.run import RunReport, TestEntry

        saved = self.saved
        return RunReport(
            created_at=utc_timestamp(),
            environment=self.context.measured_environment,
            profile=self.context.profile,
            compare=self.options.compare,
            save=self.options.save,
            alpha=self.options.alpha,
            confirm=self.options.confirm,
            fail_on_regression=self.options.fail,
            perf_tests=self.context.perf_tests,
            tests=tuple(
                TestEntry(
                    nodeid,
                    self.outcomes.get(nodeid, "passed"),
                    self.results[nodeid],
                    self.comparisons.get(nodeid),
                )
                for nodeid in sorted(self.results)
            ),
            saved=saved.saved if saved else (),
            save_errors=tuple(str(e) for e in saved.errors) if saved else (),
        )

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not (self.results or self.save_skipped_reason):
            return
        from ..reports.outputs import Outputs, relative
        from ..reports.terminal import render_summary

        report = self.report or self.run_report()
        title, lines = render_summary(
            report,
            verbose=self.config.get_verbosity() > 0,
            folder=relative(self.options.baseline_dir / self.context.profile, self.config.rootpath),
            saved=self.saved,
            save_skipped_reason=self.save_skipped_reason,
            outputs=self.outputs or Outputs(),
        )
        terminalreporter.write_sep("=", title)
        for text, markup in lines:
            terminalreporter.write_line(text, **markup)
