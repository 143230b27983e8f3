"""The ``perf(fn)`` harness's quick ways give exactly what the general ways give.

A round that recorded nothing but its time skips the general metric computation. Each quick
way is checked here against the general way.
"""

from __future__ import annotations

import pytest
from fakes import FakeClock, no_cost, scripted

from pytest_perfbaseline import Perf
from pytest_perfbaseline.measure.compute import compute_round
from pytest_perfbaseline.measure.recorder import CustomValue, RoundRecord

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
    assert (quick.gaps_ns, quick.token_sources, quick.custom_info) == ([], {}, {})
    assert (quick.unpriced_models, quick.unreported_models) == (set(), set())
    assert quick.values["round_s"] == (1e-6 if end_ns else 0.0)


def test_timed_only_rounds_share_nothing_a_caller_may_change() -> None:
    first = compute_round(RoundRecord(start_ns=0, end_ns=10), no_cost)
    first.values["round_s"] = None
    first.values["extra"] = 1.0
    first.names.clear()
    second = compute_round(RoundRecord(start_ns=0, end_ns=20), no_cost)
    assert second.values["round_s"] == 2e-8
    assert "extra" not in second.values
    assert set(second.names) == set(second.values)


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
