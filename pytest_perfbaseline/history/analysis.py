"""Change points and slow drift in a metric's series over runs: pure functions, no I/O.

A series is one number per run, oldest first -- the metric's median over the run's rounds
(runs, not rounds, are the independent units here: the rounds of one session share its
machine's state). Documented in docs/history.md, "Change points and drift".

Change points are found with E-divisive means (Matteson and James, "A Nonparametric Approach
for Multiple Change Point Analysis of Multivariate Data", JASA 2014), the method behind
MongoDB's performance change detection and Apache Otava: the split that maximises the energy
distance between the two sides, kept when a permutation test finds it significant, then the
same within each side, until no split is significant. numpy is imported here (the permutation
test is a few hundred vectorised scans); this module is never imported at plugin start-up.
"""

from __future__ import annotations

import functools
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    _Array = npt.NDArray[np.float64]

__all__ = [
    "DRIFT_RECENT",
    "DRIFT_THRESHOLD",
    "DRIFT_WINDOW",
    "MAX_PVALUE",
    "MIN_SEGMENT",
    "PERMUTATIONS",
    "TEST_SPAN",
    "Drift",
    "Step",
    "change_points",
    "drift",
    "energy_statistic",
]

PERMUTATIONS = 199
"""Permutations per significance test: p-values down to 1/200 = 0.005 can be resolved."""
MAX_PVALUE = 0.01
"""A split is a change point when at most this share of permutations splits as well."""
MIN_SEGMENT = 3
"""The fewest runs on each side of a change point: a step is reported once three runs show it,
and one odd run cannot make a segment of its own."""
DRIFT_RECENT = 3
"""Drift compares the median of the last ``DRIFT_RECENT`` runs..."""
DRIFT_WINDOW = 20
"""...with the best rolling median of ``DRIFT_RECENT`` consecutive runs among the last
``DRIFT_WINDOW``."""
DRIFT_THRESHOLD = 0.10
"""Drift is reported when the recent level is worse than that best by more than this."""

TEST_SPAN = 100
"""The permutation test of a split looks at most this many runs on either side of it: its
cost stays bounded on long series, and a level that held for 100 runs is a level."""
_CELLS_PER_BATCH = 2_000_000  # distance-matrix cells per vectorised batch: ~16 MB of float64
_ROWS_PER_CHUNK = 4  # rows whose distance matrices are held at once: 1.3 MB at 200 runs


@dataclass(frozen=True)
class Step:
    """A change point: the level of the series changed at run ``index``."""

    index: int
    """The first run of the new level (a position in the series)."""
    pvalue: float
    """The permutation test's p-value of this split within its segment."""
    before: float
    """Median of the series from the previous change point (or the start) up to ``index``."""
    after: float
    """Median of the series from ``index`` up to the next change point (or the end)."""
    ratio: float | None
    """Typical after / before ratio (Hodges-Lehmann, on logs); None for values <= 0."""
    ratio_low: float | None
    ratio_high: float | None
    """Its 95% interval (Moses'); ``ratio_high`` is infinite when too few runs bound it."""
    runs_before: int
    runs_after: int

    def to_dict(self) -> dict[str, Any]:
        """Builtins for JSON: an infinite upper bound is written as null."""
        high = self.ratio_high
        return {
            "index": self.index,
            "pvalue": self.pvalue,
            "before": self.before,
            "after": self.after,
            "ratio": self.ratio,
            "ratio_low": self.ratio_low,
            "ratio_high": None if high is not None and math.isinf(high) else high,
            "runs_before": self.runs_before,
            "runs_after": self.runs_after,
        }


@dataclass(frozen=True)
class Drift:
    """The latest runs against the best of the recent ones: a slow, step-less worsening."""

    recent: float
    """Median of the last ``recent_runs`` values."""
    best: float
    """The best (lowest, or highest when higher is better) rolling median over the window."""
    best_index: int
    """Where the best rolling window starts (a position in the series)."""
    ratio: float
    """``recent / best``."""
    worse_by: float
    """How much worse recent is than best, a fraction (0.12: 12% worse)."""
    recent_runs: int
    window: int
    """Runs looked at (the last ``window`` of the series)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "recent": self.recent,
            "best": self.best,
            "best_index": self.best_index,
            "ratio": self.ratio,
            "worse_by": self.worse_by,
            "recent_runs": self.recent_runs,
            "window": self.window,
        }


# -- E-divisive means --------------------------------------------------------------------------


def energy_statistic(left: Sequence[float], right: Sequence[float]) -> float:
    """Matteson and James's divergence of a split, Q = mn/(m+n) * E, with exponent 1.

    ``E = 2/(mn) sum|x_i - y_j| - sum_{i<k}|x_i - x_k| / C(m,2) - sum_{j<k}|y_j - y_k| / C(n,2)``,
    the sample energy distance between the two sides (``x`` of size m, ``y`` of size n, both at
    least 2). Written out directly, for reference and tests; the search uses a vectorised
    equivalent.
    """
    m, n = len(left), len(right)
    if m < 2 or n < 2:
        raise ValueError("each side of a split needs at least 2 values")
    between = sum(abs(x - y) for x in left for y in right)
    within_left = sum(abs(left[i] - left[k]) for i in range(m) for k in range(i + 1, m))
    within_right = sum(abs(right[i] - right[k]) for i in range(n) for k in range(i + 1, n))
    energy = (
        2 * between / (m * n) - within_left / (m * (m - 1) / 2) - within_right / (n * (n - 1) / 2)
    )
    return m * n / (m + n) * energy


def _split_statistics(rows: _Array, min_size: int) -> _Array:
    """Q for every split of every row (rows: batch x n); column j is the split at min_size + j.

    With c_k = sum_{i<k} |z_k - z_i|, the within-left sum of a split at t is the prefix sum of c
    up to t, the within-right sum the suffix sum of (row sum - c) from t, and the between sum
    the total less both: O(n^2) per row, in numpy.
    """
    import numpy as np

    batch, n = rows.shape
    below = _below(n)
    lower, full = np.empty((batch, n)), np.empty((batch, n))
    dist = np.empty((min(_ROWS_PER_CHUNK, batch), n, n))
    # A few rows' distance matrices at a time, in one reused buffer that stays in cache; each
    # row's sums are those of the whole batch at once, bit for bit (reductions run per row).
    for start in range(0, batch, _ROWS_PER_CHUNK):
        part = rows[start : start + _ROWS_PER_CHUNK]
        chunk = dist[: len(part)]
        np.subtract(part[:, :, None], part[:, None, :], out=chunk)
        np.abs(chunk, out=chunk)
        chunk.sum(axis=2, out=full[start : start + len(part)])
        chunk *= below  # the strict lower triangle, as np.tril: x * 1.0 and x * 0.0 are exact
        chunk.sum(axis=2, out=lower[start : start + len(part)])  # c_k
    upper = full - lower  # sum over j > k
    total = lower.sum(axis=1, keepdims=True)
    within_left = np.cumsum(lower, axis=1)  # [t-1]: pairs inside the first t
    within_right = np.cumsum(upper[:, ::-1], axis=1)[:, ::-1]  # [t]: pairs inside t..n-1
    t = np.arange(min_size, n - min_size + 1, dtype=np.float64)
    k = n - t
    wl = within_left[:, min_size - 1 : n - min_size]
    wr = within_right[:, min_size : n - min_size + 1]
    between = total - wl - wr
    energy = 2 * between / (t * k) - wl / (t * (t - 1) / 2) - wr / (k * (k - 1) / 2)
    result: _Array = t * k / n * energy
    return result


@functools.cache
def _below(n: int) -> _Array:
    """An n x n matrix of ones strictly below the diagonal, zeros elsewhere (never written)."""
    import numpy as np

    mask: _Array = np.tri(n, n, -1)
    return mask


def _best_split(values: _Array, min_size: int) -> tuple[int, float]:
    """The split (a position inside ``values``) with the largest Q, and that Q."""
    q = _split_statistics(values[None, :], min_size)[0]
    j = int(q.argmax())
    return min_size + j, float(q[j])


@dataclass(frozen=True)
class _Search:
    """How change points are searched and tested."""

    min_size: int
    permutations: int
    max_pvalue: float
    rng: np.random.Generator


def _permutation_pvalue(values: _Array, observed: float, search: _Search) -> float:
    """Share of shuffles of ``values`` whose best split is as divergent as ``observed``.

    Stops as soon as the answer is known to exceed ``max_pvalue`` (Besag and Clifford's
    sequential test), so a segment without a change costs a handful of shuffles.
    """
    import numpy as np

    n = len(values)
    permutations = search.permutations
    enough = math.floor(search.max_pvalue * (permutations + 1))  # more: not significant
    per_batch = max(1, min(50, _CELLS_PER_BATCH // (n * n)))
    done = exceed = 0
    # Compared with a relative tolerance: a shuffle equal to the observed order must count.
    bar = observed * (1 - 1e-12)
    while done < permutations:
        size = min(per_batch, permutations - done, max(1, done or 10))
        rows = np.stack([search.rng.permutation(values) for _ in range(size)])
        exceed += int((_split_statistics(rows, search.min_size).max(axis=1) >= bar).sum())
        done += size
        if exceed > enough:
            break
    return (exceed + 1) / (done + 1)


def _local_pvalue(series: _Array, split: tuple[int, int, int], q: float, search: _Search) -> float:
    """The permutation p-value of the split at ``at`` in ``start..end``, tested on at most
    ``TEST_SPAN`` runs either side of it (the observed Q recomputed on that span)."""
    start, at, end = split
    lo, hi = max(start, at - TEST_SPAN), min(end, at + TEST_SPAN)
    if (lo, hi) != (start, end):
        q = _best_split(series[lo:hi], search.min_size)[1]
    return _permutation_pvalue(series[lo:hi], q, search)


def _segment_steps(series: _Array, search: _Search) -> dict[int, float]:
    """Change points of ``series`` (position -> p-value), found hierarchically."""
    found: dict[int, float] = {}
    segments = [(0, len(series))]
    best: dict[tuple[int, int], tuple[int, float]] = {}
    while True:
        for start, end in segments:
            if (start, end) not in best and end - start >= 2 * search.min_size:
                split, q = _best_split(series[start:end], search.min_size)
                best[(start, end)] = (start + split, q)
        candidates = [(q, seg, at) for seg, (at, q) in best.items() if seg in segments]
        if not candidates:
            return found
        q, (start, end), at = max(candidates)
        pvalue = _local_pvalue(series, (start, at, end), q, search)
        if pvalue > search.max_pvalue or q <= 0:
            return found
        found[at] = pvalue
        segments.remove((start, end))
        segments += [(start, at), (at, end)]


def _ratio(before: Sequence[float], after: Sequence[float]) -> tuple[float | None, ...]:
    if min(before) <= 0 or min(after) <= 0:
        return None, None, None
    from ..stats import hodges_lehmann_ratio

    estimate = hodges_lehmann_ratio(before, after)
    return estimate.ratio, estimate.low, estimate.high


def change_points(
    series: Sequence[float],
    *,
    min_size: int = MIN_SEGMENT,
    permutations: int = PERMUTATIONS,
    max_pvalue: float = MAX_PVALUE,
    seed: int = 0,
) -> list[Step]:
    """The steps in ``series`` (one value per run, oldest first), in order.

    E-divisive means with exponent 1 and a permutation test of each split within its
    segment, at ``max_pvalue``. The shuffles come from a generator seeded with ``seed``: the
    same series always gives the same steps. Each step's before and after levels are the
    medians of the segments on either side; its ratio and 95% interval are the Hodges-Lehmann
    estimate of after / before over those segments' values.
    """
    import numpy as np

    if min_size < 2:
        raise ValueError("min_size must be at least 2")
    values = np.asarray(series, dtype=np.float64)
    if values.ndim != 1 or not np.isfinite(values).all():
        raise ValueError("series must be a flat sequence of finite numbers")
    search = _Search(min_size, permutations, max_pvalue, np.random.default_rng(seed))
    found = _segment_steps(values, search)
    bounds = [0, *sorted(found), len(values)]
    steps = []
    for i, at in enumerate(bounds[1:-1], start=1):
        before = [float(v) for v in values[bounds[i - 1] : at]]
        after = [float(v) for v in values[at : bounds[i + 1]]]
        ratio, low, high = _ratio(before, after)
        steps.append(
            Step(
                index=at,
                pvalue=found[at],
                before=statistics.median(before),
                after=statistics.median(after),
                ratio=ratio,
                ratio_low=low,
                ratio_high=high,
                runs_before=len(before),
                runs_after=len(after),
            )
        )
    return steps


# -- slow drift --------------------------------------------------------------------------------


def drift(
    series: Sequence[float],
    *,
    higher_is_better: bool = False,
    recent: int = DRIFT_RECENT,
    window: int = DRIFT_WINDOW,
    threshold: float = DRIFT_THRESHOLD,
) -> Drift | None:
    """Slow drift of ``series`` (one value per run, oldest first), or None.

    The recent level, the median of the last ``recent`` values, is compared with the best
    rolling median of ``recent`` consecutive values among the last ``window``; drift is
    reported when it is worse than that best by more than ``threshold``. Each step may be
    too small for a change point and the gate (a baseline re-saved now and then follows
    it), but their sum shows here. None with fewer than ``2 * recent`` values.
    """
    if recent < 1 or window < 2 * recent:
        raise ValueError("need recent >= 1 and window >= 2 * recent")
    tail = list(series[-window:])
    if len(tail) < 2 * recent:
        return None
    rolling = [statistics.median(tail[i : i + recent]) for i in range(len(tail) - recent + 1)]
    pick = max if higher_is_better else min
    best = pick(rolling)
    now = rolling[-1]
    if best <= 0 or now <= 0:
        return None
    worse_by = (best / now if higher_is_better else now / best) - 1
    if worse_by <= threshold:
        return None
    return Drift(
        recent=now,
        best=best,
        best_index=len(series) - len(tail) + rolling.index(best),
        ratio=now / best,
        worse_by=worse_by,
        recent_runs=recent,
        window=len(tail),
    )
