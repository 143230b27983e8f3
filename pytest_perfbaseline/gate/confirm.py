"""Confirming a suspected regression: what a fresh re-measure may fail, and what it cannot.

A suspected regression fails only if fresh rounds, measured after it was suspected, show it
at the metric's level on their own. Time and rate regressions of a re-measure made while the
machine was busy are examined once more: the gate fails them unless the machine's state can
explain their size. What it can explain is bounded by two observations:

- how much a busy CPU can stretch this workload: its share of CPU time while re-measured
  times the probe's slowdown (a workload that mostly waits, on a network or a timer, barely
  slows when the CPU is busy);
- how much the session's other tests, measured just before, drifted from their baselines
  (common-mode drift: if every test slowed by 30%, so can this one, for the same reason).

A regression larger than both is the code's, busy machine or not: it fails. One within them
is *undecided*: the measurement cannot tell the code from the machine. Token counts and cost
do not depend on the machine and fail as they are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from .compare import Comparison, Confirmation, Recheck, TestComparison
from .machine import TOLERANCE

__all__ = ["MachineState", "confirm", "machine_sensitive", "worse_low"]


def machine_sensitive(c: Comparison) -> bool:
    """Whether a busy machine can change this metric: times and rates, not counts or cost."""
    return c.unit in ("s", "tok/s") and c.pvalue is not None


def worse_low(c: Comparison) -> float | None:
    """The lower bound of how many times *worse* the metric got (ratio oriented: >1 worse)."""
    if c.ratio_low is None or c.ratio_high is None:
        return c.ratio
    if not c.higher_is_better:
        return c.ratio_low
    return 1.0 / c.ratio_high if c.ratio_high > 0 and math.isfinite(c.ratio_high) else 1.0


@dataclass(frozen=True)
class MachineState:
    """What the gate observed of the machine around a re-measure."""

    slowdown: float | None = None
    """The reference probe relative to its best (None: not checked)."""
    cpu_share: float | None = None
    """CPU time over wall time of the re-measure (None: unknown, taken as all CPU)."""
    neighbours: float | None = None
    """Common-mode drift of the session's other tests (None: too few measured)."""
    waited_s: float = 0.0
    no_wait: str | None = None
    """Why the gate did not wait for the machine to quieten first (None: it could)."""

    @property
    def busy(self) -> bool:
        return self.slowdown is not None and self.slowdown > 1 + TOLERANCE

    def explainable(self) -> float:
        """The largest slowdown of the workload that this state of the machine can explain."""
        if not self.busy or self.slowdown is None:
            return 1.0
        share = 1.0 if self.cpu_share is None else min(1.0, max(0.0, self.cpu_share))
        by_cpu = 1.0 + share * (self.slowdown - 1.0)
        return max(by_cpu, self.neighbours or 1.0)


def _explained(c: Comparison, state: MachineState) -> bool:
    """Whether a busy machine could account for this regression of a time or rate."""
    if not state.busy or not machine_sensitive(c):
        return False
    low = worse_low(c)
    return low is not None and low <= (1.0 + c.threshold) * state.explainable()


def confirm(
    first: TestComparison,
    fresh: TestComparison,
    state: MachineState,
    recheck: Recheck,
) -> TestComparison:
    """The verdicts of a re-measure, kept only where they confirm the first suspicion.

    ``recheck`` is what was done so far (rounds added, attempts); the result's records it with
    this re-measure's observations and outcome.
    """
    comparisons = []
    for c in fresh.comparisons:
        kept = c
        if c.verdict == "regressed" and c.metric not in first.suspected:
            kept = replace(c, verdict="inconclusive")
        elif c.verdict == "regressed" and _explained(c, state):
            kept = replace(c, verdict="undecided")
        comparisons.append(kept)
    gated = {c.verdict for c in comparisons if c.gated}
    outcome: Confirmation = (
        "confirmed"
        if "regressed" in gated
        else "undecided"
        if "undecided" in gated
        else "not confirmed"
    )
    return replace(
        fresh,
        comparisons=tuple(comparisons),
        suspected=first.suspected,
        recheck=replace(
            recheck,
            confirmation=outcome,
            first_pvalues={
                c.metric: c.pvalue for c in first.comparisons if c.metric in first.suspected
            },
            machine_slowdown=state.slowdown,
            cpu_share=state.cpu_share,
            neighbours=state.neighbours,
            explainable=state.explainable() if state.busy else None,
            waited_s=recheck.waited_s + state.waited_s,
            no_wait=state.no_wait or recheck.no_wait,
        ),
    )
