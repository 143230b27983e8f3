"""What reading and writing baselines give back: entries, errors and save reports."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..metrics.result import TestResult
from .environment import Environment

__all__ = ["BaselineEntry", "BaselineError", "SaveInterrupted", "SaveReport", "Tally"]


class BaselineError(Exception):
    """A baseline file that cannot be read or written.

    ``str(error)`` is one sentence for the user: the file, what is wrong and what to do.
    """

    path: Path
    problem: str
    fix: str

    def __init__(self, path: Path, problem: str, fix: str) -> None:
        super().__init__(path, problem, fix)  # args match __init__, so it pickles (xdist)
        self.path = path
        self.problem = problem
        self.fix = fix

    def __str__(self) -> str:
        return f"baseline file {self.path}: {self.problem}; {self.fix}"


@dataclass(frozen=True)
class BaselineEntry:
    """One test's stored baseline: its stored sessions, as the gate compares with them.

    ``result`` pools the sessions (see :mod:`.sessions`): time, rate and custom metrics
    rescaled to the sessions' centre, token counts and cost of the newest session.
    ``result.itl_pooled`` is None: only the gap histogram is stored, not the pooled gaps.
    Every round of ``result.rounds`` holds every stored metric (None where it has no value).
    ``environment`` is the newest session's (with the fastest probe of a like machine).
    """

    nodeid: str
    profile: str
    result: TestResult
    environment: Environment
    path: Path
    """The file the entry lives in."""
    drift: Mapping[str, float] = field(default_factory=dict)
    """Metric key -> between-session drift allowance (a ratio > 1); absent: none."""
    sessions: int = 1
    """How many saving sessions the entry holds."""


@dataclass(frozen=True)
class SaveReport:
    """What a :meth:`BaselineStore.save` or :meth:`BaselineStore.remove` did.

    For ``remove``, ``saved`` lists the node ids that were removed; node ids that had no
    entry are in neither ``saved`` nor ``skipped``.
    """

    written: tuple[Path, ...] = ()
    """Files created, replaced or (by ``remove``) deleted."""
    saved: tuple[str, ...] = ()
    """Node ids whose entries were written (or removed)."""
    errors: tuple[BaselineError, ...] = ()
    """One error per file that was left alone (or per test that could not be stored)."""
    skipped: tuple[str, ...] = ()
    """Node ids not saved because their file was bad or unwritable (or their data invalid),
    or because the save was interrupted before their file was written."""
    interrupted: tuple[Path, ...] = ()
    """Files left alone because Ctrl-C stopped the save first: they keep their old content
    (or stay absent). Only in the report of a :class:`SaveInterrupted`."""
    restarted: tuple[str, ...] = ()
    """Node ids (of ``saved``) whose stored sessions were dropped because the new session's
    performance level differs from theirs: their history starts afresh."""


class SaveInterrupted(KeyboardInterrupt):
    """Ctrl-C during :meth:`BaselineStore.save` (or ``remove``), with what was done by then.

    A ``KeyboardInterrupt``, so callers that do not look for it stop as usual. ``report``
    lists the files written before the interrupt (``written``) and those that keep their old
    content (``interrupted``); no file is ever half written, and no temp file is left.
    """

    report: SaveReport

    def __init__(self, report: SaveReport) -> None:
        super().__init__(report)
        self.report = report

    def __str__(self) -> str:
        done, total = (
            len(self.report.written),
            len(self.report.written) + len(self.report.interrupted),
        )
        return (
            f"interrupted after writing {done} of {total} baseline files; "
            "the others keep their old content"
        )


@dataclass
class Tally:
    """A :class:`SaveReport` in the making."""

    written: list[Path] = field(default_factory=list)
    saved: list[str] = field(default_factory=list)
    errors: list[BaselineError] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    restarted: list[str] = field(default_factory=list)

    def done(self, path: Path, nodeids: Iterable[str]) -> None:
        self.written.append(path)
        self.saved.extend(nodeids)

    def fail(self, error: BaselineError, nodeids: Iterable[str]) -> None:
        self.errors.append(error)
        self.skipped.extend(nodeids)

    def fail_all(self, groups: Mapping[Path, Sequence[str]], problem: str, fix: str) -> None:
        for path, nodeids in groups.items():
            self.fail(BaselineError(path, problem, fix), nodeids)

    def report(self, interrupted: Sequence[Path] = ()) -> SaveReport:
        return SaveReport(
            written=tuple(self.written),
            saved=tuple(self.saved),
            errors=tuple(self.errors),
            skipped=tuple(self.skipped),
            interrupted=tuple(interrupted),
            restarted=tuple(self.restarted),
        )

    def interrupt(self, groups: Mapping[Path, Sequence[str]]) -> SaveInterrupted:
        """The interrupt of a save that wrote what is tallied so far and none of the rest."""
        settled = {*self.written, *(error.path for error in self.errors)}
        left = [path for path in sorted(groups) if path not in settled]
        for path in left:
            self.skipped.extend(groups[path])
        return SaveInterrupted(self.report(left))
