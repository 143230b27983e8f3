"""What the gate says: a change in one line, and the message a regressed test fails with.

The pytest plugin and the ``perfbaseline compare`` command print the same message.
"""

from __future__ import annotations

from ..metrics.formatting import format_percent, format_ratio, format_value
from .compare import Comparison, Recheck, TestComparison

__all__ = ["PYTEST_ACCEPT", "describe_change", "drift_note", "failure_message", "machine_note"]

PYTEST_ACCEPT = "pytest --perf-baseline=save --perf-baseline-fresh (then commit .perfbaseline/)"
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


def _metric_line(c: Comparison, sessions: int) -> str:
    direction = "higher is better" if c.higher_is_better else "lower is better"
    stats = (
        f"p = {_format_p(c.pvalue)} < alpha {c.alpha:.2g}"
        if c.pvalue is not None and c.alpha is not None
        else "constant in both runs, compared exactly"
    )
    drift = drift_note(c, sessions)
    return (
        f"  {c.metric}: {describe_change(c)} (median; {direction}); "
        f"threshold {format_percent(c.threshold)}{f' + {drift}' if drift else ''}; {stats}; "
        f"{c.n_baseline} baseline vs {c.n_current} current rounds"
    )


def machine_note(recheck: Recheck) -> str:
    """What the gate saw of a busy machine: ``probe 1.6x slower, ...``."""
    parts = [f"its reference probe ran {recheck.machine_slowdown or 1:.1f}x slower than at best"]
    if recheck.cpu_share is not None:
        parts.append(f"the test used the CPU {min(1.0, recheck.cpu_share):.0%} of the time")
    if recheck.neighbours is not None:
        parts.append(
            f"the tests measured just before ran {recheck.neighbours:.2f}x their baselines"
        )
    if recheck.explainable is not None:
        parts.append(f"together up to {format_ratio(recheck.explainable)} explained")
    return "; ".join(parts)


def _recheck_lines(tc: TestComparison) -> list[str]:
    recheck = tc.recheck
    if recheck is None or recheck.confirmation in ("none", "not confirmed"):
        return []
    firsts = ", ".join(f"{m}: p = {_format_p(p)}" for m, p in recheck.first_pvalues.items())
    waited = ""
    if recheck.waited_s >= 0.5:
        waited = f", after waiting {recheck.waited_s:.0f} s for the machine to settle"
    attempts = f" {recheck.attempts} times" if recheck.attempts > 1 else ""
    done = "confirmed by re-measuring" if recheck.confirmation == "confirmed" else "re-measured"
    lines = [f"  {done}{attempts}{waited} (first measurement: {firsts})"]
    if recheck.explainable is not None:
        lines.append(f"  the machine was busy while re-measuring: {machine_note(recheck)}")
    if tc.regressed and tc.undecided:
        lines.append(
            f"  ({', '.join(c.metric for c in tc.undecided)} also slowed down, by no more than "
            "the busy machine explains: undecided)"
        )
    return lines


def failure_message(tc: TestComparison, accept: str = PYTEST_ACCEPT) -> str:
    """What a regressed (or undecided) test fails with: enough to judge it without a report.

    ``accept`` says how to accept the new performance where the message is read.
    """
    if tc.regressed:
        lines = [f"performance regression in {tc.nodeid}"]
        lines += [_metric_line(c, tc.baseline_sessions) for c in tc.regressed]
    else:
        lines = [
            f"performance undecided in {tc.nodeid}: it slowed down while the machine was busy, "
            "by no more than the busy machine can explain"
        ]
        lines += [_metric_line(c, tc.baseline_sessions) for c in tc.undecided]
    lines += _recheck_lines(tc)
    stale = " -- stale, consider re-saving it" if tc.stale else ""
    lines.append(
        f"baseline: saved {tc.baseline_saved_at or '(unknown time)'}, "
        f"{_age(tc.baseline_age_s)}{stale}; {tc.baseline_origin or 'origin unknown'}"
    )
    if not tc.regressed:
        lines.append(
            "run it again on a quieter machine to decide, or let undecided tests pass: "
            "--perf-undecided=pass (see docs/gate.md)"
        )
    lines.append(f"if this performance is intended, accept it: {accept}")
    return "\n".join(lines)
