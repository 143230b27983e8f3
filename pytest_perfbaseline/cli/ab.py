"""``perfbaseline ab REF``: the working tree against another git revision, measured in one job.

The work is in :mod:`..revisions` (worktree, sessions, pooling); here are the arguments, the
calls into the gate (:func:`_judge`, as ``compare`` makes them) and the printing, which is
``compare``'s table, failure messages and summary.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from .common import EXIT_FAILED, EXIT_OK, CommandError, commit_text, one_line, plural
from .compare import _print_verdicts, _settings, _summary, add_gate_arguments
from .options import Command

if TYPE_CHECKING:
    from ..gate.compare import TestComparison
    from ..gate.judge import Judge, Reference
    from ..metrics.result import TestResult
    from ..revisions import Job, Revision, Side

__all__ = ["COMMAND", "DEFAULT_PAIRS", "DEFAULT_SESSION_ROUNDS", "EXIT_TERMINATED", "MAX_PAIRS"]

DEFAULT_PAIRS = 5
EXIT_TERMINATED = 143
"""Ended by SIGTERM, its worktree removed: 128 + 15, as a shell reports a process it killed."""
MAX_PAIRS = 50
DEFAULT_SESSION_ROUNDS = 5
"""Rounds per test per session: the plugin's 10 spread over pairs, but never fewer than 5,
so one session's median means something."""

_EPILOG = """\
REF is any git revision (a branch, a tag, a commit, origin/main). It is checked out in a
temporary git worktree, removed afterwards (also on Ctrl-C and SIGTERM). The working tree
-- with its uncommitted changes -- is measured against it: --pairs pairs of pytest
sessions, one of each tree, REF first in even pairs and the working tree first in odd ones.
Each session is
'python -m pytest --perf-json=... --perf-history=off --perf-rounds=N PYTEST_ARGS', started in
the same folder of its tree as this command, with the tree's root (and src/) first on
PYTHONPATH; nothing is saved to or compared with .perfbaseline/. Each side's sessions are
pooled with the session as a block, the drift between sessions allowed for, and every test in
both trees is gated as 'compare' gates two reports. Marker settings (threshold=, gate=,
alpha=) are not in the reports: --threshold and --gate apply to every test.

exit status: 0 no regression, 1 at least one regression (or a perf test that fails in the
working tree), 2 usage error (not a git repository, REF unknown, a bad option, a session that
did not run), 130 interrupted (Ctrl-C), 143 terminated (SIGTERM, as CI sends on cancelling).

examples:
  {prog} ab origin/main
  {prog} ab HEAD~1 --pairs 3 -- tests/perf -k chat
  {prog} ab v1.2.0 --threshold 15% --rounds 10 -- -p no:randomly"""


def _pairs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"pairs must be a whole number, got {text!r}") from None
    if not 2 <= value <= MAX_PAIRS:
        raise argparse.ArgumentTypeError(
            f"pairs must be 2 to {MAX_PAIRS} (the drift between sessions is measured from "
            f"the sessions' spread), got {value}"
        )
    return value


def _rounds(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"rounds must be a positive whole number, got {text!r}")
    return value


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.usage = "%(prog)s REF [options] [-- PYTEST_ARGS ...]"
    parser.add_argument("ref", metavar="REF", help="the git revision to measure against")
    # What follows `--` is split off before parsing (app.main): argparse cannot take a
    # positional list after options that follow another positional.
    parser.set_defaults(pytest_args=[])
    parser.add_argument(
        "--pairs",
        metavar="K",
        type=_pairs,
        default=DEFAULT_PAIRS,
        help=f"pairs of sessions, one per tree each (default {DEFAULT_PAIRS})",
    )
    parser.add_argument(
        "--rounds",
        metavar="N",
        type=_rounds,
        default=DEFAULT_SESSION_ROUNDS,
        help=f"measured rounds per test in each session (default {DEFAULT_SESSION_ROUNDS}; "
        "a marker's rounds= wins)",
    )
    add_gate_arguments(parser)


def _run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ..revisions import Terminated, sigterm_unwinds

    try:
        with sigterm_unwinds():
            return _measure(args, out, err)
    except Terminated:
        print(f"{args.prog}: terminated", file=err)
        return EXIT_TERMINATED


def _measure(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ..revisions import GitError, Plan, SessionError, repository_root, resolve, run_job

    cwd = Path.cwd()
    try:
        root = repository_root(cwd)
        revision = resolve(args.ref, root)
        print(
            f"measuring the working tree of {root} against {revision}: "
            f"{plural(args.pairs, 'pair')} of sessions, {plural(args.rounds, 'round')} each",
            file=out,
        )
        out.flush()
        job = run_job(
            root,
            cwd,
            revision,
            Plan(args.pairs, args.rounds, tuple(args.pytest_args)),
            lambda line: print(f"{args.prog}: {line}", file=err, flush=True),
        )
    except GitError as exc:
        raise CommandError(one_line(str(exc))) from None
    except SessionError as exc:
        print(f"{args.prog}: {exc}; its output ended with:\n{exc.tail}", file=err)
        raise CommandError(f"{exc} (its output is above)") from None
    return _report(args, revision, job, out)


def _report(args: argparse.Namespace, revision: Revision, job: Job, out: TextIO) -> int:
    """Gate every test both sides passed, print the table and what else happened."""
    settings = _settings(args)
    common = sorted(job.ref.passed.keys() & job.working.passed.keys())
    comparisons: list[TestComparison] = []
    failures: list[str] = []
    test_alpha = args.alpha / max(1, len(common))
    if common:
        judge = _judge(job, len(common), args)
        test_alpha = judge.test_alpha(settings)
        comparisons = [judge.judge(*_pair(job, revision, n), settings) for n in common]
        failures = [judge.failure_message(tc) for tc in comparisons if tc.regressed]
    print(_describe(f"REF     {revision}", job.ref), file=out)
    print(_describe("current the working tree", job.working), file=out)
    print(file=out)
    _print_verdicts(comparisons, failures, args.verbose, out)
    only_ref, only_working = _unpaired(job)
    _print_other(job, str(revision), only_ref, only_working, out)
    print(file=out)
    summary = _summary(args.alpha, test_alpha, comparisons, (), ())
    extra = [f"{len(only_ref)} only in {revision}"] if only_ref else []
    extra += [f"{len(only_working)} only in the working tree"] if only_working else []
    broken = job.working.sessions_failing
    extra += [f"tests failed in {plural(broken, 'session')} of the working tree"] if broken else []
    print("; ".join([summary, *extra]), file=out)
    return EXIT_FAILED if failures or broken else EXIT_OK


def _describe(label: str, side: Side) -> str:
    env = side.environment
    commit = "-" if env is None else commit_text(env)
    return f"{label}: {plural(side.sessions, 'session')}, commit {commit}, profile {side.profile}"


def _pair(job: Job, revision: Revision, nodeid: str) -> tuple[Reference, TestResult]:
    """One test's reference (REF's sessions pooled) and current result (the working tree's)."""
    from ..gate.judge import Reference
    from ..revisions import pooled_pair

    ref, current, drift = pooled_pair(job.ref.passed[nodeid], job.working.passed[nodeid])
    source = f"{plural(ref.sessions, 'session')} of {revision}"
    reference = Reference(ref.result, ref.environment, job.ref.profile, source, drift, ref.sessions)
    return reference, current.result


def _judge(job: Job, tests: int, args: argparse.Namespace) -> Judge:
    """The plugin's judge, set as ``compare`` sets it, with the working tree as "here"."""
    from ..gate.judge import Judge
    from .common import now

    here = job.working.environment
    assert here is not None  # a test of the working tree passed: its session reported
    return Judge(
        alpha=args.alpha,
        perf_tests=tests,
        max_age_s=None,
        here=here,
        here_name="the working tree's sessions",
        now=here.saved_at_datetime or now(),
        accept="merge the change ('perfbaseline ab' stores no baseline to update)",
    )


def _unpaired(job: Job) -> tuple[list[str], list[str]]:
    """Tests measured on one side only (a test that failed on the other is not one of them)."""
    ref = job.ref.passed.keys() | job.ref.failed
    working = job.working.passed.keys() | job.working.failed
    return sorted(ref - working), sorted(working - ref)


def _print_other(
    job: Job, ref: str, only_ref: Sequence[str], only_working: Sequence[str], out: TextIO
) -> None:
    """Tests on one side only, tests that failed, sessions with failures."""
    lines = []
    maybe = " (or failed in the working tree: see below)" if job.working.sessions_failing else ""
    if only_ref:
        lines.append(f"only in {ref}{maybe}: {', '.join(only_ref)}")
    maybe = f" (or failed in {ref}: see below)" if job.ref.sessions_failing else ""
    if only_working:
        lines.append(f"only in the working tree{maybe}: {', '.join(only_working)}")
    for side, name in ((job.ref, ref), (job.working, "the working tree")):
        if side.failed:
            lines.append(
                f"failed in {name} (not compared; not a performance verdict): "
                f"{', '.join(sorted(side.failed))}"
            )
        if side.sessions_failing:
            lines.append(
                f"tests failed in {plural(side.sessions_failing, 'session')} of {name}; "
                f"the first one's output ended with:\n{side.tail}"
            )
    if lines:
        print(file=out)
        print("\n".join(lines), file=out)


COMMAND = Command(
    "ab",
    "measure the working tree against another git revision in one job",
    _EPILOG,
    _add_arguments,
    _run,
)
