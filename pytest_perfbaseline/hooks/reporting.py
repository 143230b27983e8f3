"""The plugin object that reports, on the controller only (never on a pytest-xdist worker).

It gathers every perf test's result and comparison from the call-phase reports, and at the end
of the session saves the baselines, builds the one :class:`~..reports.run.RunReport`, and
derives from it the report files, the terminal summary and the exit status.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .context import SessionContext
from .measuring import AB_ATTR, COMPARISON_ATTR, LEVEL_ATTR, RESULT_ATTR

if TYPE_CHECKING:
    from ..baseline.store import SaveInterrupted, SaveReport
    from ..gate.ab import ABResult
    from ..gate.compare import TestComparison
    from ..metrics.result import TestResult
    from ..reports.outputs import Outputs
    from ..reports.run import RunReport

__all__ = ["PerfReporter"]

_LISTED_FILES = 10
"""How many files an interrupted save names of each kind before it just counts."""


def _file_list(paths: tuple[Path, ...], folder: Path) -> str:
    """Up to :data:`_LISTED_FILES` paths relative to ``folder``, then how many more."""
    names = [str(p.relative_to(folder)) if p.is_relative_to(folder) else str(p) for p in paths]
    more = len(names) - _LISTED_FILES
    return ", ".join(names[:_LISTED_FILES]) + (f" and {more} more" if more > 0 else "")


def interrupted_save_message(interrupt: SaveInterrupted, folder: Path) -> str:
    """What Ctrl-C during a save left: which files were written, which were not, what to do."""
    report = interrupt.report
    done, left = report.written, report.interrupted
    total = len(done) + len(left)
    return (
        f"baselines partly saved: {len(done)} of {total} files written before the interrupt"
        + (f" ({_file_list(done, folder)})" if done else "")
        + f"; the other {len(left)} keep their old content"
        + (f" ({_file_list(left, folder)})" if left else "")
        + "; run the save again"
    )


class PerfReporter:
    """Saves baselines and writes every report from one run report; the controller's."""

    def __init__(self, config: pytest.Config, context: SessionContext) -> None:
        self.config = config
        self.context = context
        self.options = context.options
        self.results: dict[str, TestResult] = {}
        self.comparisons: dict[str, TestComparison] = {}
        self.ab_results: dict[str, ABResult] = {}
        self.level_thresholds: dict[str, dict[str, float]] = {}
        self.outcomes: dict[str, str] = {}
        self.saved: SaveReport | None = None
        self.save_skipped_reason: str | None = None
        self.save_interrupted: str | None = None
        self.report: RunReport | None = None
        self.outputs: Outputs | None = None
        self.started = time.time()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call":
            return
        self.outcomes[report.nodeid] = report.outcome
        # the objects themselves: a worker's report was rebuilt from builtins on arrival
        # (PerfMeasurer.pytest_report_from_serializable)
        result = getattr(report, RESULT_ATTR, None)
        if result is not None:
            self.results[report.nodeid] = result
        thresholds = getattr(report, LEVEL_ATTR, None)
        if thresholds is not None:
            self.level_thresholds[report.nodeid] = dict(thresholds)
        comparison = getattr(report, COMPARISON_ATTR, None)
        if comparison is not None:
            self.comparisons[report.nodeid] = comparison
        ab = getattr(report, AB_ATTR, None)
        if ab is not None:
            self.ab_results[report.nodeid] = ab

    # -- end of session ------------------------------------------------------------------------

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.options.disabled:
            return
        if self.options.save and not self._save_or_interrupt(exitstatus):
            # Ctrl-C: said in the terminal summary (not as a traceback), and the reports,
            # which would describe a save that did not happen, are not written.
            session.exitstatus = pytest.ExitCode.INTERRUPTED
            return
        if not (self.results or self.ab_results):
            return
        from ..reports.json_report import report_to_dict
        from ..reports.outputs import write_reports

        self.report = report = self.run_report()
        # the JSON document, built once (when first asked for) for --perf-json and the history
        document = functools.cache(functools.partial(report_to_dict, report))
        step_summary = (
            os.environ.get("GITHUB_STEP_SUMMARY") if self.options.github_summary else None
        )
        self.outputs = write_reports(
            report,
            self.options.report_paths(),
            step_summary,
            self.config.rootpath,
            document=document,
        )
        from ..history.session import record_session

        record_session(self.config, report, started=self.started, document=document)
        failed = bool(self.outputs.errors) or bool(self.saved and self.saved.errors)
        if self.options.mlflow is not None:
            from ..integrations.mlflow_run import log_session

            log_session(
                self.config,
                report,
                self.options.mlflow,
                document,
                settings=self.options.base,
                json_path=self.options.json,
                html_path=self.options.html,
                failed=failed or session.exitstatus != pytest.ExitCode.OK,
            )
        if failed and session.exitstatus == pytest.ExitCode.OK:
            # Reported in the terminal summary and the exit status, not as a warning: at
            # session end, `-W error` would turn a warning into a traceback.
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def _save_or_interrupt(self, exitstatus: int) -> bool:
        """Save the baselines; False if Ctrl-C stopped it (the reason is then recorded)."""
        from ..baseline.store import SaveInterrupted
        from ..events import emit

        try:
            self._save(exitstatus)
        except SaveInterrupted as interrupt:
            folder = self.options.baseline_dir / self.context.profile
            self.saved = interrupt.report
            self.save_interrupted = message = interrupted_save_message(interrupt, folder)
            emit("baseline partly saved", str(folder), message, level=logging.WARNING)
        except KeyboardInterrupt:
            # before the store was reached (or after it was done: then saved is set)
            if self.saved is None:
                self.save_skipped_reason = (
                    "the save was interrupted; the stored baselines are unchanged"
                )
        else:
            return True
        said = self.save_interrupted or self.save_skipped_reason
        if said and self.config.pluginmanager.get_plugin("terminalreporter") is None:
            print(said, file=sys.stderr)  # no terminal summary to say it in
        return False

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
        self.saved = saved = self.context.store.save(
            [(r, environment) for r in results],
            sessions=self.options.baseline_sessions,
            fresh=self.options.baseline_fresh,
            thresholds=self.level_thresholds,
        )
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
            ab_tests=tuple(self.ab_results[nodeid] for nodeid in sorted(self.ab_results)),
        )

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        self._summary(terminalreporter)
        from ..end_warnings import end_warnings

        for line in end_warnings(self.config):
            terminalreporter.write_line(line, yellow=True)

    def _summary(self, terminalreporter: Any) -> None:
        if self.save_interrupted is not None:
            self._interrupted_summary(terminalreporter, self.save_interrupted)
            return
        if not (self.results or self.ab_results or self.save_skipped_reason):
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

    def _interrupted_summary(self, terminalreporter: Any, message: str) -> None:
        """The summary of a session whose save Ctrl-C stopped: what was and was not written."""
        terminalreporter.write_sep("=", "perfbaseline: save interrupted")
        terminalreporter.write_line(message, red=True)
        for error in self.saved.errors if self.saved else ():
            terminalreporter.write_line(f"baseline NOT saved: {error}", red=True)
