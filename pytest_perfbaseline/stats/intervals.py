"""One-sample confidence intervals: the mean (t) and the median (distribution-free)."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache

import numpy as np

from ._common import _TAIL_RTOL, SampleLike, _as_sample, _check_probability, _normal_quantile
from ._distributions import binomial_half_cdf, t_quantile
from .ttest import _sum_sq

__all__ = ["mean_ci", "median_ci"]


def mean_ci(x: SampleLike, *, confidence: float = 0.95) -> tuple[float, float]:
    """Two-sided Student t confidence interval for the mean of ``x`` (at least 2 values)."""
    xa = _as_sample(x, "x", min_size=2)
    _check_probability(confidence, "confidence")
    n = xa.size
    mean, ss = _sum_sq(xa)
    quantile = t_quantile(0.5 + confidence / 2.0, float(n - 1))
    half = quantile * math.sqrt(ss / (n - 1) / n)
    return mean - half, mean + half


def _largest_rank_within(
    cdf_at: Callable[[int], float], tail: float, guess: int, upper: int
) -> int:
    """Largest k in [0, upper] with cdf_at(k - 1) <= tail, given cdf_at increasing."""

    def ok(k: int) -> bool:
        return k == 0 or float(cdf_at(k - 1)) <= tail * (1.0 + _TAIL_RTOL)

    k = min(max(guess, 0), upper)
    while k > 0 and not ok(k):
        k -= 1
    while k < upper and ok(k + 1):
        k += 1
    return k


@lru_cache(maxsize=256)
def _median_rank(n: int, confidence: float) -> int:
    tail = (1.0 - confidence) / 2.0
    z = _normal_quantile(1.0 - tail)
    guess = math.floor(n / 2.0 - z * math.sqrt(n) / 2.0)
    return _largest_rank_within(lambda j: binomial_half_cdf(j, n), tail, guess, upper=(n + 1) // 2)


def median_ci(x: SampleLike, *, confidence: float = 0.95) -> tuple[float, float]:
    """Distribution-free two-sided confidence interval for the median of ``x``.

    Returns the order statistics ``[x_(k), x_(n+1-k)]`` (1-based, sorted ascending), where ``k``
    is the largest rank with ``P(B <= k - 1) <= (1 - confidence) / 2`` for
    ``B ~ Binomial(n, 1/2)``. Its coverage, ``1 - 2 P(B <= k - 1)``, is therefore at least
    ``confidence`` for any continuous distribution (and usually above it, since the binomial is
    discrete). If even ``k = 1`` does not reach ``confidence`` (e.g. fewer than 6 values at 95%,
    where ``[min, max]`` covers only ``1 - 2**(1-n)``), the interval is ``(-inf, inf)``.
    """
    xa = _as_sample(x, "x")
    _check_probability(confidence, "confidence")
    n = xa.size
    k = _median_rank(n, float(confidence))
    if k == 0:
        return -math.inf, math.inf
    part = np.partition(xa, (k - 1, n - k))
    return float(part[k - 1]), float(part[n - k])
