"""Turn a round's raw record into named per-round metric values.

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

A stream whose source raised (a failed call the workload caught, say to retry) still counts:
it is an API call, its reported tokens count, and its cost is unknown (null). It gives no time
metrics: its end is the failure's, not the answer's.

Every value is filed under a :class:`~pytest_perfbaseline.metrics.names.MetricName` built
here, so what a value belongs to (a stream, a span, a model, the user) is known, not guessed
from its string.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from itertools import chain, islice
from operator import sub

from ..chunks import StreamTotals
from ..metrics.histogram import SortedGaps
from ..metrics.names import (
    MetricInfo,
    MetricName,
    Scope,
    quantity_info,
)
from ..metrics.summary import percentile
from ..usage.tokens import Usage
from .recorder import RoundRecord, StreamRecord, UsageRecord
from .spans import SPAN_KINDS, Attribution

__all__ = ["CallFacts", "MetricNameClash", "RoundMetrics", "compute_round", "round_calls"]

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


class MetricNameClash(ValueError):
    """Two different metrics of a round render to the same name (a stream named like a span)."""


@dataclass
class RoundMetrics:
    """One round's metric values, plus what feeds reports beyond the values."""

    values: dict[str, float | None] = field(default_factory=dict)
    names: dict[str, MetricName] = field(default_factory=dict)
    """The structured name behind each key of ``values``."""
    gaps_ns: SortedGaps = field(default_factory=SortedGaps)
    """Every inter-chunk gap of the round (all streams), in ascending order, for the ITL
    histogram and the pooled gap summary."""
    token_sources: dict[str, str] = field(default_factory=dict)
    """Per stream key ("" for all streams) where ``output_tokens`` came from."""
    custom_info: dict[str, MetricInfo] = field(default_factory=dict)
    unpriced_models: set[str] = field(default_factory=set)
    """Models that reported usage but have no price."""
    unreported_models: set[str] = field(default_factory=set)
    """Models whose stream reported no usage, so their cost is unknown."""

    def put(self, scope: Scope, owner: str | None, quantity: str, value: float | None) -> None:
        name = MetricName(scope, owner, quantity)
        known = self.names.setdefault(name.key, name)
        if known != name:
            raise MetricNameClash(
                f"two metrics of this round are both named {name.key!r}: "
                f"{_describe(known)} and {_describe(name)}; rename one of them"
            )
        self.values[name.key] = value

    def info(self, key: str) -> MetricInfo | None:
        """Unit, direction and kind of one of this round's metrics."""
        if key in self.custom_info:
            return self.custom_info[key]
        return quantity_info(self.names[key].quantity)


def _describe(name: MetricName) -> str:
    if name.scope == "round":
        return f"the round's {name.quantity}"
    if name.scope == "custom":
        return "a custom metric (perf.metric)"
    if name.scope == "stream":
        return f"{name.quantity} of the stream named {name.owner!r}"
    return f"{name.quantity} of {name.scope} {name.owner!r}"


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
    start_ns: int
    stamps: Sequence[int]
    """When each chunk with output arrived."""
    facts: StreamTotals

    @property
    def ttft_ns(self) -> int | None:
        return self.stamps[0] - self.start_ns if self.stamps else None

    @property
    def e2e_ns(self) -> int | None:
        return self.stamps[-1] - self.start_ns if self.stamps else None

    def gaps_ns(self) -> Iterator[int]:
        """The gaps between consecutive chunks with output, computed as they are read."""
        stamps = self.stamps
        return map(sub, islice(stamps, 1, None), stamps)


def _stream_stats(record: StreamRecord) -> _StreamStats:
    times = record.output_times()
    return _StreamStats(record.name, record.start_ns, times, record.classifier.totals(len(times)))


def _mean(values: list[float]) -> float:
    return math.fsum(values) / len(values)


def _stream_group(
    scope: Scope, owner: str | None, group: list[_StreamStats], out: RoundMetrics
) -> None:
    # (ttft, e2e, output tokens) of the streams that produced output at all
    timed = [
        (s.ttft_ns / 1e9, s.e2e_ns / 1e9, s.facts.output_tokens)
        for s in group
        if s.ttft_ns is not None and s.e2e_ns is not None
    ]
    if not timed:
        return
    out.put(scope, owner, "ttft_s", _mean([ttft for ttft, _, _ in timed]))
    out.put(scope, owner, "e2e_s", _mean([e2e for _, e2e, _ in timed]))
    gaps = sorted(chain.from_iterable(s.gaps_ns() for s in group))
    if scope == "round":
        out.gaps_ns = SortedGaps(gaps)
    if gaps:
        out.put(scope, owner, "itl_p50_s", percentile(gaps, 50.0) / 1e9)
        out.put(scope, owner, "itl_p95_s", percentile(gaps, 95.0) / 1e9)
        out.put(scope, owner, "itl_max_s", gaps[-1] / 1e9)
    tpots = [(e2e - ttft) / (tokens - 1) for ttft, e2e, tokens in timed if tokens > 1]
    if tpots:
        out.put(scope, owner, "tpot_s", _mean(tpots))
    rates = [tokens / e2e for _, e2e, tokens in timed if e2e > 0]
    if rates:
        out.put(scope, owner, "tokens_per_s", _mean(rates))


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
    scope: Scope,
    owner: str | None,
    calls: list[_Call],
    out: RoundMetrics,
    token_fields: tuple[str, ...] = _TOKEN_FIELDS,
) -> None:
    for name in token_fields:
        out.put(scope, owner, name, float(sum(c.tokens[name] for c in calls)))
    out.put(scope, owner, "api_calls", float(len(calls)))
    out.put(scope, owner, "cost_usd", _sum_costs(c.cost for c in calls))


def _price_stream(
    stats: _StreamStats,
    record: StreamRecord,
    cost_of: Callable[[Usage], float | None],
    out: RoundMetrics,
) -> _Call:
    usage = stats.facts.usage
    model = record.model_hint or stats.facts.model or (usage.model if usage else None)
    tokens = {name: getattr(usage, name) if usage else 0 for name in _TOKEN_FIELDS}
    tokens["output_tokens"] = stats.facts.output_tokens
    cost: float | None = None
    if record.failed:
        # What a failed stream reported is a lower bound (Anthropic's input tokens from
        # message_start, the output that arrived); the bill is unknown, and 0 would hide it.
        # No warning: the workload saw the error itself. Usage reported early is a running
        # total (message_start says 1 output token), so the output that arrived may be more.
        tokens["output_tokens"] = max(tokens["output_tokens"], len(stats.stamps))
        return _Call(tokens, model, record.attribution, None)
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
            out.unpriced_models.add(model)
    elif model is not None:
        out.unreported_models.add(model)
    return _Call(tokens, model, record.attribution, cost)


def _price_recorded(
    recorded: UsageRecord, cost_of: Callable[[Usage], float | None], out: RoundMetrics
) -> _Call:
    usage = recorded.usage()
    cost = cost_of(usage) if usage.model is not None else None
    if cost is None and usage.model is not None:
        out.unpriced_models.add(usage.model)
    tokens = {name: getattr(usage, name) for name in _TOKEN_FIELDS}
    return _Call(tokens, usage.model, recorded.attribution, cost)


def _add_streams(streams: list[_StreamStats], out: RoundMetrics) -> None:
    _stream_group("round", None, streams, out)
    out.token_sources[""] = _token_source(streams)
    named: dict[str, list[_StreamStats]] = {}
    for stats in streams:
        if stats.name is not None:
            named.setdefault(stats.name, []).append(stats)
    for name, group in named.items():
        _stream_group("stream", name, group, out)
        out.put("stream", name, "output_tokens", float(sum(s.facts.output_tokens for s in group)))
        out.token_sources[name] = _token_source(group)


def _group_calls(calls: Iterable[_Call], scope: Scope) -> dict[str, list[_Call]]:
    """The calls of each owner of ``scope``: each span of that kind, or each model."""
    groups: dict[str, list[_Call]] = {}
    for call in calls:
        owner = call.model if scope == "model" else call.attribution.name_of(scope)  # type: ignore[arg-type]
        if owner is not None:
            groups.setdefault(owner, []).append(call)
    return groups


def _add_spans(rnd: RoundRecord, calls: list[_Call], out: RoundMetrics) -> None:
    for kind in SPAN_KINDS:
        durations: dict[str, int] = {}
        for span in rnd.spans:
            if span.kind == kind:
                durations[span.name] = durations.get(span.name, 0) + span.end_ns - span.start_ns
        for name, total_ns in durations.items():
            out.put(kind, name, "s", total_ns / 1e9)
        for name, owned in _group_calls(calls, kind).items():
            _add_calls(kind, name, owned, out, _BREAKDOWN_TOKEN_FIELDS)
    for name, model_calls in _group_calls(calls, "model").items():
        _add_calls("model", name, model_calls, out, _BREAKDOWN_TOKEN_FIELDS)


def compute_round(rnd: RoundRecord, cost_of: Callable[[Usage], float | None]) -> RoundMetrics:
    """Compute every metric of a finished round.

    ``cost_of`` prices one call's usage and returns None when the model has no price.
    Raises :class:`MetricNameClash` when two different metrics would share a name.
    """
    if not (rnd.streams or rnd.usages or rnd.spans or rnd.custom):
        return _timed_only(rnd)
    out = RoundMetrics()
    end_ns = rnd.end_ns if rnd.end_ns is not None else rnd.start_ns
    out.put("round", None, "round_s", (end_ns - rnd.start_ns) / 1e9)
    records = rnd.streams
    streams = [_stream_stats(s) for s in records]
    calls = [
        _price_stream(stats, rec, cost_of, out) for stats, rec in zip(streams, records, strict=True)
    ]
    calls += [_price_recorded(recorded, cost_of, out) for recorded in rnd.usages]
    # A failed stream's times end at the failure: they would make failing runs look fast.
    timed = [stats for stats, rec in zip(streams, records, strict=True) if not rec.failed]
    if timed:
        _add_streams(timed, out)
    _add_calls("round", None, calls, out)
    _add_spans(rnd, calls, out)
    for name, custom in rnd.custom.items():
        out.put("custom", None, name, custom.value)
        out.custom_info[name] = MetricInfo(custom.unit, custom.higher_is_better, "custom")
    return out


# What a round that recorded nothing but its time has: its duration, and zero calls, tokens
# and cost -- exactly what the general path computes for it, built without that path's work,
# for a fast workload's rounds. Only the values are the round's own (a calibrated round's are
# changed afterwards); what is the same for every such round is one object shared by them
# all, never changed once a round is computed: a thousand rounds keep a thousand fewer names
# dicts, gap lists and sets, which the garbage collector would walk again and again.
_TIMED_ONLY_NAMES = {
    name.key: name
    for name in (
        MetricName("round", None, "round_s"),
        *(MetricName("round", None, quantity) for quantity in _TOKEN_FIELDS),
        MetricName("round", None, "api_calls"),
        MetricName("round", None, "cost_usd"),
    )
}
_TIMED_ONLY_VALUES: dict[str, float | None] = dict.fromkeys(_TIMED_ONLY_NAMES, 0.0)
_NO_GAPS = SortedGaps()
_NO_SOURCES: dict[str, str] = {}
_NO_CUSTOM: dict[str, MetricInfo] = {}
_NO_MODELS: set[str] = set()


def _timed_only(rnd: RoundRecord) -> RoundMetrics:
    end_ns = rnd.end_ns if rnd.end_ns is not None else rnd.start_ns
    values = _TIMED_ONLY_VALUES.copy()
    values["round_s"] = (end_ns - rnd.start_ns) / 1e9
    return RoundMetrics(
        values, _TIMED_ONLY_NAMES, _NO_GAPS, _NO_SOURCES, _NO_CUSTOM, _NO_MODELS, _NO_MODELS
    )


@dataclass(frozen=True)
class CallFacts:
    """One API call of a finished round as telemetry describes it: a stream or a call
    accounted with ``record_usage``."""

    requested_model: str | None
    """The ``model=`` the stream's source was called with, or ``record_usage``'s model."""
    response_model: str | None
    """The model the stream reported."""
    family: str | None
    """The provider family of the stream's chunks (:attr:`ChunkClassifier.family`)."""
    input_tokens: int | None
    """None: not reported."""
    output_tokens: int | None
    """None: neither reported nor counted (a count of chunks is not one of tokens)."""
    duration_ns: int | None = None
    """Stream start to its end; None for a call accounted with ``record_usage``."""
    ttft_ns: int | None = None
    """Stream start to its first chunk with output; None when none came."""
    gaps_ns: Sequence[int] = ()
    """The gaps between the stream's consecutive chunks with output, in arrival order."""
    failed: bool = False
    """The stream's source raised (the workload caught it)."""


def _stream_call(record: StreamRecord) -> CallFacts:
    stats = _stream_stats(record)
    facts = stats.facts
    usage = facts.usage
    response_model = facts.model or (usage.model if usage else None)
    counted = facts.token_source != "chunks"
    end_ns = record.end_ns if record.end_ns is not None else record.start_ns
    return CallFacts(
        requested_model=record.model_hint or response_model,
        response_model=response_model,
        family=record.classifier.family,
        input_tokens=usage.input_tokens if usage is not None else None,
        output_tokens=facts.output_tokens if counted else None,
        duration_ns=end_ns - record.start_ns,
        ttft_ns=stats.ttft_ns,
        gaps_ns=list(stats.gaps_ns()),
        failed=record.failed,
    )


def round_calls(rnd: RoundRecord) -> list[CallFacts]:
    """Every API call of a round :func:`compute_round` has computed, streams first.

    Read from the round's records again (their chunks are classified by then), so that what
    only telemetry needs costs nothing to a round that nobody observes.
    """
    calls = [_stream_call(record) for record in rnd.streams]
    for recorded in rnd.usages:
        input_tokens, output_tokens = recorded.counts[0], recorded.counts[1]
        calls.append(
            CallFacts(recorded.model, None, None, input_tokens, output_tokens),
        )
    return calls
