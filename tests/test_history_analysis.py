"""Change points (E-divisive means) and slow drift on synthetic series with known steps."""

from __future__ import annotations

import math
import random
from typing import Any

import numpy as np
import pytest

from pytest_perfbaseline.history.analysis import (
    Step,
    _split_statistics,
    change_points,
    drift,
    energy_statistic,
)


def noisy(level: float, n: int, noise: float, rng: random.Random) -> list[float]:
    """``n`` run medians around ``level``, log-normal noise of ``noise`` (a fraction)."""
    return [level * math.exp(rng.gauss(0, noise)) for _ in range(n)]


# -- the statistic -----------------------------------------------------------------------------


def test_the_energy_statistic_of_a_small_split_is_the_hand_computed_one() -> None:
    # between: |1-4| + |1-6| + |2-4| + |2-6| = 14, so 2 * 14 / (2 * 2) = 7; within: 1 and 2
    # (one pair a side); E = 7 - 1 - 2 = 4; Q = 2 * 2 / 4 * 4 = 4.
    assert energy_statistic([1, 2], [4, 6]) == pytest.approx(4.0)
    # between: 3 + 3 + 3 + 3 + 2 + 2 = 16 -> 2 * 16 / 6 = 16/3; within left: 0 + 1 + 1 over
    # 3 pairs = 2/3; within right: 0. E = 14/3; Q = 3 * 2 / 5 * 14/3 = 5.6.
    assert energy_statistic([0, 0, 1], [3, 3]) == pytest.approx(5.6)


def test_a_split_of_identical_sides_has_no_divergence() -> None:
    assert energy_statistic([1, 2, 3], [1, 2, 3]) < 0
    assert energy_statistic([5, 5], [5, 5]) == 0


def test_the_vectorised_scan_gives_the_statistic_of_every_split() -> None:
    rng = random.Random(3)
    values = noisy(1.0, 9, 0.1, rng) + noisy(1.5, 8, 0.1, rng)
    scanned = _split_statistics(np.asarray([values]), 2)[0]
    direct = [energy_statistic(values[:t], values[t:]) for t in range(2, len(values) - 1)]
    assert scanned.tolist() == pytest.approx(direct)


def test_each_side_needs_two_values() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        energy_statistic([1], [2, 3])


# -- change points -----------------------------------------------------------------------------


def test_a_known_step_is_found_where_it_is_with_its_size_and_interval() -> None:
    rng = random.Random(11)
    series = noisy(0.10, 30, 0.03, rng) + noisy(0.12, 20, 0.03, rng)
    (step,) = change_points(series)
    assert abs(step.index - 30) <= 1
    assert step.pvalue <= 0.01
    assert step.ratio is not None
    assert step.ratio_low is not None
    assert step.ratio_high is not None
    assert step.ratio_low < 1.2 < step.ratio_high
    assert step.ratio == pytest.approx(1.2, abs=0.03)
    assert step.before == pytest.approx(0.10, rel=0.03)
    assert step.after == pytest.approx(0.12, rel=0.03)
    assert (step.runs_before, step.runs_after) == (step.index, 50 - step.index)


def test_two_steps_are_both_found_in_order() -> None:
    rng = random.Random(5)
    series = noisy(1.0, 25, 0.02, rng) + noisy(1.3, 25, 0.02, rng) + noisy(1.05, 25, 0.02, rng)
    steps = change_points(series)
    assert [s.index for s in steps] == pytest.approx([25, 50], abs=1)
    assert steps[0].ratio is not None
    assert steps[0].ratio > 1.2
    assert steps[1].ratio is not None
    assert steps[1].ratio < 0.85


def test_flat_noisy_series_rarely_show_a_step() -> None:
    rng = random.Random(2026)
    with_steps = sum(bool(change_points(noisy(1.0, 40, 0.1, rng))) for _ in range(30))
    assert with_steps <= 3  # tested at p <= 0.01 per split: about 1 in 100 expected


def test_the_same_series_gives_the_same_steps() -> None:
    rng = random.Random(8)
    series = noisy(1.0, 12, 0.08, rng) + noisy(1.15, 12, 0.08, rng)
    assert change_points(series) == change_points(series)
    assert change_points(series, seed=1) == change_points(list(series), seed=1)


def test_too_short_a_series_has_no_step() -> None:
    assert change_points([1.0, 1.0, 5.0, 5.0, 5.0]) == []
    assert change_points([]) == []


def test_values_at_or_below_zero_get_a_step_without_a_ratio() -> None:
    series = [0.0, 0.1, -0.1, 0.0, 0.1, -0.1, 0.0, 5.0, 5.1, 4.9, 5.0, 5.1, 4.9, 5.0]
    (step,) = change_points(series)
    assert step.index == 7
    assert step.ratio is None
    assert step.ratio_low is None
    assert step.to_dict()["ratio_high"] is None


def test_bad_series_are_refused() -> None:
    with pytest.raises(ValueError, match="finite"):
        change_points([1.0, math.nan, 2.0])
    with pytest.raises(ValueError, match="min_size"):
        change_points([1.0] * 10, min_size=1)


def test_an_unbounded_interval_is_written_as_null() -> None:
    step = Step(3, 0.005, 1.0, 2.0, 2.0, 1.5, math.inf, 3, 3)
    assert step.to_dict()["ratio_high"] is None


# -- drift -------------------------------------------------------------------------------------


def test_a_slow_drift_is_reported_against_the_best_recent_runs() -> None:
    series = [1.0 * 1.01**i for i in range(20)]  # +1% a run: no step anywhere
    found = drift(series)
    assert found is not None
    # the last 3 runs' median is run 18; the best rolling median of 3 is run 1's
    assert found.recent == pytest.approx(1.01**18)
    assert found.best == pytest.approx(1.01**1)
    assert found.best_index == 0
    assert found.worse_by == pytest.approx(1.01**17 - 1)
    assert (found.recent_runs, found.window) == (3, 20)


def test_no_drift_on_a_flat_series_or_an_improvement() -> None:
    rng = random.Random(4)
    assert drift(noisy(1.0, 30, 0.02, rng)) is None
    assert drift([1.0 * 0.99**i for i in range(20)]) is None


def test_drift_of_a_higher_is_better_metric_is_a_fall() -> None:
    falling = [100 * 0.99**i for i in range(20)]
    found = drift(falling, higher_is_better=True)
    assert found is not None
    assert found.worse_by == pytest.approx(1 / 0.99**17 - 1)
    assert drift(falling) is None


def test_drift_looks_only_at_the_window_and_needs_enough_runs() -> None:
    old_best = [0.5] * 10 + [1.0] * 20
    assert drift(old_best) is None  # the best of the last 20 runs is 1.0
    assert drift([1.0, 2.0, 3.0, 4.0, 5.0]) is None  # fewer than 2 * 3 runs
    with pytest.raises(ValueError, match="window"):
        drift([1.0] * 10, recent=3, window=5)


def _reference_split_statistics(rows: Any, min_size: int) -> Any:
    """Q of every split, the distance matrices of the whole batch at once, as first written."""
    n = rows.shape[1]
    dist = np.abs(rows[:, :, None] - rows[:, None, :])
    lower = np.tril(dist, -1).sum(axis=2)
    upper = dist.sum(axis=2) - lower
    total = lower.sum(axis=1, keepdims=True)
    within_left = np.cumsum(lower, axis=1)
    within_right = np.cumsum(upper[:, ::-1], axis=1)[:, ::-1]
    t = np.arange(min_size, n - min_size + 1, dtype=np.float64)
    k = n - t
    wl = within_left[:, min_size - 1 : n - min_size]
    wr = within_right[:, min_size : n - min_size + 1]
    between = total - wl - wr
    energy = 2 * between / (t * k) - wl / (t * (t - 1) / 2) - wr / (k * (k - 1) / 2)
    return t * k / n * energy


@pytest.mark.parametrize("batch", [1, 3, 4, 5, 50])
@pytest.mark.parametrize("n", [6, 7, 40, 201])
def test_the_chunked_split_statistics_are_the_reference_bit_for_bit(batch: int, n: int) -> None:
    from pytest_perfbaseline.history import analysis

    rows = np.random.default_rng(n * 100 + batch).lognormal(0, 0.3, size=(batch, n))
    got = analysis._split_statistics(rows, 3)
    assert np.array_equal(got, _reference_split_statistics(rows, 3))


def test_change_points_are_those_of_the_reference_search(monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_perfbaseline.history import analysis

    rng = random.Random(7)
    cases = []
    for size in (12, 60, 200, 260):
        for shape in range(4):
            level = [1.0 * (1.3 if shape and i >= size * shape // 4 else 1.0) for i in range(size)]
            cases.append([v * (1 + rng.gauss(0, 0.03)) for v in level])
    found = [analysis.change_points(series) for series in cases]
    assert any(found)
    monkeypatch.setattr(analysis, "_split_statistics", _reference_split_statistics)
    assert [analysis.change_points(series) for series in cases] == found
