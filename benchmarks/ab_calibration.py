"""How often ``perf.ab`` fails an A/A test, and how often it catches a slowed variant b.

Run:  python benchmarks/ab_calibration.py [--aa-runs 200] [--detect-runs 20] [--busy]
                                         [--threshold 5%] [--slowdowns 1.1]

Every run is one ``Perf.ab`` on the real clock, as a test's call would make it, judged with
``--threshold`` (default the gate's 10%) and the default gate at the test budget ``--alpha``
(0.01: a session of one perf test at the default ``--perf-alpha``):

- **A/A**: the same workload as a and b, ``--aa-runs`` times per workload (0: none): the
  share of runs that fail (verdict ``regressed``) should stay at or below alpha;
- **detection**: b slowed by +10% and +20% (``--slowdowns``), ``--detect-runs`` times each,
  on the simulated model (every delay stretched) and on a CPU-bound workload (a pure-Python
  loop made that much longer): the share caught (``regressed``). A change equal to the
  threshold is by design not caught: measure +10% with ``--threshold 5%``.

``--busy`` runs this repository's test suite in a loop alongside (the bursty neighbour of
``gate_calibration.py``). The table prints the measured median ratio b/a of each cell, the
slowdown the clock actually saw.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any, NamedTuple

from pytest_perfbaseline import Perf, SimulatedModel
from pytest_perfbaseline.gate.ab import ABResult, judge_ab
from pytest_perfbaseline.gate.settings import TestSettings, Threshold, parse_threshold
from pytest_perfbaseline.metrics.result import TestResult


class Cell(NamedTuple):
    workload: str
    slowdown: float
    runs: int
    failed: int
    ratios: list[float]
    seconds: float


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aa-runs", type=int, default=200, help="A/A runs (default 200)")
    parser.add_argument(
        "--detect-runs", type=int, default=20, help="runs per slowed cell (default 20)"
    )
    parser.add_argument("--pairs", type=int, default=20, help="pairs per run (default 20)")
    parser.add_argument("--alpha", type=float, default=0.01, help="the test's budget (0.01)")
    parser.add_argument("--slowdowns", default="1.1,1.2", help="b's slowdowns (1.1,1.2)")
    parser.add_argument("--workloads", default="simulated,cpu", help="simulated and/or cpu (both)")
    parser.add_argument("--busy", action="store_true", help="loop the test suite alongside")
    parser.add_argument(
        "--threshold",
        type=parse_threshold,
        default=Threshold(default=0.10),
        help="the gate's threshold, as --perf-threshold takes it (default 10%%)",
    )
    return parser.parse_args(argv)


def simulated(slowdown: float) -> Callable[[Perf], Callable[[], None]]:
    """A streamed answer of 16 tokens: ~30 ms to the first, ~4 ms between, 5% jitter."""
    model = SimulatedModel(ttft_s=0.030, itl_s=0.004, jitter=0.05, jitter_seed=None)
    model.slowdown = slowdown

    def bind(perf: Perf) -> Callable[[], None]:
        def run() -> None:
            for _ in perf.stream(model.stream, "What is 2 + 2?", max_tokens=16, format="openai"):
                pass

        return run

    return bind


def cpu(slowdown: float) -> Callable[[Perf], Callable[[], None]]:
    """A pure-Python loop of ~20 ms, ``slowdown`` times as many iterations."""
    iterations = round(400_000 * slowdown)

    def bind(perf: Perf) -> Callable[[], None]:
        def run() -> None:
            total = 0
            for i in range(iterations):
                total += i

        return run

    return bind


WORKLOADS = {"simulated": simulated, "cpu": cpu}
KEY_METRIC = {"simulated": "ttft_s", "cpu": "round_s"}


def one_run(workload: str, slowdown: float, args: argparse.Namespace) -> ABResult:
    settings = TestSettings(threshold=args.threshold)

    def judge(a: TestResult, b: TestResult, labels: tuple[str, str], fail: bool) -> ABResult:
        return judge_ab(a, b, labels=labels, settings=settings, test_alpha=args.alpha, fail=fail)

    perf = Perf(rounds=args.pairs, warmup=1, ab_judge=judge)
    make = WORKLOADS[workload]
    return perf.ab(make(1.0)(perf), make(slowdown)(perf))


def run_cell(workload: str, slowdown: float, runs: int, args: argparse.Namespace) -> Cell:
    started = time.perf_counter()
    failed, ratios = 0, []
    for _ in range(runs):
        result = one_run(workload, slowdown, args)
        failed += result.verdict == "regressed"
        ratio = result.metric(KEY_METRIC[workload]).ratio
        if ratio is not None:
            ratios.append(ratio)
    return Cell(workload, slowdown, runs, failed, ratios, time.perf_counter() - started)


def table(cells: list[Cell], args: argparse.Namespace) -> str:
    threshold = args.threshold.describe()
    lines = [
        f"| workload | b | runs | failed (regressed) at threshold {threshold} | rate | "
        "median measured b/a | seconds |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in cells:
        kind = "A/A" if c.slowdown == 1.0 else f"+{(c.slowdown - 1) * 100:.0f}%"
        measured = f"{statistics.median(c.ratios):.3f}" if c.ratios else "-"
        lines.append(
            f"| {c.workload} ({KEY_METRIC[c.workload]}) | {kind} | {c.runs} | {c.failed} | "
            f"{c.failed / max(1, c.runs):.1%} | {measured} | {c.seconds:.0f} |"
        )
    condition = "busy (test suite looping alongside)" if args.busy else "quiet"
    lines.append("")
    lines.append(
        f"{condition}; {args.pairs} pairs, alpha {args.alpha} per test, threshold {threshold}; "
        f"A/A target: failed rate <= alpha"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    workloads = [w for w in args.workloads.split(",") if w]
    slowdowns = [float(s) for s in args.slowdowns.split(",") if s]
    context: Any = nullcontext()
    if args.busy:
        from gate_calibration import clean_env, neighbour

        context = neighbour("bursty", 0, clean_env())
    cells = []
    with context:
        for workload in workloads:
            for slowdown in ([1.0] if args.aa_runs > 0 else []) + slowdowns:
                runs = args.aa_runs if slowdown == 1.0 else args.detect_runs
                cells.append(run_cell(workload, slowdown, runs, args))
                print(table(cells, args).splitlines()[-3], flush=True)
    print()
    print(table(cells, args))


if __name__ == "__main__":
    sys.exit(main())
