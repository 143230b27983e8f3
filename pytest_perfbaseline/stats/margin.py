"""The gate's comparison of two samples against a margin, with each sample prepared once.

:func:`margin_test` answers in one pass what the gate would otherwise ask of three calls --
:func:`~pytest_perfbaseline.stats.mann_whitney_u` of "larger by more than the margin", of
"smaller by more than the margin", and :func:`~pytest_perfbaseline.stats.hodges_lehmann_ci` --
with exactly their answers. The gate compares thousands of metrics per session, and compares a
test's baseline again after every batch of extra rounds, so a sample is sorted and checked once
(:class:`SortedSample`, which the caller may keep) and both tests count their pairs from the same
sorted arrays. The common case, no tied values, reads the cached tie-free null; a tie anywhere
hands that test to :func:`~pytest_perfbaseline.stats.mann_whitney_u`, which conditions on the
tie pattern.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ._common import _FloatArray, _IntArray
from .mannwhitney import _asymptotic_tails, _exact_tails, _mwu_method, mann_whitney_u
from .shift import _moses_rank

__all__ = ["MarginTest", "SortedSample", "margin_test", "sorted_sample"]


@dataclass(frozen=True)
class SortedSample:
    """A sample sorted ascending, as a read-only float64 array, and whether it can be trusted
    to the fast path: every value finite and no two equal."""

    array: _FloatArray
    finite: bool
    distinct: bool

    @property
    def size(self) -> int:
        return int(self.array.size)


def sorted_sample(values: Sequence[float]) -> SortedSample:
    """``values`` sorted once, for :func:`margin_test` (and for reuse across calls)."""
    ordered = sorted(values)
    array = np.array(ordered, dtype=np.float64)
    array.flags.writeable = False
    # A finite sum proves every value finite (one that overflows only sends the sample down
    # the checked path); equal floats hash alike, so a set finds ties.
    finite = math.isfinite(sum(ordered))
    return SortedSample(array, finite, len(set(ordered)) == len(ordered))


@dataclass(frozen=True)
class MarginTest:
    """How a current sample compares with a baseline sample against a margin ``d``.

    ``p_greater`` is ``mann_whitney_u(current, baseline, alternative="greater", shift=d)``'s
    p-value (is current larger by more than ``d``?), ``method`` that test's method;
    ``p_less`` is ``mann_whitney_u(current, baseline, alternative="less", shift=-d)``'s (is it
    smaller by more than ``d``?); ``(shift, low, high)`` is ``hodges_lehmann_ci(current,
    baseline, confidence=...)``.
    """

    p_greater: float
    p_less: float
    method: str
    shift: float
    low: float
    high: float


def margin_test(
    baseline: SortedSample, current: SortedSample, margin: float, confidence: float
) -> MarginTest:
    """Mann-Whitney tests of ``current`` against ``baseline`` beyond ``+-margin``, and the
    Hodges-Lehmann shift with Moses' interval, equal to the separate calls (see
    :class:`MarginTest`). Both samples must be non-empty; non-finite values raise ValueError
    as the separate calls do.
    """
    base, cur = baseline.array, current.array
    n, m = cur.size, base.size
    if not (baseline.finite and current.finite and n and m):
        mann_whitney_u(cur, base)  # raises the separate calls' ValueError
    # One search for both shifted copies of the current values, [worse..., better...];
    # ``cur - (-margin)`` is ``cur + margin`` exactly, as mann_whitney_u computes it.
    shifted = np.concatenate((cur - margin, cur + margin))
    left = np.searchsorted(base, shifted, "left")
    right = np.searchsorted(base, shifted, "right")
    # 2U of each half: the sum over its values of #(base < value) + #(base <= value).
    two_u = np.add.reduceat(left + right, (0, n)).tolist()
    untied = baseline.distinct and not _ties(shifted, left, right, n)
    if untied:
        method = _mwu_method("auto", n, m, ties=False)
        greater = _untied_tails(method, n, m, two_u[0])[1]
        less = _untied_tails(method, n, m, two_u[1])[0]
    else:  # tied: the exact test conditions on the tie pattern
        result = mann_whitney_u(cur, base, alternative="greater", shift=margin)
        greater, method = result.pvalue, result.method
        less = mann_whitney_u(cur, base, alternative="less", shift=-margin).pvalue
    shift, low, high = _shift_interval(cur, base, confidence)
    return MarginTest(greater, less, method, shift, low, high)


def _ties(shifted: _FloatArray, left: _IntArray, right: _IntArray, n: int) -> bool:
    """Whether either half of ``shifted`` has a tie, within itself or with the baseline.

    Each half is sorted (a sorted array plus a constant stays sorted), so its own ties are
    neighbours; a value equal to a baseline value has ``left != right``.
    """
    same = shifted[1:] == shifted[:-1]
    same[n - 1] = False  # the two halves' boundary
    return bool(same.any()) or bool((left != right).any())


def _untied_tails(method: str, n: int, m: int, two_u: int) -> tuple[float, float]:
    """(P(U <= u), P(U >= u)) of a pooled sample without ties."""
    if method == "exact":
        return _exact_tails(n, m, two_u, None)
    return _asymptotic_tails(n, m, two_u, None)


def _shift_interval(
    cur: _FloatArray, base: _FloatArray, confidence: float
) -> tuple[float, float, float]:
    """Hodges-Lehmann's median of the pairwise differences and Moses' interval.

    The same order statistics of the same differences as ``hodges_lehmann_ci``.
    """
    diffs = np.subtract.outer(cur, base).ravel()
    total = diffs.size
    mid_lo, mid_hi = (total - 1) // 2, total // 2
    k = _moses_rank(cur.size, base.size, float(confidence))
    kth = sorted({mid_lo, mid_hi, k - 1, total - k} if k > 0 else {mid_lo, mid_hi})
    part = np.partition(diffs, kth)
    estimate = 0.5 * (float(part[mid_lo]) + float(part[mid_hi]))
    if k == 0:
        return estimate, -math.inf, math.inf
    return estimate, float(part[k - 1]), float(part[total - k])
