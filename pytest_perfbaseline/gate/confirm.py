"""Confirming a suspected regression: the verdicts of a re-measurement, and what they may fail."""

from __future__ import annotations

from dataclasses import replace

from .compare import Comparison, TestComparison
from .machine import TOLERANCE

__all__ = ["confirm", "machine_sensitive"]


def machine_sensitive(c: Comparison) -> bool:
    """Whether a busy machine can change this metric: times and rates, not counts or cost."""
    return c.unit in ("s", "tok/s") and c.pvalue is not None


def confirm(
    first: TestComparison,
    fresh: TestComparison,
    *,
    machine_slowdown: float | None = None,
    settle_waited_s: float | None = None,
) -> TestComparison:
    """The verdicts of a re-measurement, kept only where they confirm the first suspicion.

    A regression fails only if it was suspected in the first measurement, and, for times and
    rates, only if the machine was not busy around the re-measure (``machine_slowdown``
    beyond the probe's tolerance): a busy window says nothing about the code.
    """
    busy = machine_slowdown is not None and machine_slowdown > 1 + TOLERANCE
    comparisons = []
    excused = []
    for c in fresh.comparisons:
        kept = c
        if c.verdict == "regressed" and c.metric not in first.suspected:
            kept = replace(c, verdict="inconclusive")
        elif c.verdict == "regressed" and busy and machine_sensitive(c):
            excused.append(c.metric)
            kept = replace(c, verdict="inconclusive")
        comparisons.append(kept)
    confirmed = any(c.gated and c.verdict == "regressed" for c in comparisons)
    first_p = {c.metric: c.pvalue for c in first.comparisons if c.metric in first.suspected}
    return replace(
        fresh,
        comparisons=tuple(comparisons),
        suspected=first.suspected,
        confirmation="confirmed" if confirmed else "not confirmed",
        first_pvalues=first_p,
        settle_waited_s=settle_waited_s,
        machine_slowdown=machine_slowdown,
        excused=tuple(excused),
    )
