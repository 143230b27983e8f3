"""The terminal summary: one section after the tests, compact by default, more with ``-v``."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Sequence

from ..baseline.store import SaveReport
from ..gate.compare import Comparison, TestComparison
from ..gate.messages import drift_note, machine_note
from ..gate.rounds import MAX_ROUNDS_NEEDED
from ..metrics.formatting import (
    format_cost,
    format_count,
    format_percent,
    format_ratio,
    format_seconds,
    format_value,
)
from ..metrics.names import BREAKDOWN_SCOPES, MetricName, Scope
from ..metrics.result import TestResult
from ..metrics.summary import Summary
from .outputs import Outputs
from .run import VERDICT_ORDER, RunReport

__all__ = [
    "breakdown_rows",
    "render_breakdowns",
    "render_comparisons",
    "render_details",
    "render_overview",
    "render_summary",
    "table",
    "verdict_counts",
]


def table(
    rows: Sequence[Sequence[str]],
    headers: Sequence[str],
    right_from: int = 1,
    *,
    right: Collection[int] | None = None,
) -> list[str]:
    """A plain-text table (tabulate's "simple"): text columns first, numbers right-aligned.

    ``right`` names the right-aligned columns instead, when they are not all at the end.
    No rows, no table: a header alone says nothing.
    """
    if not rows:
        return []
    if right is None:
        right = range(right_from, len(headers))
    align = ["right" if i in right else "left" for i in range(len(headers))]
    if rows and all(len(row) == len(headers) for row in rows):
        columns = list(zip(*rows, strict=True))
        if all(map(_one_wide, headers)) and all(map(_verbatim, columns)):
            return _simple_table(columns, headers, align)
    from tabulate import tabulate  # heavy-ish: only once there is something to print

    return str(tabulate(rows, headers=headers, tablefmt="simple", colalign=align)).splitlines()


_NUMBER_CHARS = frozenset("0123456789+-.,_eE")
_PLAIN_INT = re.compile(r"0|[1-9][0-9]*")


def _is_text(cell: str) -> bool:
    """Whether tabulate surely reads ``cell`` as text, not as a number or a boolean."""
    if cell in ("True", "False"):
        return False
    try:
        float(cell)
    except ValueError:
        return cell == "-" or not _NUMBER_CHARS.issuperset(cell)
    return False


def _verbatim(column: Sequence[str]) -> bool:
    """Whether tabulate would print this column's cells exactly as they are, one column
    wide per character: a text column, or one of plain integers; one-line cells without
    surrounding blanks, terminal escapes, or characters whose width a terminal may differ on.
    """
    if not all(map(_one_wide, column)):
        return False
    return any(map(_is_text, column)) or all(_PLAIN_INT.fullmatch(cell) for cell in column)


def _one_wide(cell: str) -> bool:
    """A printable one-line cell without surrounding blanks, each character one column wide
    in any terminal (ASCII and Latin-1's letters and signs: ``µ``, ``é``)."""
    return (
        bool(cell)
        and cell.isprintable()
        and cell == cell.strip()
        and (cell.isascii() or all(c.isascii() or (0xA1 <= ord(c) <= 0x2FF) for c in cell))
        and "\xad" not in cell
    )


def _simple_table(
    columns: Sequence[Sequence[str]], headers: Sequence[str], align: Sequence[str]
) -> list[str]:
    """tabulate's "simple" layout, for columns it would print verbatim: each column as wide as
    its widest cell, or its header and two spaces; two spaces between columns; no trailing
    blanks."""
    widths = [
        max(len(header) + 2, *map(len, column))
        for header, column in zip(headers, columns, strict=True)
    ]
    pads = [str.rjust if a == "right" else str.ljust for a in align]

    def line(cells: Sequence[str]) -> str:
        cells = [pad(cell, width) for pad, cell, width in zip(pads, cells, widths, strict=True)]
        return "  ".join(cells).rstrip()

    return [
        line(headers),
        "  ".join("-" * width for width in widths),
        *(line(cells) for cells in zip(*columns, strict=True)),
    ]


def _median(summary: dict[str, Summary], name: str) -> float | None:
    s = summary.get(name)
    return s.median if s else None


def _p95(summary: dict[str, Summary], name: str) -> float | None:
    s = summary.get(name)
    return s.p95 if s else None


def render_overview(results: Sequence[TestResult]) -> list[str]:
    """One row per test: the key medians and p95s."""
    rows = []
    for result in results:
        # the result's own summaries: worked out once, shared with the JSON report
        s = result.summary()
        rate = _median(s, "tokens_per_s")
        rows.append(
            [
                result.nodeid,
                str(result.round_count),
                format_seconds(_median(s, "round_s")),
                format_seconds(_median(s, "ttft_s")),
                format_seconds(_p95(s, "ttft_s")),
                format_seconds(_median(s, "tpot_s")),
                format_seconds(_p95(s, "tpot_s")),
                f"{rate:.1f}" if rate is not None else "-",
                format_count(_median(s, "output_tokens")),
                format_cost(_median(s, "cost_usd")),
            ]
        )
    headers = [
        "test",
        "rounds",
        "round p50",
        "TTFT p50",
        "TTFT p95",
        "TPOT p50",
        "TPOT p95",
        "tok/s p50",
        "out tok",
        "cost",
    ]
    return table(rows, headers)


def render_iterations(results: Sequence[TestResult]) -> list[str]:
    """One line naming the tests whose rounds call the workload several times, if any."""
    calibrated = [f"{r.nodeid} (x{r.iterations})" for r in results if r.iterations > 1]
    if not calibrated:
        return []
    return [f"iterations per round: {', '.join(calibrated)}; round_s is per call"]


def breakdown_rows(result: TestResult) -> list[tuple[Scope, str]]:
    """(scope, owner) of every phase, agent, operation and model the test reported."""
    found: set[tuple[Scope, str]] = set()
    for key in result.infos:
        name = result.name_of(key)
        if name.scope in BREAKDOWN_SCOPES and name.owner is not None:
            found.add((name.scope, name.owner))
    order = {scope: i for i, scope in enumerate(BREAKDOWN_SCOPES)}
    return sorted(found, key=lambda item: (order[item[0]], item[1]))


def render_breakdowns(result: TestResult, *, spans_only: bool = False) -> list[str]:
    """Median time, tokens, calls and cost per phase / agent / operation / model.

    ``spans_only``: nothing for a test that opened no phase, agent or operation span (its
    model row alone would only repeat the overview).
    """
    entries = breakdown_rows(result)
    if not entries or (spans_only and all(kind == "model" for kind, _ in entries)):
        return []
    s = result.summary()
    rows = []
    for scope, owner in entries:

        def median(quantity: str, scope: Scope = scope, owner: str = owner) -> float | None:
            return _median(s, MetricName(scope, owner, quantity).key)

        rows.append(
            [
                scope,
                owner,
                format_seconds(median("s")),
                format_count(median("input_tokens")),
                format_count(median("output_tokens")),
                format_count(median("api_calls")),
                format_cost(median("cost_usd")),
            ]
        )
    headers = ["kind", "name", "time p50", "in tok", "out tok", "calls", "cost"]
    return table(rows, headers, right_from=2)


def render_details(result: TestResult) -> list[str]:
    """Every metric of one test: n, median, p95, min, max and the round-to-round noise.

    ``cv`` (standard deviation / mean) is what ``perfbaseline power --noise`` asks for.
    """
    rows = []
    for name, s in sorted(result.summary().items()):
        unit = result.infos[name].unit
        cv = f"{s.stdev / s.mean * 100:.1f}%" if s.mean > 0 and s.n > 1 else "-"
        rows.append(
            [
                name,
                str(s.n),
                *(format_value(v, unit) for v in (s.median, s.p95, s.min, s.max)),
                cv,
            ]
        )
    lines = table(rows, ["metric", "n", "median", "p95", "min", "max", "cv"])
    if result.token_sources:
        sources = ", ".join(
            f"{key or 'all streams'}: {source}"
            for key, source in sorted(result.token_sources.items())
        )
        lines.append(f"output tokens counted from: {sources}")
    return lines


def _verdict_cell(c: Comparison) -> str:
    if c.verdict == "inconclusive" and c.rounds_needed:
        more = "more than " if c.rounds_needed >= MAX_ROUNDS_NEEDED else "~"
        return f"inconclusive ({more}{c.rounds_needed} rounds/side needed)"
    if c.verdict in ("regressed", "improved") and c.pvalue is not None:
        return f"{c.verdict} (p={c.pvalue:.2g})"
    return c.verdict


def render_comparisons(comparisons: Sequence[TestComparison], *, verbose: bool) -> list[str]:
    """Per test and gated metric: baseline and current median, change with interval, verdict.

    Quiet mode lists only the rows worth a look (anything but ``unchanged``); ``-v`` all,
    then the between-session drift allowances that widened a limit.
    """
    rows = []
    notes: list[str] = []
    for tc in comparisons:
        if tc.is_new:
            continue
        for c in tc.comparisons:
            if not c.gated or (c.verdict == "unchanged" and not verbose) or c.verdict == "new":
                continue
            change = "-"
            if c.ratio is not None:
                change = format_ratio(c.ratio)
                if (
                    c.ratio_low is not None
                    and c.ratio_high is not None
                    and c.ratio_low != c.ratio_high
                ):
                    change += f" [{format_ratio(c.ratio_low)}, {format_ratio(c.ratio_high)}]"
            rows.append(
                [
                    tc.nodeid,
                    c.metric,
                    format_value(c.baseline_median, c.unit),
                    format_value(c.current_median, c.unit),
                    change,
                    format_percent(c.threshold),
                    _verdict_cell(c),
                ]
            )
            if verbose and (note := drift_note(c, tc.baseline_sessions)):
                notes.append(f"{tc.nodeid} {c.metric}: limit widened by the {note}")
    if not rows:
        return []
    headers = ["test", "metric", "baseline", "current", "change [95% CI]", "limit", "verdict"]
    return table(rows, headers, right_from=2) + notes


def verdict_counts(comparisons: Sequence[TestComparison]) -> dict[str, int]:
    """Tests per overall verdict (a test is as bad as its worst gated metric)."""
    counts = dict.fromkeys(VERDICT_ORDER, 0)
    for tc in comparisons:
        counts[tc.verdict] += 1
    return counts


Line = tuple[str, dict[str, bool]]
"""A line of the terminal summary and its markup for pytest's TerminalWriter (red=True ...)."""


def verdict_lines(
    comparisons: Sequence[TestComparison], *, profile: str, verbose: bool, saving: bool
) -> list[Line]:
    """The compare-mode part of the summary: the table, the counts, and what needs doing."""
    lines: list[Line] = [("", {})]
    lines += [(line, {}) for line in render_comparisons(comparisons, verbose=verbose)]
    counts = verdict_counts(comparisons)
    summary = ", ".join(f"{n} {verdict}" for verdict, n in counts.items() if n)
    regressed = counts["regressed"] + counts["undecided"] > 0
    lines.append(
        (
            f"compared with profile {profile!r}: {summary or 'nothing'}",
            {"red": regressed, "green": not regressed},
        )
    )
    new = [tc.nodeid for tc in comparisons if tc.is_new]
    if new and not saving:
        has = "s have" if len(new) != 1 else " has"
        advice = "run pytest --perf-baseline=save to create one"
        lines.append((f"{len(new)} test{has} no baseline yet: {advice}", {}))
    for tc in comparisons:
        if tc.stale:
            lines.append(
                (
                    f"stale baseline: {tc.nodeid} (saved {tc.baseline_saved_at}); "
                    "re-save it with --perf-baseline=save",
                    {"yellow": True},
                )
            )
    lines += _recheck_lines(comparisons)
    return lines


def _recheck_lines(comparisons: Sequence[TestComparison]) -> list[Line]:
    """What the gate did beyond first measurements: undecided tests, re-measures, waiting."""
    lines: list[Line] = []
    rechecked = [(tc, tc.recheck) for tc in comparisons if tc.recheck is not None]
    for tc, recheck in rechecked:
        if recheck.confirmation == "undecided":
            metrics = ", ".join(c.metric for c in tc.undecided)
            lines.append(
                (
                    f"undecided: {tc.nodeid}: {metrics} slowed down while the machine was busy, "
                    f"by no more than that explains ({machine_note(recheck)}); run again on a "
                    "quieter machine to decide (see docs/gate.md)",
                    {"yellow": True},
                )
            )
    unconfirmed = [tc.nodeid for tc, r in rechecked if r.confirmation == "not confirmed"]
    if unconfirmed:
        lines.append(
            (
                f"re-measured and not confirmed (passed): {', '.join(unconfirmed)}",
                {"yellow": True},
            )
        )
    grown = [(tc.nodeid, r.extra_rounds) for tc, r in rechecked if r.extra_rounds]
    if grown:
        listed = ", ".join(f"{nodeid} (+{extra})" for nodeid, extra in grown)
        lines.append((f"more rounds to decide: {listed}", {}))
    short = Counter(r.budget for _, r in rechecked if r.budget)
    if short:
        listed = "; ".join(
            f"{count} test{'s' * (count != 1)}: {reason}" for reason, count in sorted(short.items())
        )
        lines.append((f"still inconclusive, no more rounds taken: {listed}", {}))
    no_wait = sorted({r.no_wait for _, r in rechecked if r.no_wait})
    if no_wait:
        lines.append((f"did not wait for the machine: {'; '.join(no_wait)}", {"yellow": True}))
    waited = sum(r.waited_s for _, r in rechecked)
    if waited >= 0.5:
        count = sum(1 for _, r in rechecked if r.waited_s > 0)
        lines.append(
            (
                f"waited {waited:.0f} s in all for a busy machine to quieten before "
                f"re-measuring ({count} test{'s' * (count != 1)})",
                {},
            )
        )
    return lines


def save_lines(report: SaveReport | None, folder: str, skipped_reason: str | None) -> list[Line]:
    """What saving did: where to, how many, and every file it could not write."""
    lines: list[Line] = []
    if skipped_reason:
        lines.append((f"baselines not saved: {skipped_reason}", {"yellow": True}))
    if report is None:
        return lines
    if report.saved:
        files = len(report.written)
        afresh = len(report.restarted)
        restarted = (
            f"; {afresh} started afresh, {'their' if afresh != 1 else 'its'} performance "
            "having changed beyond the threshold"
            if afresh
            else ""
        )
        lines.append(
            (
                f"saved {len(report.saved)} test{'s' * (len(report.saved) != 1)} to {folder} "
                f"({files} file{'s' * (files != 1)}{restarted}); commit it to share the "
                "baseline",
                {"green": True},
            )
        )
    lines += [(f"baseline NOT saved: {error}", {"red": True}) for error in report.errors]
    return lines


def render_summary(
    report: RunReport,
    *,
    verbose: bool,
    folder: str,
    saved: SaveReport | None,
    save_skipped_reason: str | None,
    outputs: Outputs,
) -> tuple[str, list[Line]]:
    """The whole terminal section: its title and its lines, from the run report.

    Quiet: the overview, the breakdowns of tests that opened spans, and what needs a look;
    ``-v``: every metric of every test, all breakdowns and all verdicts.
    """
    results = [entry.result for entry in report.tests]
    title = f"perfbaseline: {len(results)} perf test{'s' * (len(results) != 1)}"
    if report.ab_tests:
        count = len(report.ab_tests)
        ab = f"{count} A/B test{'s' * (count != 1)}"
        title = f"{title}, {ab}" if results else f"perfbaseline: {ab}"
    lines: list[Line] = [(line, {}) for line in render_overview(results)] if results else []
    lines += [(line, {}) for line in render_iterations(results)]
    for result in results:
        details = render_details(result) if verbose else []
        breakdown = render_breakdowns(result, spans_only=not verbose)
        if details or breakdown:
            lines += [("", {}), (result.nodeid, {"bold": True})]
        body = details + ([""] if details and breakdown else []) + breakdown
        lines += [(line, {}) for line in body]
    if report.compare:
        comparisons = [entry.comparison for entry in report.tests if entry.comparison]
        lines += verdict_lines(
            comparisons, profile=report.profile, verbose=verbose, saving=report.save
        )
    from .ab import ab_terminal_lines

    lines += ab_terminal_lines(report.ab_tests, verbose=verbose)
    lines += save_lines(saved, folder, save_skipped_reason)
    lines += [(f"wrote the {line}", {}) for line in outputs.written]
    lines += [(f"report NOT written: {e}", {"red": True}) for e in outputs.errors]
    from .single_run import session_lines

    lines += session_lines(report, verbose=verbose)
    if not verbose and results:
        lines.append(("(-v: every metric of every test, all breakdowns and all verdicts)", {}))
    return title, lines
