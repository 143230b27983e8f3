"""``perfbaseline compare BASELINE CURRENT``: the plugin's gate, offline, on two JSON reports.

Every test in both ``--perf-json`` reports is gated as ``pytest --perf-compare`` gates it;
nothing can be re-measured, so a suspicion is decided on CURRENT's rounds alone. The calls
into the gate are all in :func:`_judge`; the rest reads the reports and prints.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TextIO

from ..gate.settings import (
    DEFAULT_ALPHA,
    parse_alpha,
    parse_gate,
    parse_threshold,
)
from .common import EXIT_FAILED, EXIT_OK, CommandError, commit_text, now, one_line, plural
from .options import Command, typed

if TYPE_CHECKING:
    from ..gate.compare import TestComparison
    from ..gate.judge import Judge
    from ..gate.settings import TestSettings
    from ..reports.run import RunReport

__all__ = ["COMMAND", "add_gate_arguments"]

_EPILOG = """\
BASELINE and CURRENT are reports written by 'pytest --perf-json=PATH'. Every test in both is
compared with the same gate as 'pytest --perf-compare': CURRENT's rounds against BASELINE's,
on a log scale, threshold-shifted exact Mann-Whitney, --alpha split over the compared tests
and their gated metrics. Offline there is nothing to re-measure: a suspected regression is
decided on CURRENT's rounds alone (like --perf-confirm=off). Marker settings (threshold=,
gate=, alpha=) are not in the reports: --threshold and --gate apply to every test. Tests in
only one report are listed as gone or new.

exit status: 0 no regression, 1 at least one regression, 2 usage error (bad option, missing
or unreadable report).

examples:
  {prog} compare main.json branch.json
  {prog} compare main.json branch.json --threshold 15%,cost_usd=2% -v
  {prog} compare main.json branch.json --gate ttft_s,tpot_s --alpha 0.05"""


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("baseline", metavar="BASELINE", help="the baseline's --perf-json report")
    parser.add_argument("current", metavar="CURRENT", help="the current run's --perf-json report")
    add_gate_arguments(parser)


def add_gate_arguments(parser: argparse.ArgumentParser) -> None:
    """``--threshold``, ``--gate``, ``--alpha`` and ``-v``: the gate's settings for every test,
    and how much of the table to print (``ab`` takes them too)."""
    parser.add_argument(
        "--threshold",
        metavar="DELTA",
        type=typed(parse_threshold, "threshold"),
        help="practical margin: '15%%', 0.15 or per metric 'ttft_s=20%%,cost_usd=2%%' "
        "(default: 10%% for times, 5%% for token counts and cost)",
    )
    parser.add_argument(
        "--gate",
        metavar="METRICS",
        type=typed(_nonempty_gate, "gate"),
        help="comma-separated metrics (fnmatch patterns) that can regress (default: "
        "round_s,ttft_s,tpot_s,*.ttft_s,*.tpot_s,input_tokens,output_tokens,cost_usd and "
        "custom metrics)",
    )
    parser.add_argument(
        "--alpha",
        metavar="P",
        type=typed(parse_alpha, "alpha"),
        default=DEFAULT_ALPHA,
        help=f"false-alarm rate of the whole comparison (default {DEFAULT_ALPHA})",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="list unchanged metrics in the table too"
    )


def _nonempty_gate(value: Any, what: str) -> tuple[str, ...]:
    return parse_gate(value, what, nonempty=True)


def _run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    baseline = _read_report(args.baseline)
    current = _read_report(args.current)
    settings = _settings(args)
    before = {t.nodeid: t.result for t in baseline.tests}
    after = {t.nodeid: t.result for t in current.tests}
    common = sorted(before.keys() & after.keys())
    gone = sorted(before.keys() - after.keys())
    new = sorted(after.keys() - before.keys())

    _print_reports(args, baseline, current, out, err)
    from ..gate.judge import Reference

    judge = _judge(baseline, current, len(common), args)
    test_alpha = judge.test_alpha(settings)
    comparisons = [
        judge.judge(
            Reference(
                before[nodeid], baseline.environment, baseline.profile, f"report {args.baseline}"
            ),
            after[nodeid],
            settings,
        )
        for nodeid in common
    ]
    failures = [judge.failure_message(tc) for tc in comparisons if tc.regressed]

    print(file=out)
    _print_verdicts(comparisons, failures, args.verbose, out)
    _print_unpaired(gone, new, out)
    print(file=out)
    print(_summary(args.alpha, test_alpha, comparisons, gone, new), file=out)
    return EXIT_FAILED if failures else EXIT_OK


def _settings(args: argparse.Namespace) -> TestSettings:
    """The gate's settings for every test: the defaults, with --threshold and --gate applied."""
    from ..gate.settings import TestSettings

    settings = TestSettings()
    if args.threshold is not None:
        settings = replace(settings, threshold=args.threshold)
    if args.gate is not None:
        settings = replace(settings, gate=args.gate)
    return settings


# -- the gate: every call into it is here ------------------------------------------------------


def _judge(baseline: RunReport, current: RunReport, tests: int, args: argparse.Namespace) -> Judge:
    """The plugin's judge, set for two reports: ages as of the current report, whose machine
    is the one a baseline's is compared with; the session's budget split over the tests
    compared, as the plugin splits it over the tests that run."""
    from ..gate.judge import Judge

    return Judge(
        alpha=args.alpha,
        perf_tests=tests,
        max_age_s=None,
        here=current.environment,
        here_name="the current report's machine",
        now=current.environment.saved_at_datetime or now(),
        accept=f"take {args.current} as the baseline report from now on",
    )


# -- reading the reports and printing ----------------------------------------------------------


def _read_report(path: str) -> RunReport:
    from ..reports.json_report import ReportError, read_report

    try:
        return read_report(path)
    except ReportError as exc:
        raise CommandError(one_line(str(exc))) from None
    except UnicodeDecodeError as exc:  # read_report reads text: a binary file lands here
        raise CommandError(
            f"report {path} is not UTF-8 text (bad byte at offset {exc.start}); "
            "write one with pytest --perf-json=PATH"
        ) from None
    except RecursionError:
        raise CommandError(f"report {path} is nested too deeply to be a report") from None


def _print_reports(
    args: argparse.Namespace, baseline: RunReport, current: RunReport, out: TextIO, err: TextIO
) -> None:
    """One line on each report; a warning if they come from different profiles."""
    print(_describe_report("baseline", args.baseline, baseline), file=out)
    print(_describe_report("current ", args.current, current), file=out)
    if baseline.profile != current.profile:
        print(
            f"{args.prog}: warning: the reports come from different profiles "
            f"({baseline.profile} vs {current.profile}); compared anyway, as asked",
            file=err,
        )


def _describe_report(label: str, path: str, report: RunReport) -> str:
    env = report.environment
    return (
        f"{label} {path}: {plural(len(report.tests), 'perf test')}, measured {env.saved_at}, "
        f"commit {commit_text(env)}, profile {report.profile}"
    )


def _print_verdicts(
    comparisons: Sequence[TestComparison], failures: Sequence[str], verbose: bool, out: TextIO
) -> None:
    """The table of changed metrics (every metric with ``verbose``), then each failure."""
    from ..reports.terminal import render_comparisons

    table = render_comparisons(comparisons, verbose=verbose)
    if table:
        print("\n".join(table), file=out)
    elif comparisons:
        print("every gated metric is unchanged (-v lists them)", file=out)
    else:
        print("no test is in both reports: nothing to compare", file=out)
    for message in failures:
        print(file=out)
        print(message, file=out)


def _print_unpaired(gone: Sequence[str], new: Sequence[str], out: TextIO) -> None:
    """The tests in only one of the reports."""
    if gone or new:
        print(file=out)
    if gone:
        print(f"gone (only in the baseline): {', '.join(gone)}", file=out)
    if new:
        print(f"new (only in the current report): {', '.join(new)}", file=out)


def _summary(
    alpha: float,
    test_alpha: float,
    comparisons: Sequence[TestComparison],
    gone: Sequence[str],
    new: Sequence[str],
) -> str:
    """``compared 2 tests at alpha 0.01 ...: 1 regressed, 1 unchanged, 1 new, 1 gone``."""
    from ..reports.terminal import verdict_counts

    counts = verdict_counts(comparisons)
    parts = [f"{n} {verdict}" for verdict, n in counts.items() if n and verdict != "new"]
    # A test in both reports without any gated baseline values counts as new too.
    new_total = len(new) + counts.get("new", 0)
    parts += [f"{new_total} new"] if new_total else []
    parts += [f"{len(gone)} gone"] if gone else []
    return (
        f"compared {plural(len(comparisons), 'test')} at alpha {alpha:g} for the session "
        f"({test_alpha:.2g} per test): {', '.join(parts) or 'nothing'}"
    )


COMMAND = Command(
    "compare",
    "gate a current report against a baseline report",
    _EPILOG,
    _add_arguments,
    _run,
)
