"""The alternating pytest sessions of an A/B across revisions.

``pairs`` pairs of sessions, one of each tree per pair, the order alternating (REF first in
even pairs, the working tree first in odd ones), so a machine that drifts over the job
slows both sides alike. Each session is ``python -m pytest`` in its own process, run in its
tree with that tree's code first on ``PYTHONPATH``, writing a ``--perf-json`` report.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..reports.run import RunReport

__all__ = [
    "REF",
    "WORKING",
    "Plan",
    "SessionError",
    "SessionRun",
    "Tree",
    "import_paths",
    "pytest_command",
    "run_session",
    "schedule",
]

REF = "ref"
WORKING = "working"

_RAN = frozenset({0, 1, 5})
"""pytest's exit codes of a session that ran: all passed, some tests failed, none collected."""
_TAIL_LINES = 30


class SessionError(Exception):
    """A session did not run (pytest's usage error, an internal error, no report written)."""

    def __init__(self, message: str, tail: str) -> None:
        super().__init__(message)
        self.tail = tail
        """The last lines of the session's output."""


@dataclass(frozen=True)
class Tree:
    """One side: its label, the root of its checkout, and where in it pytest starts."""

    side: str
    """:data:`REF` or :data:`WORKING`."""
    name: str
    """How the side is named to the user."""
    root: Path
    cwd: Path


@dataclass(frozen=True)
class Plan:
    """How many pairs of sessions, with how many rounds, and the user's pytest arguments."""

    pairs: int
    rounds: int
    args: Sequence[str] = ()


@dataclass(frozen=True)
class SessionRun:
    """One session's outcome: its report, pytest's exit code and seconds taken."""

    tree: Tree
    index: int
    report: RunReport | None
    """None when no perf test left a result to report."""
    exit_code: int
    seconds: float
    tail: str = ""
    """The last lines of its output when tests failed in it."""


def schedule(pairs: int) -> Iterator[tuple[int, str]]:
    """``(pair, side)`` in running order: REF first in even pairs, the working tree in odd."""
    for pair in range(pairs):
        first, second = (REF, WORKING) if pair % 2 == 0 else (WORKING, REF)
        yield pair, first
        yield pair, second


def import_paths(root: Path) -> list[str]:
    """What goes first on ``PYTHONPATH`` so the tree's own code is imported: its root, and
    ``src/`` when it has one."""
    paths = [str(root)]
    if (root / "src").is_dir():
        paths.insert(0, str(root / "src"))
    return paths


def pytest_command(report: Path, rounds: int, scratch: Path, args: Sequence[str]) -> list[str]:
    """The session's command: measure only, into ``report``; nothing saved or compared in the
    user's baseline folder (``scratch`` stands in for it), no history recorded."""
    return [
        sys.executable,
        "-m",
        "pytest",
        f"--perf-json={report}",
        "--perf-history=off",
        f"--perf-rounds={rounds}",
        f"--perf-baseline-dir={scratch}",
        *args,
    ]


def _environment(tree: Tree) -> dict[str, str]:
    env = dict(os.environ)
    inherited = env.get("PYTHONPATH")
    env["PYTHONPATH"] = os.pathsep.join(
        [*import_paths(tree.root), *([inherited] if inherited else [])]
    )
    return env


def run_session(
    tree: Tree,
    index: int,
    folder: Path,
    plan: Plan,
    read_report: Callable[[Path], RunReport],
) -> SessionRun:
    """Run one session of ``tree``; its output goes to a log beside its report in ``folder``.

    SessionError (with the output's last lines) when pytest did not run the tests.
    """
    stem = f"{index:02d}-{tree.side}"
    report_path, log_path = folder / f"{stem}.json", folder / f"{stem}.log"
    command = pytest_command(report_path, plan.rounds, folder / "baselines", plan.args)
    start = time.perf_counter()
    with log_path.open("wb") as log:
        # On Ctrl-C, subprocess.run kills the session before the interrupt goes on.
        done = subprocess.run(
            command,
            cwd=tree.cwd,
            env=_environment(tree),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    seconds = time.perf_counter() - start
    if done.returncode not in _RAN:
        raise SessionError(
            f"the session of {tree.name} failed to run (pytest exit code {done.returncode})",
            _tail(log_path),
        )
    tail = _tail(log_path) if done.returncode == 1 else ""
    # No report: no perf test left a result (none collected, none selected, all failed).
    report = read_report(report_path) if report_path.is_file() else None
    return SessionRun(tree, index, report, done.returncode, seconds, tail)


def _tail(log: Path) -> str:
    lines = log.read_text(encoding="utf-8", errors="replace").rstrip().splitlines()
    return "\n".join("  " + line for line in lines[-_TAIL_LINES:]) or "  (nothing)"
