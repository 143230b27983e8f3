"""A test's stored sessions -> the reference the gate compares with, and when to start afresh.

A baseline keeps the last few saving sessions of each test (newest last), because sessions
differ: on a shared machine a whole session runs a few percent faster or slower than the
next, code unchanged. From those sessions:

- **time, rate and custom metrics** (positive values): each session's median is taken on a
  log scale, ``c`` is their mean, and each session's rounds are rescaled by
  ``exp(c - log median_i)`` and pooled. Rescaling first keeps the between-session offsets out
  of the pooled sample, which stays as tight as one session's. The offsets are accounted for
  by a **drift allowance** instead: ``exp(t(K-1, 0.95) * s_d * sqrt(1 + 1/K))``, a one-sided
  95% prediction bound for the median of the next session, where ``s_d^2`` is the variance of
  the ``K`` log-medians less the part the rounds' own noise gives a median (``pi/2 * var /
  n``: the gate's test accounts for that noise already). From ``K >= 3`` sessions only: with
  two, the t quantile is 6.3 and the allowance would blind the gate; below three it is 1.0.
- **token counts and cost** do not depend on the machine: the newest session's rounds, no
  allowance.

The reference environment is the newest session's, with the fastest machine probe among the
sessions measured on the same kind of machine as the newest.

Saving: a session whose median differs by more than the test's threshold from every stored
session, on a gated time or rate metric whose stored sessions agree with each other, is a
new performance level (a regression the user accepted, or an improvement): the
stored sessions are dropped and it starts a fresh history (:func:`level_changed`).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import repeat

from ..metrics.names import MetricInfo
from ..metrics.result import TestResult
from ..metrics.summary import exact_variance
from .environment import Environment

__all__ = [
    "DEFAULT_SESSIONS",
    "LEVEL_THRESHOLD",
    "MIN_DRIFT_SESSIONS",
    "PooledColumns",
    "PooledSessions",
    "SessionValues",
    "drift_allowance",
    "level_changed",
    "pool_sessions",
    "pool_values",
    "t_quantile_95",
]

DEFAULT_SESSIONS = 3
"""How many saving sessions a test's baseline keeps by default."""
MIN_DRIFT_SESSIONS = 3
"""Sessions needed before a drift allowance is estimated (with 2, t = 6.3 blinds the gate)."""
LEVEL_THRESHOLD = 0.10
"""The change of a time or rate metric that starts a fresh history when the caller gives no
thresholds of its own (the gate's default threshold for times)."""

_POOLED_KINDS = frozenset({"time", "rate", "custom"})
_LEVEL_KINDS = frozenset({"time", "rate"})

# t quantiles at 0.95 for 1..30 degrees of freedom.
_T95 = (
    6.313751515,
    2.919985580,
    2.353363435,
    2.131846786,
    2.015048373,
    1.943180281,
    1.894578605,
    1.859548038,
    1.833112933,
    1.812461123,
    1.795884819,
    1.782287556,
    1.770933396,
    1.761310136,
    1.753050356,
    1.745883676,
    1.739606726,
    1.734063607,
    1.729132812,
    1.724718243,
    1.720742903,
    1.717144374,
    1.713871528,
    1.710882080,
    1.708140761,
    1.705617920,
    1.703288446,
    1.701130934,
    1.699127027,
    1.697260887,
)
_Z95 = 1.6448536269514722


def t_quantile_95(df: int) -> float:
    """The 95% quantile of Student's t with ``df`` degrees of freedom (``df >= 1``).

    A table up to 30, then the Cornish-Fisher expansion around the normal quantile (its error
    there is below 1e-5).
    """
    if df < 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {df}")
    if df <= len(_T95):
        return _T95[df - 1]
    z = _Z95
    return (
        z
        + (z**3 + z) / (4 * df)
        + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)
        + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * df**3)
    )


def drift_allowance(log_medians: Sequence[float], median_noise: float = 0.0) -> float:
    """The ratio (>= 1) by which the next session's median may lie above the sessions' centre
    (a one-sided 95% prediction bound); 1.0 from fewer than :data:`MIN_DRIFT_SESSIONS`.

    ``median_noise`` is the variance a session's log-median has from its own rounds' noise
    alone; it is taken out of the spread of the medians, which then measures the drift of
    whole sessions (the gate's test accounts for the rounds' noise itself).
    """
    k = len(log_medians)
    if k < MIN_DRIFT_SESSIONS:
        return 1.0
    drift_var = max(0.0, exact_variance(log_medians) - median_noise)
    return math.exp(t_quantile_95(k - 1) * math.sqrt(drift_var * (1 + 1 / k)))


def median_noise(samples: Sequence[Sequence[float]]) -> float:
    """The variance of a session's log-median due to its rounds' noise: the asymptotic
    ``(pi / 2) * variance / n`` of a median, averaged over the sessions."""
    parts = [
        math.pi / 2 * exact_variance(logs) / len(logs)
        for logs in (list(map(math.log, values)) for values in samples)
        if len(logs) > 1
    ]
    return statistics.fmean(parts) if parts else 0.0


@dataclass(frozen=True)
class PooledSessions:
    """A test's stored sessions as one reference for the gate."""

    result: TestResult
    """Pooled rounds of time/rate/custom metrics; the newest session's counts and cost (a
    metric may have more values than another: rounds without it hold None)."""
    environment: Environment
    drift: Mapping[str, float]
    """Metric key -> drift allowance ratio (>= 1); metrics without one are absent."""
    sessions: int


def _positive(values: Sequence[float]) -> bool:
    return bool(values) and min(values) > 0


def _pooled_metric(samples: Sequence[list[float]]) -> tuple[list[float], float]:
    """Rescaled and pooled values of one metric, and its drift allowance."""
    log_medians = [math.log(statistics.median(values)) for values in samples]
    centre = statistics.fmean(log_medians)
    factors = [math.exp(centre - log_median) for log_median in log_medians]
    pooled = [v * factor for values, factor in zip(samples, factors, strict=True) for v in values]
    return pooled, drift_allowance(log_medians, median_noise(samples))


@dataclass(frozen=True)
class SessionValues:
    """One stored session as pooling reads it: by metric, not by round."""

    infos: Mapping[str, MetricInfo]
    columns: Mapping[str, Sequence[float | None]]
    """Metric key (each of ``infos``) -> its value in every round (None where it has none)."""
    environment: Environment

    @classmethod
    def of(cls, result: TestResult, environment: Environment) -> SessionValues:
        """A session from its result."""
        columns = {name: result.column(name) for name in result.infos}
        return cls(result.infos, columns, environment)

    def values(self, name: str) -> list[float]:
        """Like :meth:`TestResult.values`: the metric's values, without the missing ones."""
        return [v for v in self.columns[name] if v is not None]


def _metric_values(
    sessions: Sequence[SessionValues], name: str
) -> tuple[list[float | None], float]:
    newest = sessions[-1]
    own = list(newest.columns[name])  # nulls where they were
    if newest.infos[name].kind not in _POOLED_KINDS:
        return own, 1.0
    samples = [s.values(name) for s in sessions if name in s.infos]
    if not all(_positive(sample) for sample in samples):
        return own, 1.0
    pooled, allowance = _pooled_metric(samples)
    return list(pooled), allowance


def _environment(environments: Sequence[Environment]) -> Environment:
    newest = environments[-1]
    probes = [
        e.machine_probe_s
        for e in environments
        if e.machine_probe_s is not None and (e is newest or e.same_machine_kind(newest))
    ]
    return replace(newest, machine_probe_s=min(probes) if probes else None)


PooledColumns = tuple[dict[str, list[float | None]], dict[str, float], Environment]
"""The values by metric, drift allowances and environment of a test's pooled sessions."""


def pool_values(sessions: Sequence[SessionValues]) -> PooledColumns:
    """What :func:`pool_sessions` makes of two or more sessions, as parts: the newest
    session's result with these columns (in name order, each as long as the longest) is
    the pooled result."""
    values: dict[str, list[float | None]] = {}
    drift: dict[str, float] = {}
    for name in sorted(sessions[-1].infos):
        values[name], allowance = _metric_values(sessions, name)
        if allowance > 1.0:
            drift[name] = allowance
    # Every round holds every metric: None past the end of a metric with fewer values.
    count = max(map(len, values.values()), default=0)
    for column in values.values():
        column.extend(repeat(None, count - len(column)))
    return values, drift, _environment([s.environment for s in sessions])


def pool_sessions(sessions: Sequence[tuple[TestResult, Environment]]) -> PooledSessions:
    """The reference of a test from its stored sessions (oldest first, at least one)."""
    if not sessions:
        raise ValueError("a baseline has at least one session")
    if len(sessions) == 1:
        return PooledSessions(sessions[0][0], sessions[0][1], {}, 1)
    columns, drift, environment = pool_values([SessionValues.of(r, e) for r, e in sessions])
    return PooledSessions(
        result=sessions[-1][0].with_columns(columns, max(map(len, columns.values()), default=0)),
        environment=environment,
        drift=drift,
        sessions=len(sessions),
    )


def level_changed(
    stored: Sequence[TestResult], new: TestResult, thresholds: Mapping[str, float] | None
) -> bool:
    """Whether ``new`` is at another performance level than the ``stored`` sessions.

    ``thresholds`` maps the test's gated time and rate metrics to their thresholds (None:
    every time and rate metric at :data:`LEVEL_THRESHOLD`). A metric has changed level when
    the stored sessions that have it agree with each other (their medians within the
    threshold) and the new median lies more than the threshold (as a ratio, either way) off
    every one of them. Stored sessions that do not agree are drift, not a level: a save then
    adds a session, and the gate allows for the spread they show.
    """
    for name, info in new.infos.items():
        if info.kind not in _LEVEL_KINDS:
            continue
        threshold = LEVEL_THRESHOLD if thresholds is None else thresholds.get(name)
        values = new.values(name)
        samples = [s.values(name) for s in stored if name in s.infos]
        if threshold is None or not _positive(values) or not samples:
            continue
        if not all(_positive(sample) for sample in samples):
            continue
        margin = math.log1p(threshold)
        medians = [math.log(statistics.median(s)) for s in samples]
        if max(medians) - min(medians) > margin:
            continue  # sessions that disagree are drift, not a level
        new_median = math.log(statistics.median(values))
        if new_median > max(medians) + margin or new_median < min(medians) - margin:
            return True
    return False
