"""``perfbaseline history``: list, show, trend, baselines, import, export and prune runs.

Every sub-command reads ``--history URL`` (default: the SQLite file a pytest session writes in
``.pytest_cache`` of the current folder). A store that cannot be opened, a run id that does
not match, a bad report file: one line on stderr, exit status 2.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TextIO

from ..baseline.environment import parse_utc_timestamp, utc_timestamp
from ..cli.common import EXIT_OK, CommandError, plural, table
from ..cli.options import Command, typed
from ..gate.settings import SettingError, parse_duration
from .backends import HistoryError, StoreMissing
from .location import DEFAULT_FILE, LocationError, StoreLocation, parse_location
from .store import HistoryStore, RunFilter, RunSummary, SeriesPoint

__all__ = ["COMMAND", "DEFAULT_HISTORY"]

DEFAULT_HISTORY = Path(".pytest_cache") / "d" / DEFAULT_FILE
"""The store a pytest session started in this folder writes by default."""
_DEFAULT_METRIC = "round_s"

_EPILOG = f"""\
The history is written at the end of every pytest session with perf tests (--perf-history;
default: {DEFAULT_HISTORY}). RUN is a run id as 'list' shows it, or any unambiguous prefix of one.

exit status: 0 success, 2 usage error or a store that cannot be read.

examples:
  {{prog}} history list --since 7d --branch main
  {{prog}} history show 3f9a1c
  {{prog}} history trend test_chat.py::test_reply --metric ttft_s --window 24h
  {{prog}} history import perf-*.json
  {{prog}} history prune --older-than 90d --yes
  {{prog}} history list --history postgresql://ci@db.example/perf"""


def _age(value: Any, what: str) -> float:
    seconds = parse_duration(value, what)
    if seconds is None:
        raise SettingError(f"{what} needs an age like '7d' or '24h', got {value!r}")
    return seconds


def _count(value: Any, what: str) -> int:
    text = str(value).strip()
    if not text.isdigit() or int(text) < 1:
        raise SettingError(f"{what} must be a whole number of at least 1, got {value!r}")
    return int(text)


def store_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--history",
        metavar="URL",
        default=None,
        help=f"the store: sqlite:///PATH or postgresql://... (default: {DEFAULT_HISTORY})",
    )


def filter_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--since", metavar="AGE", type=typed(_age, "age"), help="runs of the last AGE (24h, 7d)"
    )
    parser.add_argument("--branch", metavar="NAME", help="runs of this git branch")
    parser.add_argument("--profile", metavar="NAME", help="runs of this baseline profile")
    parser.add_argument("--test", metavar="TEST", help="runs that measured this test")


def store_location(args: argparse.Namespace) -> StoreLocation:
    """The store ``--history`` names (the default SQLite file without it); CommandError if bad."""
    if args.history is None:
        return StoreLocation("sqlite", str(DEFAULT_HISTORY))
    try:
        location = parse_location(args.history, "--history")
    except LocationError as exc:
        raise CommandError(str(exc), hint=True) from None
    if location is None:
        raise CommandError("--history off: there is no store to read", hint=True)
    return location


def open_store(args: argparse.Namespace, *, create: bool = False) -> HistoryStore:
    try:
        return HistoryStore.open(store_location(args), create=create)
    except StoreMissing as exc:
        raise CommandError(f"no history: {exc}") from None
    except HistoryError as exc:
        raise CommandError(str(exc)) from None


def _since(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return utc_timestamp(datetime.now(timezone.utc) - timedelta(seconds=seconds))


def selection(args: argparse.Namespace, store: HistoryStore) -> RunFilter:
    test = getattr(args, "test", None)
    if test is not None:
        test = _one_test(store, test)
    return RunFilter(
        since=_since(getattr(args, "since", None)),
        branch=getattr(args, "branch", None),
        profile=getattr(args, "profile", None),
        test=test,
    )


def _one_test(store: HistoryStore, pattern: str) -> str:
    """The recorded node id ``pattern`` names (in full, or its part after ``::``)."""
    found = store.tests(pattern)
    if not found:
        raise CommandError(f"no recorded test {pattern}")
    if len(found) > 1:
        raise CommandError(f"test {pattern} is ambiguous: {', '.join(found[:5])}")
    return found[0]


def _commit(run: RunSummary | SeriesPoint) -> str:
    commit = run.git_commit
    if commit is None:
        return "-"
    return commit[:10] + ("*" if isinstance(run, RunSummary) and run.git_dirty else "")


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def _guarded(run: Callable[[argparse.Namespace, TextIO, TextIO], int]) -> Any:
    """A sub-command whose store errors are one line (exit 2)."""

    def guarded(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
        try:
            return run(args, out, err)
        except HistoryError as exc:
            raise CommandError(str(exc)) from None

    return guarded


# -- list, show --------------------------------------------------------------------------------


def _list(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        store = open_store(args)
    except CommandError as exc:
        if args.history is None and not DEFAULT_HISTORY.exists():
            print(f"no runs recorded: {DEFAULT_HISTORY} does not exist", file=out)
            return EXIT_OK
        raise exc
    with store:
        runs = store.runs(selection(args, store))
    if not runs:
        print(f"no runs recorded in {store.db.location.describe()} match", file=out)
        return EXIT_OK
    rows = [
        [
            run.run_id[:12],
            run.finished_at,
            run.mode,
            run.git_branch or "-",
            _commit(run),
            run.profile,
            str(run.tests),
            run.ci_provider or "-",
        ]
        for run in runs
    ]
    headers = ["run", "finished (UTC)", "mode", "branch", "commit", "profile", "tests", "ci"]
    print(table(rows, headers, right=(6,)), file=out)
    print(plural(len(runs), "run"), file=out)
    return EXIT_OK


def _show(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    with open_store(args) as store:
        run = store.find(args.run_id)
        report = store.report(run.run_id)
    for key, value in run.to_dict().items():
        if value is not None:
            print(f"{key + ':':14} {value}", file=out)
    rows = []
    for test in report["tests"]:
        verdicts = ((test.get("comparison") or {}).get("metrics")) or {}
        for metric, info in sorted(test["metrics"].items()):
            if args.metric and metric != args.metric:
                continue
            summary = info.get("summary") or {}
            rows.append(
                [
                    test["nodeid"],
                    metric,
                    str(summary.get("n", 0)),
                    _number(summary.get("median")),
                    _number(summary.get("p95")),
                    info.get("unit", ""),
                    (verdicts.get(metric) or {}).get("verdict", "-"),
                ]
            )
    headers = ["test", "metric", "n", "median", "p95", "unit", "verdict"]
    if rows or not report.get("ab"):
        print(table(rows, headers, right=(2, 3, 4)), file=out)
    _show_ab(report.get("ab") or (), args.metric, out)
    return EXIT_OK


def _show_ab(records: Sequence[Mapping[str, Any]], metric: str | None, out: TextIO) -> None:
    """The run's A/B tests (``perf.ab``), kept in its stored report: per metric b against a."""
    rows = []
    for record in records:
        a, b = record["labels"]
        for m in record["metrics"]:
            if (metric and m["metric"] != metric) or not (metric or m["gated"]):
                continue
            rows.append(
                [
                    record["nodeid"],
                    f"{b} vs {a}",
                    m["metric"],
                    str(m["pairs"]),
                    _number((m.get("a") or {}).get("median")),
                    _number((m.get("b") or {}).get("median")),
                    _number(m.get("ratio")),
                    m["verdict"],
                ]
            )
    if rows:
        headers = ["A/B test", "b vs a", "metric", "pairs", "a median", "b median", "b/a"]
        print(f"\n{table(rows, [*headers, 'verdict'], right=(3, 4, 5, 6))}", file=out)


# -- trend -------------------------------------------------------------------------------------


def rolling_means(points: Sequence[SeriesPoint], window_s: float) -> list[tuple[int, float | None]]:
    """For each point: how many runs finished within ``window_s`` up to it, their mean median."""
    times = [parse_utc_timestamp(p.finished_at) for p in points]
    result: list[tuple[int, float | None]] = []
    start = 0
    for i, when in enumerate(times):
        while (when - times[start]).total_seconds() > window_s:
            start += 1
        values = [p.median for p in points[start : i + 1] if p.median is not None]
        result.append((i + 1 - start, statistics.fmean(values) if values else None))
    return result


def _trend(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    with open_store(args) as store:
        nodeid = _one_test(store, args.test)
        metric = args.metric or _DEFAULT_METRIC
        points = store.series(nodeid, metric, selection(args, store))
        if not points:
            known = ", ".join(store.metrics(nodeid)) or "none"
            raise CommandError(f"no values of {metric} for {nodeid} (recorded metrics: {known})")
    window = args.window
    label = _window_label(window)
    rows = [
        [
            p.run_id[:12],
            p.finished_at,
            _commit(p),
            str(p.n),
            _number(p.median),
            str(count),
            _number(mean),
            p.verdict or "-",
        ]
        for p, (count, mean) in zip(points, rolling_means(points, window), strict=True)
    ]
    print(f"{metric} of {nodeid}: medians over {plural(len(points), 'run')}", file=out)
    headers = ["run", "finished (UTC)", "commit", "n", "median", f"runs {label}", f"mean {label}"]
    print(table(rows, [*headers, "verdict"], right=(3, 4, 5, 6)), file=out)
    for line in _analysis_lines(nodeid, metric, points):
        print(line, file=out)
    return EXIT_OK


def _window_label(seconds: float) -> str:
    for unit, size in (("w", 7 * 86400), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def _analysis_lines(nodeid: str, metric: str, points: Sequence[SeriesPoint]) -> list[str]:
    """Change points and slow drift of the series, in the words ``perfbaseline recommend`` uses."""
    from .analysis import change_points, drift
    from .recommend import drift_text, step_text, where_text

    at = [p for p in points if p.median is not None]
    values = [p.median for p in at if p.median is not None]
    if not at:
        return []
    lines = [
        step_text(
            step,
            metric=metric,
            test=nodeid,
            where=where_text(at[step.index].git_commit, at[step.index].finished_at),
        )
        for step in change_points(values)
    ]
    found = drift(values, higher_is_better=at[-1].higher_is_better)
    if found is not None:
        best = at[found.best_index]
        lines.append(
            drift_text(
                found,
                metric=metric,
                test=nodeid,
                best_where=where_text(best.git_commit, best.finished_at),
            )
        )
    return lines


def _ratios(store: HistoryStore, before: str, after: str, tests: Sequence[str]) -> dict[str, float]:
    """Per metric: the median over ``tests`` of after / before medians (positive values)."""
    by_metric: dict[str, list[float]] = {}
    for nodeid in tests:
        old, new = store.medians(before, nodeid), store.medians(after, nodeid)
        for metric, value in new.items():
            base = old.get(metric)
            if value is not None and base is not None and base > 0 and value >= 0:
                by_metric.setdefault(metric, []).append(value / base)
    return {metric: statistics.median(values) for metric, values in sorted(by_metric.items())}


def _baselines(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    with open_store(args) as store:
        nodeid = _one_test(store, args.test) if args.test else None
        versions = [
            v for v in store.baseline_versions(args.profile) if nodeid is None or nodeid in v.tests
        ]
        if not versions:
            what = f" of {nodeid}" if nodeid else ""
            print(f"no baseline versions{what} recorded", file=out)
            return EXIT_OK
        rows = [
            [v.run_id[:12], v.saved_at, (v.git_commit or "-")[:10], v.profile, str(len(v.tests))]
            for v in versions
        ]
        headers = ["version (run)", "saved (UTC)", "commit", "profile", "tests saved"]
        print(table(rows, headers, right=(4,)), file=out)
        changes = []
        for old, new in itertools.pairwise(versions):
            if old.profile != new.profile:
                continue
            shared = [nodeid] if nodeid else sorted(set(old.tests) & set(new.tests))
            for metric, ratio in _ratios(store, old.run_id, new.run_id, shared).items():
                changes.append([new.run_id[:12], old.run_id[:12], metric, f"{ratio - 1:+.1%}"])
    if changes:
        scope = f"of {nodeid}" if nodeid else "median over the tests saved in both"
        print(f"\nchange from the previous version of the profile ({scope}):", file=out)
        print(
            table(changes, ["version", "previous", "metric", "median ratio"], right=(3,)), file=out
        )
    return EXIT_OK


# -- import, export, prune ---------------------------------------------------------------------


def _import(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ..reports.json_report import ReportError, read_report, report_to_dict
    from .record import RunMeta, run_record

    records = []
    for path in args.reports:
        try:
            report = report_to_dict(read_report(path))
        except ReportError as exc:
            raise CommandError(str(exc)) from None
        records.append((path, run_record(report, RunMeta(source="import"))))
    added = 0
    with open_store(args, create=True) as store:
        for path, record in records:
            if store.append(record):
                added += 1
                print(f"{path}: recorded as run {record.run_id[:12]}", file=out)
            else:
                print(f"{path}: already recorded (run {record.run_id[:12]})", file=out)
    print(f"imported {plural(added, 'run')} of {plural(len(records), 'report')}", file=out)
    return EXIT_OK


def export_object(run: RunSummary, report: dict[str, Any]) -> dict[str, Any]:
    """A run as one JSON Lines object: ``run_id``, ``metadata`` and ``tests``."""
    metadata = run.to_dict()
    del metadata["run_id"]
    metadata.update(
        created_at=report["created_at"],
        environment=report["environment"],
        session=report["session"],
        counts=report.get("counts"),
        report_version=report["version"],
    )
    return {"run_id": run.run_id, "metadata": metadata, "tests": report["tests"]}


def _export(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    with open_store(args) as store:
        runs = store.runs(selection(args, store))
        target = out
        handle = None
        if args.output:
            try:
                handle = target = open(args.output, "w", encoding="utf-8")  # noqa: SIM115
            except OSError as exc:
                raise CommandError(f"cannot write {args.output}: {exc.strerror}") from None
        try:
            for run in runs:
                line = json.dumps(export_object(run, store.report(run.run_id)), sort_keys=True)
                print(line, file=target)
        finally:
            if handle is not None:
                handle.close()
    if args.output:
        print(f"exported {plural(len(runs), 'run')} to {args.output}", file=err)
    return EXIT_OK


def _prune(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if (args.older_than is None) == (args.keep_runs is None):
        raise CommandError("say what to prune: --older-than AGE or --keep-runs N", hint=True)
    with open_store(args) as store:
        runs = store.runs(RunFilter(profile=args.profile, branch=args.branch))
        if args.older_than is not None:
            cutoff = _since(args.older_than) or ""
            doomed = [run for run in runs if run.finished_at < cutoff]
        else:
            doomed = runs[: max(0, len(runs) - args.keep_runs)]
        if not doomed:
            print(f"nothing to prune ({plural(len(runs), 'run')} kept)", file=out)
            return EXIT_OK
        span = f"{doomed[0].finished_at} to {doomed[-1].finished_at}"
        if not args.yes:
            print(
                f"would remove {plural(len(doomed), 'run')} of {len(runs)} ({span}); "
                "dry run: add --yes to remove them",
                file=out,
            )
            return EXIT_OK
        store.delete([run.run_id for run in doomed])
    print(f"removed {plural(len(doomed), 'run')} of {len(runs)} ({span})", file=out)
    return EXIT_OK


# -- the command -------------------------------------------------------------------------------


def _sub(
    commands: Any, name: str, summary: str, run: Callable[[argparse.Namespace, TextIO, TextIO], int]
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(name, help=summary, description=summary)
    parser.set_defaults(history_run=_guarded(run))
    store_option(parser)
    return parser


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="history_command", metavar="COMMAND", required=True)
    sub = _sub(commands, "list", "list recorded runs, oldest first", _list)
    filter_options(sub)
    sub = _sub(commands, "show", "one run's metadata and every test's metrics", _show)
    sub.add_argument("run_id", metavar="RUN", help="a run id (or an unambiguous prefix)")
    sub.add_argument("--metric", metavar="M", help="only this metric")
    sub = _sub(commands, "trend", "a test's metric over runs, with rolling windows", _trend)
    sub.add_argument("test", metavar="TEST", help="node id, or its part after '::'")
    sub.add_argument("--metric", metavar="M", help=f"default {_DEFAULT_METRIC}")
    sub.add_argument(
        "--window",
        metavar="AGE",
        type=typed(_age, "window"),
        default=86400.0,
        help="the rolling window's length (1h, 24h, 7d); default 24h",
    )
    filter_options(sub)
    sub = _sub(commands, "baselines", "saved baseline versions and what changed", _baselines)
    sub.add_argument("test", metavar="TEST", nargs="?", help="only versions that saved TEST")
    sub.add_argument("--profile", metavar="NAME", help="only this baseline profile")
    sub = _sub(commands, "import", "record --perf-json reports (idempotent)", _import)
    sub.add_argument("reports", metavar="REPORT.json", nargs="+")
    sub = _sub(commands, "export", "write runs as JSON Lines, one object per run", _export)
    sub.add_argument("--output", "-o", metavar="FILE", help="write to FILE (default: stdout)")
    filter_options(sub)
    sub = _sub(commands, "prune", "remove old runs (dry run unless --yes)", _prune)
    sub.add_argument("--older-than", metavar="AGE", type=typed(_age, "age"))
    sub.add_argument("--keep-runs", metavar="N", type=typed(_count, "count"))
    sub.add_argument("--profile", metavar="NAME", help="only runs of this profile")
    sub.add_argument("--branch", metavar="NAME", help="only runs of this branch")
    sub.add_argument("--yes", action="store_true", help="really remove them")


def _run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    run: Callable[[argparse.Namespace, TextIO, TextIO], int] = args.history_run
    return run(args, out, err)


COMMAND = Command(
    "history",
    "recorded runs: list, show, trend, baselines, import, export, prune",
    _EPILOG,
    _add_arguments,
    _run,
)
