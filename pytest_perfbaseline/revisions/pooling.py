"""Two sides of alternating sessions -> the gate's reference and current result, per test.

Each side is pooled as a baseline's stored sessions are (:func:`..baseline.sessions.pool_values`):
the session is a block, each session's rounds of a time, rate or custom metric are rescaled to
the side's centre of session medians (log scale) and pooled, so the offsets between whole
sessions do not widen the sample the rank test sees; token counts and cost are the newest
session's. The offsets are allowed for instead by a **drift allowance** on the reference,
the ratio by which the two sides' centres may differ with no change in the code: a one-sided
95% bound ``exp(t(K_a + K_b - 2, 0.95) * s_d * sqrt(1/K_a + 1/K_b))``, where ``s_d^2`` is the
variance of a session's log-median about its side's centre, from both sides (the rounds' own
noise taken out, as for a baseline). Where a baseline's allowance predicts one new session
(``sqrt(1 + 1/K)``), here both sides are means of ``K`` sessions, measured in the same job.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..baseline.environment import Environment
from ..baseline.sessions import (
    SessionValues,
    median_noise,
    pool_values,
    t_quantile_95,
)
from ..metrics.result import TestResult

__all__ = ["PooledSide", "pair_allowance", "pool_side", "pooled_pair"]

_POOLED_KINDS = frozenset({"time", "rate", "custom"})


@dataclass(frozen=True)
class PooledSide:
    """One side's sessions of one test, pooled."""

    result: TestResult
    environment: Environment
    sessions: int
    samples: Mapping[str, Sequence[Sequence[float]]]
    """Metric key -> each session's values, for the drift allowance."""


def pool_side(sessions: Sequence[tuple[TestResult, Environment]]) -> PooledSide:
    """A test's sessions on one side (in running order, at least one), pooled."""
    blocks = [SessionValues.of(result, env) for result, env in sessions]
    columns, _, environment = pool_values(blocks)
    count = max(map(len, columns.values()), default=0)
    newest = sessions[-1][0]
    samples = {
        name: [block.values(name) for block in blocks if name in block.infos]
        for name, info in newest.infos.items()
        if info.kind in _POOLED_KINDS
    }
    return PooledSide(newest.with_columns(columns, count), environment, len(blocks), samples)


def pair_allowance(a: Sequence[Sequence[float]], b: Sequence[Sequence[float]]) -> float:
    """The drift allowance (a ratio >= 1) between two sides' sessions of one metric; 1.0 when
    it cannot be estimated (a value that is not positive, fewer than 3 sessions in all)."""
    sides = [[list(s) for s in side if s] for side in (a, b)]
    values = [v for side in sides for s in side for v in s]
    if not all(sides) or min(values) <= 0:
        return 1.0
    logs = [[list(map(math.log, s)) for s in side] for side in sides]
    medians = [[statistics.median(s) for s in side] for side in logs]
    df = len(medians[0]) + len(medians[1]) - 2
    if df < 1:
        return 1.0
    squares = sum(sum((m - statistics.fmean(side)) ** 2 for m in side) for side in medians)
    drift_var = max(0.0, squares / df - median_noise([s for side in sides for s in side]))
    spread = math.sqrt(drift_var * (1 / len(medians[0]) + 1 / len(medians[1])))
    return math.exp(t_quantile_95(df) * spread)


def pooled_pair(
    ref: Sequence[tuple[TestResult, Environment]],
    current: Sequence[tuple[TestResult, Environment]],
) -> tuple[PooledSide, PooledSide, dict[str, float]]:
    """Both sides of one test pooled, and the drift allowance of every metric that has one."""
    a, b = pool_side(ref), pool_side(current)
    drift = {}
    for name, samples in a.samples.items():
        if name in b.samples:
            allowance = pair_allowance(samples, b.samples[name])
            if allowance > 1.0:
                drift[name] = allowance
    return a, b, drift
