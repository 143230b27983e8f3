"""What the gate does beyond a test's first measurement: more rounds, waiting, neighbours.

Decision rules on synthetic samples (seeded) and fake clocks; the plugin's loop through real
pytest runs on simulated time.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import replace

import numpy as np
import pytest
from fakes import CLOCK_SUITE, INI, TIME
from test_gate import lognormal, result

from pytest_perfbaseline import Perf
from pytest_perfbaseline.gate.compare import Recheck, TestComparison, compare_test
from pytest_perfbaseline.gate.confirm import MachineState, confirm
from pytest_perfbaseline.gate.machine import FUTILE_WAITS, MachineWatch
from pytest_perfbaseline.gate.neighbours import MIN_NEIGHBOURS, Neighbours, time_ratio
from pytest_perfbaseline.gate.sequential import (
    MAX_LOOKS,
    Budget,
    confirm_rounds,
    rounds_wanted,
)
from pytest_perfbaseline.gate.settings import TestSettings

SETTINGS = TestSettings(rounds=10, gate=("m",))


def _compare(base: list[float], cur: list[float], alpha: float = 0.01) -> TestComparison:
    infos = {"m": TIME}
    return compare_test(
        result("t::a", {"m": base}, infos), result("t::a", {"m": cur}, infos), SETTINGS, alpha
    )


def _inconclusive() -> TestComparison:
    rng = np.random.default_rng(5)
    tc = _compare(lognormal(rng, 0.1, 0.3, 10), lognormal(rng, 0.1, 0.3, 10))
    assert tc.verdict == "inconclusive"
    return tc


# -- more rounds, within the budget -----------------------------------------------------------


def test_an_inconclusive_comparison_wants_the_rounds_its_estimate_names() -> None:
    tc = _inconclusive()
    (c,) = tc.comparisons
    assert c.rounds_needed is not None
    assert rounds_wanted(tc) == c.rounds_needed
    budget = Budget(replace(SETTINGS, max_rounds=100_000, max_time_s=math.inf), rounds_used=10)
    assert budget.extension(tc, looks=1) == c.rounds_needed - 10
    # no more looks than MAX_LOOKS, and nothing for a decided comparison
    assert budget.extension(tc, looks=MAX_LOOKS) == 0
    decided = replace(tc, comparisons=(replace(c, verdict="unchanged"),))
    assert rounds_wanted(decided) is None
    assert budget.extension(decided, looks=1) == 0


def test_each_look_grows_the_sample_by_at_least_half() -> None:
    tc = _inconclusive()
    (c,) = tc.comparisons
    nearly = replace(tc, comparisons=(replace(c, rounds_needed=11),))
    budget = Budget(replace(SETTINGS, max_rounds=1000, max_time_s=math.inf), rounds_used=10)
    assert budget.extension(nearly, looks=1) == 5


def test_the_budget_caps_rounds_by_count_and_by_time() -> None:
    tc = _inconclusive()
    by_rounds = Budget(replace(SETTINGS, max_rounds=25, max_time_s=math.inf))
    by_rounds.spend(10, 1.0)
    assert by_rounds.affordable() == 15
    assert by_rounds.extension(tc, looks=1) <= 15
    by_time = Budget(replace(SETTINGS, max_rounds=1000, max_time_s=3.0))
    by_time.spend(10, 2.0)  # 0.2 s a round: one second left is five rounds
    assert by_time.affordable() == 5
    (c,) = tc.comparisons
    reachable = replace(tc, comparisons=(replace(c, rounds_needed=20),))
    spent = Budget(replace(SETTINGS, max_rounds=25, max_time_s=math.inf))
    spent.spend(25, 1.0)
    assert spent.extension(reachable, looks=1) == 0
    assert spent.why_stopped(reachable, looks=1) == "--perf-max-rounds (25) reached"
    late = Budget(replace(SETTINGS, max_rounds=25, max_time_s=2.0))
    late.spend(10, 2.0)
    assert late.why_stopped(reachable, looks=1) == "--perf-max-time (2 s) reached"
    assert spent.why_stopped(reachable, looks=MAX_LOOKS) == f"{MAX_LOOKS} looks taken"


def test_no_rounds_are_taken_when_more_than_the_budget_would_be_needed() -> None:
    # a change estimated right at the threshold: more rounds would not settle it
    tc = _inconclusive()
    (c,) = tc.comparisons
    far = replace(tc, comparisons=(replace(c, rounds_needed=61),))
    budget = Budget(replace(SETTINGS, max_rounds=60, max_time_s=math.inf), rounds_used=10)
    assert budget.affordable() == 50
    assert budget.extension(far, looks=1) == 0
    assert budget.why_stopped(far, looks=1) == "more rounds needed than --perf-max-rounds (60)"


def test_a_re_measure_gets_the_rounds_that_showed_the_suspicion() -> None:
    rng = np.random.default_rng(3)
    tc = _compare(lognormal(rng, 0.1, 0.05, 10), lognormal(rng, 0.15, 0.05, 30))
    assert tc.suspected == ("m",)
    roomy = Budget(replace(SETTINGS, max_rounds=100, max_time_s=math.inf), rounds_used=30)
    assert confirm_rounds(tc, SETTINGS, roomy) == 30
    # a spent budget still allows the test's own rounds: the re-measure guards false alarms
    spent = Budget(replace(SETTINGS, max_rounds=30, max_time_s=math.inf), rounds_used=30)
    assert confirm_rounds(tc, SETTINGS, spent) == SETTINGS.rounds


def _session(rng: np.random.Generator, shift: float, alpha: float) -> bool:
    """One test decided the plugin's way on synthetic rounds: True if it failed.

    The first measurement grows while inconclusive; a suspicion is re-measured afresh with
    the rounds it asks for, and only that fresh look can fail the test.
    """
    sigma = 0.2  # a noisy workload: 10 rounds rarely decide it
    base = lognormal(rng, 0.1, sigma, 10)
    budget = Budget(replace(SETTINGS, max_rounds=60, max_time_s=math.inf))
    cur = lognormal(rng, 0.1 * shift, sigma, 10)
    budget.spend(10, 1.0)
    tc = _compare(base, cur, alpha)
    looks = 1
    while not tc.regressed and (more := budget.extension(tc, looks)) > 0:
        cur += lognormal(rng, 0.1 * shift, sigma, more)
        budget.spend(more, more / 10)
        looks += 1
        tc = _compare(base, cur, alpha)
    if not tc.suspected:
        return False
    rounds = confirm_rounds(tc, SETTINGS, budget)
    fresh = _compare(base, lognormal(rng, 0.1 * shift, sigma, rounds), alpha)
    return bool(confirm(tc, fresh, MachineState(), Recheck()).regressed)


def test_repeated_looks_keep_the_false_alarm_rate_at_alpha() -> None:
    # unchanged code, drifted by 5% (within the 10% threshold): the looks only choose what
    # to re-measure, so the failures stay under alpha however often they look
    rng = np.random.default_rng(2026)
    alpha = 0.05  # large enough for a rate to be measured in 600 sessions
    failed = sum(_session(rng, 1.05, alpha) for _ in range(600))
    assert failed / 600 <= alpha


def test_more_rounds_catch_a_regression_that_ten_rounds_leave_inconclusive() -> None:
    rng = np.random.default_rng(7)
    first_look_only = 0
    for _ in range(100):
        base = lognormal(rng, 0.1, 0.2, 10)
        tc = _compare(base, lognormal(rng, 0.14, 0.2, 10))
        first_look_only += tc.verdict == "regressed"
    caught = sum(_session(rng, 1.4, 0.01) for _ in range(100))
    # ten noisy rounds show +40% half the time; growing the sample and sizing the re-measure
    # by it catch more, though the baseline's own ten rounds bound what any current side can do
    assert first_look_only <= 55
    assert caught >= first_look_only + 10


# -- waiting for the machine, bounded per session ---------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _watch(samples: list[float], budget_s: float) -> tuple[MachineWatch, _Clock]:
    clock = _Clock()
    values = iter(samples)
    last = [samples[-1]]

    def probe() -> float:
        last[0] = next(values, last[0])
        return last[0]

    watch = MachineWatch(probe, clock.sleep, clock.monotonic, budget_s=budget_s, cpu=lambda: 0.001)
    return watch, clock


def test_a_session_waits_no_longer_than_its_budget() -> None:
    watch, _ = _watch([0.004] * 6 + [0.010], budget_s=12.0)
    watch.calibrate()
    first = watch.settle(10.0)
    assert first.waited_s == pytest.approx(10.0)
    second = watch.settle(10.0)
    assert second.waited_s == pytest.approx(2.0)  # what was left of the budget
    assert watch.waited_s == pytest.approx(12.0)
    assert watch.stopped_waiting == "the session's waiting budget (12 s) is spent"
    assert watch.settle(10.0).waited_s == 0.0


def test_a_machine_busy_through_several_waits_is_not_waited_for_again() -> None:
    watch, _ = _watch([0.004] * 6 + [0.010], budget_s=math.inf)
    watch.calibrate()
    for _ in range(FUTILE_WAITS):
        assert watch.stopped_waiting is None
        assert not watch.settle(1.0).quiet
    assert watch.stopped_waiting is not None
    assert "slower all session long" in watch.stopped_waiting
    assert watch.settle(1.0).waited_s == 0.0


def test_a_quiet_sample_resets_the_futile_waits() -> None:
    samples = [0.004] * 6 + [0.010] * 6 * 8 + [0.004]
    watch, _ = _watch(samples, budget_s=math.inf)
    watch.calibrate()
    watch.settle(1.0)  # busy throughout: 3 samples of 0.5 s steps, ends busy
    assert watch.futile == 1
    watch.settle(10.0)  # quiet again within the wait
    assert watch.futile == 0


# -- the session's other tests as a control ---------------------------------------------------


def _ratio_tc(nodeid: str, ratio: float) -> TestComparison:
    rng = np.random.default_rng(abs(hash(nodeid)) % 2**32)
    tc = _compare(lognormal(rng, 0.1, 0.01, 10), lognormal(rng, 0.1 * ratio, 0.01, 10))
    return replace(tc, nodeid=nodeid)


def test_neighbours_give_the_median_drift_of_the_other_recent_tests() -> None:
    neighbours = Neighbours(window=5)
    for i, ratio in enumerate([1.3] * (MIN_NEIGHBOURS - 1)):
        neighbours.add(_ratio_tc(f"t::{i}", ratio))
    assert neighbours.drift(exclude="t::x") is None  # too few
    neighbours.add(_ratio_tc("t::x", 3.0))
    assert neighbours.drift(exclude="t::x") is None  # the test itself does not count
    neighbours.add(_ratio_tc("t::y", 1.3))
    drift = neighbours.drift(exclude="t::x")
    assert drift == pytest.approx(1.3, rel=0.02)
    for i in range(5):  # the window keeps only the latest
        neighbours.add(_ratio_tc(f"t::late{i}", 1.0))
    assert neighbours.drift(exclude="t::x") == pytest.approx(1.0, rel=0.02)


def test_a_test_without_comparable_times_is_no_neighbour() -> None:
    tc = _ratio_tc("t::a", 1.2)
    (c,) = tc.comparisons
    assert time_ratio(tc) == pytest.approx(1.2, rel=0.02)
    assert time_ratio(replace(tc, comparisons=(replace(c, unit="tokens"),))) is None
    assert time_ratio(replace(tc, comparisons=(replace(c, gated=False),))) is None


def test_an_unknown_cpu_share_counts_as_all_cpu() -> None:
    assert MachineState(slowdown=2.0).explainable() == 2.0
    assert MachineState(slowdown=2.0, cpu_share=0.5).explainable() == 1.5
    assert MachineState(slowdown=2.0, cpu_share=3.0).explainable() == 2.0  # threads: capped
    assert MachineState(slowdown=1.2, cpu_share=1.0, neighbours=2.0).explainable() == 1.0


# -- Perf keeps rounds for more -----------------------------------------------------------------


def test_more_rounds_are_added_to_those_measured() -> None:
    perf = Perf(rounds=3, warmup=1)
    perf(lambda: None)
    perf.more_rounds(4)
    perf(lambda: None)
    assert len(perf.finish("t::a").rounds) == 7
    perf.reset()
    perf.more_rounds(2)
    perf(lambda: None)
    assert len(perf.finish("t::a").rounds) == 2
    with pytest.raises(ValueError, match="rounds must be an integer >= 1"):
        perf.more_rounds(0)


# -- through pytest ---------------------------------------------------------------------------

NOISY = (
    CLOCK_SUITE
    + """
import itertools

# a workload whose rounds spread by half: six rounds cannot decide it, a few dozen can
DURATIONS_MS = itertools.cycle([30, 38, 32, 44, 34, 40, 31, 42, 33, 39, 35, 29])


@pytest.mark.perf(rounds=6, warmup=0)
def test_noisy(perf):
    def work():
        clock.now += next(DURATIONS_MS) * 1_000_000

    perf(work)
"""
)


@pytest.fixture
def noisy(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini(INI)
    pytester.makepyfile(test_noisy=NOISY)
    pytester.runpytest("--perf-baseline=save").assert_outcomes(passed=1)
    return pytester


def test_an_inconclusive_test_gets_more_rounds_within_its_budget(noisy: pytest.Pytester) -> None:
    result = noisy.runpytest("--perf-compare", "--perf-max-rounds=200", "--perf-json=r.json")
    result.assert_outcomes(passed=1)
    test = json.loads((noisy.path / "r.json").read_text())["tests"][0]
    recheck = test["comparison"]["recheck"]
    assert recheck["extra_rounds"] > 0
    assert recheck["looks"] >= 2
    assert len(test["rounds"]) == 6 + recheck["extra_rounds"] <= 200
    result.stdout.fnmatch_lines(
        [f"*more rounds to decide: *test_noisy (+{recheck['extra_rounds']})*"]
    )


def test_a_spent_budget_says_so(noisy: pytest.Pytester) -> None:
    result = noisy.runpytest("--perf-compare", "--perf-max-rounds=6", "--perf-json=r.json")
    result.assert_outcomes(passed=1)
    recheck = json.loads((noisy.path / "r.json").read_text())["tests"][0]["comparison"]["recheck"]
    assert recheck["extra_rounds"] == 0
    assert recheck["budget"] == "more rounds needed than --perf-max-rounds (6)"
    result.stdout.fnmatch_lines(
        [
            "*still inconclusive, no more rounds taken: 1 test: more rounds needed than "
            "--perf-max-rounds (6)*"
        ]
    )


def test_a_marker_sets_the_test_s_budget(noisy: pytest.Pytester) -> None:
    noisy.makepyfile(
        test_noisy=NOISY.replace(
            "@pytest.mark.perf(rounds=6, warmup=0)",
            "@pytest.mark.perf(rounds=6, warmup=0, max_rounds=6, max_time='1m')",
        )
    )
    result = noisy.runpytest("--perf-compare", "--perf-max-rounds=60", "--perf-json=r.json")
    result.assert_outcomes(passed=1)
    recheck = json.loads((noisy.path / "r.json").read_text())["tests"][0]["comparison"]["recheck"]
    assert recheck["extra_rounds"] == 0


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("--perf-undecided=maybe", "--perf-undecided must be 'fail' or 'pass', got 'maybe'"),
        ("--perf-max-rounds=0", "--perf-max-rounds must be a whole number >= 1"),
        ("--perf-max-time=soon", "--perf-max-time must be a number with a unit"),
    ],
)
def test_bad_gate_budget_options_are_usage_errors(
    pytester: pytest.Pytester, option: str, message: str
) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(test_x="def test_x(perf):\n    perf(lambda: None)\n")
    result = pytester.runpytest(option)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{message}*"])


def test_a_test_timed_without_perf_fn_gets_no_more_rounds(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(
        test_body=NOISY.replace(
            "    perf(work)\n", "    with perf.phase('work'):\n        work()\n"
        )
    )
    pytester.runpytest("--perf-baseline=save").assert_outcomes(passed=1)
    result = pytester.runpytest("--perf-compare", "--perf-json=r.json")
    result.assert_outcomes(passed=1)
    test = json.loads((pytester.path / "r.json").read_text())["tests"][0]
    assert test["implicit"] is True
    assert len(test["rounds"]) == 1
    assert test["comparison"]["recheck"] is None


def test_a_slower_cpu_counts_in_full_where_the_sleeps_of_the_probe_would_dilute_it() -> None:
    # the reference probe (half of it sleeps) reads 1.2x, the CPU alone 1.5x: busy, and the
    # CPU's slowdown is what a CPU-bound workload can be stretched by
    cpu = iter([0.001] * 6 + [0.0015] * 6)
    watch = MachineWatch(
        iter([0.004] * 6 + [0.0048] * 6).__next__, time.sleep, time.monotonic, cpu=cpu.__next__
    )
    watch.calibrate()
    assert watch.slowdown() == pytest.approx(1.5)
    assert watch.cpu_slowdown == pytest.approx(1.5)
