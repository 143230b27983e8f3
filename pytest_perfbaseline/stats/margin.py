"""The gate's comparison of two samples against a margin, many metrics at once.

:func:`margin_test` answers in one pass what the gate would otherwise ask of three calls --
:func:`~pytest_perfbaseline.stats.mann_whitney_u` of "larger by more than the margin", of
"smaller by more than the margin", and :func:`~pytest_perfbaseline.stats.hodges_lehmann_ci` --
with exactly their answers; :func:`margin_tests` does it for every metric of a test together.
The gate compares thousands of metrics per session, and a few numpy operations on a stack of
samples cost about what one of them costs on a single sample: the metrics' samples of equal
sizes are stacked, merged with their shifted counterparts by one sort, and their pairwise
differences partitioned by one call. The common case, no tied values, reads the cached
tie-free null; a sample with a tie is handed to
:func:`~pytest_perfbaseline.stats.mann_whitney_u`, which conditions on the tie pattern.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from itertools import groupby
from typing import NamedTuple

import numpy as np

from ._common import _FloatArray
from .mannwhitney import (
    _asymptotic_tails,
    _doubled_u_and_ties,
    _exact_tails,
    _mwu_method,
    _no_ties_null,
    mann_whitney_u,
)
from .mannwhitney import _tied_tails as _pattern_tails
from .shift import _moses_rank

__all__ = ["MarginTest", "margin_test", "margin_tests"]

# Up to this many pooled values, a tied row's U and tie groups are counted on Python floats:
# a few microseconds, where numpy's sort, searches and differences cost some 20 us in calls.
_PYTHON_COUNT_MAX_N = 64


class MarginTest(NamedTuple):
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
    baseline: Sequence[float], current: Sequence[float], margin: float, confidence: float
) -> MarginTest:
    """Mann-Whitney tests of ``current`` against ``baseline`` beyond ``+-margin``, and the
    Hodges-Lehmann shift with Moses' interval, equal to the separate calls (see
    :class:`MarginTest`)."""
    return margin_tests([(baseline, current, margin)], confidence)[0]


def margin_tests(
    pairs: Sequence[tuple[Sequence[float], Sequence[float], float]], confidence: float
) -> list[MarginTest]:
    """:func:`margin_test` of every ``(baseline, current, margin)``, in one pass per sample
    sizes: pairs with the same sizes are stacked and tested together.

    Samples must be non-empty; non-finite values raise ValueError as the separate calls do.
    """
    results: list[MarginTest | None] = [None] * len(pairs)
    groups: dict[tuple[int, int], list[int]] = {}
    for i, (baseline, current, _) in enumerate(pairs):
        groups.setdefault((len(current), len(baseline)), []).append(i)
    for (n, m), members in groups.items():
        if not (n and m):
            _raise_as_separate_calls(pairs, members)
        base = np.array([pairs[i][0] for i in members], dtype=np.float64).reshape(-1, m)
        cur = np.array([pairs[i][1] for i in members], dtype=np.float64).reshape(-1, n)
        margins = [float(pairs[i][2]) for i in members]
        if not (np.isfinite(base).all() and np.isfinite(cur).all()):
            _raise_as_separate_calls(pairs, members)
        tails = _tails_stacked(base, cur, margins)
        shifts = _shift_intervals(base, cur, confidence)
        for row, i in enumerate(members):
            tail = tails[row]
            if tail is None:  # tied: the exact test conditions on the tie pattern
                tail = _tied_tails(base[row], cur[row], margins[row])
            results[i] = MarginTest(*tail, *shifts[row])
    return [r for r in results if r is not None]


def _raise_as_separate_calls(
    pairs: Sequence[tuple[Sequence[float], Sequence[float], float]], members: list[int]
) -> None:
    """Raise the ValueError that ``mann_whitney_u`` raises for an empty or non-finite sample."""
    for i in members:
        mann_whitney_u(pairs[i][1], pairs[i][0])
    raise AssertionError("unreachable: some sample is empty or non-finite")  # pragma: no cover


def _tails_stacked(
    base: _FloatArray, cur: _FloatArray, margins: list[float]
) -> list[tuple[float, float, str] | None]:
    """(p_greater, p_less, method) per row of tie-free samples; None for a row with a tie.

    Row r holds a baseline sample ``base[r]`` and a current one ``cur[r]``. Both shifted
    copies of every current row are merged with their baseline by one stable sort; a row
    without equal neighbours has no ties, and its U is the sum of its current values'
    positions in the merged order, less ``n (n - 1) / 2``.
    """
    rows, n = cur.shape
    m = base.shape[1]
    column = np.asarray(margins)[:, np.newaxis]
    # ``cur - (-margin)`` is ``cur + margin`` exactly, as mann_whitney_u computes it.
    pooled = np.concatenate(
        (np.concatenate((cur - column, cur + column)), np.concatenate((base, base))), axis=1
    )
    order = np.argsort(pooled, axis=1, kind="stable")
    merged = np.take_along_axis(pooled, order, axis=1)
    tied = (merged[:, 1:] == merged[:, :-1]).any(axis=1)
    tied = (tied[:rows] | tied[rows:]).tolist()
    u = np.where(order < n, np.arange(n + m), 0).sum(axis=1) - n * (n - 1) // 2
    method = _mwu_method("auto", n, m, ties=False)
    if method == "exact":  # read every row's tails from the one cached null at once
        cdf, sf = _no_ties_null(n, m)
        greater, less = sf[u[:rows]].tolist(), cdf[u[rows:]].tolist()
    else:
        greater = [_asymptotic_tails(n, m, 2 * int(v), None)[1] for v in u[:rows]]
        less = [_asymptotic_tails(n, m, 2 * int(v), None)[0] for v in u[rows:]]
    return [None if tied[r] else (greater[r], less[r], method) for r in range(rows)]


def _tied_tails(base: _FloatArray, cur: _FloatArray, margin: float) -> tuple[float, float, str]:
    """``mann_whitney_u(cur, base, alternative=..., shift=+-margin)``'s p-values and method,
    from its own steps on the rows already checked (no second validation of each sample)."""
    _, greater, method = _shifted_tails(cur - margin, base)
    less, _, _ = _shifted_tails(cur - (-margin), base)
    return greater, less, method


def _shifted_tails(shifted: _FloatArray, base: _FloatArray) -> tuple[float, float, str]:
    """(P(U <= u), P(U >= u), method) of ``shifted`` against ``base``, as mann_whitney_u."""
    n, m = shifted.size, base.size
    if n + m <= _PYTHON_COUNT_MAX_N:
        two_u, pattern = _doubled_u_and_pattern(shifted.tolist(), base.tolist())
        if pattern is not None and _mwu_method("auto", n, m, ties=True) == "exact":
            return (*_pattern_tails(n, pattern, two_u), "exact")
        groups = None if pattern is None else np.asarray(pattern)
    else:
        two_u, groups = _doubled_u_and_ties(shifted, base)
    method = _mwu_method("auto", n, m, ties=groups is not None)
    if method == "exact":
        return (*_exact_tails(n, m, two_u, groups), method)
    return (*_asymptotic_tails(n, m, two_u, groups), method)


def _doubled_u_and_pattern(x: list[float], y: list[float]) -> tuple[int, tuple[int, ...] | None]:
    """``_doubled_u_and_ties`` on lists: (2U of x, the pooled tie group sizes in increasing
    order of value, or None without ties)."""
    ordered = sorted(y)
    two_u = sum(bisect_left(ordered, v) + bisect_right(ordered, v) for v in x)
    pooled = sorted(x + y)
    pattern = tuple(len(list(group)) for _, group in groupby(pooled))
    return two_u, (None if len(pattern) == len(pooled) else pattern)


def _shift_intervals(
    base: _FloatArray, cur: _FloatArray, confidence: float
) -> list[tuple[float, float, float]]:
    """Per row, Hodges-Lehmann's median of the pairwise differences and Moses' interval.

    The same order statistics of the same differences as ``hodges_lehmann_ci``.
    """
    rows, n = cur.shape
    m = base.shape[1]
    diffs = (cur[:, :, np.newaxis] - base[:, np.newaxis, :]).reshape(rows, n * m)
    total = n * m
    mid_lo, mid_hi = (total - 1) // 2, total // 2
    k = _moses_rank(n, m, float(confidence))
    # A full sort: numpy's vectorised sort of fresh rows is several times faster than its
    # partition at four ranks (introselect), and gives the same order statistics.
    part = np.sort(diffs, axis=1)
    estimates = (0.5 * (part[:, mid_lo] + part[:, mid_hi])).tolist()
    if k == 0:
        return [(e, -math.inf, math.inf) for e in estimates]
    return list(zip(estimates, part[:, k - 1].tolist(), part[:, total - k].tolist(), strict=True))
