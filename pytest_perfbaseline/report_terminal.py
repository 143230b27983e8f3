"""The terminal summary: one section after the tests, compact by default, more with ``-v``."""

from __future__ import annotations

from collections.abc import Sequence

from .fmt import format_cost, format_count, format_seconds, format_value
from .results import TestResult
from .summary import Summary

__all__ = ["breakdown_rows", "render_breakdowns", "render_details", "render_overview"]

BREAKDOWN_KINDS = ("phase", "agent", "operation", "model")


def _table(rows: Sequence[Sequence[str]], headers: Sequence[str], right_from: int = 1) -> list[str]:
    from tabulate import tabulate  # heavy-ish: only once there is something to print

    align = ["left"] * right_from + ["right"] * (len(headers) - right_from)
    return str(tabulate(rows, headers=headers, tablefmt="simple", colalign=align)).splitlines()


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
        s = result.summary()
        rate = _median(s, "tokens_per_s")
        rows.append(
            [
                result.nodeid,
                str(len(result.rounds)),
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
    return _table(rows, headers)


def breakdown_rows(result: TestResult) -> list[tuple[str, str]]:
    """(kind, name) of every phase, agent, operation and model the test reported."""
    found: set[tuple[str, str]] = set()
    for metric in result.infos:
        kind, _, rest = metric.partition(".")
        if kind not in BREAKDOWN_KINDS or "." not in rest:
            continue
        name, _, _field = rest.rpartition(".")
        found.add((kind, name))
    order = {kind: i for i, kind in enumerate(BREAKDOWN_KINDS)}
    return sorted(found, key=lambda item: (order[item[0]], item[1]))


def render_breakdowns(result: TestResult) -> list[str]:
    """Median time, tokens, calls and cost per phase / agent / operation / model."""
    entries = breakdown_rows(result)
    if not entries:
        return []
    s = result.summary()
    rows = []
    for kind, name in entries:
        prefix = f"{kind}.{name}."
        rows.append(
            [
                kind,
                name,
                format_seconds(_median(s, prefix + "s")),
                format_count(_median(s, prefix + "input_tokens")),
                format_count(_median(s, prefix + "output_tokens")),
                format_count(_median(s, prefix + "api_calls")),
                format_cost(_median(s, prefix + "cost_usd")),
            ]
        )
    headers = ["kind", "name", "time p50", "in tok", "out tok", "calls", "cost"]
    return _table(rows, headers, right_from=2)


def render_details(result: TestResult) -> list[str]:
    """Every metric of one test: n, median, p95, min, max (``-v``)."""
    s = result.summary()
    rows = []
    for name in sorted(s):
        unit = result.infos[name].unit
        summary = s[name]
        rows.append(
            [
                name,
                str(summary.n),
                format_value(summary.median, unit),
                format_value(summary.p95, unit),
                format_value(summary.min, unit),
                format_value(summary.max, unit),
            ]
        )
    lines = _table(rows, ["metric", "n", "median", "p95", "min", "max"])
    if result.token_sources:
        sources = ", ".join(
            f"{key or 'all streams'}: {source}"
            for key, source in sorted(result.token_sources.items())
        )
        lines.append(f"output tokens counted from: {sources}")
    return lines
