"""What the gate says: a change in one line, and the message a regressed test fails with.

The pytest plugin and the ``perfbaseline compare`` command print the same message.
"""

from __future__ import annotations

from ..metrics.formatting import format_percent, format_ratio, format_value
from .compare import Comparison, TestComparison

__all__ = ["PYTEST_ACCEPT", "describe_change", "drift_note", "failure_message"]

PYTEST_ACCEPT = "pytest --perf-baseline=save (then commit .perfbaseline/)"
"""How a pytest user accepts a new performance level."""


def _format_p(p: float | None) -> str:
    if p is None:
        return "exact"
    return f"{p:.2g}"


def describe_change(c: Comparison) -> str:
    """``52.1 ms -> 78.4 ms, +50.5% [+41.2%, +60.3%]`` for a comparison."""
    text = f"{format_value(c.baseline_median, c.unit)} -> {format_value(c.current_median, c.unit)}"
    if c.ratio is not None:
        text += f", {format_ratio(c.ratio)}"
        if c.ratio_low is not None and c.ratio_high is not None and c.ratio_low != c.ratio_high:
            text += f" [{format_ratio(c.ratio_low)}, {format_ratio(c.ratio_high)}]"
    return text


def drift_note(c: Comparison, sessions: int) -> str:
    """``between-session drift allowance +4.1% from 3 baseline sessions`` (empty: none)."""
    if c.drift is None or c.drift <= 1.0:
        return ""
    return (
        f"between-session drift allowance {format_ratio(c.drift)} from {sessions} baseline sessions"
    )


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "of unknown age"
    if seconds < 3600:
        return f"{max(0, round(seconds / 60))} min old"
    if seconds < 2 * 86400:
        return f"{round(seconds / 3600)} h old"
    return f"{round(seconds / 86400)} days old"


def failure_message(tc: TestComparison, accept: str = PYTEST_ACCEPT) -> str:
    """What a regressed test fails with: enough to judge it without opening a report.

    ``accept`` says how to accept the new performance where the message is read.
    """
    lines = [f"performance regression in {tc.nodeid}"]
    for c in tc.regressed:
        direction = "higher is better" if c.higher_is_better else "lower is better"
        stats = (
            f"p = {_format_p(c.pvalue)} < alpha {c.alpha:.2g}"
            if c.pvalue is not None and c.alpha is not None
            else "constant in both runs, compared exactly"
        )
        drift = drift_note(c, tc.baseline_sessions)
        lines.append(
            f"  {c.metric}: {describe_change(c)} (median; {direction}); "
            f"threshold {format_percent(c.threshold)}{f' + {drift}' if drift else ''}; "
            f"{stats}; {c.n_baseline} baseline vs {c.n_current} current rounds"
        )
    if tc.confirmation == "confirmed":
        firsts = ", ".join(f"{m}: p = {_format_p(p)}" for m, p in tc.first_pvalues.items())
        waited = ""
        if tc.settle_waited_s and tc.settle_waited_s >= 0.5:
            waited = f", after waiting {tc.settle_waited_s:.0f} s for the machine to settle"
        lines.append(f"  confirmed by re-measuring{waited} (first measurement: {firsts})")
        if tc.excused:
            lines.append(
                f"  ({', '.join(tc.excused)} also slowed down, but the machine was busy while "
                "re-measuring: not counted)"
            )
    stale = " -- stale, consider re-saving it" if tc.stale else ""
    lines.append(
        f"baseline: saved {tc.baseline_saved_at or '(unknown time)'}, "
        f"{_age(tc.baseline_age_s)}{stale}; {tc.baseline_origin or 'origin unknown'}"
    )
    lines.append(f"if this performance is intended, accept it: {accept}")
    return "\n".join(lines)
