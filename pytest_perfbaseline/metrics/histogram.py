"""Log-spaced histograms of inter-token gaps.

Per-token gaps are too many to store raw and are not independent, so they are never compared
statistically; they are kept as a histogram for reports. Bins are fixed (ten per decade from
1 microsecond) so histograms from different sessions line up bin for bin and can be added.

The gaps a test measured are kept as :class:`SortedGaps`: 8 bytes a gap, in ascending order,
so the histogram is found by bisection at each bin edge and the pooled summary
(:func:`gap_summary`) reads its percentiles by position, without sorting again.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import partial
from itertools import chain, repeat, tee
from operator import mul, sub, truediv
from typing import TYPE_CHECKING, cast

from .summary import Summary, percentile

__all__ = [
    "BINS_PER_DECADE",
    "SortedGaps",
    "bin_edges",
    "gap_histogram",
    "gap_summary",
    "merge_histograms",
]

if TYPE_CHECKING:
    _IntArray = array[int]
else:  # array is not subscriptable at run time before Python 3.12
    _IntArray = array


class SortedGaps(_IntArray):
    """Gaps in nanoseconds in ascending order, 8 bytes each (an ``array('q')``).

    The constructor trusts its argument to be in ascending order already;
    :meth:`pooled` sorts.
    """

    def __new__(cls, ascending: Iterable[int] = ()) -> SortedGaps:
        return cast(SortedGaps, super().__new__(cls, "q", ascending))

    @classmethod
    def pooled(cls, parts: Sequence[SortedGaps]) -> SortedGaps:
        """Every gap of ``parts``, in ascending order (the one non-empty part itself, if so)."""
        filled = [part for part in parts if part]
        if len(filled) == 1:
            return filled[0]
        # sorted() finds the parts' ascending runs and merges them: about one comparison a gap.
        return cls(sorted(chain.from_iterable(filled)))


BINS_PER_DECADE = 10
_FLOOR_NS = 1_000  # gaps under 1 microsecond share bin 0, which starts at 0


def _bin_of(gap_ns: int) -> int:
    if gap_ns < _FLOOR_NS:
        return 0
    # The epsilon keeps exact powers of ten (1 ms = 1e6 ns) in the bin they start.
    return 1 + math.floor(BINS_PER_DECADE * math.log10(gap_ns / _FLOOR_NS) + 1e-9)


def _lowest_gap_of_bin(index: int) -> int:
    """The smallest whole number of nanoseconds that :func:`_bin_of` puts in bin ``index``."""
    # A binary search with _bin_of itself, between bounds safely either side of the edge.
    edge = _FLOOR_NS * 10 ** ((index - 1) / BINS_PER_DECADE)
    low, high = max(0, math.floor(edge * (1 - 1e-6)) - 2), math.ceil(edge * (1 + 1e-6)) + 2
    while low < high:
        middle = (low + high) // 2
        if _bin_of(middle) < index:
            low = middle + 1
        else:
            high = middle
    return low


# The lowest gap of bins 1..150 (1 microsecond to over 30 years), found with _bin_of itself, so
# that a binary search over them puts every gap in the bin the formula gives, at C speed.
_LOWEST_NS = [_lowest_gap_of_bin(index) for index in range(1, 151)]
_search = partial(bisect_right, _LOWEST_NS)


def bin_edges(index: int) -> tuple[float, float]:
    """Lower and upper edge, in seconds, of bin ``index``."""
    if index == 0:
        return 0.0, _FLOOR_NS / 1e9
    lower = _FLOOR_NS * 10 ** ((index - 1) / BINS_PER_DECADE) / 1e9
    upper = _FLOOR_NS * 10 ** (index / BINS_PER_DECADE) / 1e9
    return float(f"{lower:.6g}"), float(f"{upper:.6g}")


def _sorted_counts(gaps_ns: SortedGaps) -> dict[int, int]:
    """Gaps per bin of gaps in ascending order: by bisection at the edges of the bins they span."""
    first, last = _search(gaps_ns[0]), _search(gaps_ns[-1])
    if last == len(_LOWEST_NS):  # beyond the table (decades long): the formula itself
        return Counter(map(_bin_of, gaps_ns))
    starts = [0, *(bisect_left(gaps_ns, _LOWEST_NS[i - 1]) for i in range(first + 1, last + 1))]
    starts.append(len(gaps_ns))
    return {
        first + offset: count
        for offset, count in enumerate(map(sub, starts[1:], starts[:-1]))
        if count
    }


def gap_histogram(gaps_ns: Iterable[int]) -> list[list[float]]:
    """``[[lower_s, upper_s, count], ...]`` for the non-empty bins, in order."""
    if isinstance(gaps_ns, SortedGaps):
        counts = _sorted_counts(gaps_ns) if gaps_ns else {}
    else:
        counts = Counter(map(_search, gaps_ns))
        if len(_LOWEST_NS) in counts:  # beyond the table (decades long): the formula itself
            counts = Counter(map(_bin_of, gaps_ns))
    return [[*bin_edges(index), counts[index]] for index in sorted(counts)]


class _Seconds(Sequence[float]):
    """Gaps in nanoseconds read as seconds, one at a time (no list of a million floats)."""

    def __init__(self, gaps_ns: Sequence[int]) -> None:
        self._gaps_ns = gaps_ns

    def __len__(self) -> int:
        return len(self._gaps_ns)

    def __getitem__(self, index: int) -> float:  # type: ignore[override]
        return self._gaps_ns[index] / 1e9


def gap_summary(gaps_ns: Sequence[int]) -> Summary | None:
    """The summary, in seconds, of gaps in nanoseconds; None when there are none.

    The same values, bit for bit, as :func:`~pytest_perfbaseline.metrics.summary.summarize`
    of ``[g / 1e9 for g in gaps_ns]``, in one pass over gaps already in ascending order
    (:class:`SortedGaps`), a sort first otherwise, and without a list of a million floats.
    """
    data: Sequence[int] = gaps_ns if isinstance(gaps_ns, SortedGaps) else sorted(gaps_ns)
    n = len(data)
    if n == 0:
        return None
    # Dividing an int by 1e9 rounds as float(g) / 1e9 does, and never reorders: the sorted
    # ints, read as seconds, are the sorted floats summarize() would see.
    mean = math.fsum(map(truediv, data, repeat(1e9))) / n
    stdev = 0.0
    if n > 1:
        first, second = tee(map(sub, map(truediv, data, repeat(1e9)), repeat(mean)))
        stdev = math.sqrt(math.fsum(map(mul, first, second)) / (n - 1))
    seconds = _Seconds(data)
    median = percentile(seconds, 50.0)
    return Summary(
        n=n,
        mean=mean,
        median=median,
        stdev=stdev,
        min=seconds[0],
        max=seconds[n - 1],
        p50=median,
        p90=percentile(seconds, 90.0),
        p95=percentile(seconds, 95.0),
        p99=percentile(seconds, 99.0),
    )


def merge_histograms(*histograms: Iterable[list[float]]) -> list[list[float]]:
    """Add histograms bin by bin (bins are identified by their edges)."""
    counts: dict[tuple[float, float], int] = {}
    for histogram in histograms:
        for lower, upper, count in histogram:
            key = (lower, upper)
            counts[key] = counts.get(key, 0) + int(count)
    return [[lower, upper, counts[(lower, upper)]] for lower, upper in sorted(counts)]
