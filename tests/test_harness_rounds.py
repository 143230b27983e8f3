"""The ``perf(fn)`` harness's quick ways give exactly what the general ways give.

A round that recorded nothing but its time skips the general metric computation; a constant
metric's summary skips its deviations; summaries are computed once per result; a result's
rounds are sorted once for the metrics they share. Each is checked here against the general way.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Iterator
from dataclasses import replace

import pytest
from fakes import FakeClock, no_cost, scripted

from pytest_perfbaseline import Perf
from pytest_perfbaseline.measure.compute import compute_round
from pytest_perfbaseline.measure.recorder import CustomValue, RoundRecord
from pytest_perfbaseline.metrics import result as result_module
from pytest_perfbaseline.metrics.result import TestResult
from pytest_perfbaseline.metrics.summary import (
    Summary,
    percentile,
    summarize,
    summarize_rounds,
)

# -- a round that recorded only its time ------------------------------------------------------


@pytest.mark.parametrize("end_ns", [1_500, None])  # None: an implicit round with no event
def test_a_timed_only_round_has_what_the_general_computation_gives(end_ns: int | None) -> None:
    quick = compute_round(RoundRecord(start_ns=500, end_ns=end_ns), no_cost)
    # A custom value sends the same round down the general way; take it out again after.
    marked = RoundRecord(start_ns=500, end_ns=end_ns, custom={"x": CustomValue(1.0, "", False)})
    general = compute_round(marked, no_cost)
    del general.values["x"], general.names["x"], general.custom_info["x"]
    assert list(quick.values.items()) == list(general.values.items())  # order too
    assert quick.names == general.names
    assert [quick.info(key) for key in quick.values] == [general.info(key) for key in quick.values]
    assert (list(quick.gaps_ns), quick.token_sources, quick.custom_info) == ([], {}, {})
    assert (quick.unpriced_models, quick.unreported_models) == (set(), set())
    assert quick.values["round_s"] == (1e-6 if end_ns else 0.0)


def test_each_timed_only_round_has_its_own_values(clock: FakeClock) -> None:
    first = compute_round(RoundRecord(start_ns=0, end_ns=10), no_cost)
    first.values["round_s"] = None
    first.values["extra"] = 1.0
    second = compute_round(RoundRecord(start_ns=0, end_ns=20), no_cost)
    assert second.values["round_s"] == 2e-8
    assert "extra" not in second.values
    # a calibrated round divides its own round_s, not its neighbours'
    perf = Perf(rounds=3, warmup=1, clock=clock, cost_of=no_cost, min_round_s=0.001)
    perf(clock.advance, 0.0001)
    assert [r["round_s"] for r in perf.rounds] == [pytest.approx(0.0001)] * 3


def test_what_timed_only_rounds_share_stays_as_it_was(clock: FakeClock) -> None:
    unreported: list[str] = []
    perf = Perf(rounds=3, warmup=1, clock=clock, cost_of=no_cost, on_no_usage=unreported.append)

    def reply(model: str) -> Iterator[str]:
        return scripted(clock, [(0.01, "a"), (0.02, "b")])

    def work() -> None:  # a timed-only round, then one with a stream, then timed-only again
        clock.advance(0.001)
        if len(perf.rounds) == 1:
            list(perf.stream(reply, name="s", model="m"))

    perf(work)
    result = perf.finish("t")
    result.to_dict()
    assert unreported == ["m"]
    assert [len(r) for r in result.rounds] == [8, len(result.infos), 8]
    quick = compute_round(RoundRecord(start_ns=0, end_ns=10), no_cost)
    assert set(quick.names) == set(quick.values)
    assert all(quick.names[key].key == key for key in quick.values)
    assert (list(quick.gaps_ns), quick.token_sources, quick.custom_info) == ([], {}, {})
    assert (quick.unpriced_models, quick.unreported_models) == (set(), set())


def test_a_metric_first_recorded_in_a_later_round_is_catalogued(clock: FakeClock) -> None:
    perf = Perf(rounds=4, warmup=0, clock=clock, cost_of=no_cost)
    calls = 0

    def work() -> None:
        nonlocal calls
        calls += 1
        clock.advance(0.001)
        if calls == 3:
            perf.metric("hits", 7.0, unit="hits", higher_is_better=True)
            list(perf.stream(scripted(clock, [(0.01, "a"), (0.01, "b")]), name="planner"))

    perf(work)
    result = perf.finish("t")
    assert [r.get("hits") for r in result.rounds] == [None, None, 7.0, None]
    assert {"hits", "planner.ttft_s", "ttft_s", "round_s"} <= set(result.infos)
    assert result.infos["hits"].unit == "hits"
    assert result.name_of("planner.ttft_s").owner == "planner"
    assert result.summary()["hits"].n == 1
    assert result.summary()["round_s"].n == 4


@pytest.mark.parametrize(
    ("args", "kwargs"), [((), {}), ((3,), {}), ((), {"step": 4}), ((5,), {"step": 6})]
)
def test_calibrated_rounds_pass_the_arguments_to_every_call(
    clock: FakeClock, args: tuple[int, ...], kwargs: dict[str, int]
) -> None:
    seen: list[tuple[tuple[int, ...], dict[str, int]]] = []

    def work(*a: int, **k: int) -> int:
        clock.advance(0.0001)
        seen.append((a, k))
        return len(seen)

    perf = Perf(rounds=2, warmup=1, clock=clock, cost_of=no_cost, min_round_s=0.001)
    last = perf(work, *args, **kwargs)
    assert perf.iterations == 10
    assert len(seen) == last == 1 + 10 + 2 * 10  # warm-up, the check round, two rounds of 10
    assert set(map(repr, seen)) == {repr((args, kwargs))}
    assert [r["round_s"] for r in perf.rounds] == [pytest.approx(0.0001)] * 2


def test_calibrated_async_rounds_pass_the_arguments_to_every_call(clock: FakeClock) -> None:
    seen: list[int] = []

    async def work(n: int) -> int:
        clock.advance(0.0001)
        seen.append(n)
        return len(seen)

    perf = Perf(rounds=2, warmup=1, clock=clock, cost_of=no_cost, min_round_s=0.001)
    assert asyncio.run(perf.arun(work, 7)) == len(seen) == 31
    assert set(seen) == {7}


# -- summaries -------------------------------------------------------------------------------


def reference_summary(values: list[float]) -> Summary:
    """The textbook computation, value by value: what the quick one must equal exactly."""
    data = sorted(values)
    n = len(data)
    mean = math.fsum(data) / n
    stdev = math.sqrt(math.fsum((v - mean) ** 2 for v in data) / (n - 1)) if n > 1 else 0.0
    p = [percentile(data, q) for q in (50.0, 90.0, 95.0, 99.0)]
    return Summary(n, mean, p[0], stdev, data[0], data[-1], p[0], p[1], p[2], p[3])


@pytest.mark.parametrize(
    "values",
    [
        [0.0] * 5,
        [-0.0] * 3,
        [0.1] * 3,  # constant, yet fsum / n is not 0.1: the deviations are not zero
        [1e9 + 0.1] * 7,
        [2.2e-6] * 1000,
        [1.0, 1.0, 2.0],
        [5.0],
    ],
)
def test_constant_and_near_constant_values_summarise_exactly(values: list[float]) -> None:
    assert summarize(values) == reference_summary(values)


def test_constant_values_whose_mean_is_not_the_value_keep_their_rounding_spread() -> None:
    assert summarize([0.1] * 3).stdev > 0.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_values_summarise_exactly_as_the_textbook(seed: int) -> None:
    rng = random.Random(seed)
    values = [rng.lognormvariate(-6.0, 0.5) for _ in range(rng.randint(2, 300))]
    assert summarize(values) == reference_summary(values)


def result_of(rounds: list[dict[str, float | None]]) -> TestResult:
    perf = Perf(rounds=len(rounds), warmup=0, clock=FakeClock(), cost_of=no_cost)
    given = iter(rounds)
    perf(lambda: [perf.metric(k, v) for k, v in next(given).items() if v is not None])
    measured = perf.finish("t")
    return replace(measured, rounds=tuple(rounds))


def test_a_results_summaries_are_computed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    result = result_of([{"a": 1.0, "b": 2.0}, {"a": 3.0, "b": 5.0}])
    calls = []
    real = result_module.summarize_rounds

    def counted(*args: object) -> dict[str, Summary]:
        calls.append(1)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(result_module, "summarize_rounds", counted)
    first = result.summary()
    first.pop("a")  # the caller's copy: what the next caller gets is whole
    assert result.summary() == summarize_rounds(result.rounds, result.infos)
    assert "a" in result.summary()
    assert len(calls) == 1
    changed = replace(result, rounds=({"a": 10.0, "b": 2.0},))
    assert changed.summary()["a"].mean == 10.0  # a new result, its own summaries
    assert changed != result
    assert replace(changed, rounds=result.rounds) == result  # the cache is not compared


# -- a result's rounds as builtins -----------------------------------------------------------


def test_each_round_is_written_sorted_whatever_metrics_it_has() -> None:
    rounds: list[dict[str, float | None]] = [
        {"b": 1.0, "a": 2.0},
        {"a": 3.0, "b": None},
        {"a": 4.0, "c": 5.0},  # as many metrics, not the same ones
        {"c": 6.0, "a": 7.0, "b": 8.0},
        {"a": 9.0},
        {},
        {"b": 10.0, "a": 11.0},
    ]
    written = result_of(rounds).to_dict()["rounds"]
    assert written == rounds
    assert [list(row) for row in written] == [sorted(row) for row in rounds]
    assert all(type(row) is dict for row in written)
    assert written[0] is not written[1]
