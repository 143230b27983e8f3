"""Rounds until decided: how many more rounds to take, within a test's budget.

Ten rounds decide most comparisons; a noisy workload (real inference on a busy CPU) can need
more. When a gated metric comes out *inconclusive*, the gate measures more rounds of the same
test and compares again, growing the sample towards the number of rounds the comparison said
would settle it, until it is decided or the test's budget of rounds and time is spent.

Looking again at a growing sample inflates the chance that one look rejects by luck, so these
looks only decide *what to re-measure*, never what fails: a test fails only when a fresh
re-measure, taken after the looks and sized by them, shows the regression on its own at the
metric's level -- a single look at fresh data, so the false-alarm rate stays at ``alpha``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .compare import TestComparison
from .settings import TestSettings

__all__ = ["MAX_LOOKS", "Budget", "confirm_rounds", "rounds_wanted"]

MAX_LOOKS = 4
"""Comparisons of the growing first measurement, the first one included."""


def rounds_wanted(tc: TestComparison) -> int | None:
    """Rounds per side that would likely settle the test's inconclusive gated metrics."""
    wanted = [
        c.rounds_needed
        for c in tc.comparisons
        if c.gated and c.verdict == "inconclusive" and c.rounds_needed
    ]
    return max(wanted) if wanted else None


@dataclass
class Budget:
    """What a test may still spend on measuring: rounds and seconds (first measurement too)."""

    settings: TestSettings
    rounds_used: int = 0
    seconds_used: float = 0.0

    def spend(self, rounds: int, seconds: float) -> None:
        self.rounds_used += rounds
        self.seconds_used += seconds

    @property
    def round_s(self) -> float:
        """Seconds per round so far (warm-up and the test body's own work included)."""
        return self.seconds_used / self.rounds_used if self.rounds_used else 0.0

    def affordable(self) -> int:
        """How many more rounds fit in both budgets."""
        by_rounds = self.settings.max_rounds - self.rounds_used
        left_s = self.settings.max_time_s - self.seconds_used
        if self.round_s <= 0 or math.isinf(left_s):
            return max(0, by_rounds)
        return max(0, min(by_rounds, math.floor(left_s / self.round_s)))

    def extension(self, tc: TestComparison, looks: int) -> int:
        """Rounds to add to the current measurement for another look (0: stop here).

        None when the comparison says it would take more rounds than the budget allows:
        a change estimated right at the threshold is not settled by more rounds, and taking
        them would only make the session slower.
        """
        wanted = rounds_wanted(tc)
        if wanted is None or looks >= MAX_LOOKS or wanted > self.settings.max_rounds:
            return 0
        have = min((c.n_current for c in tc.comparisons if c.gated), default=0)
        # towards the rounds that would settle it, but by at least half again per look
        more = max(wanted - have, math.ceil(have / 2), 1)
        return min(more, self.affordable())

    def why_stopped(self, tc: TestComparison, looks: int) -> str | None:
        """Why more rounds were wanted and not taken (None: nothing was left wanting)."""
        wanted = rounds_wanted(tc)
        if wanted is None:
            return None
        if wanted > self.settings.max_rounds:
            return f"more rounds needed than --perf-max-rounds ({self.settings.max_rounds})"
        if looks >= MAX_LOOKS:
            return f"{MAX_LOOKS} looks taken"
        if self.rounds_used >= self.settings.max_rounds:
            return f"--perf-max-rounds ({self.settings.max_rounds}) reached"
        return f"--perf-max-time ({self.settings.max_time_s:g} s) reached"


def confirm_rounds(tc: TestComparison, settings: TestSettings, budget: Budget) -> int:
    """Rounds of a fresh re-measure: as many as showed the suspicion, and at least the test's.

    A regression seen in 30 rounds may not reach the metric's level in a fresh 10; a metric
    suspected but inconclusive is given the rounds its comparison said would settle it.
    Within the budget, but never fewer than the test's own rounds.
    """
    wanted = settings.rounds
    for c in tc.comparisons:
        if c.metric in tc.suspected:
            wanted = max(wanted, c.n_current, c.rounds_needed or 0)
    return max(settings.rounds, min(wanted, budget.affordable()))
