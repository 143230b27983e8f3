"""Work for 300 CPU-bound perf tests with rounds of 5-50 us, for benchmarks/gate_calibration.py.

Each generated test (calibration_workloads.cpu300) times ``work(n)``, a pure-Python loop;
``n`` is spread over the tests so a call takes about 5 to 50 us on a 2-core VM.
The calibration slows the tests named in ``PERFBASELINE_CALIB_SLOW`` (comma-separated test
names) by ``PERFBASELINE_CALIB_FACTOR``: they do proportionally more work.
Every other test does the same work in every session.
"""

from __future__ import annotations

import functools
import operator
import os

SLOW = frozenset(filter(None, os.environ.get("PERFBASELINE_CALIB_SLOW", "").split(",")))
FACTOR = float(os.environ.get("PERFBASELINE_CALIB_FACTOR", "1.0"))

# about 23 ns per iteration of work()'s loop on a 2-core VM: 220 iterations ~ 5 us, 2100 ~ 50 us
SMALLEST, LARGEST, TESTS = 220, 2100, 300


def iterations(index: int, name: str) -> int:
    """Test ``index``'s loop length: spread log-evenly, times the factor if it is slowed."""
    n = SMALLEST * (LARGEST / SMALLEST) ** (index / (TESTS - 1))
    return round(n * FACTOR) if name in SLOW else round(n)


def work(n: int) -> int:
    """CPU-bound and allocation-free: the squares of ``0 .. n-1`` XORed (small ints only)."""
    total = 0
    for i in range(n):
        total ^= i * i
    return total


def expected(n: int) -> int:
    """What ``work(n)`` returns, computed another way (the workload's own check)."""
    return functools.reduce(operator.xor, (i * i for i in range(n)), 0)
