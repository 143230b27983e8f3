"""Descriptive statistics of one metric over rounds (pure Python: no numpy at start-up)."""

from __future__ import annotations

import math
import operator
import statistics
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
from operator import mul

__all__ = ["Summary", "metric_values", "percentile", "summarize", "summarize_rounds"]


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of already sorted values, linearly interpolated.

    This is the "linear" (Hyndman-Fan type 7) rule, numpy's default, so our figures match
    what users get from ``numpy.percentile`` on the same rounds.
    """
    n = len(sorted_values)
    if n == 0:
        raise ValueError("percentile of no values")
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"percentile q must be within [0, 100], got {q}")
    position = (n - 1) * q / 100.0
    low = math.floor(position)
    high = min(low + 1, n - 1)
    fraction = position - low
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * fraction


@dataclass(frozen=True)
class Summary:
    """Summary of one metric's per-round values.

    ``stdev`` is the sample standard deviation (n - 1 in the denominator); with a single
    round it is 0.0, since there is no spread to estimate.
    """

    n: int
    mean: float
    median: float
    stdev: float
    min: float
    max: float
    p50: float
    p90: float
    p95: float
    p99: float

    def to_dict(self) -> dict[str, float]:
        # spelled out: dataclasses.asdict deep-copies field by field, 30x slower, and a
        # session's report holds a summary per metric per test
        return {
            "n": self.n,
            "mean": self.mean,
            "median": self.median,
            "stdev": self.stdev,
            "min": self.min,
            "max": self.max,
            "p50": self.p50,
            "p90": self.p90,
            "p95": self.p95,
            "p99": self.p99,
        }


def summarize(values: Iterable[float]) -> Summary:
    """Summarise finite values; raises ValueError when there are none."""
    data = sorted(map(float, values))
    n = len(data)
    if n == 0:
        raise ValueError("cannot summarise an empty sample")
    mean = math.fsum(data) / n
    if n == 1 or (data[0] == data[-1] == mean and math.isfinite(mean)):
        stdev = 0.0  # every deviation is exactly 0.0 (a constant metric: token counts, say)
    else:  # map and mul run in C: this is the cost of a million-gap pooled summary
        deviations = [v - mean for v in data]
        stdev = math.sqrt(math.fsum(map(mul, deviations, deviations)) / (n - 1))
    median = percentile(data, 50.0)
    return Summary(
        n=n,
        mean=mean,
        median=median,
        stdev=stdev,
        min=data[0],
        max=data[-1],
        p50=median,
        p90=percentile(data, 90.0),
        p95=percentile(data, 95.0),
        p99=percentile(data, 99.0),
    )


def metric_values(rounds: Iterable[Mapping[str, float | None]], metric: str) -> list[float]:
    """A metric's per-round values, leaving out rounds where it is missing or null."""
    return [v for r in rounds if (v := r.get(metric)) is not None]


def summarize_rounds(
    rounds: Sequence[Mapping[str, float | None]], metrics: Iterable[str]
) -> dict[str, Summary]:
    """Summaries of the named metrics that have at least one value."""
    result: dict[str, Summary] = {}
    for name in metrics:
        values = metric_values(rounds, name)
        if values:
            result[name] = summarize(values)
    return result


def _scaled_sums(values: Sequence[float]) -> tuple[int, int, int] | None:
    """``(num, den, shift)`` with the exact sample variance ``num / den / 4**shift`` of two or
    more finite floats; None when they lie some 2**970 apart (no common scale fits a float).

    frexp: v = m * 2**e with 53 bits of m, so v * 2**(53 - e) is whole, and for a smaller e:
    scaled by one power of two, every value is an integer and the sums are exact.
    """
    shift: int = 53 - min(map(operator.itemgetter(1), map(math.frexp, values)))
    try:
        scaled: list[int] = list(map(int, map(math.ldexp, values, repeat(shift))))
    except OverflowError:
        return None
    k, total = len(scaled), sum(scaled)
    return k * sum(map(operator.mul, scaled, scaled)) - total * total, k * (k - 1), shift


def exact_variance(values: Sequence[float]) -> float:
    """``statistics.variance(values)`` of finite floats (0.0 below two), without its fractions.

    The same number (since Python 3.11): the exact sample variance, rounded once -- Python
    divides integers with a single correct rounding.
    """
    if len(values) < 2:
        return 0.0
    sums = _scaled_sums(values)
    if sums is None:  # the slow way
        return statistics.variance(values)
    deviations, den, shift = sums
    if shift < 0:
        return (deviations << (-2 * shift)) / den
    return deviations / (den << (2 * shift))


def exact_stdev(values: Sequence[float]) -> float:
    """``statistics.stdev`` of two or more finite floats, in integers instead of fractions.

    The same number (since Python 3.11, whose stdev is the exact sample variance's square
    root, rounded once): the square root of the exact ratio of integers is taken with 55 bits
    or more, the last one set when anything was cut off ("round to odd"), and one int/int
    division (which Python rounds correctly) makes it a float.
    """
    sums = _scaled_sums(values) if sys.version_info >= (3, 11) else None
    if sums is None:  # before 3.11 stdev rounds twice; or values too far apart: the slow way
        return statistics.stdev(values)
    num, den, shift = sums  # variance = num / den / 4**shift
    if num == 0:
        return 0.0
    extra = max(0, (112 - num.bit_length() + den.bit_length()) // 2)
    quotient, cut = divmod(num << (2 * extra), den)
    root = math.isqrt(quotient)  # >= 2**54: sqrt(num / den) * 2**extra, rounded down
    if cut or root * root != quotient:
        root |= 1
    scale = extra + shift  # the float is root / 2**scale
    return root / (1 << scale) if scale >= 0 else float(root << -scale)
