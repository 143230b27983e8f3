"""The session's other tests as a control: how far they all drifted from their baselines.

If every test of the session runs 30% slower than its baseline, something common to them
moved -- the machine, or code they share. If one test slowed by 30% and the tests measured
just before it did not, the machine was not the cause. The gate keeps, per process, the
typical time ratio of the last few tests compared, and a re-measure made on a busy machine
is judged against it (:mod:`.confirm`).
"""

from __future__ import annotations

import statistics
from collections import deque

from .compare import Comparison, TestComparison

__all__ = ["MIN_NEIGHBOURS", "WINDOW", "Neighbours", "time_ratio"]

WINDOW = 9
"""How many recently compared tests make the control."""
MIN_NEIGHBOURS = 3
"""Fewer than this many and the common-mode drift is not estimated."""


def _worse_ratio(c: Comparison) -> float | None:
    """How many times worse the metric's typical value got (oriented: above 1 is worse)."""
    if c.ratio is None or c.ratio <= 0 or c.pvalue is None or c.unit not in ("s", "tok/s"):
        return None
    return 1.0 / c.ratio if c.higher_is_better else c.ratio


def time_ratio(tc: TestComparison) -> float | None:
    """The test's typical slowdown against its baseline: the median over its gated times."""
    ratios = [r for c in tc.comparisons if c.gated and (r := _worse_ratio(c)) is not None]
    return statistics.median(ratios) if ratios else None


class Neighbours:
    """The time ratios of the tests compared most recently in this process."""

    def __init__(self, window: int = WINDOW) -> None:
        self._recent: deque[tuple[str, float]] = deque(maxlen=window)

    def add(self, tc: TestComparison) -> None:
        """Record a test's first measurement against its baseline (tests without one: not)."""
        ratio = time_ratio(tc)
        if ratio is not None:
            self._recent.append((tc.nodeid, ratio))

    def drift(self, exclude: str) -> float | None:
        """The median time ratio of the recent tests other than ``exclude`` (None: too few)."""
        ratios = [ratio for nodeid, ratio in self._recent if nodeid != exclude]
        if len(ratios) < MIN_NEIGHBOURS:
            return None
        return statistics.median(ratios)
