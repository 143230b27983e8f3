"""Statistics for comparing benchmark samples.

Everything here works on plain 1-D samples (lists, tuples or numpy arrays of finite floats) and
returns plain floats or small frozen dataclasses, so that the regression gate, reports and users
can share one implementation:

- two-sample location tests: :func:`student_ttest`, :func:`welch_ttest`, :func:`paired_ttest`
  and the rank-based :func:`mann_whitney_u` (exact even with ties, optionally threshold-shifted);
- effect sizes: :func:`cohens_d` with :func:`interpret_cohens_d`, and the Hodges-Lehmann shift
  :func:`hodges_lehmann` with Moses' interval :func:`hodges_lehmann_ci` and its multiplicative
  form :func:`hodges_lehmann_ratio`;
- one-sample intervals: :func:`mean_ci` and the distribution-free :func:`median_ci`;
- planning: :func:`rounds_needed`.

The gate calls :func:`mann_whitney_u` and :func:`hodges_lehmann_ratio` thousands of times per run,
so anything that depends only on sample sizes (null distributions, interval ranks) is cached with
:func:`functools.lru_cache`, and per-call work is a handful of vectorised numpy operations.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

__all__ = [
    "MannWhitneyResult",
    "RatioEstimate",
    "SampleLike",
    "TTestResult",
    "cohens_d",
    "hodges_lehmann",
    "hodges_lehmann_ci",
    "hodges_lehmann_ratio",
    "interpret_cohens_d",
    "mann_whitney_u",
    "mean_ci",
    "median_ci",
    "paired_ttest",
    "rounds_needed",
    "student_ttest",
    "welch_ttest",
]

SampleLike: TypeAlias = "Sequence[float] | npt.NDArray[Any]"
"""A 1-D sample: a list or tuple of floats, or a 1-D numpy array."""

_FloatArray: TypeAlias = "npt.NDArray[np.float64]"
_IntArray: TypeAlias = "npt.NDArray[np.intp]"

_ALTERNATIVES = ("two-sided", "less", "greater")
_MWU_METHODS = ("auto", "exact", "asymptotic")
_POWER_TESTS = ("t", "mann-whitney")

# ``method="auto"`` uses the exact null distribution up to this pooled size. The tie-free null
# costs <1 ms at 30 vs 30 and ~2 ms at 100 vs 100 (once per size pair, then cached). The normal
# approximation overstates small tails (by 2-3x at p ~ 1e-6 for 30 vs 30) but the error shrinks
# with size: ~1.3x at p ~ 3e-6 for 100 vs 100, conservative, which is acceptable beyond 200.
_AUTO_EXACT_MAX_N = 200
# With ties the null depends on the tie pattern (cached per pattern) and its dynamic programme
# costs about min(n, m) * n * m * (n + m) cell updates: ~2 ms at 30 vs 30, ~10 ms at 50 vs 50,
# ~200 ms at 100 vs 100 on one core. "auto" stays exact with ties while this is under ~15 ms.
_AUTO_TIED_MAX_WORK = 15_000_000
# Explicit method="exact" refuses sizes that would take more than about a second (ties) or
# whose counts would approach float64 overflow (no ties: C(1000, 500) ~ 2.7e299).
_EXACT_MAX_N = 1000
_EXACT_TIED_MAX_WORK = 1_200_000_000

# Cumulative probabilities are compared with a confidence tail with this relative slack, so that
# a rank whose exact tail probability equals alpha/2 (e.g. 1/32 at n=5) counts as attaining it
# despite rounding in the last bit.
_TAIL_RTOL = 1e-9


# --------------------------------------------------------------------------------------------
# Distribution functions
# --------------------------------------------------------------------------------------------

# scipy costs about a second and 100 MiB to import, and the gate's tests (Mann-Whitney,
# Hodges-Lehmann) need only the normal distribution, which the standard library computes to
# double precision. So scipy is imported on first use, by the functions that need Student's t,
# the binomial or the noncentral t; a compare session never loads it.


def _scipy_special() -> Any:
    # scipy ships no type information (scipy-stubs is a separate package).
    from scipy import special  # type: ignore[import-untyped, unused-ignore]

    return special


def _scipy_stats() -> Any:
    from scipy import stats  # type: ignore[import-untyped, unused-ignore]

    return stats


_SQRT_HALF = math.sqrt(0.5)
_STANDARD_NORMAL = NormalDist()


def _normal_cdf(z: float) -> float:
    """Standard normal cdf, like ``scipy.special.ndtr``.

    ``erfc`` keeps the lower tail's relative accuracy (``NormalDist.cdf`` computes
    ``1 + erf``, which loses it below about -5).
    """
    return 0.5 * math.erfc(-z * _SQRT_HALF)


def _normal_quantile(p: float) -> float:
    """Standard normal quantile, like ``scipy.special.ndtri``: infinite at 0 and 1."""
    if p <= 0.0:
        return -math.inf
    if p >= 1.0:
        return math.inf
    return _STANDARD_NORMAL.inv_cdf(p)


# --------------------------------------------------------------------------------------------
# Input validation
# --------------------------------------------------------------------------------------------


def _as_sample(values: SampleLike, name: str, *, min_size: int = 1) -> _FloatArray:
    if isinstance(values, np.ndarray) and values.dtype.kind == "c":
        raise ValueError(f"{name} must contain real numbers, got a complex array")
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a 1-D sequence of real numbers: {exc}") from exc
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got an array of shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    if arr.size < min_size:
        raise ValueError(f"{name} needs at least {min_size} values, got {arr.size}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains non-finite values (nan or inf)")
    return arr


def _check_alternative(alternative: str) -> None:
    if alternative not in _ALTERNATIVES:
        raise ValueError(f"alternative must be one of {_ALTERNATIVES}, got {alternative!r}")


def _check_probability(value: float, name: str) -> None:
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not 0.0 < value < 1.0:
        raise ValueError(f"{name} must be a number strictly between 0 and 1, got {value!r}")


# --------------------------------------------------------------------------------------------
# t-tests
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TTestResult:
    """Result of a Student, Welch or paired t-test.

    ``mean_difference`` is ``mean(x) - mean(y)`` (``mean(x - y)`` for the paired test), and
    ``[ci_low, ci_high]`` is its confidence interval at ``confidence``, matching ``alternative``:
    one-sided alternatives give one infinite bound, as in scipy.
    """

    statistic: float
    df: float
    pvalue: float
    mean_difference: float
    ci_low: float
    ci_high: float
    confidence: float
    alternative: str


def _pvalue(p_less: float, p_greater: float, alternative: str) -> float:
    """The p-value for ``alternative`` from the two one-sided tail probabilities."""
    if alternative == "greater":
        return p_greater
    if alternative == "less":
        return p_less
    # Twice the smaller tail rather than 1 - cdf keeps tiny p-values accurate.
    return min(1.0, 2.0 * min(p_less, p_greater))


def _bounds(centre: float, half: float, alternative: str) -> tuple[float, float]:
    """A confidence interval of half-width ``half`` around ``centre`` for ``alternative``.

    One-sided alternatives give one infinite bound.
    """
    if alternative == "two-sided":
        return centre - half, centre + half
    if alternative == "greater":
        return centre - half, math.inf
    return -math.inf, centre + half


def _constant_t(diff: float, alternative: str) -> tuple[float, float]:
    """(statistic, p-value) of a t-test whose samples are all constant.

    The difference is then known without sampling error, so the statistic is infinite (or
    undefined when there is no difference), like scipy's.
    """
    if diff == 0.0:
        return math.nan, math.nan
    p_less, p_greater = (1.0, 0.0) if diff > 0.0 else (0.0, 1.0)
    return math.copysign(math.inf, diff), _pvalue(p_less, p_greater, alternative)


def _t_result(
    diff: float, se: float, df: float, alternative: str, confidence: float
) -> TTestResult:
    if se > 0.0:
        special = _scipy_special()
        statistic = diff / se
        p_less, p_greater = (
            float(special.stdtr(df, statistic)),
            float(special.stdtr(df, -statistic)),
        )
        pvalue = _pvalue(p_less, p_greater, alternative)
        level = 0.5 + confidence / 2.0 if alternative == "two-sided" else confidence
        half = float(special.stdtrit(df, level)) * se
    else:
        statistic, pvalue = _constant_t(diff, alternative)
        half = 0.0
    low, high = _bounds(diff, half, alternative)
    return TTestResult(
        statistic=float(statistic),
        df=float(df),
        pvalue=float(pvalue),
        mean_difference=float(diff),
        ci_low=float(low),
        ci_high=float(high),
        confidence=float(confidence),
        alternative=alternative,
    )


def _sum_sq(a: _FloatArray) -> tuple[float, float]:
    mean = float(a.mean())
    centred = a - mean
    return mean, float(centred @ centred)


def student_ttest(
    x: SampleLike,
    y: SampleLike,
    *,
    alternative: str = "two-sided",
    confidence: float = 0.95,
) -> TTestResult:
    """Two-sample Student t-test with pooled variance (assumes equal variances).

    Equivalent to ``scipy.stats.ttest_ind(x, y, equal_var=True, alternative=...)``; the interval
    is that of ``mean(x) - mean(y)``. Needs at least one value per sample and three in total.
    """
    xa, ya = _as_sample(x, "x"), _as_sample(y, "y")
    _check_alternative(alternative)
    _check_probability(confidence, "confidence")
    n, m = xa.size, ya.size
    if n + m < 3:
        raise ValueError("student_ttest needs at least 3 values in total to estimate a variance")
    mx, ssx = _sum_sq(xa)
    my, ssy = _sum_sq(ya)
    df = float(n + m - 2)
    pooled_var = (ssx + ssy) / df
    se = math.sqrt(pooled_var * (1.0 / n + 1.0 / m))
    return _t_result(mx - my, se, df, alternative, confidence)


def welch_ttest(
    x: SampleLike,
    y: SampleLike,
    *,
    alternative: str = "two-sided",
    confidence: float = 0.95,
) -> TTestResult:
    """Welch's unequal-variance t-test with Welch-Satterthwaite degrees of freedom.

    Equivalent to ``scipy.stats.ttest_ind(x, y, equal_var=False, alternative=...)``. Needs at
    least two values per sample. When both samples are constant the degrees of freedom are
    undefined and reported as nan (the statistic is then infinite or nan).
    """
    xa, ya = _as_sample(x, "x", min_size=2), _as_sample(y, "y", min_size=2)
    _check_alternative(alternative)
    _check_probability(confidence, "confidence")
    n, m = xa.size, ya.size
    mx, ssx = _sum_sq(xa)
    my, ssy = _sum_sq(ya)
    a = ssx / (n - 1) / n
    b = ssy / (m - 1) / m
    se = math.sqrt(a + b)
    df = (a + b) ** 2 / (a * a / (n - 1) + b * b / (m - 1)) if a + b > 0.0 else math.nan
    return _t_result(mx - my, se, df, alternative, confidence)


def paired_ttest(
    x: SampleLike,
    y: SampleLike,
    *,
    alternative: str = "two-sided",
    confidence: float = 0.95,
) -> TTestResult:
    """Paired t-test on the differences ``x - y`` (one-sample t-test of their mean against 0).

    Equivalent to ``scipy.stats.ttest_rel(x, y, alternative=...)``. ``x`` and ``y`` must have the
    same length, at least 2.
    """
    xa, ya = _as_sample(x, "x"), _as_sample(y, "y")
    _check_alternative(alternative)
    _check_probability(confidence, "confidence")
    if xa.size != ya.size:
        raise ValueError(f"paired_ttest needs samples of equal length, got {xa.size} and {ya.size}")
    if xa.size < 2:
        raise ValueError("paired_ttest needs at least 2 pairs")
    n = xa.size
    md, ssd = _sum_sq(xa - ya)
    se = math.sqrt(ssd / (n - 1) / n)
    return _t_result(md, se, float(n - 1), alternative, confidence)


# --------------------------------------------------------------------------------------------
# Mann-Whitney U
# --------------------------------------------------------------------------------------------


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
        cdf, sf = _tied_null(n, tuple(groups.tolist()))
        index = two_u
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


# --------------------------------------------------------------------------------------------
# Effect sizes
# --------------------------------------------------------------------------------------------


def cohens_d(x: SampleLike, y: SampleLike) -> float:
    """Cohen's d: ``(mean(x) - mean(y)) / s_pooled``, with the pooled sample sd (ddof=1).

    ``s_pooled = sqrt(((n-1) s_x^2 + (m-1) s_y^2) / (n + m - 2))``, the textbook definition
    (no small-sample Hedges correction). Needs at least 3 values in total. When both samples are
    constant, returns 0.0 for equal means and +-inf otherwise.
    """
    xa, ya = _as_sample(x, "x"), _as_sample(y, "y")
    n, m = xa.size, ya.size
    if n + m < 3:
        raise ValueError("cohens_d needs at least 3 values in total to estimate a pooled sd")
    mx, ssx = _sum_sq(xa)
    my, ssy = _sum_sq(ya)
    diff = mx - my
    pooled_sd = math.sqrt((ssx + ssy) / (n + m - 2))
    if pooled_sd == 0.0:
        return 0.0 if diff == 0.0 else math.copysign(math.inf, diff)
    return diff / pooled_sd


def interpret_cohens_d(d: float) -> str:
    """Cohen's (1988) conventional label for ``|d|``.

    ``"negligible"`` below 0.2, ``"small"`` below 0.5, ``"medium"`` below 0.8, else ``"large"``.
    """
    if math.isnan(d):
        raise ValueError("cannot interpret a nan effect size")
    size = abs(d)
    if size < 0.2:
        return "negligible"
    if size < 0.5:
        return "small"
    if size < 0.8:
        return "medium"
    return "large"


# --------------------------------------------------------------------------------------------
# One-sample intervals
# --------------------------------------------------------------------------------------------


def mean_ci(x: SampleLike, *, confidence: float = 0.95) -> tuple[float, float]:
    """Two-sided Student t confidence interval for the mean of ``x`` (at least 2 values)."""
    xa = _as_sample(x, "x", min_size=2)
    _check_probability(confidence, "confidence")
    n = xa.size
    mean, ss = _sum_sq(xa)
    quantile = float(_scipy_special().stdtrit(n - 1, 0.5 + confidence / 2.0))
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
    special = _scipy_special()
    tail = (1.0 - confidence) / 2.0
    z = float(special.ndtri(1.0 - tail))
    guess = math.floor(n / 2.0 - z * math.sqrt(n) / 2.0)
    return _largest_rank_within(
        lambda j: float(special.bdtr(j, n, 0.5)), tail, guess, upper=(n + 1) // 2
    )


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


# --------------------------------------------------------------------------------------------
# Hodges-Lehmann
# --------------------------------------------------------------------------------------------


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
    kth = {mid_lo, mid_hi}
    k = 0
    if confidence is not None:
        k = _moses_rank(xa.size, ya.size, float(confidence))
        if k > 0:
            kth.update((k - 1, total - k))
    part = np.partition(diffs, sorted(kth))
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


# --------------------------------------------------------------------------------------------
# Sample-size planning
# --------------------------------------------------------------------------------------------


def _t_power(n: int, effect_size: float, alpha: float, two_sided: bool) -> float:
    special, nct = _scipy_special(), _scipy_stats().nct
    df = 2.0 * n - 2.0
    noncentrality = effect_size * math.sqrt(n / 2.0)
    if two_sided:
        crit = float(special.stdtrit(df, 1.0 - alpha / 2.0))
        # Counting the (tiny) opposite-tail rejections too, as G*Power does.
        return float(nct.sf(crit, df, noncentrality) + nct.cdf(-crit, df, noncentrality))
    crit = float(special.stdtrit(df, 1.0 - alpha))
    return float(nct.sf(crit, df, noncentrality))


def _smallest_enough(enough: Callable[[int], bool], lo: int, hi: int) -> int:
    """The smallest n > lo with enough(n), given not enough(lo), enough increasing and a first
    guess hi > lo: bracket by doubling hi, then bisect."""
    while not enough(hi):
        lo, hi = hi, hi * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if enough(mid):
            hi = mid
        else:
            lo = mid
    return hi


def rounds_needed(
    effect_size: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    alternative: str = "two-sided",
    test: str = "t",
) -> int:
    """Rounds per group needed to detect a standardised effect (Cohen's d) with given power.

    For ``test="t"`` this is the smallest ``n >= 2`` for which a two-sample Student t-test with
    ``n`` values per group, at level ``alpha``, rejects with probability at least ``power`` when
    the true means differ by ``effect_size`` standard deviations, computed exactly with the
    noncentral t distribution (e.g. 64 per group for d=0.5, two-sided, alpha=0.05, power=0.8).
    For one-sided alternatives the effect is taken in the tested direction.

    For ``test="mann-whitney"`` the t-test answer is divided by the Mann-Whitney test's
    asymptotic relative efficiency under normality, 3/pi, and rounded up.
    """
    if (
        not isinstance(effect_size, numbers.Real)
        or isinstance(effect_size, bool)
        or not math.isfinite(effect_size)
        or effect_size <= 0.0
    ):
        raise ValueError(f"effect_size must be a finite number > 0, got {effect_size!r}")
    _check_probability(alpha, "alpha")
    _check_probability(power, "power")
    _check_alternative(alternative)
    if test not in _POWER_TESTS:
        raise ValueError(f"test must be one of {_POWER_TESTS}, got {test!r}")
    two_sided = alternative == "two-sided"
    d = float(effect_size)

    def enough(n: int) -> bool:
        return _t_power(n, d, alpha, two_sided) >= power

    if enough(2):
        n_t = 2
    else:
        # The normal-theory answer is a slight underestimate for the t-test; start there and
        # bracket by doubling, then bisect (power increases with n).
        special = _scipy_special()
        z_alpha = float(special.ndtri(1.0 - (alpha / 2.0 if two_sided else alpha)))
        z_power = float(special.ndtri(power))
        guess = 2.0 * ((z_alpha + z_power) / d) ** 2
        if not math.isfinite(guess) or guess > 2.0**52:
            raise ValueError(f"effect_size {effect_size!r} is too small to plan for")
        n_t = _smallest_enough(enough, 2, max(3, math.ceil(guess)))
    if test == "mann-whitney":
        return max(2, math.ceil(n_t * math.pi / 3.0))
    return n_t
