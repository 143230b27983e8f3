"""Recommendations drawn from runs: those of the newest run, and what only history shows.

A run is a ``--perf-json`` report (a :class:`~..reports.run.RunReport`, or its dict as the
history store returns it); runs are given oldest first, newest last. Over the runs: a step
change not yet accepted into the baseline, slow drift, and a test inconclusive or undecided
run after run; from the newest run, a stale baseline or one measured on another machine, and
everything :func:`..reports.single_run.run_recommendations` finds. Documented in docs/history.md.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..gate.settings import DEFAULT_DELTAS, TestSettings
from ..metrics.formatting import format_percent, format_ratio, format_value
from ..reports.recommendation import Recommendation, render_recommendations, sort_recommendations
from ..reports.single_run import run_recommendations

if TYPE_CHECKING:
    from ..reports.run import RunReport, TestEntry
    from .analysis import Drift, Step

__all__ = [
    "OTHER_MACHINE_MARK",
    "STEP_EDGE_RUNS",
    "STEP_SHARPNESS",
    "STREAK_RUNS",
    "drift_text",
    "recommend",
    "recommend_runs",
    "recommendations_text",
    "step_text",
    "where_text",
]

STREAK_RUNS = 3
"""A test inconclusive (or undecided) in this many compare runs in a row gets a recommendation."""
OTHER_MACHINE_MARK = " -- NOT "
"""How a comparison's ``baseline_origin`` flags a baseline measured on another machine (CPU
model or cores): see :func:`pytest_perfbaseline.baseline.environment.describe_origin`."""
STEP_SHARPNESS = 0.5
"""A change point is a step when the runs right either side of it (``STEP_EDGE_RUNS`` each)
differ by at least this share of the whole change (on a log scale); a slope is drift."""
STEP_EDGE_RUNS = 3
_UNSETTLED = ("inconclusive", "undecided")


@dataclass(frozen=True)
class _Point:
    """One run's value of a test's metric."""

    run: RunReport
    value: float


def _series(runs: Sequence[RunReport]) -> dict[tuple[str, str], list[_Point]]:
    """Per (test, gated metric), the run medians, oldest first."""
    import statistics

    found: dict[tuple[str, str], list[_Point]] = {}
    for run in runs:
        for entry in run.tests:
            for key in entry.result.infos:
                values = entry.result.values(key)
                if values and _is_gated(entry, key):
                    point = _Point(run, statistics.median(values))
                    found.setdefault((entry.nodeid, key), []).append(point)
    return found


def _is_gated(entry: TestEntry, key: str) -> bool:
    if entry.comparison is not None:
        for comparison in entry.comparison.comparisons:
            if comparison.metric == key:
                return comparison.gated
    return TestSettings().gates(key, custom=entry.result.infos[key].kind == "custom")


def _latest_entry(runs: Sequence[RunReport], nodeid: str) -> TestEntry | None:
    for run in reversed(runs):
        for entry in run.tests:
            if entry.nodeid == nodeid:
                return entry
    return None


def _threshold(entry: TestEntry | None, key: str) -> float:
    if entry is None:
        return DEFAULT_DELTAS["custom"]
    if entry.comparison is not None:
        for comparison in entry.comparison.comparisons:
            if comparison.metric == key:
                return comparison.threshold
    return DEFAULT_DELTAS[entry.result.infos[key].kind]


def where_text(commit: str | None, when: str) -> str:
    """``commit abc123def456 on 2026-11-20`` (``the run of 2026-11-20 10:00 UTC`` outside git,
    where the day alone would not tell a day's runs apart), from a run's commit and its UTC
    time (ISO 8601)."""
    day = when[:10]
    if commit:
        return f"commit {commit[:12]} on {day}"
    minute = when[11:16]
    return f"the run of {day} {minute} UTC" if len(minute) == 5 else f"the run of {day}"


def _where(run: RunReport) -> str:
    return where_text(run.environment.git_commit, run.created_at)


def step_text(step: Step, *, metric: str, test: str, where: str, unit: str = "") -> str:
    """``ttft_s of test_chat stepped +18.0% [+12.0%, +24.0%] at commit abc123 on 2026-11-20
    (100 ms -> 118 ms, 5 runs since)``; ``where`` from :func:`where_text`."""
    interval = f"[{format_ratio(step.ratio_low)}, {format_ratio(step.ratio_high)}]"
    return (
        f"{metric} of {test} stepped {format_ratio(step.ratio)} {interval} at {where} "
        f"({format_value(step.before, unit)} -> {format_value(step.after, unit)}, "
        f"{step.runs_after} runs since)"
    )


def drift_text(found: Drift, *, metric: str, test: str, best_where: str, unit: str = "") -> str:
    """``ttft_s of test_chat drifted 12% worse: 1.12 s over the last 3 runs against 1.00 s at
    best, from commit ... (last 20 runs)``; ``best_where`` from :func:`where_text`."""
    return (
        f"{metric} of {test} drifted {format_percent(round(found.worse_by, 3))} worse: "
        f"{format_value(found.recent, unit)} over the last {found.recent_runs} runs "
        f"against {format_value(found.best, unit)} at best, from {best_where} "
        f"(last {found.window} runs)"
    )


def _accepted(latest: TestEntry | None, since: RunReport) -> bool:
    """Whether the baseline the newest run compared with was saved at or after ``since``."""
    if latest is None or latest.comparison is None:
        return False
    saved = latest.comparison.baseline_saved_at
    return saved is not None and saved >= since.created_at


def _sharp(values: Sequence[float], step: Step) -> bool:
    """Whether the change happens at the step rather than along a slope: the runs right
    either side of it differ by at least ``STEP_SHARPNESS`` of the whole step (on logs)."""
    import statistics

    i = step.index
    before = statistics.median(values[max(0, i - STEP_EDGE_RUNS) : i])
    after = statistics.median(values[i : i + STEP_EDGE_RUNS])
    if step.ratio is None or before <= 0 or after <= 0 or step.ratio == 1:
        return False
    return math.log(after / before) / math.log(step.ratio) >= STEP_SHARPNESS


def _large(step: Step, threshold: float) -> bool:
    return step.ratio is not None and abs(math.log(step.ratio)) >= math.log1p(threshold)


def _step(
    nodeid: str, key: str, points: list[_Point], latest: TestEntry | None, step: Step
) -> Recommendation | None:
    """``step`` when it is as large as the gate's threshold and the baseline in force
    predates it."""
    if not _large(step, _threshold(latest, key)):
        return None
    at, before = points[step.index].run, points[step.index - 1].run
    if _accepted(latest, at) or step.ratio is None:
        return None
    unit = latest.result.infos[key].unit if latest else ""
    worse = (step.ratio > 1) != (latest is not None and latest.result.infos[key].higher_is_better)
    action = (
        f"if intended, accept it with pytest --perf-baseline=save; else look between "
        f"{_where(before)} and {_where(at)}"
        if worse
        else "lock the improvement in: pytest --perf-baseline=save"
    )
    return Recommendation(
        kind="step",
        test=nodeid,
        metric=key,
        numbers={
            **step.to_dict(),
            "commit": at.environment.git_commit,
            "at": at.created_at,
            "previous_commit": before.environment.git_commit,
            "worse": worse,
        },
        finding=step_text(step, metric=key, test=nodeid, where=_where(at), unit=unit)
        + ", not in the baseline yet",
        action=action,
    )


def _drift(
    nodeid: str, key: str, points: list[_Point], latest: TestEntry | None
) -> Recommendation | None:
    """Slow drift over the last runs."""
    from .analysis import drift

    if latest is None:
        return None
    info = latest.result.infos[key]
    found = drift([p.value for p in points], higher_is_better=info.higher_is_better)
    if found is None:
        return None
    best = points[found.best_index].run
    return Recommendation(
        kind="drift",
        test=nodeid,
        metric=key,
        numbers={**found.to_dict(), "best_commit": best.environment.git_commit},
        finding=drift_text(found, metric=key, test=nodeid, best_where=_where(best), unit=info.unit)
        + ", with no single step",
        action=(
            f"compare with {_where(best)} (small changes add up); re-save the baseline only if "
            "the slower level is intended"
        ),
    )


def _over_runs(
    nodeid: str, key: str, points: list[_Point], latest: TestEntry | None
) -> Recommendation | None:
    """A step not yet in the baseline; else slow drift, unless a step explains it.

    A steady slope is no step, though E-divisive splits it too (its two halves differ):
    only a sharp change point counts as a step; a slope shows as drift.
    """
    from .analysis import DRIFT_WINDOW, MIN_SEGMENT, change_points

    values = [p.value for p in points]
    steps = change_points(values) if len(values) >= 2 * MIN_SEGMENT else []
    sharp = [s for s in steps if _sharp(values, s)]
    step = _step(nodeid, key, points, latest, sharp[-1]) if sharp else None
    if step is not None:
        return step
    threshold = _threshold(latest, key)
    if any(s.index >= len(values) - DRIFT_WINDOW and _large(s, threshold) for s in sharp):
        return None  # a step the baseline has accepted, not a drift
    return _drift(nodeid, key, points, latest)


def _streaks(runs: Sequence[RunReport]) -> Iterator[Recommendation]:
    """Tests inconclusive or undecided in each of their last ``STREAK_RUNS`` compare runs."""
    verdicts: dict[str, list[str]] = {}
    for run in runs:
        for entry in run.tests:
            if entry.comparison is not None:
                verdicts.setdefault(entry.nodeid, []).append(entry.comparison.verdict)
    for nodeid, seen in sorted(verdicts.items()):
        streak = 0
        for verdict in reversed(seen):
            if verdict not in _UNSETTLED:
                break
            streak += 1
        if streak < STREAK_RUNS:
            continue
        last = seen[-streak:]
        undecided = last[-1] == "undecided"
        yield Recommendation(
            kind="streak",
            test=nodeid,
            metric=None,
            numbers={"runs": streak, "verdict": last[-1]},
            finding=f"{nodeid} was {' or '.join(sorted(set(last)))} in its last {streak} runs",
            action=(
                "the machine was too busy to judge it: run perf tests on a quieter runner"
                if undecided
                else "it never gets enough rounds: raise --perf-max-rounds / --perf-max-time "
                "(or max_rounds= on its marker), or make the workload steadier"
            ),
        )


def _baseline_state(run: RunReport) -> Iterator[Recommendation]:
    """Stale baselines and baselines measured on another machine, as the newest run saw them."""
    for entry in run.tests:
        comparison = entry.comparison
        if comparison is None or comparison.is_new:
            continue
        origin = comparison.baseline_origin or ""
        if comparison.stale:
            yield Recommendation(
                kind="stale_baseline",
                test=entry.nodeid,
                metric=None,
                numbers={
                    "saved_at": comparison.baseline_saved_at,
                    "age_s": comparison.baseline_age_s,
                },
                finding=f"the baseline of {entry.nodeid} is stale (saved "
                f"{comparison.baseline_saved_at})",
                action="re-save it: pytest --perf-baseline=save",
            )
        if OTHER_MACHINE_MARK in origin:
            yield Recommendation(
                kind="other_machine",
                test=entry.nodeid,
                metric=None,
                numbers={"origin": origin},
                finding=f"the baseline of {entry.nodeid} was measured on another machine "
                f"({origin})",
                action="save one on this kind of machine (its own --perf-profile), so that the "
                "gate compares like with like",
            )


def recommend_runs(runs: Sequence[RunReport]) -> list[Recommendation]:
    """Every recommendation the runs (oldest first) support, most pressing first."""
    if not runs:
        return []
    found = run_recommendations(runs[-1])
    found += _baseline_state(runs[-1])
    found += _streaks(runs)
    for (nodeid, key), points in sorted(_series(runs).items()):
        advice = _over_runs(nodeid, key, points, _latest_entry(runs, nodeid))
        found += [advice] if advice else []
    return sort_recommendations(found)


def recommend(runs: Sequence[Mapping[str, Any]]) -> list[Recommendation]:
    """:func:`recommend_runs` over run dicts shaped like the ``--perf-json`` report (oldest
    first). ValueError naming the run when one is not such a dict."""
    from ..reports.json_report import report_from_dict

    reports = []
    for i, run in enumerate(runs):
        try:
            reports.append(report_from_dict(run))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"run {i + 1} is not a report: {type(exc).__name__}: {exc}") from None
    return recommend_runs(reports)


def recommendations_text(runs: Sequence[Mapping[str, Any]]) -> str:
    """All recommendations for ``runs`` (run dicts, oldest first), one line each."""
    found = recommend(runs)
    if not found:
        return f"no recommendations from {len(runs)} run{'s' * (len(runs) != 1)}"
    return "\n".join(render_recommendations(found))
