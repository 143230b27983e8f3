"""How long the gate takes to compare a large suite with its baseline, against a numpy floor.

Run:  python benchmarks/compare_scale.py [--tests 1000] [--metrics 8] [--rounds 30]
                                         [--per-test-metrics 15] [--repeats 5] [--resolution 0]

Builds synthetic baseline and current results (log-normal rounds, a few percent of noise, one
test in ten slowed down by 30%) and times ``compare_test`` over all of them, the way the
plugin calls it: once per test, in the test's call phase. ``--resolution`` rounds every value
to a multiple of it (seconds; 0: no rounding), which makes ties, as a coarse clock does; the
caches of tie patterns are emptied before each timed pass, as a session meets each once.

Beside it, in the same run and interleaved with it (``--repeats`` times each, medians), it
times the *floor*: per comparison, the bare numpy pairwise computation the gate cannot do
without -- the matrix of pairwise differences of the log values, the Mann-Whitney U of
"worse by more than the threshold" counted from it, and the Hodges-Lehmann median of it --
with no p-value, no interval, no verdict. Prints, for the suite and again per test with
``--per-test-metrics`` metrics (on a tenth of the tests):

    1000 tests x 8 metrics x 30 rounds: compare_test 0.41 s (51 us per comparison);
      floor 0.47 s (59 us); ratio 0.87
    per test, 15 metrics x 30 rounds: compare_test 0.77 ms; floor 0.88 ms; ratio 0.87

and the verdicts of the first, which do not depend on the timing. Bars (this repository's
2-core VM): the suite at 1,000 x 8 x 30 in 0.5 s, a test of 15 metrics in 1 ms.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections import Counter
from collections.abc import Callable

import numpy as np

from pytest_perfbaseline.gate.compare import compare_test
from pytest_perfbaseline.gate.settings import TestSettings
from pytest_perfbaseline.metrics.names import MetricInfo
from pytest_perfbaseline.metrics.result import TestResult

METRIC_INFO = MetricInfo("s", False, "time")
Pair = tuple[TestResult, TestResult]


def synthetic(
    nodeid: str,
    metrics: list[str],
    rounds: int,
    factor: float,
    rng: np.random.Generator,
    *,
    resolution: float = 0.0,
) -> TestResult:
    values = {m: np.exp(rng.normal(np.log(0.1 * factor), 0.05, rounds)) for m in metrics}
    if resolution > 0:
        values = {m: np.round(v / resolution) * resolution for m, v in values.items()}
    return TestResult(
        nodeid=nodeid,
        rounds=tuple({m: float(values[m][i]) for m in metrics} for i in range(rounds)),
        infos=dict.fromkeys(metrics, METRIC_INFO),
        itl_histogram=(),
        itl_pooled=None,
        token_sources={},
        rounds_requested=rounds,
        warmup=1,
        implicit=False,
    )


def suite(args: argparse.Namespace, tests: int, metrics: list[str]) -> list[Pair]:
    rng = np.random.default_rng(args.seed)
    pairs = []
    for t in range(tests):
        factor = 1.3 if t % 10 == 0 else 1.0
        nodeid = f"tests/test_{t}.py::test"
        baseline = synthetic(nodeid, metrics, args.rounds, 1.0, rng, resolution=args.resolution)
        current = synthetic(nodeid, metrics, args.rounds, factor, rng, resolution=args.resolution)
        pairs.append((baseline, current))
    return pairs


def forget_tie_patterns() -> None:
    """Empty the caches of tied null distributions: a session meets a tie pattern once, while
    the repeats here would meet every one again. (The tie-free null, one per sample sizes,
    stays cached, as in a session.)"""
    from pytest_perfbaseline.stats import mannwhitney

    for name in ("_tied_tails", "_tied_null"):
        cached = getattr(mannwhitney, name, None)
        if cached is not None:
            cached.cache_clear()


def gate(pairs: list[Pair], settings: TestSettings, test_alpha: float) -> Counter[str]:
    forget_tie_patterns()
    verdicts: Counter[str] = Counter()
    for baseline, current in pairs:
        for c in compare_test(baseline, current, settings, test_alpha).comparisons:
            verdicts[c.verdict] += 1
    return verdicts


def floor(pairs: list[Pair], metrics: list[str]) -> float:
    """The numpy pairwise U and Hodges-Lehmann median of every comparison (their sum)."""
    margin = math.log(1.1)
    total = 0.0
    for baseline, current in pairs:
        for name in metrics:
            x = np.log(np.asarray(baseline.values(name)))
            y = np.log(np.asarray(current.values(name)))
            diffs = np.subtract.outer(y, x)
            u = (diffs > margin).sum() + 0.5 * (diffs == margin).sum()
            total += float(u) + float(np.median(diffs))
    return total


def interleaved(runs: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median seconds of each run, the runs taking turns so that load hits them alike."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def measure(
    args: argparse.Namespace, tests: int, metric_count: int
) -> tuple[dict[str, float], Counter[str]]:
    metrics = [f"m{i}_s" for i in range(metric_count)]
    settings = TestSettings(gate=tuple(metrics))
    pairs = suite(args, tests, metrics)
    test_alpha = 0.01 / tests
    verdicts = gate(pairs, settings, test_alpha)  # also warms the caches (null distributions)
    floor(pairs[:1], metrics)
    medians = interleaved(
        {
            "gate": lambda: gate(pairs, settings, test_alpha),
            "floor": lambda: floor(pairs, metrics),
        },
        args.repeats,
    )
    return medians, verdicts


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tests", type=int, default=1000)
    parser.add_argument("--metrics", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--per-test-metrics", type=int, default=15)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--resolution", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    medians, verdicts = measure(args, args.tests, args.metrics)
    comparisons = args.tests * args.metrics
    gate_s, floor_s = medians["gate"], medians["floor"]
    print(
        f"{args.tests} tests x {args.metrics} metrics x {args.rounds} rounds: "
        f"compare_test {gate_s:.2f} s ({gate_s / comparisons * 1e6:.0f} us per comparison); "
        f"floor {floor_s:.2f} s ({floor_s / comparisons * 1e6:.0f} us); "
        f"ratio {gate_s / floor_s:.2f}"
    )
    print("verdicts:", dict(sorted(verdicts.items())))
    expected_regressed = (args.tests + 9) // 10 * args.metrics
    print(f"expected about {expected_regressed} regressed (one test in ten is 30% slower)")

    tests = max(10, args.tests // 10)
    per_test, _ = measure(args, tests, args.per_test_metrics)
    gate_ms, floor_ms = per_test["gate"] / tests * 1e3, per_test["floor"] / tests * 1e3
    print(
        f"per test, {args.per_test_metrics} metrics x {args.rounds} rounds: "
        f"compare_test {gate_ms:.2f} ms; floor {floor_ms:.2f} ms; ratio {gate_ms / floor_ms:.2f}"
    )
    print(
        f"bars: the suite in 0.5 s ({'meets' if gate_s <= 0.5 else 'MISSES'}), "
        f"a test in 1 ms ({'meets' if gate_ms <= 1.0 else 'MISSES'}); on a quiet machine"
    )


if __name__ == "__main__":
    main()
