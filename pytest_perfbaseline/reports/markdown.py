"""The ``--perf-markdown`` report: a GitHub-flavoured summary for a pull request or CI job.

Also appended to ``$GITHUB_STEP_SUMMARY`` when that is set. Layout (docs/report-format.md):
a heading and a one-line status, the regressions first (what a reviewer must act on), a
compact table of every test, notes on inconclusive, stale and new tests, and the gated
metrics' comparisons folded in a ``<details>`` block. The same report always gives the
same text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..gate.compare import Comparison, TestComparison
from ..gate.messages import machine_note
from ..gate.rounds import MAX_ROUNDS_NEEDED
from ..metrics.formatting import (
    format_cost,
    format_count,
    format_percent,
    format_ratio,
    format_value,
)
from ..metrics.summary import Summary
from .ab import ratio_text
from .run import RunReport, TestEntry

if TYPE_CHECKING:
    from ..gate.ab import ABResult

__all__ = ["ICONS", "markdown_code", "render_markdown"]

ICONS = {
    "regressed": "❌",
    "undecided": "⚠️",
    "improved": "🟢",
    "inconclusive": "❔",
    "unchanged": "✅",
    "new": "🆕",
}
"""The mark shown before each verdict."""

SAVE_HINT = "`pytest --perf-baseline=save`"

_BACKTICKS = re.compile(r"`+")
_LINE_BREAK = re.compile(r"\r\n?|\n")
_ASCII_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def _escape_text(text: str) -> str:
    """Every ASCII punctuation character backslash-escaped: literal text, whatever it holds."""
    return "".join("\\" + ch if ch in _ASCII_PUNCTUATION else ch for ch in text)


def markdown_code(text: str, *, in_table: bool = False) -> str:
    """``text`` as a Markdown code span that renders exactly as ``text``.

    Inside a code span nothing is markup, so only two things need care. Backticks: the fence
    is one backtick longer than the longest run inside, padded with a space when the text
    starts or ends with a backtick or a space (CommonMark strips one space from each side).
    Pipes in a table cell: GitHub splits a row into cells before it parses code spans, so a
    ``|`` is written ``\\|``; every ``|`` directly after a backslash stays in its cell, and
    exactly that one backslash is dropped again, so even ``\\|`` in the text comes out as
    written. Line breaks become spaces: a span cannot hold one.
    """
    text = _LINE_BREAK.sub(" ", text)
    if in_table:
        text = text.replace("|", "\\|")
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    fence = "`" * (longest + 1)
    if text[:1] in ("`", " ") or text[-1:] in ("`", " "):
        text = f" {text} "
    return f"{fence}{text}{fence}"


def _table(
    headers: Sequence[str], numeric: Sequence[bool], rows: Sequence[Sequence[str]]
) -> list[str]:
    """A GFM pipe table; ``numeric`` columns are right-aligned."""
    align = ["--:" if right else "---" for right in numeric]
    return [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join(align) + "|",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def _change(c: Comparison, *, bold: bool = False) -> str:
    """``+50.5% [+41.2%, +60.3%]``; an unbounded interval shows ``+∞``; ``-`` without a ratio."""
    if c.ratio is None:
        return "-"
    text = format_ratio(c.ratio)
    if bold:
        text = f"**{text}**"
    low, high = c.ratio_low, c.ratio_high
    if low is not None and high is not None and low != high:
        text += f" [{format_ratio(low)}, {format_ratio(high)}]"
    return text


def _pvalue(c: Comparison) -> str:
    if c.pvalue is not None:
        return f"{c.pvalue:.2g}"
    return "exact" if c.method.startswith("exact") else "-"


def _verdict(verdict: str) -> str:
    return f"{ICONS[verdict]} {verdict}"


def _test_verdict(entry: TestEntry) -> str:
    return _verdict(entry.comparison.verdict) if entry.comparison is not None else "-"


def _status(report: RunReport, entries: Sequence[TestEntry]) -> str:
    profile = f"profile {markdown_code(report.profile)}"
    if not report.compare:
        count = len(entries)
        text = f"📊 {count} perf test{'s' * (count != 1)} measured · {profile}"
        if report.save:
            saved = len(report.saved)
            text += f" · baselines saved for {saved} test{'s' * (saved != 1)}"
        return text
    counts = report.counts()
    parts = [f"{n} {verdict}" for verdict, n in counts.items() if n]
    icon = (
        "❌"
        if counts["regressed"]
        else "⚠️"
        if counts["undecided"]
        else "❔"
        if counts["inconclusive"]
        else "✅"
    )
    text = f"{icon} {' · '.join(parts) or 'no perf tests compared'} · {profile}"
    if counts["regressed"] and not report.fail_on_regression:
        text += " · not failing the run (`--perf-fail=never`)"
    return text


def _regression_line(c: Comparison) -> str:
    direction = "higher is better" if c.higher_is_better else "lower is better"
    if c.pvalue is not None and c.alpha is not None:
        evidence = f"p = {c.pvalue:.2g} < alpha {c.alpha:.2g}"
    else:
        evidence = "constant in both runs, compared exactly"
    return (
        f"  - {markdown_code(c.metric)} ({direction}): "
        f"{format_value(c.baseline_median, c.unit)} → {format_value(c.current_median, c.unit)}, "
        f"{_change(c, bold=True)}; threshold {format_percent(c.threshold)}; {evidence}; "
        f"{c.n_baseline} vs {c.n_current} rounds"
    )


def _by_metric(comparisons: Sequence[Comparison]) -> list[Comparison]:
    return sorted(comparisons, key=lambda c: c.metric)


def _regressions(entries: Sequence[TestEntry]) -> list[str]:
    failing = [
        e
        for e in entries
        if e.comparison is not None and (e.comparison.regressed or e.comparison.undecided)
    ]
    if not failing:
        return []
    undecided = not any(e.comparison is not None and e.comparison.regressed for e in failing)
    heading = "### ⚠️ Undecided" if undecided else "### ❌ Regressions"
    lines = [heading, ""]
    for entry in failing:
        tc = entry.comparison
        assert tc is not None
        lines.append(f"- {markdown_code(entry.nodeid)}{_recheck_note(tc)}")
        lines.extend(_regression_line(c) for c in _by_metric((*tc.regressed, *tc.undecided)))
        stale = " (stale)" if tc.stale else ""
        lines.append(
            f"  - baseline: saved {tc.baseline_saved_at or 'at an unknown time'}{stale}; "
            f"{tc.baseline_origin or 'origin unknown'}"
        )
    lines += [
        "",
        f"If this performance is intended, accept it with {SAVE_HINT} "
        "(then commit `.perfbaseline/`).",
    ]
    return lines


def _recheck_note(tc: TestComparison) -> str:
    recheck = tc.recheck
    if recheck is None:
        return ""
    if recheck.confirmation == "confirmed":
        return " (confirmed by re-measuring)"
    if recheck.confirmation == "undecided":
        return (
            " (undecided: slowed down while the machine was busy, by no more than that "
            f"explains; {machine_note(recheck)})"
        )
    return ""


def _median(summary: dict[str, Summary], name: str) -> float | None:
    s = summary.get(name)
    return s.median if s is not None else None


def _overview(report: RunReport, entries: Sequence[TestEntry]) -> list[str]:
    headers = ["test", "rounds", "TTFT p50", "TPOT p50", "tok/s p50", "out tok p50", "cost p50"]
    if report.compare:
        headers.append("verdict")
    rows = []
    for entry in entries:
        s = entry.result.summary()
        rate = _median(s, "tokens_per_s")
        row = [
            markdown_code(entry.nodeid, in_table=True),
            str(entry.result.round_count),
            format_value(_median(s, "ttft_s"), "s"),
            format_value(_median(s, "tpot_s"), "s"),
            f"{rate:.1f}" if rate is not None else "-",
            format_count(_median(s, "output_tokens")),
            format_cost(_median(s, "cost_usd")),
        ]
        if report.compare:
            row.append(_test_verdict(entry))
        rows.append(row)
    numeric = [False] + [True] * 6 + [False] * report.compare
    return ["### Tests", "", *_table(headers, numeric, rows)]


def _rounds_hint(c: Comparison) -> str:
    """`` (~40 rounds/side needed)`` for an inconclusive comparison with an estimate."""
    if c.verdict != "inconclusive" or not c.rounds_needed:
        return ""
    more = "more than " if c.rounds_needed >= MAX_ROUNDS_NEEDED else "~"
    return f" ({more}{c.rounds_needed} rounds/side needed)"


def _notes(report: RunReport, entries: Sequence[TestEntry]) -> list[str]:
    notes = []
    compared = [(e.nodeid, e.comparison) for e in entries if e.comparison is not None]
    for nodeid, tc in compared:
        if tc.verdict == "inconclusive":
            metrics = ", ".join(
                markdown_code(c.metric) + _rounds_hint(c)
                for c in _by_metric(tc.comparisons)
                if c.gated and c.verdict == "inconclusive"
            )
            notes.append(f"- {ICONS['inconclusive']} {markdown_code(nodeid)}: {metrics}")
    for nodeid, tc in compared:
        if tc.recheck is not None and tc.recheck.confirmation == "not confirmed":
            metrics = ", ".join(markdown_code(m) for m in tc.suspected)
            notes.append(
                f"- 🔁 {markdown_code(nodeid)}: suspected regression of {metrics} "
                "not confirmed by re-measuring"
            )
    stale = [(nodeid, tc) for nodeid, tc in compared if tc.stale and tc.verdict != "new"]
    if stale:
        listed = ", ".join(
            f"{markdown_code(nodeid)} (saved {tc.baseline_saved_at or 'at an unknown time'})"
            for nodeid, tc in stale
        )
        notes.append(f"- ⏳ Stale baselines, consider re-saving them: {listed}")
    new = [nodeid for nodeid, tc in compared if tc.verdict == "new"]
    if new:
        listed = ", ".join(markdown_code(nodeid) for nodeid in new)
        notes.append(f"- {ICONS['new']} No baseline yet (save one with {SAVE_HINT}): {listed}")
    notes.extend(
        f"- ⚠️ Baseline not saved: {_escape_text(_LINE_BREAK.sub(' ', error))}"
        for error in report.save_errors
    )
    notes.extend(_iterations_note(entries))
    return ["### Notes", "", *notes] if notes else []


def _iterations_note(entries: Sequence[TestEntry]) -> list[str]:
    calibrated = [
        f"{markdown_code(e.nodeid)} (x{e.result.iterations})"
        for e in entries
        if e.result.iterations > 1
    ]
    if not calibrated:
        return []
    return [f"- ⏱️ Iterations per round: {', '.join(calibrated)}; `round_s` is per call"]


def _details(entries: Sequence[TestEntry]) -> list[str]:
    rows = []
    for entry in entries:
        tc = entry.comparison
        if tc is None or tc.is_new:
            continue
        for c in _by_metric(tc.comparisons):
            if not c.gated:
                continue
            rows.append(
                [
                    markdown_code(entry.nodeid, in_table=True),
                    markdown_code(c.metric, in_table=True),
                    format_value(c.baseline_median, c.unit),
                    format_value(c.current_median, c.unit),
                    _change(c),
                    format_percent(c.threshold),
                    _pvalue(c),
                    _verdict(c.verdict) + _rounds_hint(c),
                ]
            )
    if not rows:
        return []
    headers = [
        "test",
        "metric",
        "baseline",
        "current",
        "change [95% CI]",
        "threshold",
        "p",
        "verdict",
    ]
    return [
        "<details>",
        "<summary>Gated metrics: baseline and current medians, per test</summary>",
        "",
        *_table(headers, [False, False, True, True, True, True, True, False], rows),
        "",
        "</details>",
    ]


def render_markdown(
    report: RunReport, *, title: str = "pytest-perfbaseline", details: bool = True
) -> str:
    """The report as GitHub-flavoured Markdown, ending with a newline.

    ``title`` becomes the ``##`` heading as it is (Markdown allowed); test ids and metric
    names are escaped (:func:`markdown_code`). ``details=False`` leaves out the folded
    per-metric block (for size-limited places such as a GitHub step summary).
    """
    entries = sorted(report.tests, key=lambda e: e.nodeid)
    sections = [[f"## {title}", "", _status(report, entries)]]
    if report.compare:
        sections.append(_regressions(entries))
    if entries:
        sections.append(_overview(report, entries))
    sections.append(_notes(report, entries))
    sections.append(ab_markdown(report.ab_tests))
    if report.compare and details:
        sections.append(_details(entries))
    return "\n\n".join("\n".join(lines) for lines in sections if lines) + "\n"


def ab_markdown(results: Sequence[ABResult]) -> list[str]:
    """The A/B section: a table of A/B tests, with the gated metric that decided each."""
    if not results:
        return []
    lines = [
        "### A/B tests",
        "",
        "| test | a | b | pairs | deciding gated metric | b / a [95% CI] | p | verdict |",
        "|---|---|---|---:|---|---:|---:|---|",
    ]
    for r in sorted(results, key=lambda r: r.nodeid):
        worst = r.worst
        cells = [
            markdown_code(r.nodeid, in_table=True),
            markdown_code(r.labels[0], in_table=True),
            markdown_code(r.labels[1], in_table=True),
            str(r.pairs),
            markdown_code(worst.metric, in_table=True) if worst else "-",
            ratio_text(worst) if worst else "-",
            f"{worst.pvalue:.2g}" if worst and worst.pvalue is not None else "-",
            f"**{r.verdict}**" if r.verdict == "regressed" else r.verdict,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines
