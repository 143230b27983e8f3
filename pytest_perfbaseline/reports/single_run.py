"""Recommendations one run's results support on their own: noise, tails, TTFT, cost, caching.

Cheap and stdlib-only (medians over the rounds of each test), so a session computes them for
its terminal summary and its JSON report. Every threshold is a named constant, documented in
docs/history.md ("Recommendations").
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from ..gate.compare import Comparison, metric_alpha
from ..gate.rounds import MAX_ROUNDS_NEEDED, rounds_needed_hint
from ..gate.settings import DEFAULT_DELTAS, TestSettings
from ..metrics.formatting import format_cost, format_percent, format_seconds
from ..metrics.summary import exact_stdev
from .recommendation import Kind, Recommendation, render_recommendations

if TYPE_CHECKING:
    from .run import RunReport, TestEntry

__all__ = [
    "CACHED_SHARE_LOW",
    "CACHE_MIN_INPUT_TOKENS",
    "COST_SHARE",
    "DETECT_FACTOR",
    "ITL_TAIL_MIN_S",
    "ITL_TAIL_RATIO",
    "NOISY_EXCESS",
    "NOISY_MIN_ROUNDS",
    "TERMINAL_LIMIT",
    "TTFT_MIN_OUTPUT_TOKENS",
    "TTFT_SHARE",
    "run_recommendations",
    "session_lines",
    "session_recommendations",
]

DETECT_FACTOR = 2.0
"""A metric is noisy when the gate needs more than ``NOISY_EXCESS`` times the test's rounds to
catch a change of ``DETECT_FACTOR`` times its threshold (+20% for a 10% threshold) with 80%
power..."""
NOISY_EXCESS = 2.0
"""...(a smaller shortfall the gate makes up itself, measuring more rounds when in doubt)."""
NOISY_MIN_ROUNDS = 3
"""Fewer rounds give no usable estimate of the noise."""
ITL_TAIL_RATIO = 4.0
"""The inter-token gaps' p95 over their median (p50), per round, above which the tail is heavy."""
ITL_TAIL_MIN_S = 0.02
"""...and only when the p95 gap is at least this long: shorter stalls are not seen by a reader."""
TTFT_SHARE = 0.6
"""Time to first token dominates when it is more than this share of the end-to-end time..."""
TTFT_MIN_OUTPUT_TOKENS = 16
"""...in streams of at least this many output tokens (in a one-chunk answer it is all of it)."""
COST_SHARE = 0.5
"""An agent or model that takes more than this share of the run's cost is where the money goes
(named only when there are at least two to compare)."""
CACHE_MIN_INPUT_TOKENS = 1024
"""Prompt caching pays on prompts at least this long (the providers' minimum cacheable prefix)..."""
CACHED_SHARE_LOW = 0.2
"""...read from the cache for less than this share of their input tokens."""

TERMINAL_LIMIT = 3
"""Recommendations shown in the terminal summary without ``-v``."""

_SHARE_SCOPES = ("agent", "model")


_ACTIONS: dict[Kind, str] = {
    "itl_tail": "look for stalls between chunks: server-side batching or rate limits, buffering "
    "proxies, or a slow consumer of the stream",
    "ttft_share": "the wait is before the answer starts: shorten or cache the prompt, or use a "
    "model, region or provider with less queueing",
    "cached_share": "put the stable part of the prompt (system prompt, tools, documents) first "
    "and enable prompt caching: cached input is billed at a fraction of the price",
}


def _of_test(
    kind: Kind, entry: TestEntry, metric: str, numbers: Mapping[str, float | None], finding: str
) -> Recommendation:
    return Recommendation(kind, entry.nodeid, metric, numbers, finding, _ACTIONS[kind])


def _median_of(entry: TestEntry, key: str) -> float | None:
    values = entry.result.values(key)
    return statistics.median(values) if values else None


def _gated(entry: TestEntry, key: str) -> Comparison | bool:
    """The metric's comparison when the run compared it, else whether the default gate has it."""
    if entry.comparison is not None:
        for comparison in entry.comparison.comparisons:
            if comparison.metric == key:
                return comparison
    info = entry.result.infos[key]
    return TestSettings().gates(key, custom=info.kind == "custom")


def _noise_candidates(entry: TestEntry) -> list[tuple[str, list[float], Comparison | None]]:
    """Gated times, rates and custom metrics that vary over enough positive rounds."""
    found = []
    for key, info in sorted(entry.result.infos.items()):
        gated = _gated(entry, key)
        if info.kind in ("count", "cost") or gated is False:
            continue
        if isinstance(gated, Comparison) and not gated.gated:
            continue
        values = entry.result.values(key)
        if len(values) >= NOISY_MIN_ROUNDS and min(values) > 0 and len(set(values)) > 1:
            found.append((key, values, gated if isinstance(gated, Comparison) else None))
    return found


def _noisy(report: RunReport, entry: TestEntry) -> list[Recommendation]:
    candidates = _noise_candidates(entry)
    test_alpha = report.alpha / max(1, report.perf_tests)
    found = []
    for key, values, comparison in candidates:
        kind = entry.result.infos[key].kind
        threshold = comparison.threshold if comparison else DEFAULT_DELTAS[kind]
        alpha = comparison.alpha if comparison and comparison.alpha else None
        alpha = alpha or metric_alpha(test_alpha, len(candidates))
        sd_log = exact_stdev([math.log(v) for v in values])
        detect = DETECT_FACTOR * threshold
        shift = math.log1p(detect) - math.log1p(threshold)
        needed = rounds_needed_hint(shift / sd_log, alpha)
        if needed is None or needed <= NOISY_EXCESS * len(values):
            continue
        cv = math.sqrt(math.expm1(sd_log**2))
        too_noisy = needed >= MAX_ROUNDS_NEEDED
        action = (
            "too noisy to gate: make the workload steadier (a quieter runner, a local or "
            "recorded model) or give it a wider threshold"
            if too_noisy
            else f"give the test rounds={needed} (marker) or --perf-rounds={needed}, or make "
            "the workload steadier"
        )
        found.append(
            Recommendation(
                kind="noisy",
                test=entry.nodeid,
                metric=key,
                numbers={
                    "cv": cv,
                    "rounds": len(values),
                    "rounds_needed": needed,
                    "detect": detect,
                    "threshold": threshold,
                    "alpha": alpha,
                },
                finding=(
                    f"{key} of {entry.nodeid} varies {format_percent(round(cv, 3))} a round: "
                    f"the gate needs ~{needed} rounds a side to catch a "
                    f"+{format_percent(detect)} change (threshold {format_percent(threshold)}), "
                    f"the test has {len(values)}"
                ),
                action=action,
            )
        )
    return found


def _itl_tail(entry: TestEntry) -> list[Recommendation]:
    p50, p95 = _median_of(entry, "itl_p50_s"), _median_of(entry, "itl_p95_s")
    if p50 is None or p95 is None or p50 <= 0:
        return []
    ratio = p95 / p50
    if ratio < ITL_TAIL_RATIO or p95 < ITL_TAIL_MIN_S:
        return []
    finding = (
        f"inter-token gaps of {entry.nodeid} have a heavy tail: p95 {format_seconds(p95)} is "
        f"{ratio:.1f}x the median gap {format_seconds(p50)}"
    )
    numbers = {"itl_p50_s": p50, "itl_p95_s": p95, "ratio": ratio}
    return [_of_test("itl_tail", entry, "itl_p95_s", numbers, finding)]


def _ttft_share(entry: TestEntry) -> list[Recommendation]:
    result = entry.result
    shares = [
        ttft / e2e
        for ttft, e2e in zip(result.column("ttft_s"), result.column("e2e_s"), strict=True)
        if ttft is not None and e2e
    ]
    tokens = _median_of(entry, "output_tokens")
    if not shares or tokens is None or tokens < TTFT_MIN_OUTPUT_TOKENS:
        return []
    share = statistics.median(shares)
    if share <= TTFT_SHARE:
        return []
    finding = (
        f"time to first token is {format_percent(round(share, 2))} of the end-to-end time of "
        f"{entry.nodeid}"
    )
    numbers = {"share": share, "ttft_s": _median_of(entry, "ttft_s")}
    return [_of_test("ttft_share", entry, "ttft_s", numbers, finding)]


def _cached_share(entry: TestEntry) -> list[Recommendation]:
    inputs = _median_of(entry, "input_tokens")
    if inputs is None or inputs < CACHE_MIN_INPUT_TOKENS:
        return []
    cached = _median_of(entry, "cached_input_tokens") or 0.0
    share = cached / inputs
    if share >= CACHED_SHARE_LOW:
        return []
    finding = (
        f"{entry.nodeid} sends {inputs:.0f} input tokens a round, "
        f"{format_percent(round(share, 3))} of them from the prompt cache"
    )
    numbers = {"input_tokens": inputs, "cached_input_tokens": cached, "share": share}
    return [_of_test("cached_share", entry, "cached_input_tokens", numbers, finding)]


def _costs(tests: Sequence[TestEntry], scope: str) -> dict[str, float]:
    """Per owner of ``scope``: the median cost a round, summed over the tests."""
    costs: dict[str, float] = defaultdict(float)
    for entry in tests:
        for key in entry.result.infos:
            name = entry.result.name_of(key)
            if name.scope == scope and name.quantity == "cost_usd" and name.owner:
                costs[name.owner] += _median_of(entry, key) or 0.0
    return costs


def _cost_share(tests: Sequence[TestEntry]) -> list[Recommendation]:
    found = []
    for scope in _SHARE_SCOPES:
        costs = _costs(tests, scope)
        total = sum(costs.values())
        if len(costs) < 2 or total <= 0:
            continue
        owner = max(sorted(costs), key=costs.__getitem__)
        share = costs[owner] / total
        if share <= COST_SHARE:
            continue
        found.append(
            Recommendation(
                kind="cost_share",
                test=None,
                metric=f"{scope}.{owner}.cost_usd",
                numbers={
                    "scope": scope,
                    "owner": owner,
                    "share": share,
                    "cost_usd": costs[owner],
                    "total_usd": total,
                },
                finding=(
                    f"{scope} {owner} takes {format_percent(round(share, 3))} of the cost "
                    f"({format_cost(costs[owner])} of {format_cost(total)} a round, over all "
                    "tests)"
                ),
                action=(
                    f"save there first: a smaller model for {owner}, shorter prompts or "
                    "answers, prompt caching"
                ),
            )
        )
    return found


def run_recommendations(report: RunReport) -> list[Recommendation]:
    """What the run's results alone recommend: noisy metrics and the rounds they need, heavy
    inter-token tails, TTFT dominating end-to-end time, low cached-input shares, and the
    agent and model that take most of the cost. Stdlib only: cheap enough for every session."""
    found: list[Recommendation] = []
    for entry in report.tests:
        if entry.outcome == "skipped" or not entry.result.round_count:
            continue
        found += _noisy(report, entry)
        found += _itl_tail(entry)
        found += _ttft_share(entry)
        found += _cached_share(entry)
    found += _cost_share([e for e in report.tests if e.result.round_count])
    return found


def session_recommendations(report: RunReport) -> list[Recommendation]:
    """:func:`run_recommendations`, most pressing first: the session's terminal summary and
    the ``recommendations`` of its JSON report (worked out once per report)."""
    return list(report.recommendations)


def session_lines(report: RunReport, *, verbose: bool) -> list[tuple[str, dict[str, bool]]]:
    """The terminal summary's recommendations: a heading and at most ``TERMINAL_LIMIT`` lines
    (every one with ``verbose``); nothing when there are none."""
    found = session_recommendations(report)
    if not found:
        return []
    lines = render_recommendations(found, None if verbose else TERMINAL_LIMIT)
    return [("", {}), ("recommendations:", {"bold": True}), *((line, {}) for line in lines)]
