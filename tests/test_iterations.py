"""Rounds long enough to measure: a fast ``perf(fn)`` workload is called k times per round."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from fakes import CLOCK_SUITE, ENV, INI, FakeClock, no_cost, plain_report

from pytest_perfbaseline import Perf
from pytest_perfbaseline.baseline.codec import BadDocument, decode, encode
from pytest_perfbaseline.baseline.entries import entry_document, entry_result
from pytest_perfbaseline.gate.settings import (
    SettingError,
    TestSettings,
    parse_marker,
    parse_min_round_time,
)
from pytest_perfbaseline.measure.perf import MAX_ITERATIONS, iterations_for
from pytest_perfbaseline.metrics.result import TestResult
from pytest_perfbaseline.reports.markdown import render_markdown
from pytest_perfbaseline.reports.terminal import render_iterations

MS = 1_000_000  # ns


class Workload:
    """A workload on a fake clock: each call advances it by the next of ``durations``."""

    def __init__(
        self, clock: FakeClock, *durations: float, then: Callable[[int], None] | None = None
    ) -> None:
        self.clock = clock
        self.durations = durations
        self.calls = 0
        self.then = then

    def __call__(self) -> int:
        index = min(self.calls, len(self.durations) - 1)
        self.clock.advance(self.durations[index])
        self.calls += 1
        if self.then is not None:
            self.then(self.calls)
        return self.calls


def make_perf(clock: FakeClock, **kwargs: Any) -> Perf:
    kwargs.setdefault("rounds", 3)
    kwargs.setdefault("min_round_s", 0.005)
    return Perf(clock=clock, cost_of=no_cost, **kwargs)


# -- choosing k ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("per_call_ns", "expected"),
    [
        (1000, 5000),  # 5000 x 1 us = 5 ms exactly
        (1001, 5000),
        (999, 10_000),
        (3 * MS, 2),
        (2 * MS, 5),
        (5 * MS, 1),  # already long enough
        (7 * MS, 1),
        (0, 1),  # the clock did not move: nothing to size a round by
        (1, MAX_ITERATIONS),
    ],
)
def test_iterations_are_1_2_5_times_a_power_of_ten(per_call_ns: int, expected: int) -> None:
    assert iterations_for(per_call_ns, 5 * MS) == expected


def test_a_fast_workload_is_called_k_times_per_round_and_round_s_is_per_call() -> None:
    clock = FakeClock()
    work = Workload(clock, 1e-6)
    perf = make_perf(clock)
    assert perf(work) == work.calls  # the last call's return value
    result = perf.finish("t")
    assert result.iterations == perf.iterations == 5000
    # one warm-up call, one check round of k calls (5 ms: long enough), three rounds of k
    assert work.calls == 1 + 5000 + 3 * 5000
    assert [r["round_s"] for r in result.rounds] == pytest.approx([1e-6] * 3, rel=1e-12)
    assert result.to_dict()["iterations"] == 5000


def test_the_check_round_grows_k_when_the_guess_was_short() -> None:
    clock = FakeClock()
    work = Workload(clock, 10e-6, 2e-6)  # a slow first (warm-up) call, then 2 us per call
    perf = make_perf(clock)
    perf(work)
    # guess 500 from 10 us; 500 x 2 us = 1 ms is short; 2 us needs 2500 -> 5000
    assert perf.iterations == 5000
    assert work.calls == 1 + 500 + 3 * 5000
    assert [r["round_s"] for r in perf.rounds] == pytest.approx([2e-6] * 3, rel=1e-12)


def test_the_shortest_warm_up_round_sizes_the_round() -> None:
    clock = FakeClock()
    work = Workload(clock, 1e-3, 3e-3)  # warm-up rounds of 1 ms then 3 ms, then 3 ms a call
    perf = make_perf(clock, warmup=2)
    perf(work)
    assert perf.iterations == 5  # from the 1 ms round; the check round of 15 ms is long enough
    assert work.calls == 2 + 5 + 3 * 5


def test_without_warm_up_one_calibration_call_is_run_and_not_kept() -> None:
    clock = FakeClock()
    work = Workload(clock, 1e-3)
    perf = make_perf(clock, warmup=0)
    perf(work)
    assert perf.iterations == 5
    assert work.calls == 1 + 5 + 3 * 5
    assert len(perf.rounds) == 3


def test_a_long_enough_or_unseen_workload_runs_once_per_round() -> None:
    for duration in (5e-3, 0.0):  # as long as the minimum; a clock that never moves
        clock = FakeClock()
        work = Workload(clock, duration)
        perf = make_perf(clock)
        perf(work)
        assert perf.iterations == 1
        assert work.calls == 1 + 3


@pytest.mark.parametrize("min_round_s", [0.0, None])
def test_no_minimum_no_calibration(min_round_s: float | None) -> None:
    # a plain Perf (None: the library's default) calls the workload exactly as asked
    clock = FakeClock()
    work = Workload(clock, 1e-6)
    kwargs: dict[str, Any] = {} if min_round_s is None else {"min_round_s": min_round_s}
    perf = Perf(rounds=3, clock=clock, cost_of=no_cost, **kwargs)
    perf(work)
    assert perf.iterations == 1
    assert work.calls == 4
    assert perf.finish().to_dict()["iterations"] == 1


def test_a_disabled_perf_does_not_calibrate() -> None:
    clock = FakeClock()
    work = Workload(clock, 1e-6)
    perf = make_perf(clock, disabled=True)
    perf(work)
    assert (perf.iterations, work.calls) == (1, 1)


@pytest.mark.parametrize("negative", [-0.001, float("nan"), float("inf"), True, "5ms"])
def test_min_round_s_must_be_a_number_of_seconds(negative: Any) -> None:
    with pytest.raises(ValueError, match="min_round_s"):
        Perf(min_round_s=negative)


# -- rounds that record more than their time ---------------------------------------------------


def _stream(perf: Perf, clock: FakeClock) -> None:
    for _ in perf.stream([{"choices": [{"delta": {"content": "hi"}}]}]):
        clock.advance(1e-6)


RECORDERS: dict[str, Callable[[Perf, FakeClock], None]] = {
    "stream": _stream,
    "span": lambda perf, clock: perf.phase("p").__enter__().__exit__(None, None, None),
    "usage": lambda perf, clock: perf.record_usage("gpt-4o", 10, 5),
    "metric": lambda perf, clock: perf.metric("parsed", 3.0),
}


@pytest.mark.parametrize("kind", sorted(RECORDERS))
def test_a_workload_that_records_more_than_time_is_not_calibrated(kind: str) -> None:
    clock = FakeClock()
    perf = make_perf(clock)
    work = Workload(clock, 1e-6, then=lambda calls: RECORDERS[kind](perf, clock))
    perf(work)
    assert perf.iterations == 1
    assert work.calls == 1 + 3
    assert perf.finish().iterations == 1


def test_recording_only_after_calibration_is_an_error_not_a_sum() -> None:
    clock = FakeClock()
    perf = make_perf(clock)

    def record_when_measured(calls: int) -> None:
        if calls > 1 + 5000:  # after the warm-up call and the check round
            perf.metric("parsed", 1.0)

    work = Workload(clock, 1e-6, then=record_when_measured)
    with pytest.raises(RuntimeError, match="min_round_time=0"):
        perf(work)


def test_implicit_rounds_are_never_calibrated() -> None:
    clock = FakeClock()
    perf = make_perf(clock)
    perf.metric("x", 1.0)
    result = perf.finish("t")
    assert result.implicit
    assert result.iterations == 1


# -- async, reset ------------------------------------------------------------------------------


def test_arun_calibrates_too() -> None:
    clock = FakeClock()
    calls = 0

    async def work() -> int:
        nonlocal calls
        calls += 1
        await clock.asleep(1e-3)
        return calls

    perf = make_perf(clock, warmup=0)
    assert asyncio.run(perf.arun(work)) == calls
    assert perf.iterations == 5
    assert calls == 1 + 5 + 3 * 5
    assert [r["round_s"] for r in perf.rounds] == pytest.approx([1e-3] * 3, rel=1e-12)


def test_reset_measures_and_calibrates_afresh() -> None:
    clock = FakeClock()
    work = Workload(clock, 1e-3)
    perf = make_perf(clock)
    perf(work)
    assert perf.iterations == 5
    perf.reset()
    assert perf.iterations == 1
    work.durations = (2e-3,)  # the re-run is slower: k is chosen again from its own warm-up
    work.calls = 0
    perf(work)
    assert perf.iterations == 5  # 5 x 2 ms = 10 ms; 2 x 2 ms would be short
    result = perf.finish("t")
    assert result.iterations == 5
    assert len(result.rounds) == 3
    assert [r["round_s"] for r in result.rounds] == pytest.approx([2e-3] * 3, rel=1e-12)


# -- where the result goes ---------------------------------------------------------------------


def _calibrated_result(nodeid: str = "t.py::test_fast") -> TestResult:
    clock = FakeClock()
    perf = make_perf(clock)
    perf(Workload(clock, 1e-4))
    return perf.finish(nodeid)


def test_the_wire_form_carries_iterations_and_an_older_one_reads_as_one() -> None:
    result = _calibrated_result()
    assert result.iterations == 50
    wire = json.loads(json.dumps(result.to_dict()))
    assert TestResult.from_dict(wire).iterations == 50
    del wire["iterations"]
    assert TestResult.from_dict(wire).iterations == 1


def test_the_baseline_entry_holds_iterations_only_when_calibrated() -> None:
    result = _calibrated_result()
    entry = entry_document(result, ENV)
    assert entry["iterations"] == 50
    assert entry_result(result.nodeid, entry).iterations == 50
    once = entry_document(TestResult.from_dict({**result.to_dict(), "iterations": 1}), ENV)
    assert "iterations" not in once  # files of uncalibrated tests are as they were
    assert entry_result(result.nodeid, once).iterations == 1


def test_a_baseline_file_with_a_bad_iterations_is_refused() -> None:
    document = {"schema": 1, "tests": {"t": entry_document(_calibrated_result(), ENV)}}
    assert decode(encode(document))["tests"]["t"]["iterations"] == 50
    document["tests"]["t"]["iterations"] = 0
    with pytest.raises(BadDocument, match="iterations should be a whole number >= 1"):
        decode(encode(document))


def test_the_summary_lists_calibrated_tests_only_when_there_are_some() -> None:
    fast = _calibrated_result("t.py::test_fast")
    slow = TestResult.from_dict({**fast.to_dict(), "nodeid": "t.py::test_slow", "iterations": 1})
    assert render_iterations([slow]) == []
    assert render_iterations([fast, slow]) == [
        "iterations per round: t.py::test_fast (x50); round_s is per call"
    ]
    markdown = render_markdown(plain_report([fast, slow], profile="p"))
    assert "Iterations per round: `t.py::test_fast` (x50); `round_s` is per call" in markdown
    assert "Iterations per round" not in render_markdown(plain_report([slow], profile="p"))


# -- settings ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("5ms", 0.005), ("500us", 0.0005), ("0.01s", 0.01), (" 2 ms ", 0.002), ("0", 0.0), (0, 0.0)],
)
def test_min_round_time_reads_durations(value: Any, seconds: float) -> None:
    assert parse_min_round_time(value) == pytest.approx(seconds)


@pytest.mark.parametrize("value", ["5", "fast", "-1ms", "61s", True, None, "5 minutes"])
def test_min_round_time_refuses_what_is_not_a_duration(value: Any) -> None:
    with pytest.raises(SettingError, match="min_round_time must be a duration"):
        parse_min_round_time(value)


def test_the_marker_sets_the_minimum_and_the_default_is_5ms() -> None:
    assert TestSettings().min_round_s == 0.005
    settings = parse_marker({"min_round_time": "0"}, (), TestSettings())
    assert settings.min_round_s == 0.0


# -- through pytest ----------------------------------------------------------------------------

SUITE = (
    CLOCK_SUITE
    + """

def test_fast(perf):
    def parse():
        clock.now += 1000  # 1 us
    perf(parse)


@pytest.mark.perf(min_round_time="0")
def test_fast_uncalibrated(perf):
    def parse():
        clock.now += 1000
    perf(parse)


def test_slow(perf):
    def think():
        clock.now += 20_000_000  # 20 ms
    perf(think)
"""
)


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini(INI)
    pytester.makepyfile(test_suite=SUITE)
    return pytester


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]])
def test_the_plugin_calibrates_reports_and_saves_iterations(
    suite: pytest.Pytester, xdist: list[str]
) -> None:
    result = suite.runpytest(*xdist, "--perf-baseline=save", "--perf-json=out.json")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        ["iterations per round: test_suite.py::test_fast (x5000); round_s is per call"]
    )
    tests = {t["nodeid"]: t for t in json.loads((suite.path / "out.json").read_text())["tests"]}
    assert tests["test_suite.py::test_fast"]["iterations"] == 5000
    assert tests["test_suite.py::test_fast"]["rounds"][0]["round_s"] == pytest.approx(1e-6)
    assert tests["test_suite.py::test_fast_uncalibrated"]["iterations"] == 1
    assert tests["test_suite.py::test_slow"]["iterations"] == 1
    stored = json.loads(next((suite.path / ".perfbaseline").rglob("*.json")).read_text())
    iterations = {
        key: entry["sessions"][-1].get("iterations", 1) for key, entry in stored["tests"].items()
    }
    assert sorted(iterations.values()) == [1, 1, 5000]
    suite.runpytest(*xdist, "--perf-compare").assert_outcomes(passed=3)


def test_the_option_switches_it_off_and_the_summary_line_goes(suite: pytest.Pytester) -> None:
    result = suite.runpytest("--perf-min-round-time=0", "--perf-json=out.json")
    result.assert_outcomes(passed=3)
    assert "iterations per round" not in result.stdout.str()
    tests = json.loads((suite.path / "out.json").read_text())["tests"]
    assert {t["iterations"] for t in tests} == {1}


def test_the_ini_option_sets_the_minimum(suite: pytest.Pytester) -> None:
    suite.makeini(INI + "perf_min_round_time = 100us\n")
    result = suite.runpytest()
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["iterations per round: test_suite.py::test_fast (x100); *"])


def test_a_bad_option_value_is_a_usage_error(suite: pytest.Pytester) -> None:
    result = suite.runpytest("--perf-min-round-time=fast")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--perf-min-round-time must be a duration*"])
