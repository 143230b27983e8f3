"""The signed-rank test and the paired Hodges-Lehmann shift, against scipy, brute force and a
textbook example."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
from scipy import stats as sps

from pytest_perfbaseline.stats import paired_hodges_lehmann, wilcoxon_signed_rank

ALTERNATIVES = ("two-sided", "less", "greater")

# Darwin's Zea mays data (crossed minus self-fertilised heights, eighths of an inch), the
# example of Fisher's "The Design of Experiments" and of scipy.stats.wilcoxon's documentation.
DARWIN = [6, 8, 14, 16, 23, 24, 28, 29, 41, -48, 49, 56, 60, -67, 75]


def _brute_force_p(d: list[float], alternative: str) -> Fraction:
    """The exact p by enumerating all 2**n sign patterns of the mid-ranks (zeros dropped)."""
    d = [v for v in d if v != 0]
    magnitudes = sorted(abs(v) for v in d)
    ranks = {
        m: Fraction(
            sum(i + 1 for i, x in enumerate(magnitudes) if x == m),
            magnitudes.count(m),
        )
        for m in set(magnitudes)
    }
    r = [ranks[abs(v)] for v in d]
    observed = sum(rank for rank, v in zip(r, d, strict=True) if v > 0)
    stats = [
        sum(rank for rank, s in zip(r, signs, strict=True) if s)
        for signs in itertools.product((False, True), repeat=len(r))
    ]
    total = len(stats)
    less = Fraction(sum(s <= observed for s in stats), total)
    greater = Fraction(sum(s >= observed for s in stats), total)
    if alternative == "less":
        return less
    if alternative == "greater":
        return greater
    return min(Fraction(1), 2 * min(less, greater))


def test_textbook_example_darwin() -> None:
    result = wilcoxon_signed_rank(DARWIN)
    assert result.statistic == 96  # W- = 10 + 14 = 24
    assert result.method == "exact"
    assert result.pvalue == pytest.approx(float(_brute_force_p(DARWIN, "two-sided")), rel=1e-12)
    assert result.pvalue == pytest.approx(0.041259765625, rel=1e-12)
    assert result.pvalue == pytest.approx(sps.wilcoxon(DARWIN).pvalue, rel=1e-12)


@pytest.mark.parametrize("alternative", ALTERNATIVES)
@pytest.mark.parametrize("seed", range(12))
def test_exact_without_ties_matches_scipy(alternative: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 40))
    x = rng.lognormal(0.0, 0.3, n)
    y = x * rng.normal(1.03, 0.05, n)
    ours = wilcoxon_signed_rank(x, y, alternative=alternative)
    ref = sps.wilcoxon(x, y, alternative=alternative, method="exact")
    assert ours.method == "exact"
    assert ours.pvalue == pytest.approx(ref.pvalue, rel=1e-10)
    if alternative != "two-sided":  # scipy's two-sided statistic is min(W+, W-)
        assert ours.statistic == ref.statistic


@pytest.mark.parametrize("alternative", ALTERNATIVES)
@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("ties", [False, True])
def test_asymptotic_matches_scipy(alternative: str, seed: int, ties: bool) -> None:
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(8, 120))
    d = rng.normal(0.2, 1.0, n)
    if ties:
        d = np.round(d, 1)  # ties and zeros
    ours = wilcoxon_signed_rank(d, alternative=alternative, method="asymptotic")
    ref = sps.wilcoxon(d, alternative=alternative, method="asymptotic", correction=False)
    assert ours.pvalue == pytest.approx(ref.pvalue, rel=1e-9)
    assert ours.zeros == int(np.sum(d == 0))


@pytest.mark.parametrize("alternative", ALTERNATIVES)
@pytest.mark.parametrize("seed", range(10))
def test_exact_with_ties_and_zeros_is_the_sign_permutation_null(
    alternative: str, seed: int
) -> None:
    rng = np.random.default_rng(200 + seed)
    n = int(rng.integers(3, 13))
    d = [float(v) for v in rng.integers(-4, 6, n)]  # many ties, some zeros
    ours = wilcoxon_signed_rank(d, alternative=alternative, method="exact")
    assert ours.pvalue == pytest.approx(float(_brute_force_p(d, alternative)), rel=1e-12)
    nonzero = [v for v in d if v != 0]
    if nonzero:  # scipy enumerates all 2**n sign patterns for n <= 13
        ref = sps.wilcoxon(nonzero, alternative=alternative, method=sps.PermutationMethod())
        assert ours.pvalue == pytest.approx(ref.pvalue, rel=1e-10)


def test_shift_is_a_threshold_shifted_test() -> None:
    rng = np.random.default_rng(7)
    d = rng.normal(0.15, 0.02, 20)
    shifted = wilcoxon_signed_rank(d, alternative="greater", shift=0.1)
    assert shifted.pvalue == wilcoxon_signed_rank(d - 0.1, alternative="greater").pvalue
    assert shifted.pvalue < 1e-4
    assert wilcoxon_signed_rank(d, alternative="greater", shift=0.2).pvalue > 0.5


def test_all_zero_and_bad_input() -> None:
    result = wilcoxon_signed_rank([1.0, 2.0], [1.0, 2.0])
    assert (result.pvalue, result.n, result.zeros) == (1.0, 0, 2)
    with pytest.raises(ValueError, match="equal length"):
        wilcoxon_signed_rank([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="method"):
        wilcoxon_signed_rank([1.0], method="normal")
    with pytest.raises(ValueError, match="at most 60"):
        wilcoxon_signed_rank(list(range(1, 70)), method="exact")


def _brute_walsh(d: list[float]) -> list[float]:
    return sorted((d[i] + d[j]) / 2 for i in range(len(d)) for j in range(i, len(d)))


@pytest.mark.parametrize("seed", range(8))
def test_paired_hodges_lehmann_is_the_median_of_walsh_averages(seed: int) -> None:
    rng = np.random.default_rng(300 + seed)
    n = int(rng.integers(6, 40))
    x, y = rng.normal(1.0, 1.0, n), rng.normal(0.0, 1.0, n)
    d = list(x - y)
    walsh = _brute_walsh(d)
    shift = paired_hodges_lehmann(x, y)
    assert shift.estimate == pytest.approx(float(np.median(walsh)), abs=1e-12)
    # Tukey's interval: the shifts the two-sided exact signed-rank test does not reject at 5%
    assert shift.low <= shift.estimate <= shift.high
    assert wilcoxon_signed_rank(d, shift=shift.low - 1e-9).pvalue < 0.05
    assert wilcoxon_signed_rank(d, shift=shift.low + 1e-9).pvalue >= 0.05 - 1e-12
    assert wilcoxon_signed_rank(d, shift=shift.high + 1e-9).pvalue < 0.05


def test_tukey_rank_from_the_table() -> None:
    # n = 10 at 95% two-sided: critical W = 8, so the interval is [W_(9), W_(47)]
    d = [float(v) for v in range(1, 11)]
    walsh = _brute_walsh(d)
    shift = paired_hodges_lehmann(d)
    assert (shift.low, shift.high) == (walsh[8], walsh[-9])
    assert math.isinf(paired_hodges_lehmann([1.0, 2.0, 3.0, 4.0, 5.0]).low)
