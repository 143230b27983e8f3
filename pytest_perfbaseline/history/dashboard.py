"""The history dashboard: the run history as compact JSON, and the one offline page showing it.

:func:`dashboard_data` reads a :class:`~.store.HistoryStore` into a columnar document: the
runs once (a table of columns), and per test and metric its medians over the runs that
measured it, pointing into that table by position. Beside them: change points
(``analysis.change_points``), the 1h / 24h / 7d rolling medians as of the latest run, runs
whose verdict was regressed, undecided or improved or whose suspected regression was excused
(``results.recheck``), saved baseline versions, cost per run by model and agent, and the
recommendations of the newest runs. :func:`dashboard_page` renders it with the page kit
(``html/page.py``); the page draws each chart only when it scrolls into view.
"""

from __future__ import annotations

import bisect
import itertools
import statistics
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from ..baseline.environment import parse_utc_timestamp
from .store import HistoryStore, RunFilter, RunSummary, SeriesPoint

__all__ = [
    "DASHBOARD_VERSION",
    "MARKS",
    "SERIES_SCOPES",
    "VERDICT_MARKS",
    "WINDOWS",
    "dashboard_data",
    "dashboard_page",
    "latest_rolling_median",
]

DASHBOARD_VERSION = 1
WINDOWS: tuple[tuple[str, float], ...] = (("1h", 3600.0), ("24h", 86400.0), ("7d", 604800.0))
"""The rolling windows: a run's rolling median is the median of the medians of the runs that
finished within the window up to it."""
SERIES_SCOPES = ("round", "stream", "custom")
"""The metrics charted per test; the per-phase, agent, operation and model breakdowns are
summed into the cost over time instead."""
VERDICT_MARKS = ("regressed", "undecided", "improved")
"""Verdicts a chart marks on its run (any other verdict, or none, is not marked)."""
MARKS = (*VERDICT_MARKS, "excused")
"""What a chart's mark on a run can say: a verdict, or ``excused``: the metric looked worse,
the test was re-measured, and the re-measure did not confirm it (the test passed)."""
RECOMMEND_RUNS = 50
"""The newest runs the recommendations are drawn from, as ``perfbaseline recommend``."""
_DIGITS = 4


def _short(value: float | None) -> float | None:
    """``value`` to 4 significant digits: what a chart shows, in far fewer bytes."""
    return None if value is None else float(f"{value:.{_DIGITS}g}")


def _epoch(text: str) -> int:
    return int(parse_utc_timestamp(text).timestamp())


def latest_rolling_median(
    times: Sequence[float], values: Sequence[float | None], window_s: float
) -> float | None:
    """The median of the values of the points within ``window_s`` up to the last one (times
    ascending, seconds); None where that window holds no value."""
    if not times:
        return None
    start = bisect.bisect_left(times, times[-1] - window_s)
    inside = [v for v in values[start:] if v is not None]
    return statistics.median(inside) if inside else None


def _runs_table(runs: Sequence[RunSummary]) -> dict[str, list[Any]]:
    return {
        "id": [run.run_id for run in runs],
        "t": [_epoch(run.finished_at) for run in runs],
        "branch": [run.git_branch for run in runs],
        "commit": [run.git_commit[:12] if run.git_commit else None for run in runs],
        "profile": [run.profile for run in runs],
        "mode": [run.mode for run in runs],
        "tests": [run.tests for run in runs],
    }


def _pairs(store: HistoryStore) -> list[tuple[str, str, str, bool]]:
    """Every (test, metric) charted, with the metric's unit and direction, sorted."""
    marks = ", ".join("?" * len(SERIES_SCOPES))
    rows = store.db.execute(
        "SELECT DISTINCT nodeid, metric, unit, higher_is_better FROM results "
        f"WHERE scope IN ({marks}) OR scope IS NULL ORDER BY nodeid, metric",
        list(SERIES_SCOPES),
    )
    seen: dict[tuple[str, str], tuple[str, str, str, bool]] = {}
    for nodeid, metric, unit, higher in rows:
        seen.setdefault((nodeid, metric), (nodeid, metric, unit, bool(higher)))
    return list(seen.values())


def _steps(points: Sequence[SeriesPoint]) -> list[list[Any]]:
    """The series' change points: ``[position, before, after, ratio]`` each."""
    from .analysis import MIN_SEGMENT, change_points

    at = [i for i, p in enumerate(points) if p.median is not None]
    if len(at) < 2 * MIN_SEGMENT:
        return []
    values = [points[i].median for i in at]
    return [
        [at[step.index], _short(step.before), _short(step.after), _short(step.ratio)]
        for step in change_points([v for v in values if v is not None])
    ]


def _mark(point: SeriesPoint) -> int | None:
    """The point's mark (a position in :data:`MARKS`), if any."""
    if point.verdict in VERDICT_MARKS:
        return VERDICT_MARKS.index(point.verdict)
    if point.recheck == "not confirmed":
        return MARKS.index("excused")
    return None


def _series(
    points: Sequence[SeriesPoint],
    where: Mapping[str, int],
    epochs: Sequence[int],
    test: int,
    metric: int,
) -> dict[str, Any]:
    """One test's metric over runs: positions in the run table (the first one and the steps
    between them), medians, rounds, marked verdicts, change points, the latest rolling
    medians."""
    positions = [where[p.run_id] for p in points]
    steps = [b - a for a, b in itertools.pairwise(positions)]
    entry: dict[str, Any] = {"t": test, "m": metric, "r0": positions[0]}
    if any(step != 1 for step in steps):
        entry["rd"] = steps
    entry["v"] = [_short(p.median) for p in points]
    counts = {p.n for p in points}
    entry["n"] = counts.pop() if len(counts) == 1 else [p.n for p in points]
    marks = {str(i): mark for i, p in enumerate(points) if (mark := _mark(p)) is not None}
    if marks:
        entry["x"] = marks
    found = _steps(points)
    if found:
        entry["cp"] = found
    times = [epochs[i] for i in positions]
    values = [p.median for p in points]
    entry["roll"] = [_short(latest_rolling_median(times, values, size)) for _, size in WINDOWS]
    return entry


def _cost(store: HistoryStore, where: Mapping[str, int]) -> dict[str, dict[str, list[Any]]]:
    """Per run, the cost of one round of every test together, by model and by agent."""
    rows = store.db.execute(
        "SELECT run_id, scope, owner, metric, median FROM results "
        "WHERE scope IN ('model', 'agent') AND median IS NOT NULL"
    )
    found: dict[str, dict[str, dict[int, float]]] = {"model": {}, "agent": {}}
    for run_id, scope, owner, metric, median in rows:
        if run_id not in where or not str(metric).endswith(".cost_usd"):
            continue
        by_run = found[scope].setdefault(str(owner), {})
        by_run[where[run_id]] = by_run.get(where[run_id], 0.0) + float(median)
    return {
        scope: {
            owner: [sorted(by_run), [_short(by_run[i]) for i in sorted(by_run)]]
            for owner, by_run in sorted(owners.items())
        }
        for scope, owners in found.items()
    }


def _baselines(store: HistoryStore, where: Mapping[str, int]) -> list[dict[str, Any]]:
    return [
        {
            "run": where.get(version.run_id),
            "t": _epoch(version.saved_at),
            "commit": version.git_commit[:12] if version.git_commit else None,
            "profile": version.profile,
            "tests": len(version.tests),
        }
        for version in store.baseline_versions()
    ]


def _recommendations(store: HistoryStore, runs: Sequence[RunSummary]) -> list[dict[str, Any]]:
    from ..reports.json_report import report_from_dict
    from .recommend import recommend_runs

    reports = [report_from_dict(store.report(run.run_id)) for run in runs[-RECOMMEND_RUNS:]]
    return [
        {key: advice.to_dict()[key] for key in ("kind", "test", "metric", "finding", "action")}
        for advice in recommend_runs(reports)
    ]


def dashboard_data(store: HistoryStore, selection: RunFilter | None = None) -> dict[str, Any]:
    """The runs ``selection`` keeps, as the dashboard's JSON document (builtins only)."""
    runs = store.runs(selection)
    where = {run.run_id: i for i, run in enumerate(runs)}
    table = _runs_table(runs)
    tests: dict[str, int] = {}
    metrics: dict[str, int] = {}
    units: list[list[Any]] = []
    series = []
    only = selection.test if selection is not None else None
    pairs = [pair for pair in _pairs(store) if only is None or pair[0] == only] if runs else []
    for nodeid, metric, unit, higher in pairs:
        found = store.series(nodeid, metric, selection, rounds=False)
        points = [p for p in found if p.run_id in where]
        if not points:
            continue
        if metric not in metrics:
            metrics[metric] = len(metrics)
            units.append([metric, unit, higher])
        test = tests.setdefault(nodeid, len(tests))
        series.append(_series(points, where, table["t"], test, metrics[metric]))
    return {
        "version": DASHBOARD_VERSION,
        "store": store.db.location.label(),
        "generated": int(datetime.now(timezone.utc).timestamp()),
        "windows": [name for name, _ in WINDOWS],
        "verdicts": list(MARKS),
        "runs": table,
        "tests": list(tests),
        "metrics": units,
        "series": series,
        "baselines": _baselines(store, where),
        "cost": _cost(store, where),
        "recommendations": _recommendations(store, runs) if runs else [],
    }


def dashboard_page(data: Mapping[str, Any], *, live: bool = False) -> str:
    """The dashboard as one offline HTML document; ``live``: it polls the server it came from."""
    from ..html.page import render_page, static_text

    body = static_text("dashboard.html")
    return render_page(
        title="perfbaseline dashboard",
        data={**data, "live": live},
        script=static_text("dashboard.js"),
        style=static_text("dashboard.css"),
        body=body,
    )
