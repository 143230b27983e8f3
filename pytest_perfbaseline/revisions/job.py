"""One A/B job across revisions, apart from the command line: REF checked out, the sessions
run alternately, and their reports gathered per side and per test."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..baseline.environment import Environment
from ..metrics.result import TestResult
from ..reports.json_report import read_report
from .git import Revision, worktree
from .runner import REF, WORKING, Plan, SessionError, SessionRun, Tree, run_session, schedule

__all__ = ["Job", "Side", "run_job"]


@dataclass
class Side:
    """What one side's sessions measured, per test."""

    tree: Tree
    passed: dict[str, list[tuple[TestResult, Environment]]] = field(default_factory=dict)
    """Node id -> the test's result and environment in each session it passed in."""
    failed: set[str] = field(default_factory=set)
    """Perf tests that failed in at least one session (not a performance verdict)."""
    sessions: int = 0
    sessions_failing: int = 0
    """Sessions in which pytest reported failed tests (perf tests or others)."""
    tail: str = ""
    """The end of the output of the first session with failed tests."""
    profile: str = ""
    environment: Environment | None = None
    """The newest session's."""

    def add(self, run: SessionRun) -> None:
        """Take one session's report in."""
        self.sessions += 1
        if run.exit_code == 1 and not self.sessions_failing:
            self.tail = run.tail
        self.sessions_failing += run.exit_code == 1
        report = run.report
        if report is None:
            return
        self.profile, self.environment = report.profile, report.environment
        for entry in report.tests:
            if entry.outcome == "passed":
                self.passed.setdefault(entry.nodeid, []).append((entry.result, report.environment))
            elif entry.outcome == "failed":
                self.failed.add(entry.nodeid)


@dataclass(frozen=True)
class Job:
    """Both sides of a finished job."""

    ref: Side
    working: Side
    runs: Sequence[SessionRun]


def _trees(root: Path, cwd: Path, ref_root: Path, revision: Revision) -> dict[str, Tree]:
    where = cwd.resolve().relative_to(root.resolve())
    ref_cwd = ref_root / where
    if not ref_cwd.is_dir():
        raise SessionError(
            f"the folder {where} does not exist at {revision}: run the command from a "
            "folder both revisions have (the repository's top folder, for instance)",
            "",
        )
    return {
        REF: Tree(REF, str(revision), ref_root, ref_cwd),
        WORKING: Tree(WORKING, "the working tree", root, cwd),
    }


def run_job(
    root: Path,
    cwd: Path,
    revision: Revision,
    plan: Plan,
    progress: Callable[[str], None],
) -> Job:
    """Check ``revision`` out, run the plan's pairs of sessions, gather the reports.

    The worktree and the reports' folder are removed afterwards, also on an error or
    Ctrl-C. SessionError when a session did not run.
    """
    total = 2 * plan.pairs
    with (
        worktree(root, revision) as ref_root,
        tempfile.TemporaryDirectory(prefix="perfbaseline-ab-reports-") as folder,
    ):
        trees = _trees(root, cwd, ref_root, revision)
        sides = {side: Side(tree) for side, tree in trees.items()}
        runs = []
        for index, (pair, side) in enumerate(schedule(plan.pairs), start=1):
            tree = trees[side]
            progress(f"session {index}/{total} (pair {pair + 1}): {tree.name} ...")
            run = run_session(tree, index, Path(folder), plan, read_report)
            progress(f"session {index}/{total}: {tree.name} done in {run.seconds:.1f} s")
            sides[side].add(run)
            runs.append(run)
    if not any(run.report for run in runs):
        last = runs[-1]
        raise SessionError(
            "no session wrote a --perf-json report: no perf test ran (are the perf tests "
            "selected, and is pytest-perfbaseline active in these trees?)",
            last.tail,
        )
    return Job(sides[REF], sides[WORKING], runs)
