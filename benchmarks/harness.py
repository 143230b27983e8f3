"""What the ``perf(fn)`` harness costs per round, beside pytest-benchmark's ``pedantic``.

Run:  python benchmarks/harness.py [--rounds 1000] [--repeats 60]

The workload does nothing (a no-op function), so every nanosecond printed is the harness's.
Each repeat times, interleaved so that machine drift hits them alike:

- "bare": ``for _ in range(rounds): fn()``, the floor;
- "ours": ``Perf(rounds, warmup=0, min_round_s=0)(fn)`` -- one call per round, inner
  iterations off, as ``--perf-min-round-time=0`` -- then the test's share of what a pytest
  session does with it: ``perf.finish()``, the result's ``summary()`` and ``to_dict()``;
- "pedantic": ``benchmark.pedantic(fn, rounds=rounds, iterations=1)`` of pytest-benchmark,
  driven through its own ``BenchmarkFixture`` (built as its plugin builds it, with its
  defaults: the ``time.perf_counter`` timer, gc left on) -- then ``stats.as_dict()``, the
  statistics its session computes for its table and JSON file. Neither side pays for a
  pytest session around it: both are the per-round work alone.

Garbage collection stays on for all three, as in a pytest session (a full collection runs
before each timing). It prints the bare loop's median ns per round, then ours and pedantic
as their median less the bare loop's (the harness's own cost), and ours / pedantic as a
ratio. Without pytest-benchmark installed the script says so and prints ours alone.

Last, calibrated rounds (the plugin's default 5 ms ``min_round_s``): a counter's
``__next__`` called k times per round, ns per call through ``perf(fn)`` beside the bare loop's.
"""

from __future__ import annotations

import argparse
import gc
import inspect
import itertools
import statistics
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from pytest_perfbaseline import Perf


def nothing() -> None:
    pass


def no_cost(usage: object) -> float:
    return 0.0


def bare(rounds: int) -> None:
    fn = nothing
    for _ in range(rounds):
        fn()


def ours(rounds: int) -> None:
    perf = Perf(rounds=rounds, warmup=0, cost_of=no_cost, min_round_s=0)
    perf(nothing)
    result = perf.finish("bench::test_nothing")
    result.summary()
    result.to_dict()


NODEID = "bench::test_nothing"


def pedantic_runner() -> Callable[[int], None] | None:
    """pytest-benchmark's ``pedantic`` over ``rounds`` rounds, or None when not installed."""
    try:
        from pytest_benchmark.fixture import BenchmarkFixture
        from pytest_benchmark.utils import NameWrapper
    except ImportError:
        return None

    quiet = SimpleNamespace(debug=lambda *a, **k: None, info=lambda *a, **k: None)

    settings: dict[str, Any] = {
        "node": SimpleNamespace(name="test_nothing", nodeid=NODEID, _nodeid=NODEID),  # 5.2: _nodeid
        "disable_gc": False,
        "timer": NameWrapper(time.perf_counter),
        "min_rounds": 5,
        "min_time": 0.000005,
        "max_time": 1.0,
        "precision": None,  # 5.3 and later
        "confidence": None,
        "warmup": False,
        "warmup_iterations": 100000,
        "calibration_precision": 10,
        "add_stats": lambda stats: None,
        "logger": quiet,
        "warner": lambda *a, **k: None,
        "disabled": False,
        "cprofile": False,
        "cprofile_loops": None,
        "cprofile_dump": None,
    }
    accepted = inspect.signature(BenchmarkFixture).parameters
    settings = {key: value for key, value in settings.items() if key in accepted}

    def pedantic(rounds: int) -> None:
        fixture = BenchmarkFixture(**settings)
        fixture.pedantic(nothing, rounds=rounds, iterations=1)
        fixture.stats.as_dict()

    return pedantic


def time_ns(run: Callable[[int], None], rounds: int) -> float:
    gc.collect()
    start = time.perf_counter_ns()
    run(rounds)
    return (time.perf_counter_ns() - start) / rounds


def per_round(
    runs: dict[str, Callable[[int], None]], rounds: int, repeats: int
) -> dict[str, float]:
    """Median ns per round of each run, interleaved (each repeat runs them all in turn)."""
    samples: dict[str, list[float]] = {key: [] for key in runs}
    for run in runs.values():
        run(rounds)  # first call: imports, caches
    for _ in range(repeats):
        for key, run in runs.items():
            samples[key].append(time_ns(run, rounds))
    return {key: statistics.median(values) for key, values in samples.items()}


def calibrated(repeats: int, rounds: int = 10) -> tuple[float, float, int]:
    """(ns per call via perf(fn) with 5 ms rounds, ns per call bare, calls per round).

    The workload is a counter's ``__next__`` (a C call, as cheap as a no-op), so the calls
    the warm-up and the calibration check made are counted exactly.
    """
    through: list[float] = []
    floor: list[float] = []
    for _ in range(repeats):
        perf = Perf(rounds=rounds, warmup=1, cost_of=no_cost, min_round_s=0.005)
        counter = itertools.count()
        gc.collect()
        start = time.perf_counter_ns()
        perf(counter.__next__)
        perf.finish().to_dict()
        elapsed = time.perf_counter_ns() - start
        through.append(elapsed / next(counter))
        floor.append(time_ns(bare_counter, perf.iterations))
    return statistics.median(through), statistics.median(floor), perf.iterations


def bare_counter(calls: int) -> None:
    fn = itertools.count().__next__
    for _ in range(calls):
        fn()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=60)
    args = parser.parse_args()
    runs: dict[str, Callable[[int], None]] = {"bare": bare, "ours": ours}
    pedantic = pedantic_runner()
    if pedantic is None:
        print("(pytest-benchmark is not installed: ours alone)")
    else:
        runs["pedantic"] = pedantic
    medians = per_round(runs, args.rounds, args.repeats)
    floor = medians["bare"]
    print(
        f"perf(fn) harness per round, no-op workload, {args.rounds} rounds, "
        f"median of {args.repeats} interleaved repeats"
    )
    row: dict[str, Any] = {"bare ns": floor, "ours ns": medians["ours"] - floor}
    if "pedantic" in medians:
        row["pedantic ns"] = medians["pedantic"] - floor
        row["ours/pedantic"] = row["ours ns"] / row["pedantic ns"]
    print("".join(f"{key:>16}" for key in row))
    print(
        "".join(
            f"{value:>16.2f}" if "/" in key else f"{value:>16.0f}" for key, value in row.items()
        )
    )
    through, bare_call, calls = calibrated(max(3, args.repeats // 10))
    print(
        f"calibrated 5 ms rounds ({calls} calls per round): {through:.1f} ns per call through "
        f"perf(fn), {bare_call:.1f} ns bare ({through / bare_call:.2f}x)"
    )


if __name__ == "__main__":
    main()
