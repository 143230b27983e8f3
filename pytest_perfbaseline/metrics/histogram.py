"""Log-spaced histograms of inter-token gaps.

Per-token gaps are too many to store raw and are not independent, so they are never compared
statistically; they are kept as a histogram for reports. Bins are fixed (ten per decade from
1 microsecond) so histograms from different sessions line up bin for bin and can be added.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable
from functools import partial

__all__ = ["BINS_PER_DECADE", "bin_edges", "gap_histogram", "merge_histograms"]

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


def gap_histogram(gaps_ns: Iterable[int]) -> list[list[float]]:
    """``[[lower_s, upper_s, count], ...]`` for the non-empty bins, in order."""
    counts = Counter(map(_search, gaps_ns))
    if len(_LOWEST_NS) in counts:  # beyond the table (decades long): the formula itself
        counts = Counter(map(_bin_of, gaps_ns))
    return [[*bin_edges(index), counts[index]] for index in sorted(counts)]


def merge_histograms(*histograms: Iterable[list[float]]) -> list[list[float]]:
    """Add histograms bin by bin (bins are identified by their edges)."""
    counts: dict[tuple[float, float], int] = {}
    for histogram in histograms:
        for lower, upper, count in histogram:
            key = (lower, upper)
            counts[key] = counts.get(key, 0) + int(count)
    return [[lower, upper, counts[(lower, upper)]] for lower, upper in sorted(counts)]
