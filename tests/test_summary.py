"""Descriptive statistics over rounds, checked against numpy on seeded random data."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from pytest_perfbaseline.metrics.summary import (
    Summary,
    metric_values,
    percentile,
    summarize,
    summarize_rounds,
)

QUANTILES = (0.0, 1.0, 5.0, 10.0, 25.0, 33.3, 50.0, 66.7, 75.0, 90.0, 95.0, 99.0, 99.9, 100.0)


def samples(seed: int, n: int) -> list[float]:
    rng = random.Random(seed)
    return [rng.lognormvariate(-3.0, 0.6) for _ in range(n)]


@pytest.mark.parametrize("n", [1, 2, 3, 4, 7, 10, 31, 200])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_percentile_matches_numpy_linear(n: int, seed: int) -> None:
    data = sorted(samples(seed, n))
    rng = random.Random(1000 + seed)
    for q in (*QUANTILES, *(rng.uniform(0, 100) for _ in range(20))):
        expected = float(np.percentile(data, q, method="linear"))
        assert percentile(data, q) == pytest.approx(expected, rel=1e-12, abs=0.0), q


def test_percentile_of_one_value_is_that_value() -> None:
    for q in QUANTILES:
        assert percentile([0.25], q) == 0.25


def test_percentile_of_two_values_interpolates_linearly() -> None:
    assert percentile([1.0, 3.0], 0.0) == 1.0
    assert percentile([1.0, 3.0], 25.0) == 1.5
    assert percentile([1.0, 3.0], 50.0) == 2.0
    assert percentile([1.0, 3.0], 90.0) == pytest.approx(2.8)
    assert percentile([1.0, 3.0], 100.0) == 3.0


def test_percentiles_that_fall_on_a_value_return_it_exactly() -> None:
    data = sorted(samples(7, 21))  # 20 gaps: every multiple of 5% lands on a value
    for k in range(21):
        assert percentile(data, 5.0 * k) == data[k]
    eleven = sorted(samples(8, 11))  # 10 gaps: every multiple of 10%
    assert percentile(eleven, 50.0) == eleven[5]
    assert percentile(eleven, 90.0) == eleven[9]


def test_percentile_rejects_empty_input_and_q_out_of_range() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50.0)
    for q in (-0.1, 100.1, math.nan):
        with pytest.raises(ValueError, match=r"within \[0, 100\]"):
            percentile([1.0, 2.0], q)


@pytest.mark.parametrize("n", [2, 3, 5, 10, 30, 101])
@pytest.mark.parametrize("seed", [3, 4])
def test_summarize_matches_numpy(n: int, seed: int) -> None:
    data = samples(seed, n)  # unsorted: summarize sorts
    s = summarize(data)
    arr = np.asarray(data)
    assert s.n == n
    assert s.mean == pytest.approx(float(np.mean(arr)), rel=1e-12)
    assert s.median == pytest.approx(float(np.median(arr)), rel=1e-12)
    assert s.stdev == pytest.approx(float(np.std(arr, ddof=1)), rel=1e-9)
    assert s.min == float(np.min(arr))
    assert s.max == float(np.max(arr))
    assert s.p50 == s.median
    for q, value in ((90, s.p90), (95, s.p95), (99, s.p99)):
        assert value == pytest.approx(float(np.percentile(arr, q)), rel=1e-12)


def test_summarize_is_accurate_for_values_with_a_large_offset() -> None:
    # A naive sum-of-squares formula loses every digit here; fsum over deviations does not.
    data = [1e9 + x for x in (0.1, 0.2, 0.3, 0.4)]
    s = summarize(data)
    assert s.stdev == pytest.approx(float(np.std(np.asarray(data), ddof=1)), rel=1e-6)
    assert s.stdev == pytest.approx(0.12909944, rel=1e-6)


def test_one_value_has_zero_stdev_and_every_statistic_equal_to_it() -> None:
    s = summarize([0.42])
    assert s == Summary(
        n=1,
        mean=0.42,
        median=0.42,
        stdev=0.0,
        min=0.42,
        max=0.42,
        p50=0.42,
        p90=0.42,
        p95=0.42,
        p99=0.42,
    )


def test_identical_values_have_zero_stdev() -> None:
    assert summarize([3.0] * 5).stdev == 0.0


def test_summarize_accepts_any_iterable_of_numbers() -> None:
    s = summarize(iter([3, 1, 2]))
    assert (s.n, s.min, s.median, s.max, s.mean) == (3, 1.0, 2.0, 3.0, 2.0)
    assert isinstance(s.min, float)


def test_summarize_of_nothing_raises() -> None:
    with pytest.raises(ValueError, match="empty"):
        summarize([])


def test_to_dict_has_every_field() -> None:
    d = summarize([1.0, 2.0, 4.0]).to_dict()
    assert set(d) == {"n", "mean", "median", "stdev", "min", "max", "p50", "p90", "p95", "p99"}
    assert d["n"] == 3
    assert d["max"] == 4.0


def test_metric_values_skip_missing_and_null_rounds_keeping_order() -> None:
    rounds: list[dict[str, float | None]] = [
        {"a": 3.0},
        {"a": None},
        {},
        {"a": 1.0, "b": 2.0},
        {"a": 0.0},
    ]
    assert metric_values(rounds, "a") == [3.0, 1.0, 0.0]  # 0.0 is a value, not a null
    assert metric_values(rounds, "b") == [2.0]
    assert metric_values(rounds, "c") == []


def test_summarize_rounds_skips_null_and_missing_values() -> None:
    rounds = [
        {"ttft_s": 0.3, "cost_usd": None, "tpot_s": 0.01},
        {"ttft_s": 0.1, "cost_usd": None},
        {"ttft_s": 0.2, "cost_usd": None, "tpot_s": 0.03},
    ]
    result = summarize_rounds(rounds, ["ttft_s", "tpot_s", "cost_usd", "absent"])
    assert set(result) == {"ttft_s", "tpot_s"}  # no value at all: no summary
    assert result["ttft_s"] == summarize([0.3, 0.1, 0.2])
    assert result["tpot_s"].n == 2
    assert result["tpot_s"].mean == pytest.approx(0.02)
    assert result["tpot_s"].stdev == pytest.approx(float(np.std([0.01, 0.03], ddof=1)))


def test_summarize_rounds_only_summarises_the_metrics_asked_for() -> None:
    rounds = [{"a": 1.0, "b": 2.0}]
    assert set(summarize_rounds(rounds, ["a"])) == {"a"}
    assert summarize_rounds(rounds, []) == {}
    assert summarize_rounds([], ["a"]) == {}


def test_to_dict_is_asdict_in_field_order() -> None:
    from dataclasses import asdict

    s = summarize([0.5, 2.0, 4.0, 1e-9])
    assert list(s.to_dict().items()) == list(asdict(s).items())
