"""The machine check before a confirmation re-measure, with scripted probes and time."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pytest_perfbaseline.gate import machine
from pytest_perfbaseline.gate.machine import (
    TOLERANCE,
    MachineWatch,
    Settling,
    probe,
    probe_parts,
)


class Script:
    """Probe results in order (each sample takes six probes), and a clock that sleeps."""

    def __init__(self, samples: list[float]) -> None:
        # every probe of one sample returns the sample's value
        self._probes: Iterator[float] = iter(v for v in samples for _ in range(6))
        self.now = 0.0
        self.slept: list[float] = []

    def probe(self) -> float:
        return next(self._probes)

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now

    def watch(self) -> MachineWatch:
        return MachineWatch(self.probe, self.sleep, self.monotonic, cpu=lambda: 0.001)


def test_a_quiet_machine_is_not_waited_for() -> None:
    script = Script([0.004, 0.0046])  # +15%: the spread of a quiet machine's samples
    watch = script.watch()
    watch.calibrate()
    settling = watch.settle(max_wait_s=30)
    assert settling == Settling(waited_s=0.0, slowdown=pytest.approx(1.15))
    assert settling.quiet
    assert script.slept == []


def test_a_busy_machine_is_waited_for_until_it_quietens() -> None:
    script = Script([0.004, 0.012, 0.009, 0.006, 0.0042])
    watch = script.watch()
    watch.calibrate()
    settling = watch.settle(max_wait_s=30)
    assert settling.quiet
    assert settling.slowdown == pytest.approx(0.0042 / 0.004)
    assert script.slept == [0.5, 0.5, 0.5]  # three samples were busy, the fourth was not
    assert settling.waited_s == pytest.approx(1.5)


def test_waiting_stops_at_the_limit_and_says_the_machine_is_still_busy() -> None:
    script = Script([0.004] + [0.010] * 100)
    watch = script.watch()
    watch.calibrate()
    settling = watch.settle(max_wait_s=2)
    assert not settling.quiet
    assert settling.slowdown == pytest.approx(2.5)
    assert settling.waited_s == pytest.approx(2.0)
    assert sum(script.slept) == pytest.approx(2.0)


def test_no_wait_allowed_means_one_look() -> None:
    script = Script([0.004, 0.008])
    watch = script.watch()
    watch.calibrate()
    settling = watch.settle(max_wait_s=0)
    assert settling.slowdown == pytest.approx(2.0)
    assert script.slept == []


def test_the_best_speed_seen_is_the_reference() -> None:
    script = Script([0.006, 0.004, 0.0055])
    watch = script.watch()
    watch.calibrate()  # 6 ms: the session began on a busy machine
    assert watch.slowdown() == 1.0  # faster than ever: the new best
    assert watch.best == pytest.approx(0.004)
    slowdown = watch.slowdown()
    assert slowdown == pytest.approx(1.375)
    assert slowdown > 1 + TOLERANCE


def test_a_reference_from_the_baseline_counts_when_it_is_faster() -> None:
    script = Script([0.010, 0.010, 0.010])
    watch = script.watch()
    watch.calibrate()  # busy from the session's first second: 10 ms is its best
    assert watch.slowdown() == pytest.approx(1.0)
    assert watch.slowdown(reference=0.004) == pytest.approx(2.5)  # the baseline saw 4 ms
    assert watch.best == pytest.approx(0.010)  # the session's own best is unchanged


def test_a_slower_reference_does_not_lower_the_bar() -> None:
    script = Script([0.004, 0.0045])
    watch = script.watch()
    watch.calibrate()
    assert watch.slowdown(reference=0.008) == pytest.approx(1.125)  # against the 4 ms best


def test_settle_waits_against_the_reference() -> None:
    script = Script([0.010, 0.010, 0.010, 0.0045])
    watch = script.watch()
    watch.calibrate()
    settling = watch.settle(max_wait_s=5, reference=0.004)
    assert settling.quiet
    assert settling.slowdown == pytest.approx(1.125)
    assert sum(script.slept) == pytest.approx(1.0)  # two busy looks, half a second apart


def test_a_sample_is_robust_to_preempted_probes() -> None:
    values = iter([0.004, 0.050, 0.004, 0.004, 0.060, 0.004])  # two probes preempted
    watch = MachineWatch(lambda: next(values), lambda s: None, lambda: 0.0, cpu=lambda: 0.001)
    assert watch.sample() == pytest.approx(0.004)


def test_the_real_probe_runs_a_fixed_task() -> None:
    sleeps: list[float] = []
    ticks = iter(range(100))
    elapsed = probe(clock=lambda: float(next(ticks)), sleep=sleeps.append)
    assert elapsed == 1.0  # two clock readings: start and end
    assert sleeps == [0.0003] * 8


def test_the_real_probe_times_its_loops_too() -> None:
    sleeps: list[float] = []
    ticks = iter(range(100))
    elapsed, loops = probe_parts(clock=lambda: float(next(ticks)), sleep=sleeps.append)
    assert elapsed == 17.0  # start, end, and each of the eight loops' start and end
    assert loops == 8.0  # one tick per loop: the sleeps between are left out
    assert sleeps == [0.0003] * 8


def test_a_sample_of_the_real_probes_takes_the_cpu_from_the_probes_loops(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spun: list[int] = []
    monkeypatch.setattr(machine, "_spin", spun.append)
    watch = MachineWatch(sleep=lambda s: None)
    watch.sample()
    assert spun == [3000] * 48  # six probes of eight loops, and no run of the CPU probe
    assert watch.best is not None
    assert watch.best_cpu is not None
    assert watch.best_cpu <= watch.best  # the loops are part of each probe's time


def test_a_replaced_cpu_probe_is_still_the_one_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(machine, "_spin", lambda n: None)
    monkeypatch.setattr(machine, "cpu_probe", lambda: 0.25)
    watch = MachineWatch(sleep=lambda s: None)
    watch.sample()
    assert watch.best_cpu == 0.25
