"""The Mann-Whitney U test: exact (also with ties) or asymptotic, optionally shifted."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ._common import (
    _AUTO_EXACT_MAX_N,
    _AUTO_TIED_MAX_WORK,
    _EXACT_MAX_N,
    _EXACT_TIED_MAX_WORK,
    _MWU_METHODS,
    SampleLike,
    _as_sample,
    _check_alternative,
    _FloatArray,
    _IntArray,
    _normal_cdf,
)
from .ttest import _pvalue

__all__ = ["MannWhitneyResult", "mann_whitney_u"]

# The largest tied programme run on one Python integer (bits); beyond, numpy arrays are faster.
_PACKED_MAX_BITS = 350_000


@dataclass(frozen=True)
class MannWhitneyResult:
    """Result of :func:`mann_whitney_u`.

    ``u`` is the U statistic of ``x`` (after subtracting ``shift``): the number of pairs with
    ``x_i > y_j`` plus half the number of ties, scipy's ``U1``. ``method`` is the method actually
    used, ``"exact"`` or ``"asymptotic"``.
    """

    u: float
    pvalue: float
    method: str
    alternative: str


def _readonly(a: _FloatArray) -> _FloatArray:
    a.flags.writeable = False
    return a


def _tails(pmf: _FloatArray) -> tuple[_FloatArray, _FloatArray]:
    # Both tails are accumulated from their own end, so that small upper-tail probabilities are
    # sums of small terms rather than 1 - (something close to 1).
    pmf = pmf / pmf.sum()
    cdf = np.cumsum(pmf)
    sf = np.cumsum(pmf[::-1])[::-1].copy()
    return _readonly(np.minimum(cdf, 1.0)), _readonly(np.minimum(sf, 1.0))


@lru_cache(maxsize=64)
def _no_ties_null(n: int, m: int) -> tuple[_FloatArray, _FloatArray]:
    """(P(U <= u), P(U >= u)) for u = 0..n*m, for tie-free samples of sizes n and m."""
    a, b = min(n, m), max(n, m)  # U's null law is the same for (n, m) and (m, n)
    nm = a * b
    # The counts of U are the coefficients of the Gaussian binomial
    # [a+b choose a]_q = prod_{i=1..a} (1 - q^(b+i)) / (1 - q^i), built one factor at a time:
    # O(a^2 b) work instead of the O(a^2 b^2) of the usual recursion on (a, b). The factors
    # (1 - q^(b+i)) subtract, and cancellation ruins the upper half of the polynomial in float64
    # beyond ~60 vs 60; the lower half stays accurate (relative error against exact integer
    # arithmetic: ~1e-15 at 60 vs 60, ~7e-15 at 100 vs 100, ~2e-13 at 150 vs 150; the lowest,
    # tail-defining coefficients are sums of positive terms only). So only the lower half is
    # computed (truncated power-series arithmetic) and the upper half mirrored: U ~ nm - U.
    half = nm // 2
    coef = np.zeros(nm + 1)
    coef[0] = 1.0
    degree = 0
    for i in range(1, a + 1):
        degree += b
        length = min(degree, half) + 1
        if b + i < length:
            coef[b + i : length] -= coef[: length - b - i].copy()
        # Division by (1 - q^i) is a running sum over each residue class modulo i.
        pad = (-length) % i
        block = np.concatenate((coef[:length], np.zeros(pad))).reshape(-1, i)
        np.cumsum(block, axis=0, out=block)
        coef[:length] = block.ravel()[:length]
    coef[nm - half :] = coef[: half + 1][::-1]
    pmf = coef / float(math.comb(a + b, a))
    cdf = np.minimum(np.cumsum(pmf), 1.0)
    return _readonly(cdf), _readonly(cdf[::-1].copy())


@lru_cache(maxsize=256)
def _tied_null(n: int, groups: tuple[int, ...]) -> tuple[_FloatArray, _FloatArray]:
    """(P(2U <= v), P(2U >= v)) for v = 0..2*n*m, conditional on the tie pattern.

    ``groups`` are the sizes of the tie groups of the pooled sample in increasing order of value.
    This is the exact permutation distribution of the rank sum with mid-ranks: every subset of
    ``n`` of the pooled positions is equally likely under the null.
    """
    total = sum(groups)
    m = total - n
    flip = n > m
    k_max = m if flip else n  # count subsets of the smaller sample; mirror afterwards
    # Doubled mid-ranks are integers. Subtracting (total + 1) from each makes the column shift
    # uniform across rows: column c = 2*(rank sum) - k*(total + 1) for a subset of size k, which
    # stays within +-k*(total - k) <= n*m for every k <= min(n, m).
    shifts = np.repeat(
        np.cumsum((0, *groups[:-1])) * 2 + np.asarray(groups) + 1 - (total + 1), groups
    ).astype(np.int64)
    prefix = np.concatenate(([0], np.cumsum(shifts)))
    half_width = n * m
    width = 2 * half_width + 1
    # Counts of subsets (not probabilities): additions only, so exact up to 2**53 and accurate
    # to ~total ulps beyond, in both tails; with at most 1000 values they stay below C(1000, 500)
    # ~ 2.7e299, short of float64 overflow.
    counts = np.zeros((k_max + 1, width))
    counts[0, half_width] = 1.0
    for i in range(1, total + 1):
        s = int(shifts[i - 1])
        # Only rows that can still reach size k_max matter; rows below never feed them again.
        k_lo = max(1, k_max - (total - i))
        k_hi = min(i, k_max)
        if k_lo > k_hi:
            continue
        # Columns that can be non-zero in the source rows (k_lo - 1 .. k_hi - 1) after i - 1
        # elements: shifts are sorted, so a subset of size k sums to at least prefix[k] and at
        # most prefix[i - 1] - prefix[i - 1 - k].
        src_k = np.arange(k_lo - 1, k_hi)
        lo = int(prefix[src_k].min()) + half_width
        hi = int((prefix[i - 1] - prefix[i - 1 - src_k]).max()) + half_width
        lo, hi = max(lo, 0, -s), min(hi, width - 1 - max(0, s))
        if lo > hi:
            continue
        counts[k_lo : k_hi + 1, lo + s : hi + s + 1] += counts[k_lo - 1 : k_hi, lo : hi + 1]
    pmf = counts[k_max]
    if flip:
        pmf = pmf[::-1]  # 2U_x = 2nm - 2U_y, and column c maps to 2U = c + n*m
    return _tails(pmf)


def _tie_shifts(n: int, groups: tuple[int, ...]) -> tuple[_IntArray, int, bool]:
    """Per pooled position (ascending), its doubled mid-rank minus (total + 1), as in
    :func:`_tied_null`; the size of the subsets counted; whether they are the other sample's."""
    total = sum(groups)
    flip = n > total - n
    shifts = np.repeat(
        np.cumsum((0, *groups[:-1])) * 2 + np.asarray(groups) + 1 - (total + 1), groups
    ).astype(np.int64)
    return shifts, (total - n if flip else n), flip


@lru_cache(maxsize=1024)
def _tied_tails(n: int, groups: tuple[int, ...], two_u: int) -> tuple[float, float]:
    """(P(2U <= two_u), P(2U >= two_u)) conditional on the tie pattern, as :func:`_tied_null`
    gives them, but counting only the subsets that can end in the nearer tail.

    The programme of :func:`_tied_null` runs over every rank sum; a one-sided p-value needs
    only those on one side of the observed one. A partial subset that cannot end there, even
    with the smallest (or largest) ranks still to come, is not carried on; the gate's margin
    puts its observed statistics far out in a tail, where this leaves a narrow band. The far
    tail is one minus the near tail beyond the observed value. A small programme runs on one
    Python integer (:func:`_packed_lower_counts`), a larger one on arrays.
    """
    m = sum(groups) - n
    flip = n > m
    k_max = m if flip else n
    # Column c of the programme is 2U of the counted sample plus n*m (see _tied_null).
    v = 2 * n * m - two_u if flip else two_u
    lower = v <= n * m
    # The upper tail of a pattern is the lower tail of the pattern read backwards.
    packed = _packed_lower_counts(
        k_max, groups if lower else groups[::-1], v if lower else 2 * n * m - v
    )
    if packed is not None:
        subsets = float(math.comb(n + m, k_max))
        near_le, near_lt = packed[0] / subsets, packed[1] / subsets
    else:
        shifts, _, _ = _tie_shifts(n, groups)
        near_le, near_lt = _tied_near_tail(shifts, k_max, n * m, v, lower=lower)
    if lower:
        p_le, p_ge = near_le, 1.0 - near_lt
    else:
        p_le, p_ge = 1.0 - near_lt, near_le
    if flip:  # 2U_x = 2nm - 2U_y: the tails exchange
        p_le, p_ge = p_ge, p_le
    return min(p_le, 1.0), min(p_ge, 1.0)


def _packed_lower_counts(k: int, groups: tuple[int, ...], w: int) -> tuple[int, int] | None:
    """How many k-subsets of the pooled positions have 2U <= w, and 2U < w, given the tie
    pattern ``groups`` (sizes in increasing order of value), where 2U of a subset counts its
    pairs with a larger value than the other's twice and its tied pairs once; None when the
    programme would not fit in ``_PACKED_MAX_BITS`` bits (the arrays are then faster).

    The shift algorithm of Streitberg and Roehmel (1986, "Exact distributions for permutation
    and rank tests", Statistical Software Newsletter 12, 10-17) on exact integers, with the
    whole table packed into one Python integer: cell (j, u) counts the subsets of the positions
    so far with j members whose doubled mid-rank sum is u + j(j+1), and is the integer's digit
    number j * width + j(j-1) + u in base 2**bits. Adding a position of doubled mid-rank r moves
    (j, u) to (j+1, u + r - 2(j+1)): with that layout, the same digit offset width + r - 2 for
    every cell, so a position costs one shift and one addition of the whole integer. Digits
    never carry (no count exceeds C(total, k) < 2**(bits - 1)). u of a subset never falls by
    more than ``dip`` (within a tie group; a group starts at no lower u than the last ended),
    so cells beyond w + dip can no longer end in the tail and are masked off after each move,
    which also keeps every move within its row. The tail is the sum of the last row's first
    digits: the integer modulo 2**bits - 1 (as casting out nines sums decimal digits).
    """
    total = sum(groups)
    bits = math.comb(total, k).bit_length() + 1
    dip = max(groups) ** 2 // 4
    live = w + dip + 1
    width = live + 2 * total + 1  # a move adds at most 2 * total to u
    if (k + 1) * (width + 2 * k) * bits > _PACKED_MAX_BITS:
        return None
    row = (1 << (live * bits)) - 1
    mask = 0
    for j in range(k + 1):
        mask |= row << ((j * width + j * (j - 1)) * bits)
    ranks = [2 * start + size + 1 for start, size in _group_starts(groups) for _ in range(size)]
    prefix = [0, *itertools.accumulate(ranks)]
    top = w + k * (k + 1)
    table, low = 1, 0  # digit 0 of the table is row low's first cell
    for after, r in enumerate(ranks, start=1):
        table += table << ((width + r - 2) * bits)
        table &= mask
        # Rows from which no subset can end in the tail are shifted out, lowest first: those
        # with too few positions left, or whose u must pass w even at the smallest ranks.
        dead = low
        while dead < k and (
            after + k - dead > total
            or top - dead * (dead + 1) < prefix[after + k - dead] - prefix[after]
        ):
            dead += 1
        if dead > low:
            drop = (dead * width + dead * (dead - 1) - low * width - low * (low - 1)) * bits
            table, mask, low = table >> drop, mask >> drop, dead
    last = table >> ((k * width + k * (k - 1) - low * width - low * (low - 1)) * bits)
    nines = (1 << bits) - 1
    inclusive = (last & ((1 << ((w + 1) * bits)) - 1)) % nines
    return inclusive, (last & ((1 << (w * bits)) - 1)) % nines


def _group_starts(groups: tuple[int, ...]) -> list[tuple[int, int]]:
    """(positions before the group, its size) per tie group."""
    return list(zip(itertools.accumulate(groups, initial=0), groups, strict=False))


def _tied_near_tail(
    shifts: _IntArray, k_max: int, half_width: int, v: int, *, lower: bool
) -> tuple[float, float]:
    """(P(C <= v), P(C < v)) if ``lower``, else (P(C >= v), P(C > v)), for the column C of
    the final row, counting only what can still reach that side of ``v``."""
    lo, hi, rows_lo, rows_hi = _source_columns(shifts, k_max, half_width, v, lower=lower)
    active = np.flatnonzero(lo <= hi)  # the elements that still change the near tail
    # Only the columns some update touches (and the start) are kept: base .. base + width.
    first = int(min(half_width, (lo[active] + np.minimum(shifts[active], 0)).min(initial=v)))
    last = int(max(half_width, (hi[active] + np.maximum(shifts[active], 0)).max(initial=v)))
    counts = np.zeros((k_max + 1, last - first + 1))
    counts[0, half_width - first] = 1.0
    for s, k_lo, k_hi, a, b in zip(
        shifts[active].tolist(),
        rows_lo[active].tolist(),
        rows_hi[active].tolist(),
        (lo[active] - first).tolist(),
        (hi[active] - first).tolist(),
        strict=True,
    ):
        counts[k_lo : k_hi + 1, a + s : b + s + 1] += counts[k_lo - 1 : k_hi, a : b + 1]
    final = counts[k_max]
    at = v - first
    subsets = float(math.comb(shifts.size, k_max))
    if lower:
        inclusive, strict = final[: at + 1].sum(), final[:at].sum()
    else:
        inclusive, strict = final[at:].sum(), final[at + 1 :].sum()
    return float(inclusive) / subsets, float(strict) / subsets


def _source_columns(
    shifts: _IntArray, k_max: int, half_width: int, v: int, *, lower: bool
) -> tuple[_IntArray, _IntArray, _IntArray, _IntArray]:
    """Per element (in pooled order), the source columns and destination rows worth adding
    it to: (first column, last column, first row, last row); no columns: first > last.

    Columns a subset can have reached (as in :func:`_tied_null`: from the smallest prefix
    sum to the largest sum of the last elements, over the source rows), and from which the
    rest of the subset can still end on the near side of ``v``: the picks still to come add
    at least the smallest remaining shifts (``lower``), at most the largest (otherwise). A
    row that can no longer get there is left out, and the columns are the widest over the
    rows that can.
    """
    total = shifts.size
    width = 2 * half_width + 1
    prefix = np.concatenate(([0], np.cumsum(shifts)))
    element = np.arange(1, total + 1)[:, np.newaxis]
    k_lo = np.maximum(1, k_max - (total - element))
    k_hi = np.minimum(element, k_max)
    k = np.arange(1, k_max + 1)[np.newaxis, :]  # destination row
    inside = (k >= k_lo) & (k <= k_hi)
    big = np.iinfo(np.int64).max // 4
    lo = np.where(inside, prefix[k - 1], big).min(axis=1) + half_width
    back = np.clip(element - k, 0, total)  # the last k - 1 of the first element - 1
    hi = prefix[element[:, 0] - 1] - np.where(inside, prefix[back], big).min(axis=1) + half_width
    s = shifts[:, np.newaxis]
    remaining = k_max - k  # picks still to come after this element, per row
    if lower:  # the smallest remaining shifts are the next ones
        take = np.minimum(element + remaining, total)
        bound = v - s - (prefix[take] - prefix[element])
        alive = inside & (bound >= lo[:, np.newaxis])
        hi = np.minimum(hi, np.where(alive, bound, -big).max(axis=1))
    else:  # the largest remaining shifts are the last ones
        bound = v - s - (prefix[total] - prefix[np.maximum(total - remaining, 0)])
        alive = inside & (bound <= hi[:, np.newaxis])
        lo = np.maximum(lo, np.where(alive, bound, big).min(axis=1))
    rows_lo = np.where(alive, k, k_max + 1).min(axis=1)
    rows_hi = np.where(alive, k, 0).max(axis=1)
    lo = np.maximum(lo, np.maximum(0, -shifts))
    hi = np.minimum(hi, width - 1 - np.maximum(0, shifts))
    hi[rows_lo > rows_hi] = lo[rows_lo > rows_hi] - 1
    return lo, hi, rows_lo, rows_hi


def mann_whitney_u(
    x: SampleLike,
    y: SampleLike,
    *,
    alternative: str = "two-sided",
    method: str = "auto",
    shift: float = 0.0,
) -> MannWhitneyResult:
    """Mann-Whitney U (Wilcoxon rank-sum) test of ``x - shift`` against ``y``.

    ``alternative="greater"`` tests whether ``x - shift`` tends to be larger than ``y`` (so with
    ``shift=d`` it tests "x exceeds y by more than d"), ``"less"`` the reverse; ``"two-sided"``
    reports ``min(1, 2 * min(lower tail, upper tail))``. Every tail probability includes the
    observed value.

    ``method``:

    - ``"exact"``: the exact permutation distribution of the rank sum given the observed tie
      pattern (mid-ranks, doubled to integers, counted by dynamic programming), so it stays exact
      with ties. Without ties it equals ``scipy.stats.mannwhitneyu(..., method="exact")``. Null
      distributions are cached per sample sizes (no ties) or per tie pattern. Refused (with
      ValueError) above 1000 pooled values, or with ties when the dynamic programme would take
      more than about a second (around 150 vs 150).
    - ``"asymptotic"``: normal approximation with tie and continuity corrections, equal to
      scipy's ``method="asymptotic", use_continuity=True``. When every value is tied the test has
      no information and the p-value is 1.
    - ``"auto"``: exact when ``len(x) + len(y) <= 200`` and, with ties, when the tie-pattern
      dynamic programme is cheap (``min(n, m) * n * m * (n + m) <= 1.5e7``: up to about 50 vs 50,
      ~10 ms per new tie pattern); asymptotic otherwise. Unlike scipy's ``"auto"`` (exact only up
      to 8 values per side and without ties), this keeps tail p-values right at the tiny alphas
      of multiple-comparison-corrected gates.

    ``shift`` is subtracted in floating point; pairs that differ by exactly ``shift`` count as
    ties.
    """
    xa, ya = _as_sample(x, "x"), _as_sample(y, "y")
    _check_alternative(alternative)
    if method not in _MWU_METHODS:
        raise ValueError(f"method must be one of {_MWU_METHODS}, got {method!r}")
    if not math.isfinite(shift):
        raise ValueError(f"shift must be finite, got {shift!r}")
    if shift != 0.0:
        xa = xa - shift
    n, m = xa.size, ya.size
    two_u, groups = _doubled_u_and_ties(xa, ya)
    method = _mwu_method(method, n, m, ties=groups is not None)
    if method == "exact":
        p_less, p_greater = _exact_tails(n, m, two_u, groups)
    else:
        p_less, p_greater = _asymptotic_tails(n, m, two_u, groups)
    pvalue = _pvalue(p_less, p_greater, alternative)
    return MannWhitneyResult(u=two_u / 2.0, pvalue=pvalue, method=method, alternative=alternative)


def _doubled_u_and_ties(xa: _FloatArray, ya: _FloatArray) -> tuple[int, _IntArray | None]:
    """(2U, sizes of the tie groups of the pooled sample in increasing order, or None if none)."""
    pooled = np.concatenate((xa, ya))
    pooled.sort()
    distinct = pooled[1:] != pooled[:-1]
    y_sorted = np.sort(ya)
    # 2U = #(y < x_i) + #(y <= x_i), summed over i: an integer even with ties.
    two_u = int(np.searchsorted(y_sorted, xa, "left").sum()) + int(
        np.searchsorted(y_sorted, xa, "right").sum()
    )
    if distinct.all():
        return two_u, None
    return two_u, np.diff(np.flatnonzero(np.concatenate(([True], distinct, [True]))))


def _mwu_method(method: str, n: int, m: int, *, ties: bool) -> str:
    """ "exact" or "asymptotic": resolve "auto", and refuse an exact test that costs too much."""
    tied_work = min(n, m) * n * m * (n + m)
    if method == "auto":
        exact = n + m <= _AUTO_EXACT_MAX_N and (not ties or tied_work <= _AUTO_TIED_MAX_WORK)
        return "exact" if exact else "asymptotic"
    if method == "exact" and (n + m > _EXACT_MAX_N or (ties and tied_work > _EXACT_TIED_MAX_WORK)):
        raise ValueError(
            f"method='exact' is too expensive for {n} vs {m} values"
            f"{' with ties' if ties else ''}; use method='asymptotic'"
        )
    return method


def _exact_tails(n: int, m: int, two_u: int, groups: _IntArray | None) -> tuple[float, float]:
    """(P(U <= u), P(U >= u)) at the observed U under the exact permutation null."""
    if groups is None:
        cdf, sf = _no_ties_null(n, m)
        index = two_u // 2
    else:
        return _tied_tails(n, tuple(groups.tolist()), two_u)
    return float(cdf[index]), float(sf[index])


def _asymptotic_tails(n: int, m: int, two_u: int, groups: _IntArray | None) -> tuple[float, float]:
    """(P(U <= u), P(U >= u)) by the normal approximation, tie- and continuity-corrected."""
    big_n = n + m
    tie_term = 0.0 if groups is None else float((groups**3 - groups).sum())
    var = n * m / 12.0 * ((big_n + 1) - tie_term / (big_n * (big_n - 1)))
    if var <= 0.0:
        return 1.0, 1.0
    sd = math.sqrt(var)
    excess = two_u / 2.0 - n * m / 2.0
    # The continuity correction moves each tail's z by half a unit towards the centre,
    # counting the probability mass at the observed U into the tail.
    p_greater = _normal_cdf(-(excess - 0.5) / sd)
    p_less = _normal_cdf(-(-excess - 0.5) / sd)
    return p_less, p_greater
