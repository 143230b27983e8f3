"""Student's, Welch's and the paired t-test, with confidence intervals of the difference."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ._common import (
    SampleLike,
    _as_sample,
    _check_alternative,
    _check_probability,
    _FloatArray,
)
from ._distributions import t_cdf, t_quantile

__all__ = ["TTestResult", "paired_ttest", "student_ttest", "welch_ttest"]


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
        statistic = diff / se
        p_less, p_greater = t_cdf(statistic, df), t_cdf(-statistic, df)
        pvalue = _pvalue(p_less, p_greater, alternative)
        level = 0.5 + confidence / 2.0 if alternative == "two-sided" else confidence
        half = t_quantile(level, df) * se
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
