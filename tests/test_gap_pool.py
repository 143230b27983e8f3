"""The pooled inter-token gaps: kept sorted and compact, summarised and binned without a re-sort.

:func:`gap_summary` must give :func:`summarize` of the gaps in seconds bit for bit, and the
histogram of :class:`SortedGaps` the histogram of the same gaps in any order.
"""

from __future__ import annotations

import random

import pytest
from fakes import FakeClock, no_cost, scripted
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_perfbaseline import Perf
from pytest_perfbaseline.metrics.histogram import (
    SortedGaps,
    gap_histogram,
    gap_summary,
    merge_histograms,
)
from pytest_perfbaseline.metrics.summary import summarize

gap_lists = st.lists(
    st.one_of(
        st.integers(min_value=0, max_value=2_000),
        st.integers(min_value=0, max_value=10**12),
        st.sampled_from([999, 1_000, 1_000_000, 10**9, 10**9 + 1]),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(gap_lists)
def test_gap_summary_is_summarize_of_the_gaps_in_seconds_bit_for_bit(gaps: list[int]) -> None:
    expected = summarize([g / 1e9 for g in gaps]) if gaps else None
    assert gap_summary(gaps) == expected
    assert gap_summary(SortedGaps(sorted(gaps))) == expected


def test_gap_summary_of_a_million_real_looking_gaps_is_exact() -> None:
    rng = random.Random(7)
    gaps = [round(rng.lognormvariate(16.5, 0.4)) for _ in range(200_000)]
    assert gap_summary(SortedGaps(sorted(gaps))) == summarize([g / 1e9 for g in gaps])


@settings(max_examples=300, deadline=None)
@given(gap_lists)
def test_the_histogram_of_sorted_gaps_is_that_of_the_gaps(gaps: list[int]) -> None:
    assert gap_histogram(SortedGaps(sorted(gaps))) == gap_histogram(gaps)


def test_sorted_gaps_beyond_the_bin_table_are_binned_by_the_formula() -> None:
    gaps = [5, 3_000, 5 * 10**18]  # 158 years: past the table, still a 64-bit number
    assert gap_histogram(SortedGaps(gaps)) == gap_histogram(gaps)
    assert gap_histogram(SortedGaps()) == []


def test_pooling_merges_the_rounds_gaps_in_order() -> None:
    first, second = SortedGaps([1, 5, 9]), SortedGaps([2, 5, 7, 11])
    assert list(SortedGaps.pooled([first, second])) == [1, 2, 5, 5, 7, 9, 11]
    assert SortedGaps.pooled([SortedGaps(), first]) is first  # nothing to merge: no copy
    assert list(SortedGaps.pooled([])) == []
    assert SortedGaps([3]).itemsize == 8


def test_a_tests_result_has_the_pooled_summary_and_histogram_of_every_round(
    clock: FakeClock,
) -> None:
    perf = Perf(clock=clock, cost_of=no_cost, rounds=3, warmup=0)
    delays = iter([[0.05, 0.01, 0.03], [0.05, 0.02], [0.05, 0.002, 0.01, 0.01]])

    def workload() -> None:
        events = [(delay, f"t{i}") for i, delay in enumerate(next(delays))]
        list(perf.stream(scripted(clock, events)))

    perf(workload)
    result = perf.finish()
    gaps = [10_000_000, 30_000_000, 20_000_000, 2_000_000, 10_000_000, 10_000_000]
    assert sorted(result.gaps_ns) == sorted(gaps)
    assert list(result.gaps_ns) == sorted(gaps)
    assert result.itl_pooled == summarize([g / 1e9 for g in gaps])
    assert [list(b) for b in result.itl_histogram] == gap_histogram(gaps)
    assert merge_histograms(*(gap_histogram([g]) for g in gaps)) == gap_histogram(gaps)
    assert result.to_dict()["itl_pooled"]["n"] == 6


def test_a_result_built_from_gaps_in_any_order_is_the_same() -> None:
    from pytest_perfbaseline.metrics.result import TestResult

    def built(gaps: list[int] | SortedGaps) -> TestResult:
        return TestResult.measured(
            "t",
            rounds=[],
            infos={},
            names={},
            gaps_ns=gaps,
            token_sources={},
            rounds_requested=1,
            warmup=0,
            implicit=False,
        )

    gaps = [40, 7_000, 3, 2_500_000, 7_000]
    unsorted, pooled = built(gaps), built(SortedGaps(sorted(gaps)))
    assert unsorted == pooled
    assert unsorted.itl_pooled == pytest.approx(summarize([g / 1e9 for g in gaps]))
