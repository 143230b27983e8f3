"""A/B tests (``perf.ab``) in the reports: terminal, CSV, JUnit properties (the Markdown
summary's table is in :mod:`.markdown`).

The JSON report writes each :class:`~..gate.ab.ABResult` by its own ``to_dict`` (the same
builtins that carry it from a pytest-xdist worker), under the document's ``ab`` key.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..gate.ab import ABMetric, ABResult
from ..metrics.formatting import format_percent, format_ratio, format_value

__all__ = ["ab_csv_rows", "ab_junit_properties", "ab_terminal_lines", "ratio_text"]

Line = tuple[str, dict[str, bool]]


def ratio_text(m: ABMetric) -> str:
    """``x0.523 [x0.510, x0.537]``: the ratio b/a and its interval."""
    text = format_ratio(m.ratio)
    if m.ratio_low is not None and m.ratio_high is not None and m.ratio_low != m.ratio_high:
        text += f" [{format_ratio(m.ratio_low)}, {format_ratio(m.ratio_high)}]"
    return text


def _worst_text(result: ABResult) -> str:
    worst = result.worst
    if worst is None:
        return "no gated metric compared"
    p = "exact" if worst.pvalue is None else f"p = {worst.pvalue:.2g}"
    label = "worst" if worst.verdict == "regressed" else "most changed"
    return f"{label}: {worst.metric} {ratio_text(worst)}, {worst.verdict}, {p}"


def ab_terminal_lines(results: Sequence[ABResult], *, verbose: bool) -> list[Line]:
    """The summary's A/B section: one line per A/B test (verdict, worst gated metric)."""
    if not results:
        return []
    lines: list[Line] = [("", {}), ("A/B tests (b against a, in interleaved pairs):", {})]
    for r in sorted(results, key=lambda r: r.nodeid):
        a, b = r.labels
        markup = {"red": True} if r.verdict == "regressed" else {}
        note = "" if r.fail or r.verdict != "regressed" else " (fail=False: not failed)"
        lines.append(
            (
                f"  {r.nodeid}: {b} vs {a}: {r.verdict}, {r.pairs} pairs; {_worst_text(r)}{note}",
                markup,
            )
        )
        if verbose:
            for m in r.metrics:
                lines.append((f"    {_metric_text(m, r.labels)}", {}))
    return lines


def _metric_text(m: ABMetric, labels: tuple[str, str]) -> str:
    a = format_value(m.a.median if m.a else None, m.unit)
    b = format_value(m.b.median if m.b else None, m.unit)
    p = "" if m.pvalue is None else f", p = {m.pvalue:.2g}"
    gated = "" if m.gated else " (not gated)"
    return (
        f"{m.metric}: {labels[0]} {a} -> {labels[1]} {b}, {ratio_text(m)}{p}; "
        f"threshold {format_percent(m.threshold)}; {m.verdict}{gated}"
    )


def ab_csv_rows(result: ABResult) -> list[list[str | int | float | bool | None]]:
    """CSV rows of an A/B test, in the report's columns: b's summary in the summary columns,
    a's in ``baseline_n`` / ``baseline_median``, and ``ab_labels`` ``a|b``."""
    rows: list[list[str | int | float | bool | None]] = []
    labels = f"{result.labels[0]}|{result.labels[1]}"
    for m in result.metrics:
        s = m.b
        stats: list[str | int | float | bool | None] = (
            [s.n, s.mean, s.median, s.stdev, s.min, s.max, s.p50, s.p90, s.p95, s.p99]
            if s is not None
            else [0] + [None] * 9
        )
        rows.append(
            [
                result.nodeid,
                m.metric,
                m.unit,
                m.higher_is_better,
                *stats,
                m.a.n if m.a else 0,
                m.a.median if m.a else None,
                m.ratio,
                m.ratio_low,
                m.ratio_high,
                m.threshold,
                m.pvalue,
                m.alpha,
                m.verdict,
                m.gated,
                None,
                labels,
            ]
        )
    return rows


def ab_junit_properties(result: ABResult) -> list[tuple[str, object]]:
    """``perf.ab.verdict``, ``perf.ab.pairs``, ``perf.ab.labels`` and, per gated metric,
    ``perf.ab.<metric>.verdict`` / ``.ratio`` / ``.pvalue``."""
    properties: list[tuple[str, object]] = [
        ("perf.ab.verdict", result.verdict),
        ("perf.ab.pairs", result.pairs),
        ("perf.ab.labels", f"{result.labels[0]}|{result.labels[1]}"),
    ]
    for m in result.metrics:
        if not m.gated:
            continue
        properties.append((f"perf.ab.{m.metric}.verdict", m.verdict))
        if m.ratio is not None and math.isfinite(m.ratio):
            properties.append((f"perf.ab.{m.metric}.ratio", f"{m.ratio:.4g}"))
        if m.pvalue is not None:
            properties.append((f"perf.ab.{m.metric}.pvalue", f"{m.pvalue:.3g}"))
    return properties
