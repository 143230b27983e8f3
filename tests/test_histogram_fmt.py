"""Inter-token gap histograms (fixed log bins) and the number formatting of reports."""

from __future__ import annotations

import math
import random

import pytest

from pytest_perfbaseline.metrics.formatting import (
    format_cost,
    format_count,
    format_ratio,
    format_seconds,
    format_value,
)
from pytest_perfbaseline.metrics.histogram import (
    BINS_PER_DECADE,
    bin_edges,
    gap_histogram,
    merge_histograms,
)

RATIO = 10 ** (1 / BINS_PER_DECADE)


def expected_bin(gap_ns: int) -> int:
    """Bin 0 holds gaps under 1 us; bin i >= 1 holds [1 us * r**(i-1), 1 us * r**i)."""
    if gap_ns < 1000:
        return 0
    index = 1
    while gap_ns >= 1000 * 10 ** (index / BINS_PER_DECADE):
        index += 1
    return index


def random_gaps(seed: int, n: int) -> list[int]:
    rng = random.Random(seed)
    return [round(10 ** rng.uniform(1.0, 10.0)) for _ in range(n)]  # 10 ns .. 10 s


# -- histogram -----------------------------------------------------------------------------------


def test_ten_bins_per_decade_from_one_microsecond() -> None:
    assert BINS_PER_DECADE == 10
    assert bin_edges(0) == (0.0, 1e-6)
    assert bin_edges(1)[0] == 1e-6
    assert bin_edges(10)[1] == 1e-5  # ten bins cover 1 us .. 10 us
    assert bin_edges(11)[0] == 1e-5
    assert bin_edges(31)[0] == 1e-3
    assert bin_edges(61)[0] == 1.0
    for index in range(1, 90):
        lower, upper = bin_edges(index)
        assert upper / lower == pytest.approx(RATIO, rel=1e-5)
        assert bin_edges(index + 1)[0] == upper  # contiguous, no gaps or overlaps


@pytest.mark.parametrize("power", range(7))
def test_an_exact_power_of_ten_starts_its_bin(power: int) -> None:
    gap_ns = 1000 * 10**power  # 1 us, 10 us, ... 1 s
    ((lower, upper, count),) = gap_histogram([gap_ns])
    assert lower == gap_ns / 1e9
    assert upper == pytest.approx(lower * RATIO, rel=1e-5)
    assert count == 1
    # one nanosecond less is in the bin below, which ends at that power of ten
    ((_, below_upper, _),) = gap_histogram([gap_ns - 1])
    assert below_upper == gap_ns / 1e9


def test_sub_microsecond_gaps_share_bin_zero() -> None:
    assert gap_histogram([0, 1, 500, 999]) == [[0.0, 1e-6, 4]]
    assert gap_histogram([999, 1000]) == [[0.0, 1e-6, 1], [*bin_edges(1), 1]]


def test_every_gap_lands_in_the_bin_that_contains_it() -> None:
    for gap in random_gaps(1, 2000):
        ((lower, upper, count),) = gap_histogram([gap])
        assert (lower, upper) == bin_edges(expected_bin(gap)), gap
        assert count == 1
        # the reported edges are rounded to 6 significant digits
        assert lower * (1 - 1e-5) <= gap / 1e9 < upper * (1 + 1e-5)


def test_histogram_counts_bins_in_order_and_skips_empty_bins() -> None:
    gaps = [2_000_000, 5000, 5000, 10, 2_000_000, 5000]
    histogram = gap_histogram(gaps)
    assert [count for _, _, count in histogram] == [1, 3, 2]
    assert [lower for lower, _, _ in histogram] == sorted(lower for lower, _, _ in histogram)
    assert [(lower, upper) for lower, upper, _ in histogram] == [
        bin_edges(expected_bin(10)),
        bin_edges(expected_bin(5000)),
        bin_edges(expected_bin(2_000_000)),
    ]
    assert gap_histogram([]) == []


def test_merge_adds_histograms_bin_by_bin() -> None:
    first, second = random_gaps(2, 500), random_gaps(3, 300)
    merged = merge_histograms(gap_histogram(first), gap_histogram(second))
    assert merged == gap_histogram(first + second)
    assert sum(count for _, _, count in merged) == 800
    assert merge_histograms(gap_histogram(first)) == gap_histogram(first)
    assert merge_histograms() == []
    assert merge_histograms([], gap_histogram(second)) == gap_histogram(second)


def test_merge_accepts_histograms_read_back_from_json() -> None:
    stored = [[1e-3, 1.25893e-3, 2.0]]  # counts come back as floats from some JSON readers
    merged = merge_histograms(stored, [[1e-3, 1.25893e-3, 3]])
    assert merged == [[1e-3, 1.25893e-3, 5]]
    assert isinstance(merged[0][2], int)


# -- fmt -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (1.23456, "1.23 s"),
        (12.3456, "12.3 s"),
        (123.456, "123 s"),
        (1.0, "1.00 s"),
        (0.5, "500 ms"),
        (0.0123456, "12.3 ms"),
        (0.001, "1.00 ms"),
        (0.000999, "999 µs"),
        (0.000015, "15.0 µs"),
        (1e-6, "1.00 µs"),
        (2.5e-8, "25.0 ns"),
        (1.234e-9, "1.23 ns"),
        (-0.25, "-250 ms"),
        (None, "-"),
    ],
)
def test_format_seconds_picks_a_unit_and_three_significant_digits(
    seconds: float | None, text: str
) -> None:
    assert format_seconds(seconds) == text


def test_format_seconds_of_zero_is_zero() -> None:
    assert format_seconds(0.0).split()[0] == "0"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(9.996, "10.0 s"), (0.9996, "1.00 s"), (0.0009996, "1.00 ms"), (99.96, "100 s")],
)
def test_format_seconds_rounding_up_to_the_next_decade(seconds: float, text: str) -> None:
    assert format_seconds(seconds) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (7, "7"),
        (1234, "1,234"),
        (1234567.0, "1,234,567"),
        (12.3456, "12.35"),
        (0.5, "0.5000"),
        (None, "-"),
    ],
)
def test_format_count(value: float | None, text: str) -> None:
    assert format_count(value) == text


@pytest.mark.parametrize(
    ("usd", "text"),
    [
        (0.0, "$0"),
        (0.0123456, "$0.0123"),
        (1.5, "$1.50"),
        (0.000001234, "$0.00000123"),
        (42.0, "$42.0"),
        (None, "-"),
    ],
)
def test_format_cost(usd: float | None, text: str) -> None:
    assert format_cost(usd) == text
    assert "e" not in text  # never exponent notation


@pytest.mark.parametrize(
    ("ratio", "text"),
    [
        (1.25, "+25.0%"),
        (0.8, "-20.0%"),
        (1.0, "+0.0%"),
        (2.0, "+100.0%"),
        (1.0004, "+0.0%"),
        (None, "-"),
        (math.inf, "+∞"),  # an unbounded interval bound
        (math.nan, "-"),
    ],
)
def test_format_ratio_as_a_signed_percentage_change(ratio: float | None, text: str) -> None:
    assert format_ratio(ratio) == text


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (0.5, "s", "500 ms"),
        (1.5, "USD", "$1.50"),
        (1234.0, "tokens", "1,234"),
        (3.0, "calls", "3"),
        (12.3456, "tok/s", "12.35 tok/s"),
        (0.987654, "", "0.9877"),
        (None, "s", "-"),
        (None, "tok/s", "-"),
    ],
)
def test_format_value_by_unit(value: float | None, unit: str, text: str) -> None:
    assert format_value(value, unit) == text


def test_the_bin_search_puts_every_gap_where_the_formula_does() -> None:
    """The fast path (a binary search over the bins' lowest gaps) agrees with log10 exactly."""
    from pytest_perfbaseline.metrics import histogram

    for index, lowest in enumerate(histogram._LOWEST_NS, 1):
        assert histogram._bin_of(lowest) == index
        assert histogram._bin_of(lowest - 1) == index - 1
    rng = random.Random(20261204)
    gaps = [*range(0, 3000), *(int(10 ** rng.uniform(0, 17.8)) for _ in range(20_000))]
    assert [histogram._search(g) for g in gaps] == [histogram._bin_of(g) for g in gaps]
    # beyond the table, the formula itself
    assert gap_histogram([10**19]) == [[*bin_edges(histogram._bin_of(10**19)), 1]]
