"""The ``perf`` object: runs a workload for rounds and exposes what was measured.

Independent of pytest: ``Perf(rounds=20)(fn)`` works in a plain script. The pytest fixture
builds one per test with the test's settings.
"""

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from ..metrics.histogram import SortedGaps
from ..metrics.names import MetricInfo, MetricName, key_info
from ..metrics.result import Measurement, TestResult
from ..metrics.summary import Summary, summarize_rounds
from ..usage.tokens import Usage, check_counts
from .compute import RoundMetrics, compute_round
from .recorder import Clock, CustomValue, Recorder, RoundRecord, TimedStream
from .spans import SpanScope, current_attribution

if TYPE_CHECKING:
    from ..gate.ab import ABResult
    from .ab import Variant

ABJudge = Callable[[TestResult, TestResult, tuple[str, str], bool], "ABResult"]
"""Decides an A/B test from variant a's and b's results, the labels and ``fail=``."""
__all__ = [
    "MAX_METRIC_VALUE",
    "ColdStartWarning",
    "Measurement",
    "Perf",
    "RoundHook",
    "UnpricedModelWarning",
]

MAX_METRIC_VALUE = 1e100
"""The largest magnitude ``perf.metric`` accepts: the sums and squares behind a summary of a
million rounds of such values stay finite."""

T = TypeVar("T")

RoundHook = Callable[[int, int, bool], None]
"""``on_round(done, planned, warmup)``, called after each round: measured rounds kept so far of
those planned (``warmup`` False), or warm-up and calibration rounds run so far of the warm-up
rounds asked for (``warmup`` True). Called from the rounds loop: it must be quick."""


class UnpricedModelWarning(UserWarning):
    """A call's cost is unknown (no price for its model, or no usage reported): null."""


class ColdStartWarning(UserWarning):
    """Streams were timed in an implicit round, with no warm-up before them.

    The first stream of a process pays the SDK's one-time start-up (imports, client set-up,
    the first connection) inside its time to first token.
    """


def _metric_value(name: str, value: object) -> float:
    """``value`` as a float; ValueError naming the metric unless it is a number in bounds."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"perf.metric({name!r}) needs a finite number, got {value!r}")
    try:
        number = float(value)
    except OverflowError:  # an int beyond float64; its repr may be too long to print
        number = math.inf
    if abs(number) <= MAX_METRIC_VALUE:  # False for NaN too
        return number
    shown = (
        f"{number!r}"
        if isinstance(value, float) or math.isfinite(number)
        else "an int beyond float range"
    )
    raise ValueError(
        f"perf.metric({name!r}) needs a finite number of magnitude at most "
        f"{MAX_METRIC_VALUE:g} (larger ones overflow the summary), got {shown}"
    )


def _default_cost_of() -> Callable[[Usage], float | None]:
    from ..usage.prices import PriceTable

    return PriceTable.builtin().cost


def unpriced_message(model: str) -> str:
    return (
        f"model {model!r} has no price, so its cost_usd is null; add it to the file named by "
        "the perf_prices ini option (see docs/prices.md)"
    )


def no_usage_message(model: str) -> str:
    return (
        f"a stream of model {model!r} reported no token usage, so its cost_usd is null; ask "
        "the API for usage (OpenAI Chat Completions: stream_options={'include_usage': True})"
    )


COLD_START_MESSAGE = (
    "perf.stream was used directly in the test body (one implicit round, no warm-up): the "
    "first stream of a process includes the SDK's one-time start-up in its ttft_s. Measure "
    "with perf(fn), whose warm-up rounds absorb it, or filter this warning "
    "(-W ignore::pytest_perfbaseline.ColdStartWarning) if the client is warmed up otherwise"
)
"""Shown once per session (per process) for the first implicit round that timed a stream."""


MAX_ITERATIONS = 1_000_000
"""The most calls of the workload one round makes when rounds are calibrated."""

ITERATIONS_ACTIVITY_MESSAGE = (
    "the workload recorded streams, spans, usage or perf.metric values in a round of "
    "{calls} calls, though its warm-up recorded none, so it was calibrated to call it "
    "{calls} times per round and its per-round counts would be sums over those calls; "
    "record the same things in every call, or set min_round_time=0 for this test"
)


def iterations_for(per_call_ns: float, min_round_ns: int) -> int:
    """Calls per round so that a round lasts ``min_round_ns``: 1, 2, 5, 10, 20, 50, ...

    1 when one call is long enough, or when the clock did not move at all during it (a
    clock that cannot see the workload cannot size a round of it). At most MAX_ITERATIONS.
    """
    if per_call_ns <= 0 or per_call_ns >= min_round_ns:
        return 1
    scale = 1
    while scale < MAX_ITERATIONS:
        for step in (1, 2, 5):
            if step * scale * per_call_ns >= min_round_ns:
                return step * scale
        scale *= 10
    return MAX_ITERATIONS


def _call_repeatedly(
    fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any], times: int
) -> T:
    """``fn(*args, **kwargs)`` ``times`` (>= 1) times; the last call's return value.

    A workload without arguments is called as ``fn()``: unpacking empty arguments costs
    about as much as a call of a trivial workload, and every call's share is in ``round_s``.
    """
    if args or kwargs:
        for _ in range(times - 1):
            fn(*args, **kwargs)
        return fn(*args, **kwargs)
    for _ in range(times - 1):
        fn()
    return fn()


def _recorded_anything(record: RoundRecord) -> bool:
    return bool(record.streams or record.usages or record.spans or record.custom)


def _default_ab_judge(
    a: TestResult, b: TestResult, labels: tuple[str, str], fail: bool
) -> ABResult:
    # the one import upwards, for a plain-script Perf: the default settings and budget
    from ..gate.ab import judge_ab

    return judge_ab(a, b, labels=labels, fail=fail)


def _warn(warning: Warning) -> None:
    warnings.warn(warning, stacklevel=3)


def _warn_no_usage(model: str) -> None:
    warnings.warn(UnpricedModelWarning(no_usage_message(model)), stacklevel=2)


def _warn_unpriced(model: str) -> None:
    warnings.warn(UnpricedModelWarning(unpriced_message(model)), stacklevel=2)


class Perf:
    """Measure a workload: ``perf(fn, *args)`` runs it for warm-up and measured rounds.

    - ``perf(fn, *args, **kwargs)`` / ``await perf.arun(afn, ...)``: warm-up rounds (not kept),
      then measured rounds; returns the last round's return value.
    - ``perf.stream(source, *args, name=None, tokens=None, **kwargs)``: time a streamed call;
      iterate the result with ``for`` or ``async for``.
    - ``perf.phase(name)`` / ``perf.agent(name)`` / ``perf.operation(name)``: spans.
    - ``perf.record_usage(model, input_tokens, output_tokens, ...)``: a non-streamed call.
    - ``perf.metric(name, value, unit=..., higher_is_better=...)``: a custom per-round value.
    - ``perf.rounds``: per-round ``{metric: value}``; ``perf.summary[metric]``: n, mean, median,
      stdev, min, max, p50, p90, p95, p99.
    - ``perf.ab(a, b, *args, labels=("a", "b"), fail=True)`` / ``await perf.arun_ab(...)``:
      an A/B test of two workloads in interleaved rounds (``measure/ab.py``); ``ab_judge``
      decides it (the plugin's uses the test's threshold, gate and budget).

    With ``min_round_s`` > 0 (the pytest plugin passes ``perf_min_round_time``, 5 ms by
    default; a plain ``Perf`` does not calibrate), a workload whose warm-up round was shorter
    than that is called ``k`` times per measured round, ``k`` from 1, 2, 5, 10, 20, ... so a
    round lasts at least ``min_round_s``, and ``round_s`` is the time per call (elapsed / k).
    Never when the warm-up recorded streams, spans, usage or ``perf.metric`` values.

    Streams, spans and usage used outside ``perf(fn)`` make one implicit round. Once
    ``perf(fn)`` has run, activity outside it is timed but not kept. With
    ``warn_cold_start=True`` (the pytest plugin's choice) :meth:`finish` warns with
    :class:`ColdStartWarning`, through ``on_warning``, when an implicit round timed a stream.

    ``on_round`` is told of every round, warm-up included (:data:`RoundHook`: live progress);
    ``on_record`` is called with each measured round's record once its metrics are computed
    (not with warm-up or calibration rounds): ``--perf-otel`` records its calls from there.
    """

    def __init__(
        self,
        rounds: int = 10,
        warmup: int = 1,
        *,
        clock: Clock | None = None,
        cost_of: Callable[[Usage], float | None] | None = None,
        on_unpriced: Callable[[str], None] | None = None,
        on_no_usage: Callable[[str], None] | None = None,
        on_warning: Callable[[Warning], None] | None = None,
        warn_cold_start: bool = False,
        disabled: bool = False,
        min_round_s: float = 0.0,
        ab_judge: ABJudge | None = None,
        on_round: RoundHook | None = None,
        on_record: Callable[[RoundRecord], None] | None = None,
    ) -> None:
        if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
            raise ValueError(f"rounds must be an integer >= 1, got {rounds!r}")
        if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
            raise ValueError(f"warmup must be an integer >= 0, got {warmup!r}")
        if (
            isinstance(min_round_s, bool)
            or not isinstance(min_round_s, (int, float))
            or not 0.0 <= min_round_s < math.inf
        ):
            raise ValueError(f"min_round_s must be a number of seconds >= 0, got {min_round_s!r}")
        self._rounds_requested = rounds
        self._warmup = warmup
        self._min_round_ns = round(min_round_s * 1e9)
        self._iterations = 1
        # (duration in ns, whether anything was recorded) of each round run but not kept
        self._probes: list[tuple[int, bool]] = []
        self._disabled = disabled
        self._recorder = Recorder(clock)
        self._cost_of = cost_of
        self._on_unpriced = on_unpriced or _warn_unpriced
        self._on_no_usage = on_no_usage or _warn_no_usage
        # The plugin shows each such warning once per session.
        self._on_warning = on_warning or _warn
        self._warn_cold_start = warn_cold_start
        self._warned: set[str] = set()
        self._warned_no_usage: set[str] = set()
        self._results: list[RoundMetrics] = []
        self._measured = False
        self._more_rounds: int | None = None
        self._ab_judge = ab_judge or _default_ab_judge
        self._ab_result: ABResult | None = None
        self._planned = (0, 0)
        self.on_round = on_round
        """Called after every round, warm-up included: see :data:`RoundHook`."""
        self._on_record = on_record

    # -- running workloads ---------------------------------------------------------------------

    def _plan(self) -> tuple[int, int]:
        if self._measured:
            raise RuntimeError(
                "perf(fn) / perf.arun(fn) can measure once per test; split the workloads "
                "into separate tests, or time each part with a named perf.stream or a span"
            )
        self._measured = True
        self._iterations = 1
        self._probes = []
        # Activity before perf(fn) (a manual warm-up call, say) is not part of the rounds.
        self._recorder.discard_round()
        self._recorder.allow_implicit = False
        if self._disabled:
            self._planned = (0, len(self._results) + 1)
            return 0, 1
        rounds = self._more_rounds or self._rounds_requested
        self._planned = (self._warmup, len(self._results) + rounds)
        return self._warmup, rounds

    def __call__(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        __tracebackhide__ = True
        if inspect.iscoroutinefunction(fn):
            raise TypeError("perf() got a coroutine function: use `await perf.arun(fn, ...)`")
        recorder = self._recorder
        result: Any = None
        for count, keep, calls in self._steps(*self._plan()):
            for _ in range(count):
                recorder.begin_round()
                try:
                    result = fn(*args, **kwargs)
                    # None first: the check for an awaitable costs more than a fast round
                    if result is not None and inspect.isawaitable(result):
                        if inspect.iscoroutine(result):
                            result.close()
                        raise TypeError(
                            "the workload returned an awaitable: use `await perf.arun(fn, ...)`"
                        )
                    if calls > 1:  # a calibrated round: the calls after the first
                        result = _call_repeatedly(fn, args, kwargs, calls - 1)
                except BaseException:
                    recorder.discard_round()
                    raise
                self._finish_round(keep, calls)
        return result  # type: ignore[no-any-return]

    async def arun(self, fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        """Like ``perf(fn)`` for a coroutine function; await it inside an async test."""
        __tracebackhide__ = True
        recorder = self._recorder
        result: Any = None
        for count, keep, calls in self._steps(*self._plan()):
            for _ in range(count):
                recorder.begin_round()
                try:
                    awaitable = fn(*args, **kwargs)
                    if not inspect.isawaitable(awaitable):
                        raise TypeError(
                            "perf.arun() needs a coroutine function (async def); for a plain "
                            "function use perf(fn, ...)"
                        )
                    result = await awaitable
                    if calls > 1:  # a calibrated round: the calls after the first
                        for _ in range(calls - 1):
                            result = await fn(*args, **kwargs)
                except BaseException:
                    recorder.discard_round()
                    raise
                self._finish_round(keep, calls)
        return result  # type: ignore[no-any-return]

    # -- inner iterations ------------------------------------------------------------------

    def _steps(self, warmup: int, rounds: int) -> Iterator[tuple[int, bool, int]]:
        """``(rounds, keep them, calls per round)`` to run, in order.

        Lazy: each step is decided after the rounds before it ran (they size the round).
        """
        yield warmup, False, 1
        if self._min_round_ns > 0 and not self._disabled:
            if not self._probes:  # no warm-up: one call, not kept, to see how long it takes
                yield 1, False, 1
            if self._first_guess() > 1:
                yield 1, False, self._iterations  # check the guess once
                self._recheck()
        yield rounds, True, self._iterations

    def _first_guess(self) -> int:
        """Calls per round from the warm-up rounds (or the one calibration call)."""
        shortest = min(ns for ns, _ in self._probes)
        if any(active for _, active in self._probes):
            return 1
        self._iterations = iterations_for(shortest, self._min_round_ns)
        return self._iterations

    def _recheck(self) -> None:
        """Grow the calls per round once if a round of that many calls was still short."""
        elapsed, active = self._probes[-1]
        if active:
            self._iterations = 1
        elif elapsed < self._min_round_ns:
            per_call = elapsed / self._iterations
            self._iterations = max(self._iterations, iterations_for(per_call, self._min_round_ns))

    def _finish_round(self, keep: bool, calls: int) -> None:
        record = self._recorder.end_round()
        if not keep:
            end_ns = record.end_ns if record.end_ns is not None else record.start_ns
            self._probes.append((end_ns - record.start_ns, _recorded_anything(record)))
            if self.on_round is not None:
                self.on_round(len(self._probes), self._planned[0], True)
            return
        metrics = self._compute(record) if calls == 1 else self._per_call(record, calls)
        self._results.append(metrics)
        if self.on_round is not None:
            self.on_round(len(self._results), self._planned[1], False)
        if self._on_record is not None:
            self._on_record(record)

    def _per_call(self, record: RoundRecord, calls: int) -> RoundMetrics:
        """A calibrated round's metrics: ``round_s`` is the time of one of its calls."""
        if _recorded_anything(record):
            raise RuntimeError(ITERATIONS_ACTIVITY_MESSAGE.format(calls=calls))
        metrics = self._compute(record)
        round_s = metrics.values["round_s"]
        metrics.values["round_s"] = None if round_s is None else round_s / calls
        return metrics

    def _compute(self, record: Any) -> RoundMetrics:
        if self._cost_of is None:
            self._cost_of = _default_cost_of()
        metrics = compute_round(record, self._cost_of)
        if metrics.unpriced_models or metrics.unreported_models:
            self._warn_models(metrics)
        return metrics

    def _warn_models(self, metrics: RoundMetrics) -> None:
        for model in sorted(metrics.unpriced_models - self._warned):
            self._warned.add(model)
            self._on_unpriced(model)
        for model in sorted(metrics.unreported_models - self._warned_no_usage):
            self._warned_no_usage.add(model)
            self._on_no_usage(model)

    # -- A/B ------------------------------------------------------------------------------------

    def ab(
        self,
        a: Callable[..., Any],
        b: Callable[..., Any],
        *args: Any,
        labels: tuple[str, str] = ("a", "b"),
        fail: bool = True,
        **kwargs: Any,
    ) -> ABResult:
        """A/B test: ``a(*args, **kwargs)`` and ``b(...)`` in interleaved rounds, ABBA order.

        Warm-up rounds of both first, then the test's rounds as pairs. Returns the
        :class:`~pytest_perfbaseline.ABResult`: per metric both sides' summaries, the ratio
        b/a with its interval, the p-value and the verdict. Under pytest, b regressed against a
        on a gated metric fails the test (``fail=False``: reported only).
        """
        __tracebackhide__ = True
        from .ab import check_labels, run_ab

        labels = check_labels(labels)
        return self._decide_ab(run_ab(self, a, b, args, kwargs, labels=labels), fail)

    async def arun_ab(
        self,
        a: Callable[..., Awaitable[Any]],
        b: Callable[..., Awaitable[Any]],
        *args: Any,
        labels: tuple[str, str] = ("a", "b"),
        fail: bool = True,
        **kwargs: Any,
    ) -> ABResult:
        """Like :meth:`ab` for coroutine functions; await it inside an async test."""
        __tracebackhide__ = True
        from .ab import check_labels, run_ab_async

        labels = check_labels(labels)
        return self._decide_ab(await run_ab_async(self, a, b, args, kwargs, labels=labels), fail)

    def _decide_ab(self, variants: tuple[Variant, Variant], fail: bool) -> ABResult:
        a, b = (self._measurement(v.results, v.label) for v in variants)
        labels = (variants[0].label, variants[1].label)
        result = self._ab_judge(a, b, labels, bool(fail))
        if self._disabled:
            from dataclasses import replace

            result = replace(result, measured=False, metrics=())
        self._ab_result = result
        return result

    def ab_plan(self) -> tuple[int, int]:
        """(warm-up rounds, pairs) of an A/B test; disabled: each workload once, not kept."""
        warmup, rounds = self._plan()
        return (1, 0) if self._disabled else (warmup, rounds)

    def round_done(
        self, done: int, planned: int, *, warmup: bool, record: RoundRecord | None = None
    ) -> None:
        """Tell ``on_round`` and, with a measured round's ``record``, ``on_record`` of a round
        run by another loop than ``perf(fn)``'s (``perf.ab``'s), as that loop tells them."""
        if self.on_round is not None:
            self.on_round(done, planned, warmup)
        if record is not None and self._on_record is not None:
            self._on_record(record)

    @contextmanager
    def attributed(self, recorder: Recorder) -> Iterator[None]:
        """Record what ``perf.stream`` / spans / usage / metrics see into ``recorder``."""
        saved, self._recorder = self._recorder, recorder
        try:
            yield
        finally:
            self._recorder = saved

    def compute_round(self, record: RoundRecord) -> RoundMetrics:
        """A closed round's metrics, priced and warned about as the test's own rounds."""
        return self._compute(record)

    @property
    def clock(self) -> Clock:
        """The clock every round is timed with."""
        return self._recorder.clock

    @property
    def ab_result(self) -> ABResult | None:
        """What the test's ``perf.ab`` / ``perf.arun_ab`` decided (None: it made none)."""
        return self._ab_result

    # -- recording -----------------------------------------------------------------------------

    def stream(
        self,
        source: Any,
        *args: Any,
        name: str | None = None,
        tokens: Callable[[Any], int] | None = None,
        **kwargs: Any,
    ) -> TimedStream:
        """Time a streamed call; yields ``source``'s chunks unchanged.

        ``source`` is an iterable or async iterable, or a callable returning one (or an
        awaitable of one), called with ``*args, **kwargs`` once the clock has started.
        ``name`` reports the stream's metrics as ``<name>.ttft_s`` ...; ``tokens`` is a
        ``chunk -> int`` counter for streams that do not report usage.
        """
        return self._recorder.stream(source, *args, name=name, tokens=tokens, **kwargs)

    def phase(self, name: str) -> SpanScope:
        """Open a phase span (``with`` or ``async with``); adds ``phase.<name>.s``."""
        return self._recorder.span("phase", name)

    def agent(self, name: str) -> SpanScope:
        """Open an agent span; adds ``agent.<name>.s`` and the agent's token/cost totals."""
        return self._recorder.span("agent", name)

    def operation(self, name: str) -> SpanScope:
        """Open an operation span; adds ``operation.<name>.s`` and its token/cost totals."""
        return self._recorder.span("operation", name)

    def record_usage(
        self,
        model: str,
        input_tokens: int,
        output_tokens: int,
        *,
        cached_input_tokens: int = 0,
        cache_write_tokens: int = 0,
        reasoning_tokens: int = 0,
        agent: str | None = None,
        operation: str | None = None,
    ) -> None:
        """Account one non-streamed model call (counts one API call).

        ``input_tokens`` counts *all* prompt tokens, cached and cache-written ones included
        (OpenAI's ``prompt_tokens``; for Anthropic add ``cache_read_input_tokens`` and
        ``cache_creation_input_tokens`` to its ``input_tokens``). ``agent`` / ``operation``
        override the enclosing spans.
        """
        if not isinstance(model, str) or not model:
            raise ValueError(f"record_usage() needs a model name, got {model!r}")
        counts = check_counts(
            input_tokens, output_tokens, cached_input_tokens, cache_write_tokens, reasoning_tokens
        )
        attribution = current_attribution()
        if agent is not None:
            attribution = attribution.with_name("agent", agent)
        if operation is not None:
            attribution = attribution.with_name("operation", operation)
        self._recorder.record_usage(model, counts, attribution)

    def metric(
        self, name: str, value: float, *, unit: str = "", higher_is_better: bool = False
    ) -> None:
        """Record a custom per-round value (the last value set in a round wins).

        ``value`` is a finite number of magnitude at most :data:`MAX_METRIC_VALUE` (1e100):
        larger ones would overflow the summary's mean and standard deviation.
        """
        if not isinstance(name, str) or not name or name != name.strip():
            raise ValueError(f"perf.metric() needs a non-empty name, got {name!r}")
        if key_info(name) is not None:
            raise ValueError(
                f"perf.metric({name!r}): that name looks like a built-in metric "
                "(times end in _s, counts in _tokens, cost_usd, api_calls); choose another"
            )
        number = _metric_value(name, value)
        self._recorder.record_custom(name, CustomValue(number, unit, bool(higher_is_better)))

    # -- results -------------------------------------------------------------------------------

    def _all_results(self) -> list[RoundMetrics]:
        open_round = self._recorder.current_round
        if open_round is not None and open_round.implicit:
            return [*self._results, self._compute(open_round)]
        return self._results

    def finish(self, nodeid: str = "") -> TestResult:
        """Close an implicit round, if one is open, and return what was measured.

        ``nodeid`` names the result (the pytest plugin passes the test's node id).
        """
        open_round = self._recorder.current_round
        if open_round is not None and open_round.implicit:
            self._results.append(self._compute(self._recorder.end_round()))
            if self._on_record is not None:
                self._on_record(open_round)
            if open_round.streams and self._warn_cold_start:
                self._on_warning(ColdStartWarning(COLD_START_MESSAGE))
        self._recorder.allow_implicit = False
        return self._measurement(self._results, nodeid)

    def _measurement(self, results: list[RoundMetrics], nodeid: str) -> TestResult:
        infos, names = _catalogue(results)
        sources: dict[str, str] = {}
        for result in results:
            for key, source in result.token_sources.items():
                sources[key] = source if sources.get(key, source) == source else "mixed"
        return TestResult.measured(
            nodeid,
            rounds=[dict(r.values) for r in results],
            infos=infos,
            names=names,
            gaps_ns=SortedGaps.pooled([r.gaps_ns for r in results]),
            token_sources=sources,
            rounds_requested=self._rounds_requested,
            warmup=self._warmup,
            implicit=not self._measured,
            iterations=self._iterations,
        )

    @property
    def iterations(self) -> int:
        """Calls of the workload per measured round (1 unless rounds were calibrated)."""
        return self._iterations

    @property
    def measured(self) -> bool:
        """Whether anything was recorded (a ``perf(fn)`` call or implicit activity)."""
        return self._measured or bool(self._all_results())

    @property
    def rounds(self) -> list[dict[str, float | None]]:
        """One ``{metric: value}`` per measured round (null: could not be computed)."""
        return [dict(r.values) for r in self._all_results()]

    @property
    def summary(self) -> dict[str, Summary]:
        """Per metric: n, mean, median, stdev, min, max, p50, p90, p95, p99 over rounds."""
        results = self._all_results()
        infos, _ = _catalogue(results)
        return summarize_rounds([r.values for r in results], infos)

    def reset(self) -> None:
        """Forget every round, so that the workload can be measured afresh.

        The pytest plugin calls it before re-running a test whose regression it must confirm.
        """
        self._recorder = Recorder(self._recorder.clock)
        self._results = []
        self._measured = False
        self._iterations = 1
        self._probes = []
        self._more_rounds = None
        self._ab_result = None

    def more_rounds(self, rounds: int) -> None:
        """Keep the rounds measured so far, and let the workload be measured for ``rounds`` more.

        The pytest plugin calls it before re-running a test whose verdict needs more rounds;
        the next ``perf(fn)`` call (warm-up included) adds its rounds to the ones kept.
        """
        if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
            raise ValueError(f"rounds must be an integer >= 1, got {rounds!r}")
        self._recorder = Recorder(self._recorder.clock)
        self._measured = False
        self._more_rounds = rounds


def _catalogue(
    results: list[RoundMetrics],
) -> tuple[dict[str, MetricInfo], dict[str, MetricName]]:
    """Every metric the rounds produced: what it is and what it belongs to."""
    infos: dict[str, MetricInfo] = {}
    names: dict[str, MetricName] = {}
    seen: object = None
    for result in results:
        # most rounds name what the rounds before them did (timed-only rounds: the same dict)
        if result.names is seen or result.names.keys() <= names.keys():
            continue
        seen = result.names
        for key, name in result.names.items():
            if key not in infos:
                info = result.info(key)
                if info is not None:
                    infos[key] = info
                    names[key] = name
    return infos, names
