"""The ``perfbaseline`` command: look at stored baselines, gate two reports, prune, plan rounds.

``perfbaseline list | show | compare | prune | power`` (also ``python -m pytest_perfbaseline``);
docs/cli.md is the reference. Built on the core modules only, never on pytest: ``compare`` is
the same gate as ``pytest --perf-compare``, run offline on two ``--perf-json`` reports.

Exit status: 0 success (``compare``: no regression), 1 a regression (``compare``) or a baseline
file that could not be read or written (``list``, ``show``, ``prune``), 2 a usage error (bad
option, missing or unreadable report, no such test). Every error is one line on stderr.

Start-up stays light: numpy, scipy and tabulate are imported only by the commands that print
tables or do statistics, so ``--help`` is instant.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timezone
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO, TypeVar

from ..gate.settings import (
    DEFAULT_ALPHA,
    SettingError,
    parse_alpha,
    parse_duration,
    parse_fraction,
    parse_gate,
    parse_positive_int,
    parse_threshold,
)

if TYPE_CHECKING:
    from ..baseline.environment import Environment
    from ..baseline.store import BaselineEntry, BaselineError, BaselineStore
    from ..gate.compare import TestComparison
    from ..reports.run import RunReport

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "main"]

PROG = "perfbaseline"
EXIT_OK = 0
EXIT_FAILED = 1
"""``compare``: a test regressed; ``list`` / ``show`` / ``prune``: a baseline file was bad."""
EXIT_USAGE = 2

DEFAULT_DIR = ".perfbaseline"
DEFAULT_MAX_AGE = "30d"  # the plugin's perf_baseline_max_age default: the same "stale"
DEFAULT_POWER = 0.8
DEFAULT_POWER_THRESHOLD = "10%"  # the gate's default threshold for times
_CANDIDATES_SHOWN = 5
_SMALLEST_ALPHA = 1e-15  # below it 1 - alpha rounds to 1.0: no normal quantile to plan with

_T = TypeVar("_T")


class CommandError(Exception):
    """A user error: printed as one line ``<prog>: error: <message>``, exit status 2."""

    def __init__(self, message: str, *, prog: str | None = None, hint: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.prog = prog
        self.hint = hint
        """Point at ``--help`` (for mistakes in the command line itself)."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line and whose exit goes through :func:`main`."""

    def error(self, message: str) -> NoReturn:
        raise CommandError(message, prog=self.prog, hint=True)


def _typed(parse: Callable[[Any, str], _T], what: str) -> Callable[[str], _T]:
    """An argparse ``type=`` from one of the settings parsers (their messages say what's ok)."""

    def convert(text: str) -> _T:
        try:
            return parse(text, what)
        except SettingError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = what
    return convert


# -- small helpers -----------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _age_text(seconds: float | None) -> str:
    """``3 days``, ``5 h``, ``12 min``: the age of a baseline, for tables."""
    if seconds is None:
        return "?"
    if seconds < -60:
        return "in the future"  # the saving machine's clock was ahead of this one's
    if seconds < 60:
        return "<1 min"
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 2 * 86400:
        return f"{int(seconds // 3600)} h"
    return f"{int(seconds // 86400)} days"


def _commit_text(env: Environment, length: int = 12) -> str:
    if env.git_commit is None:
        return "-"
    dirty = " (dirty)" if env.git_dirty else ""
    return env.git_commit[:length] + dirty


def _table(rows: Sequence[Sequence[str]], headers: Sequence[str], right: Sequence[int]) -> str:
    from ..reports.terminal import table  # tabulate: only the commands that print a table pay

    return "\n".join(table(rows, headers, right=right))


def _plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else (plural or word + 's')}"


def _one_line(text: str) -> str:
    return " ".join(text.split("\n"))


# -- reading the store -------------------------------------------------------------------------


def _open_store(args: argparse.Namespace) -> BaselineStore:
    from ..baseline.store import BaselineStore

    root = Path(args.dir)
    if root.exists() and not root.is_dir():
        raise CommandError(f"--dir {root} is not a folder", hint=True)
    try:
        # The store's own profile only matters for saving, which no command here does.
        return BaselineStore(root, args.profile or "any")
    except ValueError as exc:  # an invalid --profile name
        raise CommandError(f"argument --profile: {exc}", hint=True) from None


def _read_entries(
    store: BaselineStore, profile: str | None
) -> tuple[list[BaselineEntry], list[BaselineError]]:
    """Every stored entry (sorted by profile, then test) and every file that was bad."""
    from ..baseline.store import BaselineError

    entries: list[BaselineEntry] = []
    errors: list[BaselineError] = []
    try:
        for item in store.entries(profile):
            if isinstance(item, BaselineError):
                errors.append(item)
            else:
                entries.append(item)
    except BaselineError as exc:  # the folder itself could not be listed
        errors.append(exc)
    entries.sort(key=lambda e: (e.profile, e.nodeid))
    return entries, errors


def _report_bad_files(prog: str, errors: Sequence[BaselineError], err: TextIO) -> None:
    for error in errors:
        print(f"{prog}: error: {_one_line(str(error))}", file=err)


def _where(args: argparse.Namespace) -> str:
    """``.perfbaseline`` or ``profile ci in .perfbaseline``, for messages."""
    return f"profile {args.profile} in {args.dir}" if args.profile else str(args.dir)


def _nothing_stored(args: argparse.Namespace, store: BaselineStore) -> str:
    root = Path(args.dir)
    if not root.exists():
        return f"no baselines: {root} does not exist (pytest --perf-baseline=save creates it)"
    from ..baseline.store import BaselineError

    try:
        profiles = store.profiles()
    except BaselineError:
        profiles = []  # already reported: the folder cannot be listed
    if args.profile and profiles:
        return (
            f"no baselines of profile {args.profile} in {root} "
            f"(profiles there: {', '.join(profiles)})"
        )
    return f"no baselines stored in {_where(args)}"


# -- list --------------------------------------------------------------------------------------


def _cmd_list(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ..baseline.environment import age_seconds, default_profile

    store = _open_store(args)
    entries, errors = _read_entries(store, args.profile)
    _report_bad_files(args.prog, errors, err)
    if not entries:
        if not errors:
            print(_nothing_stored(args, store), file=out)
        return EXIT_FAILED if errors else EXIT_OK
    now = _now()
    rows = []
    for entry in entries:
        env = entry.environment
        age = age_seconds(env, now)
        stale = args.max_age is not None and age is not None and age > args.max_age
        rows.append(
            [
                entry.profile,
                entry.nodeid,
                str(len(entry.result.rounds)),
                _age_text(age) + (" (stale)" if stale else ""),
                env.saved_at,
                _commit_text(env),
                env.plugin,
            ]
        )
    headers = ["profile", "test", "rounds", "age", "saved (UTC)", "commit", "plugin"]
    print(_table(rows, headers, right=(2,)), file=out)
    tests = len({e.nodeid for e in entries})
    profiles = sorted({e.profile for e in entries})
    scope = (
        f"profile {profiles[0]}"
        if len(profiles) == 1
        else f"{len(profiles)} profiles ({', '.join(profiles)})"
    )
    print(
        f"{_plural(len(entries), 'baseline')} of {_plural(tests, 'test')} in {scope} "
        f"under {args.dir}; this machine's default profile is {default_profile()}",
        file=out,
    )
    if errors:
        print(f"{_plural(len(errors), 'baseline file')} could not be read (see above)", file=err)
        return EXIT_FAILED
    return EXIT_OK


# -- show --------------------------------------------------------------------------------------


def _match(pattern: str, nodeids: Sequence[str]) -> list[str]:
    """An exact node id, else every id containing ``pattern`` or matching it as a glob."""
    if pattern in nodeids:
        return [pattern]
    return [n for n in nodeids if pattern in n or fnmatchcase(n, pattern)]


def _show_entry(entry: BaselineEntry, out: TextIO) -> None:
    from ..baseline.environment import age_seconds
    from ..reports.terminal import render_breakdowns, render_details

    env = entry.environment
    result = entry.result
    age = age_seconds(env)
    ago = _age_text(age)
    ago = {"?": "age unknown", "in the future": "in the future: the clocks differ"}.get(
        ago, f"{ago} ago"
    )
    if env.git_commit is None:
        commit = "- (not measured in a git checkout)"
    else:
        state = {True: "uncommitted changes", False: "clean", None: "state unknown"}
        commit = f"{env.git_commit} ({state[env.git_dirty]})"
    machine = f"{env.cpu or 'unknown CPU'}, {env.cores or '?'} cores; {env.platform}"
    implicit = "; measured implicitly (no perf(fn) call)" if result.implicit else ""
    lines = [
        entry.nodeid,
        f"  profile: {entry.profile}",
        f"  file:    {entry.path}",
        f"  saved:   {env.saved_at} ({ago}) by pytest-perfbaseline {env.plugin}",
        f"  commit:  {commit}",
        f"  machine: {machine}; {env.implementation} {env.python}",
        f"  rounds:  {len(result.rounds)} stored ({result.rounds_requested} requested), "
        f"{result.warmup} warm-up{implicit}",
    ]
    if result.itl_histogram:
        gaps = sum(count for _, _, count in result.itl_histogram)
        lines.append(f"  inter-token gaps: {gaps} in the stored histogram")
    print("\n".join(lines), file=out)
    print(file=out)
    if result.summary():
        print("\n".join(render_details(result)), file=out)
        print("(cv: standard deviation / mean over the rounds: the --noise of power)", file=out)
        breakdowns = render_breakdowns(result)
        if breakdowns:
            print(file=out)
            print("\n".join(breakdowns), file=out)
    else:
        print("(no metric values stored)", file=out)


def _cmd_show(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    store = _open_store(args)
    entries, errors = _read_entries(store, args.profile)
    _report_bad_files(args.prog, errors, err)
    nodeids = sorted({e.nodeid for e in entries})
    if not nodeids:
        unread = f"; {_plural(len(errors), 'file')} could not be read" if errors else ""
        raise CommandError(_nothing_stored(args, store) + unread)
    matches = _match(args.test, nodeids)
    if not matches:
        raise CommandError(
            f"no stored test matches {args.test!r} in {_where(args)} "
            f"({_plural(len(nodeids), 'test')} stored; {args.top_prog} list shows them)"
        )
    if len(matches) > 1:
        shown = ", ".join(matches[:_CANDIDATES_SHOWN])
        extra = len(matches) - _CANDIDATES_SHOWN
        more = f" and {extra} more" if extra > 0 else ""
        raise CommandError(
            f"{args.test!r} matches {len(matches)} stored tests: {shown}{more}; "
            "give more of the test id"
        )
    for i, entry in enumerate(e for e in entries if e.nodeid == matches[0]):
        if i:
            print(file=out)
        _show_entry(entry, out)
    return EXIT_FAILED if errors else EXIT_OK


# -- compare -----------------------------------------------------------------------------------


def _read_report(path: str) -> RunReport:
    from ..reports.run import ReportError, read_report

    try:
        return read_report(path)
    except ReportError as exc:
        raise CommandError(_one_line(str(exc))) from None
    except UnicodeDecodeError as exc:  # read_report reads text: a binary file lands here
        raise CommandError(
            f"report {path} is not UTF-8 text (bad byte at offset {exc.start}); "
            "write one with pytest --perf-json=PATH"
        ) from None
    except RecursionError:
        raise CommandError(f"report {path} is nested too deeply to be a report") from None


def _describe_report(label: str, path: str, report: RunReport) -> str:
    env = report.environment
    return (
        f"{label} {path}: {_plural(len(report.tests), 'perf test')}, measured {env.saved_at}, "
        f"commit {_commit_text(env)}, profile {report.profile}"
    )


def _cmd_compare(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ..baseline.environment import age_seconds, describe_origin
    from ..gate.compare import compare_test, failure_message
    from ..gate.settings import TestSettings
    from ..reports.terminal import render_comparisons, verdict_counts

    baseline = _read_report(args.baseline)
    current = _read_report(args.current)
    settings = TestSettings()  # its gate is DEFAULT_GATE itself: custom metrics stay gated
    if args.threshold is not None:
        settings = replace(settings, threshold=args.threshold)
    if args.gate is not None:
        settings = replace(settings, gate=args.gate)

    before = {t.nodeid: t for t in baseline.tests}
    after = {t.nodeid: t for t in current.tests}
    common = sorted(before.keys() & after.keys())
    gone = sorted(before.keys() - after.keys())
    new = sorted(after.keys() - before.keys())

    print(_describe_report("baseline", args.baseline, baseline), file=out)
    print(_describe_report("current ", args.current, current), file=out)
    if baseline.profile != current.profile:
        print(
            f"{args.prog}: warning: the reports come from different profiles "
            f"({baseline.profile} vs {current.profile}); compared anyway, as asked",
            file=err,
        )

    # Like the plugin: the session's budget is split over the tests that are compared.
    test_alpha = args.alpha / max(1, len(common))
    measured_then = current.environment.saved_at_datetime or _now()
    origin = describe_origin(baseline.environment, baseline.profile, current.environment)
    # "this machine" is the current report's, which need not be the one running this command.
    origin = origin.replace("NOT this machine", "NOT the current report's machine")
    comparisons: list[TestComparison] = []
    for nodeid in common:
        tc = compare_test(before[nodeid].result, after[nodeid].result, settings, test_alpha)
        comparisons.append(
            replace(
                tc,
                baseline_saved_at=baseline.environment.saved_at,
                baseline_origin=f"{origin}; report {args.baseline}",
                baseline_age_s=age_seconds(baseline.environment, measured_then),
            )
        )

    print(file=out)
    table = render_comparisons(comparisons, verbose=args.verbose)
    if table:
        print("\n".join(table), file=out)
    elif comparisons:
        print("every gated metric is unchanged (-v lists them)", file=out)
    else:
        print("no test is in both reports: nothing to compare", file=out)
    regressed = [tc for tc in comparisons if tc.regressed]
    for tc in regressed:
        print(file=out)
        print(failure_message(tc), file=out)
    if gone or new:
        print(file=out)
    if gone:
        print(f"gone (only in the baseline): {', '.join(gone)}", file=out)
    if new:
        print(f"new (only in the current report): {', '.join(new)}", file=out)

    counts = verdict_counts(comparisons)
    parts = [f"{n} {verdict}" for verdict, n in counts.items() if n and verdict != "new"]
    # A test in both reports without any gated baseline values counts as new too.
    new_total = len(new) + counts.get("new", 0)
    parts += [f"{new_total} new"] if new_total else []
    parts += [f"{len(gone)} gone"] if gone else []
    print(file=out)
    print(
        f"compared {_plural(len(common), 'test')} at alpha {args.alpha:g} for the session "
        f"({test_alpha:.2g} per test): {', '.join(parts) or 'nothing'}",
        file=out,
    )
    return EXIT_FAILED if regressed else EXIT_OK


# -- prune -------------------------------------------------------------------------------------


def _module_of(nodeid: str) -> str:
    return nodeid.partition("::")[0]


def _cmd_prune(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ..baseline.environment import age_seconds

    if not args.missing and args.older_than is None:
        raise CommandError(
            "say what to prune: --missing, --older-than AGE, or both", prog=args.prog, hint=True
        )
    rootdir = Path(args.rootdir) if args.rootdir else Path(args.dir).absolute().parent
    if args.missing and not rootdir.is_dir():
        raise CommandError(f"--rootdir {rootdir} is not a folder", hint=True)
    store = _open_store(args)
    entries, errors = _read_entries(store, args.profile)
    _report_bad_files(args.prog, errors, err)
    if not entries:
        if not errors:
            print(_nothing_stored(args, store), file=out)
        return EXIT_FAILED if errors else EXIT_OK

    now = _now()
    doomed: list[tuple[BaselineEntry, str]] = []
    missing = 0
    unknown_age = 0
    for entry in entries:
        reasons = []
        if args.missing:
            module = _module_of(entry.nodeid)
            if not (rootdir / module).exists():
                missing += 1
                reasons.append(f"{module} not found")
        if args.older_than is not None:
            age = age_seconds(entry.environment, now)
            if age is None:
                unknown_age += 1
            elif age > args.older_than:
                reasons.append(f"saved {_age_text(age)} ago")
        if reasons:
            doomed.append((entry, "; ".join(reasons)))

    if args.missing and missing == len(entries):
        # Most likely the wrong folder, not a project whose every test file was deleted.
        message = (
            f"no test file of the {_plural(len(entries), 'stored entry', 'stored entries')} "
            f"exists under {rootdir}: is that the project's rootdir? (--rootdir sets it)"
        )
        if args.apply:
            raise CommandError(message + "; nothing removed", hint=True)
        print(f"{args.prog}: warning: {message}", file=err)
    if unknown_age:
        print(
            f"{args.prog}: note: {_plural(unknown_age, 'entry', 'entries')} without a valid "
            "saved time kept (their age is unknown)",
            file=err,
        )

    if not doomed:
        criteria = " or ".join(
            c
            for c, on in (
                (f"with a test file missing under {rootdir}", args.missing),
                (f"older than {args.older_than_text}", args.older_than is not None),
            )
            if on
        )
        print(
            f"nothing to prune: no entry {criteria} "
            f"({_plural(len(entries), 'entry', 'entries')} in {_where(args)})",
            file=out,
        )
        return EXIT_FAILED if errors else EXIT_OK

    rows = [[entry.profile, entry.nodeid, reason] for entry, reason in doomed]
    table = _table(rows, ["profile", "test", "why"], right=())
    stored = len(entries)
    if not args.apply:
        print(
            f"would remove {len(doomed)} of {_plural(stored, 'stored entry', 'stored entries')} "
            "(dry run: add --apply to remove them)",
            file=out,
        )
        print(table, file=out)
        return EXIT_FAILED if errors else EXIT_OK

    by_profile: dict[str, list[str]] = {}
    for entry, _ in doomed:
        by_profile.setdefault(entry.profile, []).append(entry.nodeid)
    report = store.remove(by_profile)
    removed = set(report.saved)
    print(
        f"removed {len(report.saved)} of {_plural(stored, 'stored entry', 'stored entries')} "
        f"({_plural(len(report.written), 'file')} changed)",
        file=out,
    )
    done = [row for row in rows if row[1] in removed]
    if done:
        print(_table(done, ["profile", "test", "why"], right=()), file=out)
    _report_bad_files(args.prog, report.errors, err)
    return EXIT_FAILED if errors or report.errors else EXIT_OK


# -- power -------------------------------------------------------------------------------------


def _cmd_power(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ..reports.text import format_percent

    effect, threshold, noise = args.effect, args.threshold, args.noise
    if noise <= 0:
        raise CommandError(
            "argument --noise: must be above 0 (a metric without noise is compared exactly: "
            "one round settles it)",
            prog=args.prog,
            hint=True,
        )
    if effect <= threshold:
        raise CommandError(
            f"--effect {format_percent(effect)} is not larger than --threshold "
            f"{format_percent(threshold)}: the gate fails only on changes beyond its threshold, "
            "so no number of rounds detects it",
            prog=args.prog,
            hint=True,
        )
    from ..gate.compare import fewest_rounds
    from ..stats import rounds_needed

    try:
        metric_alpha = args.alpha / (args.tests * args.metrics)
    except OverflowError:
        metric_alpha = 0.0
    if metric_alpha < _SMALLEST_ALPHA:
        raise CommandError(
            f"alpha {args.alpha:g} shared by {args.tests} tests x {args.metrics} metrics is too "
            f"small a share to plan for (below {_SMALLEST_ALPHA:g} per metric)",
            prog=args.prog,
        )
    # A metric with coefficient of variation cv, log-normally distributed, has this SD of logs.
    sd_log = math.sqrt(math.log1p(noise**2))
    shift = math.log1p(effect) - math.log1p(threshold)
    effect_size = shift / sd_log
    try:
        planned = rounds_needed(
            effect_size,
            alpha=metric_alpha,
            power=args.power,
            alternative="greater",
            test="mann-whitney",
        )
    except ValueError as exc:
        raise CommandError(str(exc), prog=args.prog) from None
    floor = fewest_rounds(metric_alpha)
    rounds = max(planned, floor)
    share = f"{args.alpha:g} / ({_plural(args.tests, 'test')} x {_plural(args.metrics, 'metric')})"
    print(f"{rounds} rounds per side (baseline and current)", file=out)
    sentence = (
        f"To detect a {format_percent(effect)} change for the worse with "
        f"{format_percent(args.power)} power, where the gate's threshold is "
        f"{format_percent(threshold)} and the per-round noise (coefficient of variation) is "
        f"{format_percent(noise)}: the change beyond the threshold, ln({1 + effect:.7g} / "
        f"{1 + threshold:.7g}) = {shift:.3g}, is {effect_size:.3g} SDs of the log values "
        f"({sd_log:.3g}); one-sided exact Mann-Whitney test at alpha {share} = "
        f"{metric_alpha:.2g} per metric."
    )
    if floor > planned:
        sentence += (
            f" The power calculation alone gives {planned}, but with fewer than {floor} rounds "
            f"a side the exact test cannot reach p < {metric_alpha:.2g} at all."
        )
    print(sentence, file=out)
    return EXIT_OK


# -- the parser --------------------------------------------------------------------------------

_DESCRIPTION = """\
Inspect the stored performance baselines of pytest-perfbaseline (.perfbaseline/), gate two
--perf-json reports offline, prune old entries, and plan how many rounds a test needs."""

_EPILOG = """\
--dir and --profile may also be given after the command (list, show and prune use them).

exit status: 0 success, 1 regression (compare) or a bad baseline file, 2 usage error.
'{prog} COMMAND --help' describes each command."""

_LIST_EPILOG = """\
A baseline file that cannot be read is named on stderr, one line each; the rest is still
listed, and the exit status is 1. No baselines at all is not an error (exit 0).

examples:
  {prog} list
  {prog} list --profile ci
  {prog} --dir path/to/.perfbaseline list --max-age 7d"""

_SHOW_EPILOG = """\
TEST is a test id, or any part of one, or an fnmatch pattern, that matches exactly one stored
test. Without --profile the test's baseline in every profile is shown. No match, or more than
one test matching, is an error (exit 2) listing the candidates.

examples:
  {prog} show tests/test_chat.py::test_answer
  {prog} show test_answer --profile linux-x86_64-2cpu
  {prog} show '*test_agent*[gpt-4o]'"""

_COMPARE_EPILOG = """\
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

_PRUNE_EPILOG = """\
An entry is removed if it meets any of the criteria given. Test files are looked up relative
to --rootdir (default: the folder that holds --dir), the way pytest's test ids name them.
Without --apply nothing is changed: the entries that would go are listed. With --apply they
are removed under the same lock as a save, atomically; files left empty are deleted. If no
stored test's file exists under the rootdir, --apply refuses (most likely the wrong folder).

exit status: 0 done (or nothing to do), 1 a baseline file could not be read or written (named
on stderr), 2 usage error.

examples:
  {prog} prune --missing                    # dry run: what would go
  {prog} prune --missing --apply
  {prog} prune --older-than 90d --profile ci --apply"""

_POWER_EPILOG = """\
--noise is the per-round coefficient of variation of the metric: its SD / mean over rounds,
the cv column of 'perfbaseline show'. Values are taken as log-normal, so the SD of the log
values is sqrt(ln(1 + noise^2)), about the noise itself. The gate fails a metric only when it
is worse by more than its threshold, so what must be shown is ln(1 + effect) - ln(1 +
threshold), in units of that SD. Rounds come from an exact noncentral-t power calculation
divided by the Mann-Whitney test's efficiency 3/pi, at the metric's share of the session's
false-alarm budget: alpha / (tests x gated metrics), as the gate splits it; never fewer than
the exact test needs to reach p < alpha at all. With --perf-confirm (the default) a
regression must also be suspected first, so the overall chance is a little lower.

examples:
  {prog} power --effect 30% --noise 5%
  {prog} power --effect 20% --noise 8% --threshold 10% --tests 40 --metrics 3
  {prog} power --effect 0.5 --noise 0.1 --power 0.95"""


def _parser(prog: str) -> _Parser:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = _Parser(
        prog=prog,
        description=_DESCRIPTION,
        epilog=_EPILOG.format(prog=prog),
        formatter_class=formatter,
    )
    store_help = {
        "dir": f"the baseline folder (default: {DEFAULT_DIR} in the current directory)",
        "profile": "only this profile (default: every profile in the folder)",
    }

    def store_options(p: argparse.ArgumentParser, *, after_command: bool) -> None:
        # Accepted before and after the command: `perfbaseline --dir X list` and
        # `perfbaseline list --dir X`. After it, SUPPRESS keeps an option that is not given
        # from overwriting one given before it.
        dir_default = argparse.SUPPRESS if after_command else DEFAULT_DIR
        profile_default = argparse.SUPPRESS if after_command else None
        p.add_argument("--dir", metavar="DIR", default=dir_default, help=store_help["dir"])
        p.add_argument(
            "--profile", metavar="NAME", default=profile_default, help=store_help["profile"]
        )

    store_options(parser, after_command=False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, summary: str, epilog: str) -> argparse.ArgumentParser:
        return commands.add_parser(
            name,
            help=summary,
            description=summary[0].upper() + summary[1:] + ".",
            epilog=epilog.format(prog=prog),
            formatter_class=formatter,
        )

    p = command("list", "list the stored baselines", _LIST_EPILOG)
    store_options(p, after_command=True)
    p.add_argument(
        "--max-age",
        metavar="AGE",
        type=_typed(parse_duration, "max age"),
        default=parse_duration(DEFAULT_MAX_AGE),
        help=f"mark baselines older than this stale ('30d', '12h', 'never'; "
        f"default {DEFAULT_MAX_AGE}, like the plugin)",
    )
    p.set_defaults(run=_cmd_list)

    p = command("show", "show one test's stored metrics", _SHOW_EPILOG)
    p.add_argument("test", metavar="TEST", help="test id, part of one, or fnmatch pattern")
    store_options(p, after_command=True)
    p.set_defaults(run=_cmd_show)

    p = command("compare", "gate a current report against a baseline report", _COMPARE_EPILOG)
    p.add_argument("baseline", metavar="BASELINE", help="the baseline's --perf-json report")
    p.add_argument("current", metavar="CURRENT", help="the current run's --perf-json report")
    p.add_argument(
        "--threshold",
        metavar="DELTA",
        type=_typed(parse_threshold, "threshold"),
        help="practical margin: '15%%', 0.15 or per metric 'ttft_s=20%%,cost_usd=2%%' "
        "(default: 10%% for times, 5%% for token counts and cost)",
    )
    p.add_argument(
        "--gate",
        metavar="METRICS",
        type=_typed(_nonempty_gate, "gate"),
        help="comma-separated metrics (fnmatch patterns) that can regress (default: "
        "round_s,ttft_s,tpot_s,*.ttft_s,*.tpot_s,input_tokens,output_tokens,cost_usd and "
        "custom metrics)",
    )
    p.add_argument(
        "--alpha",
        metavar="P",
        type=_typed(parse_alpha, "alpha"),
        default=DEFAULT_ALPHA,
        help=f"false-alarm rate of the whole comparison (default {DEFAULT_ALPHA})",
    )
    p.add_argument(
        "-v", "--verbose", action="store_true", help="list unchanged metrics in the table too"
    )
    p.set_defaults(run=_cmd_compare)

    p = command("prune", "remove stored entries of deleted or old tests", _PRUNE_EPILOG)
    p.add_argument(
        "--missing",
        action="store_true",
        help="entries whose test file no longer exists under the rootdir",
    )
    p.add_argument(
        "--older-than",
        metavar="AGE",
        type=_typed(_required_duration, "age"),
        help="entries saved longer ago than AGE ('30d', '12h', '2w', '90m', '45s')",
    )
    p.add_argument(
        "--rootdir",
        metavar="DIR",
        help="where test files are looked up (default: the folder that holds --dir)",
    )
    p.add_argument(
        "--apply", action="store_true", help="really remove them (default: dry run, list only)"
    )
    store_options(p, after_command=True)
    p.set_defaults(run=_cmd_prune)

    p = command("power", "rounds needed to detect a slowdown at a given noise", _POWER_EPILOG)
    p.add_argument(
        "--effect",
        metavar="CHANGE",
        required=True,
        type=_typed(parse_fraction, "effect"),
        help="the change for the worse to detect: '30%%' or 0.3",
    )
    p.add_argument(
        "--noise",
        metavar="CV",
        required=True,
        type=_typed(parse_fraction, "noise"),
        help="per-round coefficient of variation of the metric: '5%%' or 0.05",
    )
    p.add_argument(
        "--threshold",
        metavar="DELTA",
        default=parse_fraction(DEFAULT_POWER_THRESHOLD),
        type=_typed(parse_fraction, "threshold"),
        help="the gate's threshold for the metric (default "
        f"{DEFAULT_POWER_THRESHOLD.replace('%', '%%')}, the gate's for times; its default "
        "for token counts and cost is 5%%)",
    )
    p.add_argument(
        "--alpha",
        metavar="P",
        default=DEFAULT_ALPHA,
        type=_typed(parse_alpha, "alpha"),
        help=f"false-alarm rate of the whole session (default {DEFAULT_ALPHA})",
    )
    p.add_argument(
        "--tests",
        metavar="N",
        default=1,
        type=_typed(parse_positive_int, "tests"),
        help="perf tests in the session, sharing --alpha (default 1)",
    )
    p.add_argument(
        "--metrics",
        metavar="K",
        default=1,
        type=_typed(parse_positive_int, "metrics"),
        help="gated metrics per test that vary, sharing the test's share (default 1)",
    )
    p.add_argument(
        "--power",
        metavar="P",
        default=DEFAULT_POWER,
        type=_typed(parse_alpha, "power"),
        help=f"chance of detecting the change (default {DEFAULT_POWER})",
    )
    p.set_defaults(run=_cmd_power)
    return parser


def _nonempty_gate(value: Any, what: str) -> tuple[str, ...]:
    gate = parse_gate(value, what)
    if not gate:
        raise SettingError(f"{what} needs at least one metric name or pattern, got {value!r}")
    return gate


def _required_duration(value: Any, what: str) -> float:
    seconds = parse_duration(value, what)
    if seconds is None:
        raise SettingError(f"{what} needs an age like '30d', got {value!r}")
    return seconds


# -- entry point -------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None, *, prog: str = PROG) -> int:
    """Run ``perfbaseline`` with ``argv`` (default: the process's arguments); the exit status.

    Never raises for user errors: they are printed as one line on stderr (status 2).
    """
    out, err = sys.stdout, sys.stderr
    parser = _parser(prog)
    where = prog
    try:
        try:
            args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
        except SystemExit as exc:  # --help (0); argparse's own exits
            return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        where = args.prog = f"{prog} {args.command}"
        args.top_prog = prog
        args.older_than_text = _older_than_text(args)
        run: Callable[[argparse.Namespace, TextIO, TextIO], int] = args.run
        return run(args, out, err)
    except CommandError as exc:
        where = exc.prog or where
        hint = f" (see {where} --help)" if exc.hint else ""
        print(f"{where}: error: {_one_line(exc.message)}{hint}", file=err)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=err)
        return 130
    except BrokenPipeError:
        # `perfbaseline list | head`: the reader left. Point stdout at devnull so Python's
        # final flush does not complain a second time.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, out.fileno())
        except (OSError, ValueError, AttributeError):
            pass  # not a real file (captured): nothing will be flushed to a closed pipe
        return EXIT_FAILED


def _older_than_text(args: argparse.Namespace) -> str:
    """The --older-than argument as typed, for messages."""
    raw = getattr(args, "older_than", None)
    if raw is None:
        return ""
    for unit, size in (("w", 7 * 86400), ("d", 86400), ("h", 3600), ("m", 60)):
        if raw >= size and raw % size == 0:
            return f"{raw / size:g}{unit}"
    return f"{raw:g}s"
