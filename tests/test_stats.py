"""Tests for pytest_perfbaseline.stats.

Reference values come from scipy (t-tests, their intervals, exact and asymptotic Mann-Whitney,
exact permutation tests), from brute-force enumeration written here independently of the module,
from published tables (Mann-Whitney critical values, Cohen's sample-size table) and from seeded
simulations.
"""

from __future__ import annotations

import itertools
import math
import statistics
from fractions import Fraction

import numpy as np
import pytest
import scipy.special
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from pytest_perfbaseline.stats import _common as stats_common
from pytest_perfbaseline.stats import (
    cohens_d,
    hodges_lehmann,
    hodges_lehmann_ci,
    hodges_lehmann_ratio,
    interpret_cohens_d,
    mann_whitney_u,
    mean_ci,
    median_ci,
    paired_ttest,
    rounds_needed,
    student_ttest,
    welch_ttest,
)
from pytest_perfbaseline.stats import mannwhitney as mwu_module
from pytest_perfbaseline.stats import shift as hl_module

ALTERNATIVES = ("two-sided", "less", "greater")


# ------------------------------------------------------------------------------------------
# helpers written independently of the module under test
# ------------------------------------------------------------------------------------------


def brute_u(x: np.ndarray, y: np.ndarray) -> float:
    return float((x[:, None] > y[None, :]).sum() + 0.5 * (x[:, None] == y[None, :]).sum())


def brute_mwu_pvalues(x: list[float], y: list[float]) -> dict[str, float]:
    """Exact permutation p-values of U by enumerating every split of the pooled sample."""
    pooled = np.array(x + y, dtype=float)
    n = len(x)
    observed = brute_u(np.array(x, dtype=float), np.array(y, dtype=float))
    us = []
    for chosen in itertools.combinations(range(pooled.size), n):
        mask = np.zeros(pooled.size, dtype=bool)
        mask[list(chosen)] = True
        us.append(brute_u(pooled[mask], pooled[~mask]))
    values = np.array(us)
    greater = float(np.mean(values >= observed))
    less = float(np.mean(values <= observed))
    return {"greater": greater, "less": less, "two-sided": min(1.0, 2 * min(greater, less))}


def samples_with_u(u: int, n: int, m: int) -> tuple[list[float], list[float]]:
    """Tie-free samples of sizes n, m whose U statistic (of x) is exactly u."""
    y = list(range(m))
    x = []
    remaining = u
    for _ in range(n):
        below = min(m, remaining)
        x.append(below - 0.5)  # exactly `below` values of y are smaller
        remaining -= below
    assert remaining == 0
    return x, [float(v) for v in y]


def exact_lower_tail(u: int, n: int, m: int) -> float:
    """P(U <= u) under the tie-free null, from scipy's exact Mann-Whitney test."""
    x, y = samples_with_u(u, n, m)
    return float(sps.mannwhitneyu(x, y, alternative="less", method="exact").pvalue)


def integer_difference_samples(n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """x, y whose n*m pairwise differences x_i - y_j are exactly 0, 1, ..., n*m - 1."""
    return np.arange(n, dtype=float) * m, -np.arange(m, dtype=float)


# ------------------------------------------------------------------------------------------
# input validation
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: student_ttest([], [1.0, 2.0]), "x is empty"),
        (lambda: welch_ttest([1.0, 2.0], []), "y is empty"),
        (lambda: welch_ttest([1.0], [1.0, 2.0]), "at least 2"),
        (lambda: student_ttest([1.0], [2.0]), "at least 3"),
        (lambda: student_ttest([1.0, math.nan], [1.0, 2.0]), "non-finite"),
        (lambda: welch_ttest([1.0, 2.0], [1.0, math.inf]), "non-finite"),
        (lambda: student_ttest([[1.0, 2.0]], [1.0, 2.0]), "1-D"),
        (lambda: student_ttest(["a", "b"], [1.0, 2.0]), "real numbers"),
        (lambda: student_ttest(np.array([1j, 2j]), [1.0, 2.0]), "complex"),
        (lambda: paired_ttest([1.0, 2.0, 3.0], [1.0, 2.0]), "equal length"),
        (lambda: paired_ttest([1.0], [2.0]), "at least 2 pairs"),
        (lambda: student_ttest([1, 2], [3, 4], alternative="bigger"), "alternative"),
        (lambda: welch_ttest([1, 2], [3, 4], confidence=1.0), "confidence"),
        (lambda: welch_ttest([1, 2], [3, 4], confidence=0.0), "confidence"),
        (lambda: mean_ci([1.0, 2.0], confidence=math.nan), "confidence"),
        (lambda: mean_ci([1.0]), "at least 2"),
        (lambda: median_ci([]), "x is empty"),
        (lambda: mann_whitney_u([1.0], [2.0], alternative="up"), "alternative"),
        (lambda: mann_whitney_u([1.0], [2.0], method="permutation"), "method"),
        (lambda: mann_whitney_u([1.0], [2.0], shift=math.nan), "shift"),
        (lambda: mann_whitney_u([math.nan], [2.0]), "non-finite"),
        (lambda: mann_whitney_u(range(600), range(600), method="exact"), "too expensive"),
        (lambda: cohens_d([1.0], [2.0]), "at least 3"),
        (lambda: interpret_cohens_d(math.nan), "nan"),
        (lambda: hodges_lehmann([], [1.0]), "x is empty"),
        (lambda: hodges_lehmann_ci([1.0], [2.0], confidence=1.5), "confidence"),
        (lambda: hodges_lehmann_ratio([1.0, 0.0], [1.0]), "baseline"),
        (lambda: hodges_lehmann_ratio([1.0], [-1.0]), "current"),
        (lambda: rounds_needed(0.0), "effect_size"),
        (lambda: rounds_needed(-0.5), "effect_size"),
        (lambda: rounds_needed(math.inf), "effect_size"),
        (lambda: rounds_needed(0.5, alpha=0.0), "alpha"),
        (lambda: rounds_needed(0.5, power=1.0), "power"),
        (lambda: rounds_needed(0.5, test="wilcoxon"), "test"),
        (lambda: rounds_needed(0.5, alternative="larger"), "alternative"),
    ],
)
def test_invalid_input_raises_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_accepts_lists_tuples_and_arrays_alike():
    x = [1.5, 2.25, 3.0, 7.5]
    y = [0.5, 1.0, 2.0]
    for xs, ys in ((tuple(x), tuple(y)), (np.array(x), np.array(y)), (x, np.array(y))):
        assert welch_ttest(xs, ys) == welch_ttest(x, y)
        assert mann_whitney_u(xs, ys) == mann_whitney_u(x, y)
        assert hodges_lehmann_ci(xs, ys) == hodges_lehmann_ci(x, y)


# ------------------------------------------------------------------------------------------
# t-tests against scipy
# ------------------------------------------------------------------------------------------


def _assert_matches_scipy(ours, ref, confidence):
    ci = ref.confidence_interval(confidence_level=confidence)
    assert ours.statistic == pytest.approx(float(ref.statistic), rel=1e-12)
    assert ours.df == pytest.approx(float(ref.df), rel=1e-12)
    assert ours.pvalue == pytest.approx(float(ref.pvalue), rel=1e-9, abs=1e-300)
    assert ours.ci_low == pytest.approx(float(ci.low), rel=1e-9)
    assert ours.ci_high == pytest.approx(float(ci.high), rel=1e-9)
    assert ours.confidence == confidence


@pytest.mark.parametrize("alternative", ALTERNATIVES)
@pytest.mark.parametrize("confidence", [0.95, 0.9])
@pytest.mark.parametrize(("n", "m", "seed"), [(2, 3, 0), (8, 15, 1), (30, 30, 2), (50, 7, 3)])
def test_student_and_welch_match_scipy(alternative, confidence, n, m, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(10.0, 2.0, n)
    y = rng.normal(9.0, 1.0, m)
    ours = student_ttest(x, y, alternative=alternative, confidence=confidence)
    ref = sps.ttest_ind(x, y, equal_var=True, alternative=alternative)
    _assert_matches_scipy(ours, ref, confidence)
    assert ours.mean_difference == pytest.approx(x.mean() - y.mean(), rel=1e-12)
    assert ours.alternative == alternative

    ours = welch_ttest(x, y, alternative=alternative, confidence=confidence)
    ref = sps.ttest_ind(x, y, equal_var=False, alternative=alternative)
    _assert_matches_scipy(ours, ref, confidence)


@pytest.mark.parametrize("alternative", ALTERNATIVES)
@pytest.mark.parametrize(("n", "seed"), [(2, 0), (12, 1), (40, 2)])
def test_paired_matches_scipy(alternative, n, seed):
    rng = np.random.default_rng(seed)
    x = rng.lognormal(0.0, 0.3, n)
    y = x * rng.normal(1.02, 0.05, n)
    ours = paired_ttest(x, y, alternative=alternative, confidence=0.99)
    _assert_matches_scipy(ours, sps.ttest_rel(x, y, alternative=alternative), 0.99)
    assert ours.mean_difference == pytest.approx(np.mean(x - y), rel=1e-9)


def test_tiny_pvalues_keep_relative_precision():
    x = np.linspace(100.0, 101.0, 30)
    y = np.linspace(0.0, 1.0, 30)
    ours = welch_ttest(x, y, alternative="two-sided")
    ref = sps.ttest_ind(x, y, equal_var=False)
    assert 0.0 < ours.pvalue < 1e-50
    assert ours.pvalue == pytest.approx(float(ref.pvalue), rel=1e-9)


def test_constant_samples_behave_like_scipy():
    result = student_ttest([1.0, 1.0, 1.0], [2.0, 2.0, 2.0])
    assert result.statistic == -math.inf
    assert result.pvalue == 0.0
    assert (result.ci_low, result.ci_high) == (-1.0, -1.0)
    greater = welch_ttest([1.0, 1.0], [2.0, 2.0], alternative="greater")
    assert greater.pvalue == 1.0
    assert (greater.ci_low, greater.ci_high) == (-1.0, math.inf)
    same = student_ttest([3.0, 3.0], [3.0, 3.0])
    assert math.isnan(same.statistic)
    assert math.isnan(same.pvalue)


# ------------------------------------------------------------------------------------------
# Mann-Whitney U
# ------------------------------------------------------------------------------------------


def test_fully_separated_ten_vs_ten_has_exact_tail():
    x = np.arange(10.0, 20.0)
    y = np.arange(10.0)
    result = mann_whitney_u(x, y, alternative="greater")
    assert result.method == "exact"
    assert result.u == 100.0
    assert result.pvalue == pytest.approx(1 / math.comb(20, 10), rel=1e-12)  # 5.41e-6
    assert mann_whitney_u(y, x, alternative="less").pvalue == pytest.approx(
        1 / math.comb(20, 10), rel=1e-12
    )
    assert mann_whitney_u(x, y).pvalue == pytest.approx(2 / math.comb(20, 10), rel=1e-12)
    assert mann_whitney_u(x, y, alternative="less").pvalue == pytest.approx(1.0)


@pytest.mark.parametrize("alternative", ALTERNATIVES)
@pytest.mark.parametrize(
    ("n", "m"), [(1, 1), (1, 9), (4, 4), (3, 12), (12, 3), (10, 10), (20, 25), (30, 30), (60, 75)]
)
def test_exact_matches_scipy_without_ties(alternative, n, m):
    rng = np.random.default_rng(1000 * n + m)
    for offset in (0.0, 0.7, -1.5):
        x = rng.normal(offset, 1.0, n)
        y = rng.normal(0.0, 1.0, m)
        ours = mann_whitney_u(x, y, alternative=alternative, method="exact")
        ref = sps.mannwhitneyu(x, y, alternative=alternative, method="exact")
        assert ours.u == float(ref.statistic)
        assert ours.pvalue == pytest.approx(float(ref.pvalue), rel=1e-12, abs=1e-300)
        assert ours.method == "exact"


def test_exact_matches_scipy_in_the_far_tail_at_100_vs_100():
    x = np.arange(100.0) + 55.5  # x beats most of y: U = 9010 of 10000, far in the tail
    y = np.arange(100.0)
    ours = mann_whitney_u(x, y, alternative="greater", method="exact")
    ref = sps.mannwhitneyu(x, y, alternative="greater", method="exact")
    assert 0.0 < ours.pvalue < 1e-25
    assert ours.pvalue == pytest.approx(float(ref.pvalue), rel=1e-11)


@pytest.mark.parametrize("alternative", ALTERNATIVES)
def test_asymptotic_matches_scipy_with_ties(alternative):
    rng = np.random.default_rng(7)
    for _ in range(20):
        x = rng.integers(0, 12, 25).astype(float)
        y = rng.integers(1, 13, 31).astype(float)
        ours = mann_whitney_u(x, y, alternative=alternative, method="asymptotic")
        ref = sps.mannwhitneyu(
            x, y, alternative=alternative, method="asymptotic", use_continuity=True
        )
        assert ours.u == float(ref.statistic)
        assert ours.pvalue == pytest.approx(float(ref.pvalue), rel=1e-12)
        assert ours.method == "asymptotic"


def _u_statistic(x, y, axis):
    x = np.moveaxis(x, axis, -1)[..., :, None]
    y = np.moveaxis(y, axis, -1)[..., None, :]
    return (x > y).sum(axis=(-1, -2)) + 0.5 * (x == y).sum(axis=(-1, -2))


@pytest.mark.parametrize("alternative", ALTERNATIVES)
@pytest.mark.parametrize(
    ("x", "y"),
    [
        ([1, 2, 2, 3, 5, 5, 5], [2, 3, 3, 4, 4, 6]),
        ([7, 7, 7, 8], [1, 2, 7, 7, 7, 7, 7, 7]),
        ([250, 251, 251, 253, 253, 253], [249, 250, 250, 251, 252]),
        ([0, 0, 0, 1, 1], [0, 1, 1, 1, 2, 2, 2]),
        ([3, 1, 4, 1, 5, 9, 2, 6], [5, 3, 5, 8, 9, 7]),
    ],
)
def test_exact_with_ties_matches_scipy_permutation_test(alternative, x, y):
    ref = sps.permutation_test(
        (np.array(x, float), np.array(y, float)),
        _u_statistic,
        permutation_type="independent",
        vectorized=True,
        n_resamples=np.inf,  # exact enumeration of all splits
        alternative=alternative,
    )
    ours = mann_whitney_u(x, y, alternative=alternative, method="exact")
    assert ours.u == float(ref.statistic)
    assert ours.pvalue == pytest.approx(float(ref.pvalue), rel=1e-12)
    # The tie-corrected exact test differs from scipy's "exact" (which ignores ties).
    assert ours.method == "exact"


small_tied_samples = st.lists(st.integers(0, 4), min_size=1, max_size=6)


@settings(max_examples=150, deadline=None)
@given(x=small_tied_samples, y=small_tied_samples)
def test_exact_with_ties_matches_brute_force_enumeration(x, y):
    expected = brute_mwu_pvalues([float(v) for v in x], [float(v) for v in y])
    for alternative in ALTERNATIVES:
        result = mann_whitney_u(x, y, alternative=alternative, method="exact")
        assert result.pvalue == pytest.approx(expected[alternative], rel=1e-12, abs=1e-15)
        assert result.u == brute_u(np.array(x, float), np.array(y, float))


@settings(max_examples=100, deadline=None)
@given(
    x=st.lists(st.integers(-20, 20), min_size=1, max_size=25),
    y=st.lists(st.integers(-20, 20), min_size=1, max_size=25),
    quarter_shift=st.integers(-40, 40),
    method=st.sampled_from(["exact", "asymptotic"]),
)
def test_shift_invariance_and_swap_symmetry(x, y, quarter_shift, method):
    c = quarter_shift / 4  # dyadic, so (x + c) - c is exact in floating point
    shifted = [v + c for v in x]
    for alternative in ALTERNATIVES:
        base = mann_whitney_u(x, y, alternative=alternative, method=method)
        assert mann_whitney_u(shifted, y, alternative=alternative, method=method, shift=c) == base
    # Swapping the samples mirrors U and exchanges the one-sided tails.
    greater = mann_whitney_u(x, y, alternative="greater", method=method)
    swapped = mann_whitney_u(y, x, alternative="less", method=method)
    assert swapped.u == len(x) * len(y) - greater.u
    assert swapped.pvalue == pytest.approx(greater.pvalue, rel=1e-12)


def test_tie_dynamic_programme_reduces_to_tie_free_distribution():
    # White-box: with all tie groups of size 1 the tie-aware null (indexed by 2U) must equal
    # the tie-free null (indexed by U), which is checked against scipy above.
    for n, m in [(1, 7), (6, 9), (9, 6), (25, 25), (40, 13)]:
        cdf_tied, sf_tied = mwu_module._tied_null(n, (1,) * (n + m))
        cdf, sf = mwu_module._no_ties_null(n, m)
        np.testing.assert_allclose(cdf_tied[::2], cdf, rtol=1e-13)
        np.testing.assert_allclose(sf_tied[::2], sf, rtol=1e-13)
        np.testing.assert_allclose(cdf_tied[1::2], cdf[:-1], rtol=1e-13)  # odd 2U impossible


def test_all_values_tied_gives_pvalue_one():
    for method in ("exact", "asymptotic"):
        for alternative in ALTERNATIVES:
            result = mann_whitney_u([5, 5, 5], [5, 5], alternative=alternative, method=method)
            assert result.u == 3.0
            assert result.pvalue == pytest.approx(1.0)


def test_auto_method_choice():
    rng = np.random.default_rng(3)
    assert mann_whitney_u(rng.normal(size=100), rng.normal(size=100)).method == "exact"
    assert mann_whitney_u(rng.normal(size=101), rng.normal(size=100)).method == "asymptotic"
    ties_30 = rng.integers(0, 5, 30)
    assert mann_whitney_u(ties_30, ties_30[::-1]).method == "exact"
    ties_80 = rng.integers(0, 5, 80)
    assert mann_whitney_u(ties_80, ties_80[::-1]).method == "asymptotic"


@pytest.mark.parametrize("alternative", ALTERNATIVES)
def test_asymptotic_matches_scipy_far_in_the_tails(alternative):
    # The normal tail is computed without scipy: it must hold its relative accuracy where the
    # gate's corrected alphas live (p ~ 1e-12) and beyond.
    y = np.arange(150.0)
    pvalues = []
    # Whole offsets tie x with y, half ones do not.
    for offset in (0.0, 3.5, 20.0, 41.5, 60.0, 100.5, -41.0, -100.5):
        x = np.arange(150.0) + offset
        ours = mann_whitney_u(x, y, alternative=alternative, method="asymptotic")
        ref = sps.mannwhitneyu(x, y, alternative=alternative, method="asymptotic")
        assert ours.pvalue == pytest.approx(float(ref.pvalue), rel=1e-12, abs=1e-300)
        pvalues.append(ours.pvalue)
    assert min(pvalues) < 1e-30
    assert any(1e-14 < p < 1e-10 for p in pvalues)


def test_normal_cdf_matches_scipy_over_its_whole_range():
    z = np.linspace(-37.0, 37.0, 20001)  # scipy's ndtr underflows to 0 below about -37.5
    ours = np.array([stats_common._normal_cdf(float(v)) for v in z])
    np.testing.assert_allclose(ours, scipy.special.ndtr(z), rtol=1e-12, atol=0.0)


def test_normal_quantile_matches_scipy_including_its_end_points():
    p = np.concatenate((np.logspace(-300, -0.31, 2000), 1.0 - np.logspace(-16, -0.31, 2000)))
    ours = np.array([stats_common._normal_quantile(float(v)) for v in p])
    np.testing.assert_allclose(ours, scipy.special.ndtri(p), rtol=4e-15, atol=0.0)
    assert stats_common._normal_quantile(0.0) == float(scipy.special.ndtri(0.0)) == -math.inf
    assert stats_common._normal_quantile(1.0) == float(scipy.special.ndtri(1.0)) == math.inf


@pytest.mark.parametrize("confidence", [0.8, 0.9, 0.95, 0.99, 0.999])
def test_moses_rank_above_the_exact_range_matches_scipys_normal_quantile(confidence):
    z = float(scipy.special.ndtri(1.0 - (1.0 - confidence) / 2.0))
    for n in range(1, 700, 13):
        for m in range(max(1, 201 - n), 700, 17):
            sd = math.sqrt(n * m * (n + m + 1) / 12.0)
            expected = max(0, min(math.floor(n * m / 2.0 + 0.5 - z * sd), (n * m + 1) // 2))
            assert hl_module._moses_rank(n, m, confidence) == expected, (n, m)


def test_threshold_shift_keeps_size_and_detects_real_slowdowns():
    """Gate scenario: is `current` more than 10% slower than `baseline`? (one-sided, logs)."""
    rng = np.random.default_rng(20240611)
    alpha = 0.01
    threshold = math.log(1.10)
    reps = 2000

    def rejection_rate(true_ratio: float, sigma: float) -> float:
        base = rng.normal(0.0, sigma, (reps, 20))  # log-normal samples, compared on logs
        cur = rng.normal(math.log(true_ratio), sigma, (reps, 20))
        rejected = 0
        for b, c in zip(base, cur, strict=True):
            result = mann_whitney_u(c, b, alternative="greater", shift=threshold)
            rejected += result.pvalue <= alpha
        return rejected / reps

    # 3% slower is within the 10% tolerance: false alarms stay under alpha.
    assert rejection_rate(1.03, 0.05) < alpha
    assert rejection_rate(1.03, 0.25) < alpha
    # Exactly at the threshold the exact test has size <= alpha (3 binomial SEs of slack).
    assert rejection_rate(1.10, 0.25) <= alpha + 3 * math.sqrt(alpha * (1 - alpha) / reps)
    # A 30% slowdown with 5% noise is caught almost always.
    assert rejection_rate(1.30, 0.05) > 0.9


# ------------------------------------------------------------------------------------------
# Cohen's d
# ------------------------------------------------------------------------------------------


def test_cohens_d_textbook_example():
    # Means 2 and 5, both sample variances 1, so the pooled sd is 1.
    assert cohens_d([1.0, 2.0, 3.0], [4.0, 5.0, 6.0]) == pytest.approx(-3.0)
    assert cohens_d([4.0, 5.0, 6.0], [1.0, 2.0, 3.0]) == pytest.approx(3.0)


@pytest.mark.parametrize(("n", "m", "seed"), [(5, 9, 0), (30, 30, 1), (2, 40, 2)])
def test_cohens_d_matches_pooled_t_statistic(n, m, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(1.0, 2.0, n)
    y = rng.normal(0.0, 3.0, m)
    t = float(sps.ttest_ind(x, y, equal_var=True).statistic)
    assert cohens_d(x, y) == pytest.approx(t * math.sqrt(1 / n + 1 / m), rel=1e-12)


def test_cohens_d_zero_spread():
    assert cohens_d([2.0, 2.0], [2.0, 2.0]) == 0.0
    assert cohens_d([3.0, 3.0], [2.0, 2.0]) == math.inf
    assert cohens_d([1.0, 1.0], [2.0, 2.0]) == -math.inf


@pytest.mark.parametrize(
    ("d", "label"),
    [
        (0.0, "negligible"),
        (0.19, "negligible"),
        (-0.19, "negligible"),
        (0.2, "small"),
        (-0.49, "small"),
        (0.5, "medium"),
        (0.79, "medium"),
        (0.8, "large"),
        (-2.5, "large"),
        (math.inf, "large"),
    ],
)
def test_interpret_cohens_d(d, label):
    assert interpret_cohens_d(d) == label


# ------------------------------------------------------------------------------------------
# one-sample intervals
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "confidence"), [(2, 0.95), (10, 0.9), (50, 0.99)])
def test_mean_ci_matches_scipy(n, confidence):
    x = np.random.default_rng(n).lognormal(0.0, 0.5, n)
    low, high = mean_ci(x, confidence=confidence)
    ref = sps.ttest_1samp(x, 0.0).confidence_interval(confidence_level=confidence)
    assert low == pytest.approx(float(ref.low), rel=1e-10)
    assert high == pytest.approx(float(ref.high), rel=1e-10)


def test_median_ci_known_ranks_for_ten_values():
    # n = 10 at 95%: P(B <= 1) = 11/1024 <= 0.025 < P(B <= 2) = 56/1024, so [x_(2), x_(9)].
    x = [7.0, 3.0, 10.0, 1.0, 9.0, 2.0, 8.0, 4.0, 6.0, 5.0]
    assert median_ci(x) == (2.0, 9.0)


@pytest.mark.parametrize("confidence", [0.8, 0.9, 0.95, 0.99])
def test_median_ci_follows_binomial_rule(confidence):
    tail = Fraction(1 - confidence).limit_denominator(10**6) / 2
    for n in range(1, 61):
        cdf = [Fraction(sum(math.comb(n, j) for j in range(i + 1)), 2**n) for i in range(n + 1)]
        k = max([r for r in range(1, (n + 1) // 2 + 1) if cdf[r - 1] <= tail], default=0)
        x = np.random.default_rng(n).permutation(np.arange(1.0, n + 1))
        expected = (-math.inf, math.inf) if k == 0 else (float(k), float(n + 1 - k))
        assert median_ci(x, confidence=confidence) == expected, n


def test_median_ci_coverage_by_simulation():
    rng = np.random.default_rng(11)
    reps, covered = 2000, 0
    for sample in rng.exponential(1.0, (reps, 15)):
        low, high = median_ci(sample)
        covered += low <= math.log(2.0) <= high  # true median of Exp(1)
    # Exact coverage of [x_(4), x_(12)] for n = 15 is 1 - 2 * 576 / 32768 = 0.9648.
    assert abs(covered / reps - 0.9648) < 4 * math.sqrt(0.9648 * 0.0352 / reps)


# ------------------------------------------------------------------------------------------
# Hodges-Lehmann
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "m"), [(1, 1), (3, 4), (7, 7), (10, 13), (31, 30)])
def test_hodges_lehmann_is_median_of_pairwise_differences(n, m):
    rng = np.random.default_rng(n * 100 + m)
    x = rng.normal(1.0, 1.0, n).tolist()
    y = rng.normal(0.0, 2.0, m).tolist()
    expected = statistics.median(a - b for a in x for b in y)
    assert hodges_lehmann(x, y) == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert hodges_lehmann_ci(x, y)[0] == hodges_lehmann(x, y)


@pytest.mark.parametrize(("size", "critical"), [(5, 2), (8, 13), (10, 23), (20, 127)])
def test_moses_interval_uses_tabulated_critical_values(size, critical):
    # Two-sided 5% critical values of U for equal sample sizes (standard Mann-Whitney tables):
    # the interval runs from the (critical + 1)-th smallest to the (critical + 1)-th largest
    # pairwise difference. Here the differences are exactly 0, 1, ..., size^2 - 1.
    x, y = integer_difference_samples(size, size)
    estimate, low, high = hodges_lehmann_ci(x, y)
    assert (low, high) == (float(critical), float(size * size - 1 - critical))
    assert estimate == (size * size - 1) / 2


@pytest.mark.parametrize(("n", "m"), [(4, 4), (6, 9), (12, 10), (15, 15)])
@pytest.mark.parametrize("confidence", [0.9, 0.95])
def test_moses_interval_inverts_scipys_exact_test(n, m, confidence):
    rng = np.random.default_rng(n * m)
    x = rng.normal(0.5, 1.0, n)
    y = rng.normal(0.0, 1.0, m)
    _, low, high = hodges_lehmann_ci(x, y, confidence=confidence)
    diffs = np.sort(np.subtract.outer(x, y).ravel())
    # Shifts strictly between consecutive differences: inside the interval exactly when
    # the exact two-sided test of x - shift against y does not reject.
    midpoints = np.concatenate(([diffs[0] - 1.0], (diffs[1:] + diffs[:-1]) / 2, [diffs[-1] + 1.0]))
    for shift in midpoints:
        p = sps.mannwhitneyu(x - shift, y, method="exact").pvalue
        assert (low < shift < high) == (p > 1 - confidence), shift


@pytest.mark.parametrize(("n", "m"), [(7, 9), (30, 30), (110, 100), (150, 120)])
def test_moses_interval_rank_is_the_narrowest_with_coverage(n, m):
    # [D_(k), D_(nm+1-k)] has exact coverage 1 - 2 P(U <= k - 1); the right k is the largest
    # with coverage >= 95%. P comes from scipy's exact test. Above 200 pooled values the module
    # uses normal quantiles, which may miss that k by one rank.
    x, y = integer_difference_samples(n, m)
    _, low, high = hodges_lehmann_ci(x, y)
    k = int(low) + 1
    assert high == n * m - k

    def covers(rank: int) -> bool:
        return 1 - 2 * exact_lower_tail(rank - 1, n, m) >= 0.95

    best = k
    while covers(best + 1):
        best += 1
    while not covers(best):
        best -= 1
    assert k == best if n + m <= 200 else abs(k - best) <= 1


def test_moses_interval_is_unbounded_when_samples_are_too_small():
    # 3 vs 3: P(U <= 0) = 1/20 > 0.025, so no finite interval reaches 95%.
    assert hodges_lehmann_ci([1.0, 2.0, 3.0], [0.0, 0.5, 4.0])[1:] == (-math.inf, math.inf)
    # 4 vs 4: P(U <= 0) = 1/70 <= 0.025, so [min difference, max difference].
    _, low, high = hodges_lehmann_ci([1.0, 2.0, 3.0, 9.0], [0.0, 0.5, 4.0, 5.0])
    assert (low, high) == (-4.0, 9.0)


def test_hodges_lehmann_ratio():
    rng = np.random.default_rng(5)
    baseline = rng.lognormal(0.0, 0.2, 30)
    # A uniform 20% slowdown: the log differences are symmetric around log(1.2).
    estimate = hodges_lehmann_ratio(baseline, baseline * 1.2)
    assert estimate.ratio == pytest.approx(1.2, rel=1e-12)
    assert estimate.low < 1.2 < estimate.high
    assert estimate.confidence == 0.95

    current = rng.lognormal(0.1, 0.3, 25)
    result = hodges_lehmann_ratio(baseline, current, confidence=0.9)
    logs = statistics.median(math.log(c) - math.log(b) for c in current for b in baseline)
    assert result.ratio == pytest.approx(math.exp(logs), rel=1e-12)
    _, low, high = hodges_lehmann_ci(np.log(current), np.log(baseline), confidence=0.9)
    assert (result.low, result.high) == pytest.approx((math.exp(low), math.exp(high)), rel=1e-12)
    # Units do not matter for a ratio.
    scaled = hodges_lehmann_ratio(baseline * 1000.0, current * 1000.0, confidence=0.9)
    assert scaled.ratio == pytest.approx(result.ratio, rel=1e-12)
    # Too few values for a finite 95% interval: bounds are 0 and inf.
    tiny = hodges_lehmann_ratio([1.0, 2.0], [3.0, 4.0])
    assert (tiny.low, tiny.high) == (0.0, math.inf)


# ------------------------------------------------------------------------------------------
# rounds_needed
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("effect", "kwargs", "expected"),
    [
        # Cohen (1988) / G*Power, two-sample t-test, alpha = 0.05.
        (0.2, {}, 394),
        (0.5, {}, 64),
        (0.8, {}, 26),
        (0.5, {"power": 0.9}, 86),
        (0.5, {"power": 0.95}, 105),
        (0.5, {"alternative": "greater"}, 51),
        (0.5, {"alternative": "less"}, 51),
        (10.0, {}, 2),
    ],
)
def test_rounds_needed_known_values(effect, kwargs, expected):
    assert rounds_needed(effect, **kwargs) == expected


@pytest.mark.parametrize("effect", [0.2, 0.5, 0.8, 1.3])
def test_rounds_needed_for_mann_whitney_uses_are(effect):
    t_rounds = rounds_needed(effect)
    mw_rounds = rounds_needed(effect, test="mann-whitney")
    assert mw_rounds == math.ceil(t_rounds / (3 / math.pi))
    assert mw_rounds > t_rounds
    assert rounds_needed(0.5, test="mann-whitney") == 68  # 64 * pi / 3 = 67.02


def test_rounds_needed_is_monotone():
    effects = [0.1, 0.3, 0.6, 1.0, 2.0]
    rounds = [rounds_needed(d) for d in effects]
    assert rounds == sorted(rounds, reverse=True)
    assert rounds_needed(0.5, power=0.7) < rounds_needed(0.5) < rounds_needed(0.5, power=0.9)
    assert rounds_needed(0.5, alpha=0.001) > rounds_needed(0.5)


@pytest.mark.parametrize(("effect", "alternative"), [(0.5, "two-sided"), (0.8, "greater")])
def test_rounds_needed_achieves_power_by_simulation(effect, alternative):
    n = rounds_needed(effect, alternative=alternative)
    rng = np.random.default_rng(99)
    reps = 4000
    x = rng.normal(effect, 1.0, (reps, n))
    y = rng.normal(0.0, 1.0, (reps, n))
    p = sps.ttest_ind(x, y, axis=1, alternative=alternative).pvalue
    # The smallest n reaching 80% power has power at or just above 0.8 (a rounds' worth more
    # is a couple of percent at these sizes); 4 binomial SEs of simulation slack below.
    power = float(np.mean(p <= 0.05))
    assert 0.8 - 4 * math.sqrt(0.8 * 0.2 / reps) <= power <= 0.85


# ------------------------------------------------------------------------------------------
# the t, noncentral t and binomial functions that replace scipy's (checked against scipy)
# ------------------------------------------------------------------------------------------

from pytest_perfbaseline.stats import _distributions as dist  # noqa: E402


def test_t_cdf_matches_scipy_in_the_body_and_far_into_the_tails():
    rng = np.random.default_rng(7)
    for _ in range(3000):
        df = float(rng.choice([1, 2, 3, 4.5, 7, 10, 19, 29.3, 58, 100, 1000]))
        df *= float(rng.uniform(0.5, 2.0))
        t = float(rng.normal() * rng.choice([0.01, 0.1, 1.0, 3.0, 10.0, 100.0]))
        expected = float(scipy.special.stdtr(df, t))
        assert dist.t_cdf(t, df) == pytest.approx(expected, rel=1e-11, abs=1e-300), (df, t)
        assert dist.t_sf(t, df) == pytest.approx(1.0 - expected, rel=1e-11, abs=1e-15)
    # tiny tails keep their relative accuracy
    for df, t in [(18.0, -30.0), (5.0, -1e3), (100.0, -25.0), (3.0, -1e8)]:
        expected = float(scipy.special.stdtr(df, t))
        assert 0.0 < expected < 1e-13
        assert dist.t_cdf(t, df) == pytest.approx(expected, rel=1e-11)


def test_t_cdf_stays_close_to_scipy_at_very_many_degrees_of_freedom():
    # The continued fraction loses digits as x -> 1: ~1e-12 at 1e4, ~1e-10 at 1e6.
    for df in (1e4, 1e5, 1e6):
        for t in (-5.0, -2.0, -0.3, 1.7):
            expected = float(scipy.special.stdtr(df, t))
            assert dist.t_cdf(t, df) == pytest.approx(expected, rel=1e-9)


def test_t_special_values():
    assert dist.t_cdf(0.0, 3.0) == 0.5
    assert dist.t_cdf(math.inf, 3.0) == 1.0
    assert dist.t_cdf(-math.inf, 3.0) == 0.0
    assert math.isnan(dist.t_cdf(math.nan, 3.0))
    assert math.isnan(dist.t_cdf(1.0, math.nan))
    assert dist.t_quantile(0.5, 7.0) == 0.0
    assert dist.t_quantile(1.0, 7.0) == math.inf
    assert dist.t_quantile(0.0, 7.0) == -math.inf
    assert math.isnan(dist.t_quantile(1.5, 7.0))


@pytest.mark.parametrize("df", [1.0, 2.0, 2.5, 3.0, 4.0, 9.0, 17.3, 58.0, 300.0, 1e4])
def test_t_quantile_matches_scipy(df):
    for p in (1e-50, 1e-20, 1e-8, 0.001, 0.025, 0.05, 0.3, 0.5, 0.7, 0.95, 0.975, 0.995, 0.9999):
        expected = float(scipy.special.stdtrit(df, p))
        assert dist.t_quantile(p, df) == pytest.approx(expected, rel=1e-11), (df, p)


def test_incomplete_beta_matches_scipy():
    rng = np.random.default_rng(3)
    for _ in range(3000):
        a, b = (float(np.exp(rng.uniform(-2.0, 8.0))) for _ in range(2))
        x = float(rng.uniform())
        expected = float(scipy.special.betainc(a, b, x))
        assert dist.beta_inc(a, b, x) == pytest.approx(expected, rel=1e-10, abs=1e-280)
    assert dist.beta_inc(2.0, 3.0, 0.0) == 0.0
    assert dist.beta_inc(2.0, 3.0, 1.0) == 1.0


@pytest.mark.parametrize("n", [1, 2, 5, 10, 11, 50, 300, 2000, 2001, 10_001])
def test_binomial_half_cdf_matches_scipy(n):
    for k in sorted({*range(-1, n + 2, max(1, n // 23)), n // 2, n - 1, n}):
        expected = 0.0 if k < 0 else 1.0 if k >= n else float(scipy.special.bdtr(k, n, 0.5))
        assert dist.binomial_half_cdf(k, n) == pytest.approx(expected, rel=1e-10, abs=1e-300)


def test_binomial_half_cdf_is_exact_for_small_n():
    for n in range(1, 40):
        for k in range(n + 1):
            exact = Fraction(sum(math.comb(n, i) for i in range(k + 1)), 2**n)
            assert dist.binomial_half_cdf(k, n) == float(exact)


def test_noncentral_t_power_matches_scipy():
    rng = np.random.default_rng(11)
    for _ in range(600):
        df = float(rng.choice([1, 2, 3, 5, 10, 30, 100, 1000, 20_000, 200_000]))
        crit = float(rng.uniform(0.0, 6.0))
        nc = float(rng.uniform(-3.0, 12.0))
        one = float(sps.nct.sf(crit, df, nc))
        # P(T < -c) as P(T > c) at -nc: scipy's nct.cdf gives nan far in some tails
        both = one + float(sps.nct.sf(crit, df, -nc))
        assert dist.t_power(crit, df, nc, two_sided=False) == pytest.approx(one, abs=1e-11)
        assert dist.t_power(crit, df, nc, two_sided=True) == pytest.approx(both, abs=1e-11)


def _rounds_needed_by_scipy(d, alpha, power, two_sided):
    def achieved(n):
        df, nc = 2.0 * n - 2.0, d * math.sqrt(n / 2.0)
        if two_sided:
            crit = float(scipy.special.stdtrit(df, 1.0 - alpha / 2.0))
            return float(sps.nct.sf(crit, df, nc) + sps.nct.sf(crit, df, -nc))
        return float(sps.nct.sf(float(scipy.special.stdtrit(df, 1.0 - alpha)), df, nc))

    n = 2
    while achieved(n) < power:
        n += 1
    return n


@pytest.mark.parametrize("effect", [0.35, 0.8, 1.5, 3.0])
@pytest.mark.parametrize("alpha", [0.05, 1e-4])
@pytest.mark.parametrize("alternative", ["two-sided", "greater"])
def test_rounds_needed_matches_the_scipy_power_calculation(effect, alpha, alternative):
    expected = _rounds_needed_by_scipy(effect, alpha, 0.8, alternative == "two-sided")
    assert rounds_needed(effect, alpha=alpha, alternative=alternative) == expected


# ------------------------------------------------------------------------------------------
# margin_tests: the gate's one-pass comparison equals the separate calls
# ------------------------------------------------------------------------------------------

from pytest_perfbaseline.stats.margin import margin_test, margin_tests  # noqa: E402


def _separately(base, cur, margin, confidence=0.95):
    greater = mann_whitney_u(cur, base, alternative="greater", shift=margin)
    less = mann_whitney_u(cur, base, alternative="less", shift=-margin)
    shift, low, high = hodges_lehmann_ci(cur, base, confidence=confidence)
    return (greater.pvalue, less.pvalue, greater.method, shift, low, high)


def _margin_cases():
    rng = np.random.default_rng(5)
    cases = []
    for n, m in [(1, 1), (1, 7), (6, 1), (3, 3), (10, 10), (30, 30), (12, 45), (150, 120)]:
        for shift in (0.0, 0.05, 0.3):
            base = rng.normal(0.0, 0.05, m).tolist()
            cur = (rng.normal(shift, 0.05, n)).tolist()
            cases.append((base, cur, math.log(1.1)))
    ties = [0.0, 0.1, 0.1, 0.2, 0.3, 0.3, 0.3, 0.5]
    cases += [
        (ties, [0.1, 0.2, 0.2, 0.4, 0.6], 0.0),  # ties within and across
        (ties, [v + 0.1 for v in ties], 0.1),  # cross ties made by the shift itself
        ([0.25] * 6, [0.25] * 6, 0.0),  # identical constant samples
        ([0.1, 0.2, 0.3], [0.1, 0.2, 0.3], 0.05),  # identical samples
        (list(np.linspace(0, 1, 80)), list(np.linspace(0.5, 1.5, 70)), 0.0),
        ([1.0, 2.0, 3.0], [1.5, 2.5, 3.5], -0.25),
    ]
    return cases


def test_margin_tests_equal_the_separate_calls_exactly():
    cases = _margin_cases()
    batched = margin_tests(cases, 0.95)  # stacked by sizes, in any order
    for (base, cur, margin), got in zip(cases, batched, strict=True):
        assert tuple(got) == _separately(base, cur, margin), (len(base), len(cur), margin)
        assert margin_test(base, cur, margin, 0.95) == got


def test_margin_tests_switch_to_the_normal_approximation_above_200_values():
    rng = np.random.default_rng(9)
    base, cur = rng.normal(0, 1, 120).tolist(), rng.normal(0.4, 1, 110).tolist()
    got = margin_test(base, cur, 0.1, 0.9)
    assert got.method == "asymptotic"
    assert tuple(got) == _separately(base, cur, 0.1, 0.9)


def test_margin_tests_refuse_what_the_separate_calls_refuse():
    with pytest.raises(ValueError, match="non-finite"):
        margin_test([1.0, math.inf], [1.0, 2.0], 0.1, 0.95)
    with pytest.raises(ValueError, match="non-finite"):
        margin_tests([([1.0, 2.0], [1.0, 2.0], 0.1), ([1.0, 2.0], [math.nan, 2.0], 0.1)], 0.95)
    with pytest.raises(ValueError, match="empty"):
        margin_test([], [1.0], 0.1, 0.95)


def test_tail_only_tied_programme_equals_the_full_tied_null():
    # The gate asks for one tail at the observed statistic; that programme counts only the
    # subsets that can end in the nearer tail. It must give the full programme's tails at
    # every possible statistic, for tie patterns of every kind and both sample orders.
    rng = np.random.default_rng(13)
    for trial in range(150):
        n, m = (int(v) for v in rng.integers(1, 14, 2))
        distinct = int(rng.integers(1, 10)) if trial % 3 else 40
        values = np.sort(rng.integers(0, distinct, n + m))
        groups = tuple(int(g) for g in np.unique(values, return_counts=True)[1])
        cdf, sf = mwu_module._tied_null(n, groups)
        for two_u in range(2 * n * m + 1):
            p_le, p_ge = mwu_module._tied_tails(n, groups, two_u)
            assert p_le == pytest.approx(cdf[two_u], rel=1e-12, abs=1e-15), (n, groups, two_u)
            assert p_ge == pytest.approx(sf[two_u], rel=1e-12, abs=1e-15), (n, groups, two_u)


def test_tied_tails_at_30_vs_30_match_the_full_null_far_out():
    rng = np.random.default_rng(17)
    base = np.round(rng.normal(100, 5, 30))
    cur = np.round(rng.normal(100, 5, 30))
    for shift in (-12.0, -6.0, 0.0, 6.0, 12.0):
        two_u, groups = mwu_module._doubled_u_and_ties(cur - shift, base)
        assert groups is not None
        pattern = tuple(groups.tolist())
        cdf, sf = mwu_module._tied_null(30, pattern)
        p_le, p_ge = mwu_module._tied_tails(30, pattern, two_u)
        assert p_le == pytest.approx(cdf[two_u], rel=1e-12, abs=1e-300)
        assert p_ge == pytest.approx(sf[two_u], rel=1e-12, abs=1e-300)


def _brute_lower_counts(k: int, groups: tuple[int, ...], w: int) -> tuple[int, int]:
    """Subsets of size k with 2U <= w and 2U < w, enumerated one by one."""
    values = [g for g, size in enumerate(groups) for _ in range(size)]
    le = lt = 0
    for chosen in itertools.combinations(range(len(values)), k):
        members = set(chosen)
        two_u = sum(
            2 * (values[i] > values[o]) + (values[i] == values[o])
            for i in members
            for o in range(len(values))
            if o not in members
        )
        le += two_u <= w
        lt += two_u < w
    return le, lt


def test_packed_tied_programme_counts_exactly_what_enumeration_counts():
    rng = np.random.default_rng(21)
    for _ in range(60):
        k, rest = int(rng.integers(1, 6)), int(rng.integers(1, 8))
        values = rng.integers(0, int(rng.integers(1, 6)), k + rest)
        groups = tuple(int(g) for g in np.unique(values, return_counts=True)[1])
        for w in range(0, 2 * k * rest + 1, 3):
            got = mwu_module._packed_lower_counts(k, groups, w)
            assert got == _brute_lower_counts(k, groups, w), (k, groups, w)


@pytest.mark.parametrize("packed_limit", [0, 10**9], ids=["arrays", "packed"])
def test_tied_tails_equal_the_full_null_on_either_programme(monkeypatch, packed_limit):
    # The one-integer programme and the arrays must give the same tails, also past 2**53
    # subsets (30 vs 30) and with large tie groups, and the limit picks between them.
    monkeypatch.setattr(mwu_module, "_PACKED_MAX_BITS", packed_limit)
    rng = np.random.default_rng(23)
    for n, m, distinct in ((10, 10, 15), (12, 7, 3), (5, 14, 6), (30, 30, 25), (25, 20, 4)):
        values = rng.integers(0, distinct, n + m)
        groups = tuple(int(g) for g in np.unique(values, return_counts=True)[1])
        cdf, sf = mwu_module._tied_null(n, groups)
        for two_u in sorted(
            {0, 1, n * m - 1, n * m, n * m + 1, 2 * n * m, *range(0, 2 * n * m, 17)}
        ):
            mwu_module._tied_tails.cache_clear()
            p_le, p_ge = mwu_module._tied_tails(n, groups, two_u)
            assert p_le == pytest.approx(cdf[two_u], rel=1e-12, abs=1e-300), (n, groups, two_u)
            assert p_ge == pytest.approx(sf[two_u], rel=1e-12, abs=1e-300), (n, groups, two_u)
        if packed_limit == 0:
            assert mwu_module._packed_lower_counts(n, groups, n * m) is None
    mwu_module._tied_tails.cache_clear()


def test_tied_rows_count_u_and_ties_on_lists_as_on_arrays(monkeypatch):
    from pytest_perfbaseline.stats import margin as margin_module

    rng = np.random.default_rng(29)
    for _ in range(200):
        n, m = (int(v) for v in rng.integers(1, 20, 2))
        x = rng.integers(-3, 4, n) * 0.5
        y = np.concatenate((rng.integers(-3, 4, m - 1) * 0.5, [-0.0]))  # -0.0 ties with 0.0
        two_u, groups = mwu_module._doubled_u_and_ties(x, y)
        expected = (two_u, None if groups is None else tuple(groups.tolist()))
        assert margin_module._doubled_u_and_pattern(x.tolist(), y.tolist()) == expected
    # and a margin test takes the same answer from either way of counting
    base = np.round(rng.normal(10, 1, 12)).tolist()
    cur = np.round(rng.normal(11, 1, 12)).tolist()
    listed = margin_test(base, cur, 0.0, 0.95)
    monkeypatch.setattr(margin_module, "_PYTHON_COUNT_MAX_N", 0)
    assert margin_test(base, cur, 0.0, 0.95) == listed
