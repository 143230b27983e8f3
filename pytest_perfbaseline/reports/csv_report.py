"""The ``--perf-csv`` report: one row per (test, metric), for spreadsheets and dataframes.

Columns are documented in docs/report-format.md. Numbers are written at full precision
(``repr``, so ``float(cell)`` gives back the exact value), missing values as empty cells,
booleans as ``true`` / ``false``. The text uses the ``csv`` module's defaults: ``,``
separated, fields quoted only when needed (a test id with a comma, a quote or a line break),
``\\r\\n`` line endings as RFC 4180 and spreadsheets expect; write it as UTF-8.

A text cell that a spreadsheet would read as a formula (it starts with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return: a test id, a metric name or a unit can) gets a leading
``'``, as OWASP recommends against CSV injection; numbers are never changed, so a negative
number stays a number.
"""

from __future__ import annotations

import csv
import io

from ..gate.compare import Comparison
from .run import RunReport, TestEntry

__all__ = ["CSV_COLUMNS", "render_csv"]

CSV_COLUMNS = (
    "test",
    "metric",
    "unit",
    "higher_is_better",
    "n",
    "mean",
    "median",
    "stdev",
    "min",
    "max",
    "p50",
    "p90",
    "p95",
    "p99",
    "baseline_n",
    "baseline_median",
    "ratio",
    "ratio_low",
    "ratio_high",
    "threshold",
    "p_value",
    "alpha",
    "verdict",
    "gated",
    "rounds_needed",
    "ab_labels",
)
"""The header, in order (``ab_labels``: ``a|b`` on an A/B test's rows, empty otherwise)."""

Cell = str | int | float | bool | None

# What makes a spreadsheet evaluate a cell instead of showing it (OWASP, "CSV Injection").
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        # repr is the shortest text that reads back as the same float ("inf" included).
        return repr(value)
    if isinstance(value, str):
        return "'" + value if value.startswith(_FORMULA_STARTS) else value
    return str(value)


def _comparison_cells(c: Comparison | None) -> list[Cell]:
    if c is None:
        return [None] * 11
    return [
        c.n_baseline,
        c.baseline_median,
        c.ratio,
        c.ratio_low,
        c.ratio_high,
        c.threshold,
        c.pvalue,
        c.alpha,
        c.verdict,
        c.gated,
        c.rounds_needed,
    ]


def _rows(entry: TestEntry) -> list[list[Cell]]:
    result = entry.result
    summaries = result.summary()
    compared = {c.metric: c for c in entry.comparison.comparisons} if entry.comparison else {}
    rows: list[list[Cell]] = []
    for name in sorted(result.infos):
        info = result.infos[name]
        s = summaries.get(name)
        stats: list[Cell] = (
            [s.n, s.mean, s.median, s.stdev, s.min, s.max, s.p50, s.p90, s.p95, s.p99]
            if s is not None
            else [0] + [None] * 9  # no value in any round (an unpriced model's cost)
        )
        rows.append(
            [
                entry.nodeid,
                name,
                info.unit,
                info.higher_is_better,
                *stats,
                *_comparison_cells(compared.get(name)),
                None,
            ]
        )
    return rows


def render_csv(report: RunReport) -> str:
    """The report as CSV text: a header, then tests by node id and their metrics by name.

    In compare mode the baseline and verdict columns are filled where the metric was
    compared; otherwise they are empty.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)  # excel dialect: QUOTE_MINIMAL, "\r\n"
    writer.writerow(CSV_COLUMNS)
    for entry in sorted(report.tests, key=lambda e: e.nodeid):
        for row in _rows(entry):
            writer.writerow([_cell(v) for v in row])
    from .ab import ab_csv_rows

    for ab in sorted(report.ab_tests, key=lambda r: r.nodeid):
        for row in ab_csv_rows(ab):
            writer.writerow([_cell(v) for v in row])
    return buffer.getvalue()
