"""``perfbaseline recommend``: what to do, drawn from ``--perf-json`` reports of past runs.

The reports are read as runs of one history, ordered by when they were written; the
recommendations come from :mod:`pytest_perfbaseline.history.recommend`.
"""

from __future__ import annotations

import argparse
from typing import TextIO

from .common import EXIT_OK, plural
from .compare import _read_report
from .options import Command

__all__ = ["COMMAND"]

_EPILOG = """\
The reports are the runs of one history: ordered by when they were written (created_at), the
newest last. From the newest run: noisy metrics and the rounds they need, heavy inter-token
latency tails, time to first token dominating, low cached-input shares, where the cost goes,
stale baselines and baselines from another machine. Over the runs: step changes not yet
accepted into the baseline, slow drift, tests inconclusive or undecided run after run.
Thresholds and methods: docs/history.md.

examples:
  {prog} recommend perf.json
  {prog} recommend artifacts/*/perf.json"""


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "reports",
        metavar="REPORT",
        nargs="+",
        help="--perf-json reports of runs (any order: sorted by when they were written)",
    )


def _run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ..history.recommend import recommend_runs
    from ..history.record import render_recommendations

    runs = sorted((_read_report(path) for path in args.reports), key=lambda run: run.created_at)
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
