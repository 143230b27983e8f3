"""The Hodges-Lehmann shift estimate with Moses' interval, and its ratio form."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ._common import (
    _AUTO_EXACT_MAX_N,
    _TAIL_RTOL,
    SampleLike,
    _as_sample,
    _check_probability,
    _FloatArray,
    _normal_quantile,
)
from .mannwhitney import _no_ties_null

__all__ = ["RatioEstimate", "hodges_lehmann", "hodges_lehmann_ci", "hodges_lehmann_ratio"]


@lru_cache(maxsize=256)
def _moses_rank(n: int, m: int, confidence: float) -> int:
    """Rank k of Moses' interval [D_(k), D_(nm+1-k)] over the n*m sorted pairwise differences.

    k is the largest rank with P(U <= k - 1) <= (1 - confidence) / 2 under the tie-free null, so
    the interval covers the true shift with probability 1 - 2 P(U <= k - 1) >= confidence.
    0 means no finite interval reaches ``confidence``.
    """
    tail = (1.0 - confidence) / 2.0
    nm = n * m
    if n + m <= _AUTO_EXACT_MAX_N:
        cdf, _ = _no_ties_null(n, m)
        return int(np.searchsorted(cdf, tail * (1.0 + _TAIL_RTOL), side="right"))
    sd = math.sqrt(nm * (n + m + 1) / 12.0)
    z = _normal_quantile(1.0 - tail)
    # Continuity-corrected normal quantile: P(U <= k - 1) ~ Phi((k - 1/2 - nm/2) / sd).
    guess = math.floor(nm / 2.0 + 0.5 - z * sd)
    return max(0, min(guess, (nm + 1) // 2))


def _hl_with_ci(
    xa: _FloatArray, ya: _FloatArray, confidence: float | None
) -> tuple[float, float, float]:
    diffs = np.subtract.outer(xa, ya).ravel()
    total = diffs.size
    mid_lo, mid_hi = (total - 1) // 2, total // 2
    k = 0
    if confidence is not None:
        k = _moses_rank(xa.size, ya.size, float(confidence))
    # A full sort: numpy's vectorised sort is faster than its partition at two to four ranks
    # (introselect) at every size, and gives the same order statistics.
    part = np.sort(diffs)
    estimate = 0.5 * (float(part[mid_lo]) + float(part[mid_hi]))
    if k == 0:
        return estimate, -math.inf, math.inf
    return estimate, float(part[k - 1]), float(part[total - k])


def hodges_lehmann(x: SampleLike, y: SampleLike) -> float:
    """Hodges-Lehmann shift estimate: the median of all pairwise differences ``x_i - y_j``.

    It estimates how far ``x`` is shifted relative to ``y`` (not the difference of medians).
    Memory and time are O(len(x) * len(y)).
    """
    xa, ya = _as_sample(x, "x"), _as_sample(y, "y")
    return _hl_with_ci(xa, ya, None)[0]


def hodges_lehmann_ci(
    x: SampleLike, y: SampleLike, *, confidence: float = 0.95
) -> tuple[float, float, float]:
    """Hodges-Lehmann shift estimate with Moses' distribution-free confidence interval.

    Returns ``(estimate, low, high)``. With the ``n*m`` pairwise differences ``x_i - y_j`` sorted
    as ``D_(1) <= ... <= D_(nm)``, the interval is ``[D_(k), D_(nm+1-k)]`` where ``k`` is the
    largest rank with ``P(U <= k - 1) <= (1 - confidence) / 2`` under the exact tie-free
    Mann-Whitney null (continuity-corrected normal quantiles above 200 pooled values). For
    continuous data its coverage is at least ``confidence``; it is the set of shifts the
    two-sided exact Mann-Whitney test does not reject. When no finite interval reaches
    ``confidence`` (tiny samples, e.g. 3 vs 3 at 95%) the bounds are infinite.
    """
    xa, ya = _as_sample(x, "x"), _as_sample(y, "y")
    _check_probability(confidence, "confidence")
    return _hl_with_ci(xa, ya, confidence)


@dataclass(frozen=True)
class RatioEstimate:
    """Typical ratio current/baseline with its confidence interval ``[low, high]``.

    ``ratio`` is ``exp`` of the Hodges-Lehmann shift between the log samples, so 1.10 reads as
    "typically 10% larger than the baseline".
    """

    ratio: float
    low: float
    high: float
    confidence: float


def hodges_lehmann_ratio(
    baseline: SampleLike, current: SampleLike, *, confidence: float = 0.95
) -> RatioEstimate:
    """Multiplicative Hodges-Lehmann estimate of ``current`` relative to ``baseline``.

    Works on logarithms, where a slowdown by a factor is a location shift: the ratio is
    ``exp(hodges_lehmann(log(current), log(baseline)))`` and the bounds are the exponentiated
    Moses interval (see :func:`hodges_lehmann_ci`; infinite log bounds become 0 and inf). All
    values must be strictly positive.
    """
    base = _as_sample(baseline, "baseline")
    cur = _as_sample(current, "current")
    _check_probability(confidence, "confidence")
    if (base <= 0.0).any():
        raise ValueError("baseline values must be strictly positive for a ratio estimate")
    if (cur <= 0.0).any():
        raise ValueError("current values must be strictly positive for a ratio estimate")
    estimate, low, high = _hl_with_ci(np.log(cur), np.log(base), confidence)
    return RatioEstimate(
        ratio=math.exp(estimate),
        low=math.exp(low),
        high=math.exp(high),
        confidence=float(confidence),
    )
