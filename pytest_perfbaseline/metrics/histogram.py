"""Log-spaced histograms of inter-token gaps.

Per-token gaps are too many to store raw and are not independent, so they are never compared
statistically; they are kept as a histogram for reports. Bins are fixed (ten per decade from
1 microsecond) so histograms from different sessions line up bin for bin and can be added.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

__all__ = ["BINS_PER_DECADE", "bin_edges", "gap_histogram", "merge_histograms"]

BINS_PER_DECADE = 10
_FLOOR_NS = 1_000  # gaps under 1 microsecond share bin 0, which starts at 0


def _bin_of(gap_ns: int) -> int:
    if gap_ns < _FLOOR_NS:
        return 0
    # The epsilon keeps exact powers of ten (1 ms = 1e6 ns) in the bin they start.
    return 1 + math.floor(BINS_PER_DECADE * math.log10(gap_ns / _FLOOR_NS) + 1e-9)


def bin_edges(index: int) -> tuple[float, float]:
    """Lower and upper edge, in seconds, of bin ``index``."""
    if index == 0:
        return 0.0, _FLOOR_NS / 1e9
    lower = _FLOOR_NS * 10 ** ((index - 1) / BINS_PER_DECADE) / 1e9
    upper = _FLOOR_NS * 10 ** (index / BINS_PER_DECADE) / 1e9
    return float(f"{lower:.6g}"), float(f"{upper:.6g}")


def gap_histogram(gaps_ns: Iterable[int]) -> list[list[float]]:
    """``[[lower_s, upper_s, count], ...]`` for the non-empty bins, in order."""
    counts: dict[int, int] = {}
    for gap in gaps_ns:
        index = _bin_of(gap)
        counts[index] = counts.get(index, 0) + 1
    return [[*bin_edges(index), counts[index]] for index in sorted(counts)]


def merge_histograms(*histograms: Iterable[list[float]]) -> list[list[float]]:
    """Add histograms bin by bin (bins are identified by their edges)."""
    counts: dict[tuple[float, float], int] = {}
    for histogram in histograms:
        for lower, upper, count in histogram:
            key = (lower, upper)
            counts[key] = counts.get(key, 0) + int(count)
    return [[lower, upper, counts[(lower, upper)]] for lower, upper in sorted(counts)]
