"""The Wilcoxon signed-rank test (exact also with ties) and the paired Hodges-Lehmann shift."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ._common import (
    _TAIL_RTOL,
    SampleLike,
    _as_sample,
    _check_alternative,
    _check_probability,
    _FloatArray,
    _normal_cdf,
    _normal_quantile,
)
from .ttest import _pvalue

__all__ = [
    "PairedShift",
    "WilcoxonResult",
    "paired_hodges_lehmann",
    "wilcoxon_signed_rank",
]

_WILCOXON_METHODS = ("auto", "exact", "asymptotic")
_AUTO_EXACT_MAX_PAIRS = 50
"""``method="auto"`` is exact up to this many non-zero differences (scipy's cut-off too)."""
_EXACT_MAX_PAIRS = 60
"""The counts of the exact null fit in int64 up to 2**62 sign patterns."""


@dataclass(frozen=True)
class WilcoxonResult:
    """Result of :func:`wilcoxon_signed_rank`.

    ``statistic`` is ``W+``, the sum of the (mid-)ranks of ``|d|`` over the positive
    differences ``d = x - y - shift`` after dropping zeros, for every alternative (scipy's
    two-sided statistic is ``min(W+, W-)`` instead). ``n`` counts the differences used,
    ``zeros`` those dropped; ``method`` is the one used, ``"exact"`` or ``"asymptotic"``.
    """

    statistic: float
    pvalue: float
    n: int
    zeros: int
    method: str
    alternative: str


def _differences(x: SampleLike, y: SampleLike | None, shift: float) -> _FloatArray:
    xa = _as_sample(x, "x")
    if y is None:
        d = xa
    else:
        ya = _as_sample(y, "y")
        if ya.size != xa.size:
            raise ValueError(f"x and y must have equal length, got {xa.size} and {ya.size}")
        d = xa - ya
    if not math.isfinite(shift):
        raise ValueError(f"shift must be a finite number, got {shift!r}")
    return d - shift if shift else d


def _doubled_ranks(magnitudes: _FloatArray) -> tuple[list[int], list[int]]:
    """Twice the mid-ranks of ``magnitudes`` (integers), and the sizes of its tie groups."""
    order = np.argsort(magnitudes, kind="mergesort")
    ordered = magnitudes[order]
    doubled = [0] * ordered.size
    groups: list[int] = []
    start = 0
    while start < ordered.size:
        end = start
        while end + 1 < ordered.size and ordered[end + 1] == ordered[start]:
            end += 1
        # mid-rank (start + 1 + end + 1) / 2, doubled
        for i in range(start, end + 1):
            doubled[int(order[i])] = start + end + 2
        groups.append(end - start + 1)
        start = end + 1
    return doubled, groups


@lru_cache(maxsize=256)
def _signed_rank_null(doubled: tuple[int, ...]) -> tuple[int, ...]:
    """How many of the ``2**n`` sign patterns give each doubled ``W+`` (0 .. sum).

    The permutation distribution of ``W+`` given the observed ranks (ties included): under
    the null each difference is equally likely positive or negative.
    """
    counts = np.zeros(sum(doubled) + 1, dtype=np.int64)
    counts[0] = 1
    for rank in doubled:
        counts[rank:] = counts[rank:] + counts[: counts.size - rank].copy()
    return tuple(int(c) for c in counts)


def _exact_tails(doubled: list[int], observed: int) -> tuple[float, float]:
    """(P(W+ <= observed), P(W+ >= observed)) under the exact null, doubled units."""
    counts = _signed_rank_null(tuple(sorted(doubled)))
    total = float(2 ** len(doubled))
    return sum(counts[: observed + 1]) / total, sum(counts[observed:]) / total


def _normal_tails(doubled: list[int], groups: list[int], observed: int) -> tuple[float, float]:
    """The normal approximation with the tie correction (no continuity correction)."""
    n = len(doubled)
    mean = n * (n + 1) / 4.0
    variance = (n * (n + 1) * (2 * n + 1) - sum(t * (t * t - 1) for t in groups) / 2.0) / 24.0
    if variance <= 0.0:
        return 1.0, 1.0
    z = (observed / 2.0 - mean) / math.sqrt(variance)
    return _normal_cdf(z), _normal_cdf(-z)


def wilcoxon_signed_rank(
    x: SampleLike,
    y: SampleLike | None = None,
    *,
    alternative: str = "two-sided",
    shift: float = 0.0,
    method: str = "auto",
) -> WilcoxonResult:
    """Wilcoxon's signed-rank test of the differences ``d = x - y - shift`` (``x - shift``
    without ``y``) being symmetric about zero.

    ``alternative="greater"``: ``d`` tends to be positive, i.e. ``x - y`` exceeds ``shift``
    (a threshold-shifted test: "x is larger than y by more than shift"). Zero differences are
    dropped (Wilcoxon's treatment, scipy's default ``zero_method="wilcox"``); tied
    magnitudes get mid-ranks.

    ``method="exact"`` counts the exact null distribution of ``W+`` given the observed
    ranks: with ties this is the permutation distribution of the signs (what scipy computes
    with ``method=PermutationMethod()`` when it can enumerate all sign patterns), without
    them the classic table (scipy's ``method="exact"``). ``"asymptotic"`` is the normal
    approximation with the tie correction and no continuity correction (scipy's
    ``"asymptotic"`` with ``correction=False``). ``"auto"`` is exact up to 50 non-zero
    differences, ties or not.
    """
    _check_alternative(alternative)
    if method not in _WILCOXON_METHODS:
        raise ValueError(f"method must be one of {_WILCOXON_METHODS}, got {method!r}")
    d = _differences(x, y, float(shift))
    nonzero = d[d != 0.0]
    zeros = int(d.size - nonzero.size)
    n = int(nonzero.size)
    if method == "auto":
        method = "exact" if n <= _AUTO_EXACT_MAX_PAIRS else "asymptotic"
    if method == "exact" and n > _EXACT_MAX_PAIRS:
        raise ValueError(f"method='exact' supports at most {_EXACT_MAX_PAIRS} non-zero pairs")
    if n == 0:  # nothing to rank: no evidence either way
        return WilcoxonResult(0.0, 1.0, 0, zeros, method, alternative)
    doubled, groups = _doubled_ranks(np.abs(nonzero))
    observed = sum(r for r, v in zip(doubled, nonzero, strict=True) if v > 0)
    if method == "exact":
        p_less, p_greater = _exact_tails(doubled, observed)
    else:
        p_less, p_greater = _normal_tails(doubled, groups, observed)
    pvalue = min(1.0, _pvalue(p_less, p_greater, alternative))
    return WilcoxonResult(observed / 2.0, pvalue, n, zeros, method, alternative)


@dataclass(frozen=True)
class PairedShift:
    """The paired Hodges-Lehmann shift: the median of the Walsh averages of the differences,
    with Tukey's distribution-free interval ``[low, high]`` at ``confidence``."""

    estimate: float
    low: float
    high: float
    confidence: float
    n: int


@lru_cache(maxsize=256)
def _tukey_rank(n: int, confidence: float) -> int:
    """Rank k of Tukey's interval [W_(k), W_(M+1-k)] over the M = n(n+1)/2 Walsh averages.

    k is the largest rank with P(W+ <= k - 1) <= (1 - confidence) / 2 under the tie-free
    null; 0 means no finite interval reaches ``confidence``.
    """
    tail = (1.0 - confidence) / 2.0
    total = n * (n + 1) // 2
    if n <= _AUTO_EXACT_MAX_PAIRS:
        counts = _signed_rank_null(tuple(range(2, 2 * n + 1, 2)))[::2]  # W+ = 0, 1, ...
        cdf = np.cumsum(np.asarray(counts, dtype=np.float64)) / float(2**n)
        return int(np.searchsorted(cdf, tail * (1.0 + _TAIL_RTOL), side="right"))
    sd = math.sqrt(n * (n + 1) * (2 * n + 1) / 24.0)
    guess = math.floor(total / 2.0 + 0.5 - _normal_quantile(1.0 - tail) * sd)
    return max(0, min(guess, (total + 1) // 2))


def paired_hodges_lehmann(
    x: SampleLike, y: SampleLike | None = None, *, confidence: float = 0.95
) -> PairedShift:
    """The paired Hodges-Lehmann estimate of the shift of ``x`` over ``y`` and its interval.

    With ``d = x - y`` (``x`` alone without ``y``), the estimate is the median of the
    ``n(n+1)/2`` Walsh averages ``(d_i + d_j) / 2``, ``i <= j``; the interval is Tukey's,
    ``[W_(k), W_(M+1-k)]`` of the sorted averages, with ``k`` from the exact tie-free
    signed-rank null (normal quantiles above 50 pairs): the set of shifts the two-sided
    signed-rank test does not reject. Infinite bounds when no finite interval reaches
    ``confidence`` (5 pairs or fewer at 95%). Memory and time are O(n**2).
    """
    _check_probability(confidence, "confidence")
    d = _differences(x, y, 0.0)
    upper = np.triu_indices(d.size)
    walsh = np.sort((d[upper[0]] + d[upper[1]]) / 2.0)
    total = walsh.size
    estimate = 0.5 * (float(walsh[(total - 1) // 2]) + float(walsh[total // 2]))
    k = _tukey_rank(int(d.size), float(confidence))
    if k == 0:
        return PairedShift(estimate, -math.inf, math.inf, float(confidence), int(d.size))
    low, high = float(walsh[k - 1]), float(walsh[total - k])
    return PairedShift(estimate, low, high, float(confidence), int(d.size))
