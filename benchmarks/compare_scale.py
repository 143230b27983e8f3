"""How long the gate takes to compare a large suite with its baseline.

Run:  python benchmarks/compare_scale.py [--tests 1000] [--metrics 8] [--rounds 30]

Builds synthetic baseline and current results (log-normal rounds, a few percent of noise, one
test in ten slowed down by 30%) and times ``compare_test`` over all of them, the way the
plugin calls it: once per test, in the test's call phase. Quality bar: 1,000 tests x 8 metrics
x 30 rounds in under 2 seconds. Prints the total, the time per comparison, and the verdicts.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

import numpy as np

from pytest_perfbaseline.gate.compare import compare_test
from pytest_perfbaseline.gate.settings import TestSettings
from pytest_perfbaseline.metrics.names import MetricInfo
from pytest_perfbaseline.metrics.result import TestResult

METRIC_INFO = MetricInfo("s", False, "time")


def synthetic(
    nodeid: str, metrics: list[str], rounds: int, factor: float, rng: np.random.Generator
) -> TestResult:
    values = {m: np.exp(rng.normal(np.log(0.1 * factor), 0.05, rounds)) for m in metrics}
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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tests", type=int, default=1000)
    parser.add_argument("--metrics", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    metrics = [f"m{i}_s" for i in range(args.metrics)]
    settings = TestSettings(gate=tuple(metrics))
    pairs = []
    for t in range(args.tests):
        factor = 1.3 if t % 10 == 0 else 1.0
        baseline = synthetic(f"tests/test_{t}.py::test", metrics, args.rounds, 1.0, rng)
        current = synthetic(f"tests/test_{t}.py::test", metrics, args.rounds, factor, rng)
        pairs.append((baseline, current))
    test_alpha = 0.01 / args.tests

    compare_test(*pairs[0], settings, test_alpha)  # warm caches (null distributions) once
    start = time.perf_counter()
    verdicts: Counter[str] = Counter()
    for baseline, current in pairs:
        for c in compare_test(baseline, current, settings, test_alpha).comparisons:
            verdicts[c.verdict] += 1
    elapsed = time.perf_counter() - start

    comparisons = args.tests * args.metrics
    print(
        f"{args.tests} tests x {args.metrics} metrics x {args.rounds} rounds: "
        f"{elapsed:.2f} s ({elapsed / comparisons * 1e6:.0f} us per comparison)"
    )
    print("verdicts:", dict(sorted(verdicts.items())))
    expected_regressed = (args.tests + 9) // 10 * args.metrics
    print(f"expected about {expected_regressed} regressed (one test in ten is 30% slower)")
    verdict = "meets" if elapsed < 2.0 else "MISSES"
    print(f"{verdict} the bar of 2 s")


if __name__ == "__main__":
    main()
