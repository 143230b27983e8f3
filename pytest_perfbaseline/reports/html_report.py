"""The ``--perf-html`` report: one self-contained, offline HTML page of a session.

Rendered from the run report's JSON document (:func:`.json_report.report_to_dict`, built once
per session), cut down to what the page shows: per test, the per-round values of the gated
metrics against the baseline, the inter-token-latency histogram, TTFT / TPOT / tokens-per-second
values, usage and cost by phase, agent, operation and model, the baseline's provenance and each
verdict with its interval and p-value; and the run's recommendations. Tests come worst first
(:data:`.run.VERDICT_ORDER`, then the largest change). The page's script
(``html/static/report.js``) draws it, setting every string from the data as text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..metrics.formatting import format_ratio
from .run import VERDICT_ORDER

if TYPE_CHECKING:
    from .run import RunReport

__all__ = ["ab_headline", "headline", "page_data", "render_document", "render_html"]

DISTRIBUTIONS = ("ttft_s", "tpot_s", "tokens_per_s")
"""The round metrics whose per-round values the page shows as distributions."""

_PLAIN_STRIP = ("ttft_s", "tpot_s", "e2e_s", "round_s")
"""Without a baseline, the round times whose per-round values the strip plot shows."""

_USAGE = ("cost_usd", "input_tokens", "output_tokens", "api_calls", "s")
_BASELINE_KEYS = ("baseline_saved_at", "baseline_age_s", "baseline_origin", "baseline_sessions")
_NOTABLE = frozenset(("regressed", "improved", "undecided"))
_UNRANKED = len(VERDICT_ORDER)


def render_html(report: RunReport, document: Mapping[str, Any] | None = None) -> str:
    """The page. ``document``: the report's JSON document, when the caller already has it."""
    if document is None:
        from .json_report import report_to_dict

        document = report_to_dict(report)
    return render_document(document)


def render_document(document: Mapping[str, Any]) -> str:
    """The page of a report's JSON document (a ``--perf-json`` file's, read back)."""
    from ..html.page import render_page, static_text

    return render_page(
        title="pytest-perfbaseline report",
        data=page_data(document),
        script=static_text("report.js"),
        style=static_text("report.css"),
        body='<main id="main" tabindex="-1"><p class="muted">Loading the report…</p></main>',
    )


def page_data(document: Mapping[str, Any]) -> dict[str, Any]:
    """What the page shows, from the report's JSON document: small enough for 50 tests."""
    session = document["session"]
    tests = sorted((_test(item) for item in document["tests"]), key=_rank)
    data: dict[str, Any] = {
        "created_at": document["created_at"],
        "mode": "compare" if session["compare"] else "save" if session["save"] else "run",
        "session": session,
        "environment": document["environment"],
        "counts": document.get("counts"),
        "verdict_order": list(VERDICT_ORDER),
        "headline": _full_headline(tests, document),
        "tests": tests,
        "recommendations": list(document.get("recommendations", ())),
    }
    if "ab" in document:
        data["ab"] = document["ab"]
    return data


def _rank(test: Mapping[str, Any]) -> tuple[int, float, str]:
    verdict = test["verdict"]
    order = VERDICT_ORDER.index(verdict) if verdict in VERDICT_ORDER else _UNRANKED
    worst = test["worst"]
    size = abs(math.log(worst["ratio"])) if worst and worst["ratio"] else 0.0
    return order, -size, test["id"]


def _full_headline(tests: Sequence[Mapping[str, Any]], document: Mapping[str, Any]) -> str:
    ab = ab_headline(document.get("ab") or ())
    if not tests and ab:
        return ab
    text = headline(tests, document.get("counts"), document["session"]["compare"])
    return f"{text.removesuffix('.')}; {ab}" if ab else text


def headline(tests: Sequence[Mapping[str, Any]], counts: Any, compare: bool) -> str:
    """One sentence a newcomer reads first: how many regressed, and the worst changes."""
    total = len(tests)
    noun = "test" if total == 1 else "tests"
    if not compare:
        return f"{total} perf {noun} measured; no comparison with a baseline in this run."
    regressed = [t for t in tests if t["verdict"] == "regressed"]
    others = [
        f"{counts[v]} {v}" for v in VERDICT_ORDER[1:] if counts and counts.get(v) and v != "new"
    ]
    tail = f"; {', '.join(others)}" if others else ""
    if not regressed:
        return f"No regression: none of {total} {noun} regressed{tail}."
    shown = "; ".join(_change_text(t) for t in regressed[:3])
    more = f"; and {len(regressed) - 3} more" if len(regressed) > 3 else ""
    return f"{len(regressed)} of {total} {noun} regressed: {shown}{more}{tail}."


def ab_headline(records: Sequence[Mapping[str, Any]]) -> str:
    """The headline's A/B part: per A/B test (``ab`` records) b's verdict against a, with the
    worst gated metric's ratio b/a ("A/B: test_x: short improved against long (output_tokens
    x0.50)"); empty without A/B tests."""
    if not records:
        return ""
    return "A/B: " + "; ".join(_ab_text(r) for r in records) + "."


def _ab_text(record: Mapping[str, Any]) -> str:
    a, b = record["labels"]
    name = str(record["nodeid"]).rsplit("::", 1)[-1]
    text = f"{name}: {b} {record['verdict']} against {a}"
    worst = ab_worst(record)
    if worst is not None and worst["ratio"] is not None:
        text += f" ({worst['metric']} x{worst['ratio']:.2f})"
    return text


def ab_worst(record: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The gated metric that decides an A/B record's verdict (:attr:`.ABResult.worst`: the
    worst verdict first, then the largest change); None without a gated metric."""
    from ..gate.ab import ABResult

    worst = ABResult.from_dict(record).worst
    if worst is None:
        return None
    metric: Mapping[str, Any] = next(m for m in record["metrics"] if m["metric"] == worst.metric)
    return metric


def _change_text(test: Mapping[str, Any]) -> str:
    worst = test["worst"]
    name = str(test["id"]).rsplit("::", 1)[-1]
    if not worst:
        return name
    text = f"{name} {worst['metric']} {format_ratio(worst['ratio'])}"
    if worst["low"] is not None and worst["high"] is not None:
        text += f" ({format_ratio(worst['low'])}..{format_ratio(worst['high'])})"
    return text


def _test(item: Mapping[str, Any]) -> dict[str, Any]:
    metrics: Mapping[str, Any] = item["metrics"]
    comparison = item.get("comparison")
    columns = _columns(item.get("rounds") or (), metrics)
    compared = _compared(comparison, columns, metrics) if comparison else _plain(columns, metrics)
    return {
        "id": item["nodeid"],
        "outcome": item["outcome"],
        "rounds": len(item.get("rounds") or ()),
        "verdict": comparison["verdict"] if comparison else None,
        "worst": _worst(compared) if comparison else None,
        "baseline": _baseline(comparison) if comparison else None,
        "compared": compared,
        "itl": item.get("itl_histogram") or [],
        "itl_pooled": item.get("itl_pooled"),
        "dist": {
            key: {"unit": metrics[key]["unit"], "values": columns.get(key, [])}
            for key in DISTRIBUTIONS
            if key in metrics
        },
        "usage": _usage(metrics),
    }


def _columns(rounds: Sequence[Mapping[str, float]], metrics: Mapping[str, Any]) -> dict[str, Any]:
    """Per-round values by metric, for the round and stream metrics (the strip plots')."""
    keep = [k for k, m in metrics.items() if m["name"][0] in ("round", "stream", "custom")]
    return {k: [r[k] for r in rounds if k in r] for k in keep}


def _compared(
    comparison: Mapping[str, Any], columns: Mapping[str, Any], metrics: Mapping[str, Any]
) -> list[dict[str, Any]]:
    shown = []
    for key, c in comparison["metrics"].items():
        if not (c.get("gated") or c.get("verdict") in _NOTABLE):
            continue
        shown.append(
            {
                "metric": key,
                "unit": c.get("unit") or metrics.get(key, {}).get("unit", ""),
                "hib": bool(c.get("higher_is_better")),
                "gated": bool(c.get("gated")),
                "verdict": c.get("verdict"),
                "ratio": c.get("ratio"),
                "low": c.get("ratio_low"),
                "high": c.get("ratio_high"),
                "pvalue": c.get("pvalue"),
                "threshold": c.get("threshold"),
                "drift": c.get("drift"),
                "base": c.get("baseline_median"),
                "cur": c.get("current_median"),
                "n_base": c.get("n_baseline"),
                "values": columns.get(key, []),
            }
        )
    shown.sort(key=lambda c: (_verdict_rank(c["verdict"]), c["metric"]))
    return shown


def _verdict_rank(verdict: Any) -> int:
    return VERDICT_ORDER.index(verdict) if verdict in VERDICT_ORDER else _UNRANKED


def _plain(columns: Mapping[str, Any], metrics: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "metric": key,
            "unit": metrics[key]["unit"],
            "hib": bool(metrics[key]["higher_is_better"]),
            "values": columns[key],
        }
        for key in _PLAIN_STRIP
        if key in metrics and columns.get(key)
    ]


def _worst(compared: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The test's headline change: its largest change among metrics of its worst verdict."""
    ranked = [c for c in compared if c["ratio"] is not None and c["ratio"] > 0]
    if not ranked:
        return None
    best = min(ranked, key=lambda c: (_verdict_rank(c["verdict"]), -abs(math.log(c["ratio"]))))
    return {key: best[key] for key in ("metric", "ratio", "low", "high", "pvalue", "verdict")}


def _baseline(comparison: Mapping[str, Any]) -> dict[str, Any]:
    found = {key.removeprefix("baseline_"): comparison.get(key) for key in _BASELINE_KEYS}
    found["stale"] = comparison.get("stale")
    return found


def _usage(metrics: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Median per round of each phase's, agent's, operation's and model's usage and cost."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for metric in metrics.values():
        scope, owner, quantity = metric["name"]
        if scope not in ("phase", "agent", "operation", "model") or quantity not in _USAGE:
            continue
        summary = metric.get("summary") or {}
        row = rows.setdefault((scope, owner), {"scope": scope, "owner": owner})
        row[quantity] = summary.get("median")
    return list(rows.values())
