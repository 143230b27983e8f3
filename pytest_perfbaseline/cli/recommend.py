"""``perfbaseline recommend``: what to do, drawn from ``--perf-json`` reports of past runs.

The reports are read as runs of one history, ordered by when they were written; the
recommendations come from :mod:`pytest_perfbaseline.history.recommend`.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, TextIO

from .common import EXIT_OK, CommandError, plural
from .compare import _read_report
from .options import Command

if TYPE_CHECKING:
    from ..reports.run import RunReport

__all__ = ["COMMAND"]

_EPILOG = """\
The reports are the runs of one history: ordered by when they were written (created_at), the
newest last. From the newest run: noisy metrics and the rounds they need, heavy inter-token
latency tails, time to first token dominating, low cached-input shares, where the cost goes,
stale baselines and baselines from another machine. Over the runs: step changes not yet
accepted into the baseline, slow drift, tests inconclusive or undecided run after run.
Thresholds and methods: docs/history.md.

Without REPORT files, the runs come from the run history (--history URL, default the SQLite
store pytest sessions write in .pytest_cache/): the last --last runs (50), narrowed by --since,
--branch, --profile, --test.

examples:
  {prog} recommend
  {prog} recommend --history postgresql://ci@db.example/perf --branch main --since 7d
  {prog} recommend perf.json
  {prog} recommend artifacts/*/perf.json"""

_LAST = 50


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "reports",
        metavar="REPORT",
        nargs="*",
        help="--perf-json reports of runs (any order: sorted by when they were written); "
        "without any, the runs of the history",
    )
    from ..history.commands import filter_options, store_option

    store_option(parser)
    filter_options(parser)
    parser.add_argument(
        "--last",
        metavar="N",
        type=int,
        default=_LAST,
        help=f"the newest N runs of the history (default {_LAST})",
    )


def _history_runs(args: argparse.Namespace) -> list[RunReport]:
    """The newest ``--last`` runs of the history that pass the filters, oldest first."""
    from ..history.backends import HistoryError
    from ..history.commands import open_store, selection
    from ..reports.json_report import report_from_dict

    if args.last < 1:
        raise CommandError(f"--last must be at least 1, got {args.last}", hint=True)
    with open_store(args) as store:
        try:
            runs = store.runs(selection(args, store))[-args.last :]
            return [report_from_dict(store.report(run.run_id)) for run in runs]
        except HistoryError as exc:
            raise CommandError(str(exc)) from None


def _runs(args: argparse.Namespace) -> list[RunReport]:
    if not args.reports:
        return _history_runs(args)
    given = [
        flag
        for flag, value in (
            ("--history", args.history),
            ("--since", args.since),
            ("--branch", args.branch),
            ("--profile", args.profile),
            ("--test", args.test),
        )
        if value is not None
    ]
    if given:
        raise CommandError(
            f"{given[0]} reads the run history: give report files or {given[0]}, not both",
            hint=True,
        )
    return sorted((_read_report(path) for path in args.reports), key=lambda run: run.created_at)


def _run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ..history.recommend import recommend_runs
    from ..reports.recommendation import render_recommendations

    runs = _runs(args)
    found = recommend_runs(runs)
    if not found:
        print(f"no recommendations from {plural(len(runs), 'run')}", file=out)
        return EXIT_OK
    print(f"{plural(len(found), 'recommendation')} from {plural(len(runs), 'run')}:", file=out)
    for line in render_recommendations(found):
        print(line, file=out)
    return EXIT_OK


COMMAND = Command(
    "recommend",
    "recommendations drawn from --perf-json reports of past runs",
    _EPILOG,
    _add_arguments,
    _run,
)
