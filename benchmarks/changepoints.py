"""Change-point detection on synthetic run histories: detection rate, false steps, speed.

Run:  python benchmarks/changepoints.py [--series 100] [--runs 30] [--seed 0]

Each synthetic history is ``--runs`` run medians with log-normal noise of 2%, 5% or 10% a
run; a stepped one changes level by +5%, +10%, +20% or +50% at two thirds of the way.
pytest_perfbaseline.history.analysis.change_points (E-divisive means, permutation test at
p <= 0.01) is run on each:

- detection rate: stepped histories where a step was found within 2 runs of the true one;
- false-step rate: flat histories with any step, and stepped histories with a step elsewhere;
- time per history of 1,000 runs, flat and with one step (median of 5).

Histories are seeded: the same arguments print the same rates.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import time

from pytest_perfbaseline.history.analysis import change_points

STEPS = (0.05, 0.10, 0.20, 0.50)
NOISES = (0.02, 0.05, 0.10)
TOLERANCE = 2  # runs either side of the true step that still count as finding it


def history(runs: int, noise: float, step: float, at: int, rng: random.Random) -> list[float]:
    return [(1 + step * (i >= at)) * math.exp(rng.gauss(0, noise)) for i in range(runs)]


def rates(series: int, runs: int, noise: float, step: float, seed: int) -> tuple[float, float]:
    """(detected, false) shares: for step 0, detected is always 0 and false is any step."""
    at = 2 * runs // 3
    detected = false = 0
    for i in range(series):
        rng = random.Random(f"{seed}-{noise}-{step}-{i}")
        found = [s.index for s in change_points(history(runs, noise, step, at, rng))]
        near = [x for x in found if abs(x - at) <= TOLERANCE]
        detected += bool(step and near)
        false += len(found) > len(near[:1]) if step else bool(found)
    return detected / series, false / series


def timing(noise: float, step: float, seed: int) -> float:
    rng = random.Random(seed)
    values = history(1000, noise, step, 500, rng)
    times = []
    for _ in range(5):
        start = time.perf_counter()
        change_points(values)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=100, help="histories per cell")
    parser.add_argument("--runs", type=int, default=30, help="runs per history")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"{args.series} histories of {args.runs} runs per cell; step at run {2 * args.runs // 3}")
    header = "noise   " + "".join(f"{f'+{s:.0%}':>14}" for s in STEPS) + "   flat: false"
    print("detection rate (false steps beside the true one) per step size")
    print(header)
    for noise in NOISES:
        cells = []
        for step in STEPS:
            detected, false = rates(args.series, args.runs, noise, step, args.seed)
            cells.append(f"{detected:>7.0%} ({false:>3.0%})")
        _, flat_false = rates(args.series, args.runs, noise, 0.0, args.seed)
        print(f"{noise:>5.0%}   " + "".join(f"{c:>14}" for c in cells) + f"   {flat_false:>9.0%}")
    flat = timing(0.05, 0.0, args.seed)
    stepped = timing(0.05, 0.10, args.seed)
    print(
        f"time per history of 1,000 runs (5% noise): flat {flat * 1e3:.0f} ms, "
        f"one +10% step {stepped * 1e3:.0f} ms"
    )


if __name__ == "__main__":
    main()
