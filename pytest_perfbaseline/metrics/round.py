"""Turn a round's raw record into named per-round metric values (SPEC section 4).

Per stream (definitions follow vLLM's serving benchmark):

- ``ttft_s``: stream start to the first chunk that carries output;
- ``e2e_s``: stream start to the last chunk that carries output;
- ``itl_*``: gaps between consecutive output-bearing chunks, summarised per round as
  ``itl_p50_s``, ``itl_p95_s``, ``itl_max_s``;
- ``tpot_s``: ``(e2e_s - ttft_s) / (output_tokens - 1)`` when ``output_tokens > 1``;
- ``tokens_per_s``: ``output_tokens / e2e_s``.

A round may hold several streams. The bare names (``ttft_s`` ...) describe all the round's
streams together; a stream given ``name="planner"`` is also reported as ``planner.ttft_s`` ...
When several streams share a key, the time metrics and ``tokens_per_s`` are the mean over
those streams (like a serving benchmark's per-request mean), gaps are pooled, and
``output_tokens`` is summed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from itertools import chain
from operator import sub
from typing import Literal

from ..chunks.shapes import StreamFacts, analyze_chunks
from ..measure.recorder import RoundRecord, StreamRecord
from ..measure.spans import SPAN_KINDS, Attribution
from ..usage.tokens import Usage
from .summary import percentile

__all__ = [
    "STREAM_METRICS",
    "MetricInfo",
    "MetricKind",
    "RoundMetrics",
    "builtin_metric_info",
    "compute_round",
]

MetricKind = Literal["time", "rate", "count", "cost", "custom"]
STREAM_METRICS = (
    "ttft_s",
    "e2e_s",
    "itl_p50_s",
    "itl_p95_s",
    "itl_max_s",
    "tpot_s",
    "tokens_per_s",
)
_TOKEN_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
)
_BREAKDOWN_TOKEN_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "reasoning_tokens",
)
_TIME_NAMES = frozenset({*STREAM_METRICS, "round_s", "s"} - {"tokens_per_s"})


@dataclass(frozen=True)
class MetricInfo:
    """A metric's unit, direction and kind (the kind picks its default threshold)."""

    unit: str
    higher_is_better: bool
    kind: MetricKind

    def to_dict(self) -> dict[str, object]:
        return {"unit": self.unit, "higher_is_better": self.higher_is_better, "kind": self.kind}


_TIME = MetricInfo("s", False, "time")
_RATE = MetricInfo("tok/s", True, "rate")
_TOKENS = MetricInfo("tokens", False, "count")
_CALLS = MetricInfo("calls", False, "count")
_COST = MetricInfo("USD", False, "cost")


def builtin_metric_info(name: str) -> MetricInfo | None:
    """Unit and direction of a built-in metric name, or None for a custom name."""
    base = name.rsplit(".", 1)[-1]
    if base == "tokens_per_s":
        return _RATE
    if base in _TIME_NAMES:
        return _TIME
    if base.endswith("_tokens"):
        return _TOKENS
    if base == "api_calls":
        return _CALLS
    if base == "cost_usd":
        return _COST
    return None


@dataclass
class RoundMetrics:
    """One round's metric values, plus what feeds reports beyond the values."""

    values: dict[str, float | None]
    gaps_ns: list[int] = field(default_factory=list)
    """Every inter-chunk gap of the round (all streams), for the ITL histogram."""
    token_sources: dict[str, str] = field(default_factory=dict)
    """Per stream key ("" for all streams) where ``output_tokens`` came from."""
    custom_info: dict[str, MetricInfo] = field(default_factory=dict)
    unpriced_models: set[str] = field(default_factory=set)
    """Models that reported usage but have no price."""
    unreported_models: set[str] = field(default_factory=set)
    """Models whose stream reported no usage, so their cost is unknown."""


@dataclass(frozen=True)
class _Call:
    """One API call's tokens and cost, streamed or recorded."""

    tokens: dict[str, int]
    model: str | None
    attribution: Attribution
    cost: float | None


@dataclass(frozen=True)
class _StreamStats:
    name: str | None
    ttft_ns: int | None
    e2e_ns: int | None
    gaps_ns: list[int]
    facts: StreamFacts


def _stream_stats(record: StreamRecord) -> _StreamStats:
    facts = analyze_chunks(record.chunks, record.tokens)
    times = record.times
    out = facts.output_indices
    if not out:
        return _StreamStats(record.name, None, None, [], facts)
    stamps = times if len(out) == len(times) else [times[i] for i in out]
    gaps = list(map(sub, stamps[1:], stamps[:-1]))
    return _StreamStats(
        record.name, stamps[0] - record.start_ns, stamps[-1] - record.start_ns, gaps, facts
    )


def _mean(values: list[float]) -> float:
    return math.fsum(values) / len(values)


def _stream_group(prefix: str, group: list[_StreamStats], values: dict[str, float | None]) -> None:
    # (ttft, e2e, output tokens) of the streams that produced output at all
    timed = [
        (s.ttft_ns / 1e9, s.e2e_ns / 1e9, s.facts.output_tokens)
        for s in group
        if s.ttft_ns is not None and s.e2e_ns is not None
    ]
    if not timed:
        return
    values[prefix + "ttft_s"] = _mean([ttft for ttft, _, _ in timed])
    values[prefix + "e2e_s"] = _mean([e2e for _, e2e, _ in timed])
    gaps = sorted(chain.from_iterable(s.gaps_ns for s in group))
    if gaps:
        values[prefix + "itl_p50_s"] = percentile(gaps, 50.0) / 1e9
        values[prefix + "itl_p95_s"] = percentile(gaps, 95.0) / 1e9
        values[prefix + "itl_max_s"] = gaps[-1] / 1e9
    tpots = [(e2e - ttft) / (tokens - 1) for ttft, e2e, tokens in timed if tokens > 1]
    if tpots:
        values[prefix + "tpot_s"] = _mean(tpots)
    rates = [tokens / e2e for _, e2e, tokens in timed if e2e > 0]
    if rates:
        values[prefix + "tokens_per_s"] = _mean(rates)


def _token_source(group: Iterable[_StreamStats]) -> str:
    sources = {s.facts.token_source for s in group}
    return sources.pop() if len(sources) == 1 else "mixed"


def _sum_costs(costs: Iterable[float | None]) -> float | None:
    total = 0.0
    for cost in costs:
        if cost is None:
            return None  # a partial sum would understate the cost without saying so
        total += cost
    return total


def _add_calls(
    prefix: str,
    calls: list[_Call],
    values: dict[str, float | None],
    token_fields: tuple[str, ...] = _TOKEN_FIELDS,
) -> None:
    for name in token_fields:
        values[prefix + name] = float(sum(c.tokens[name] for c in calls))
    values[prefix + "api_calls"] = float(len(calls))
    values[prefix + "cost_usd"] = _sum_costs(c.cost for c in calls)


def compute_round(rnd: RoundRecord, cost_of: Callable[[Usage], float | None]) -> RoundMetrics:
    """Compute every metric of a finished round.

    ``cost_of`` prices one call's usage and returns None when the model has no price.
    """
    end_ns = rnd.end_ns if rnd.end_ns is not None else rnd.start_ns
    values: dict[str, float | None] = {"round_s": (end_ns - rnd.start_ns) / 1e9}
    result = RoundMetrics(values)

    streams = [_stream_stats(s) for s in rnd.streams if not s.failed]
    calls: list[_Call] = []
    for stats, record in zip(streams, (s for s in rnd.streams if not s.failed), strict=True):
        usage = stats.facts.usage
        model = record.model_hint or stats.facts.model or (usage.model if usage else None)
        tokens = {name: getattr(usage, name) if usage else 0 for name in _TOKEN_FIELDS}
        tokens["output_tokens"] = stats.facts.output_tokens
        cost: float | None = None
        if usage is not None and model is not None:
            # The breakdown keeps the requested name (stable when an alias moves to a new
            # snapshot), but the price is the served model's when the table knows it: a dated
            # snapshot can cost more than its alias, and a deployment name has no price at all.
            served = stats.facts.model or usage.model
            for candidate in dict.fromkeys(n for n in (served, model) if n):
                cost = cost_of(replace(usage, model=candidate))
                if cost is not None:
                    break
            if cost is None:
                result.unpriced_models.add(model)
        elif model is not None:
            result.unreported_models.add(model)
        calls.append(_Call(tokens, model, record.attribution, cost))
    for recorded in rnd.usages:
        usage = recorded.usage()
        cost = cost_of(usage) if usage.model is not None else None
        if cost is None and usage.model is not None:
            result.unpriced_models.add(usage.model)
        tokens = {name: getattr(usage, name) for name in _TOKEN_FIELDS}
        calls.append(_Call(tokens, usage.model, recorded.attribution, cost))

    if streams:
        _stream_group("", streams, values)
        result.token_sources[""] = _token_source(streams)
        named: dict[str, list[_StreamStats]] = {}
        for stats in streams:
            if stats.name is not None:
                named.setdefault(stats.name, []).append(stats)
        for name, group in named.items():
            _stream_group(f"{name}.", group, values)
            values[f"{name}.output_tokens"] = float(sum(s.facts.output_tokens for s in group))
            result.token_sources[name] = _token_source(group)
        result.gaps_ns = list(chain.from_iterable(s.gaps_ns for s in streams))

    _add_calls("", calls, values)

    for kind in SPAN_KINDS:
        durations: dict[str, int] = {}
        for span in rnd.spans:
            if span.kind == kind:
                durations[span.name] = durations.get(span.name, 0) + span.end_ns - span.start_ns
        for name, total_ns in durations.items():
            values[f"{kind}.{name}.s"] = total_ns / 1e9
        by_name: dict[str, list[_Call]] = {}
        for call in calls:
            owner = call.attribution.name_of(kind)
            if owner is not None:
                by_name.setdefault(owner, []).append(call)
        for name, owned in by_name.items():
            _add_calls(f"{kind}.{name}.", owned, values, _BREAKDOWN_TOKEN_FIELDS)
    by_model: dict[str, list[_Call]] = {}
    for call in calls:
        if call.model is not None:
            by_model.setdefault(call.model, []).append(call)
    for name, model_calls in by_model.items():
        _add_calls(f"model.{name}.", model_calls, values, _BREAKDOWN_TOKEN_FIELDS)

    for name, custom in rnd.custom.items():
        values[name] = custom.value
        result.custom_info[name] = MetricInfo(custom.unit, custom.higher_is_better, "custom")
    return result
