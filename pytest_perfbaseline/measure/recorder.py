"""Timestamps streams, spans and usage into rounds. Knows nothing about pytest.

The per-chunk hot path is one clock reading and two list appends: the time, and the chunk to
the stream's queue of chunks waiting to be classified. Classifying (which chunks carry output,
what usage they report: :class:`~pytest_perfbaseline.chunks.ChunkClassifier`) happens after the
stream ends, out of the gaps being measured, for a stream of up to :data:`PENDING_CHUNKS`
chunks. A longer stream classifies two waiting chunks as each further one arrives, until none
wait, and from then on each chunk as it arrives (while it is still in the CPU's cache); it
keeps those chunks' times in an ``array('q')``, so it holds at most that many chunk objects and
9 bytes per chunk (a time and an output flag) whatever the chunks are.
"""

from __future__ import annotations

import inspect
import threading
import time
from array import array
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import chain, compress, islice
from typing import Any, NamedTuple

from ..chunks import ChunkClassifier
from ..usage.tokens import Usage
from .spans import Attribution, SpanKind, SpanRecord, SpanScope, current_attribution

__all__ = [
    "PENDING_CHUNKS",
    "Clock",
    "CustomValue",
    "Recorder",
    "RoundRecord",
    "StreamRecord",
    "TimedStream",
    "UsageRecord",
]

Clock = Callable[[], int]
"""A monotonic clock in integer nanoseconds, like :func:`time.perf_counter_ns`."""


PENDING_CHUNKS = 4096
"""The most chunks a stream keeps unclassified. A typical answer (fewer chunks) is classified
after it ends; a longer stream, past this many, classifies two waiting chunks per arriving one
until none wait, then each chunk as it arrives: the work spread over the gaps, never a pause
in one of them."""


class StreamRecord:
    """The raw record of one stream: when it started, when each chunk arrived, and what its
    chunks said (its :class:`ChunkClassifier`; :meth:`output_times`)."""

    __slots__ = (
        "attribution",
        "classifier",
        "end_ns",
        "failed",
        "flags",
        "later_times",
        "model_hint",
        "name",
        "pending",
        "start_ns",
        "times",
        "tokens",
    )

    def __init__(
        self,
        name: str | None,
        tokens: Callable[[Any], int] | None,
        model_hint: str | None,
        attribution: Attribution,
        start_ns: int,
    ) -> None:
        self.name = name
        self.tokens = tokens
        self.model_hint = model_hint
        self.attribution = attribution
        self.start_ns = start_ns
        self.end_ns: int | None = None
        self.times: list[int] = []
        """When each of the first :data:`PENDING_CHUNKS` chunks arrived, in clock nanoseconds
        (a list: appending to it costs less than to an array, in the loop)."""
        self.later_times = array("q")
        """When each chunk after those arrived."""
        self.pending: deque[Any] = deque()
        """The chunks not classified yet, oldest first (the last ones to arrive)."""
        self.flags = bytearray()
        """Whether each chunk classified so far carries output (1) or not (0), in order."""
        self.classifier = ChunkClassifier(tokens)
        self.failed = False

    def add_later(self, now: int, chunk: Any) -> None:
        """A chunk after the first :data:`PENDING_CHUNKS`, which arrived at ``now``: keep its
        time and classify two waiting chunks while some wait (it waits behind them), else it."""
        self.later_times.append(now)
        pending = self.pending
        feed = self.classifier.feed
        add_flag = self.flags.append
        if pending:
            pending.append(chunk)
            add_flag(feed(pending.popleft()))
            add_flag(feed(pending.popleft()))
        else:
            add_flag(feed(chunk))

    def output_times(self) -> Sequence[int]:
        """When each chunk that carries output arrived; classifies the chunks still waiting."""
        pending = self.pending
        if pending:
            self.flags += self.classifier.feed_all(pending)
            pending.clear()
        flags = self.flags
        times: Iterable[int] = (
            chain(self.times, self.later_times) if self.later_times else self.times
        )
        if flags.count(0) == 0:  # every chunk carries output (text)
            return self.times if times is self.times else array("q", times)
        return array("q", compress(times, flags))


class UsageRecord(NamedTuple):
    """A non-streamed call accounted with ``record_usage``.

    Holds the validated counts; the :class:`Usage` is built with the round's metrics, not on
    the caller's path (a frozen dataclass alone costs most of the 2 us a record may take).
    """

    model: str
    counts: tuple[int, int, int, int, int]
    """input, output, cached input, cache write and reasoning tokens, as in :class:`Usage`."""
    attribution: Attribution

    def usage(self) -> Usage:
        return Usage(self.model, *self.counts)


@dataclass(frozen=True)
class CustomValue:
    value: float
    unit: str
    higher_is_better: bool


@dataclass
class RoundRecord:
    """Everything recorded during one round, before it is turned into metrics."""

    start_ns: int
    end_ns: int | None = None
    streams: list[StreamRecord] = field(default_factory=list)
    usages: list[UsageRecord] = field(default_factory=list)
    spans: list[SpanRecord] = field(default_factory=list)
    custom: dict[str, CustomValue] = field(default_factory=dict)
    implicit: bool = False

    def touch(self, now_ns: int) -> None:
        """Extend an implicit round to cover an event that ended at ``now_ns``."""
        if self.end_ns is None or now_ns > self.end_ns:
            self.end_ns = now_ns


class Recorder:
    """Collects streams, spans, usage and custom values into the round that is open.

    A round is opened with :meth:`begin_round` and closed with :meth:`end_round`. Activity
    while no round is open starts an *implicit* round, unless implicit rounds were switched
    off (which the ``perf`` fixture does once ``perf(fn)`` has measured), in which case that
    activity is timed but not kept.
    """

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or time.perf_counter_ns
        self._round: RoundRecord | None = None
        self._lock = threading.Lock()
        self.allow_implicit = True

    @property
    def current_round(self) -> RoundRecord | None:
        return self._round

    def begin_round(self) -> RoundRecord:
        if self._round is not None:
            raise RuntimeError("a round is already open; rounds do not nest")
        self._round = RoundRecord(start_ns=self.clock())
        return self._round

    def end_round(self) -> RoundRecord:
        """Close the open round (explicit or implicit) and return it."""
        rnd = self._round
        if rnd is None:
            raise RuntimeError("no round is open")
        self._round = None
        if not rnd.implicit:
            rnd.end_ns = self.clock()
        elif rnd.end_ns is None:
            rnd.end_ns = rnd.start_ns
        return rnd

    def discard_round(self) -> None:
        self._round = None

    def _target_round(self, start_ns: int) -> RoundRecord | None:
        rnd = self._round
        if rnd is None and self.allow_implicit:
            # Two threads may each find no round open; only one may create it.
            with self._lock:
                rnd = self._round
                if rnd is None:
                    rnd = self._round = RoundRecord(start_ns=start_ns, implicit=True)
        return rnd

    # -- streams -----------------------------------------------------------------------------

    def open_stream(
        self,
        name: str | None,
        tokens: Callable[[Any], int] | None,
        model_hint: str | None,
    ) -> StreamRecord:
        attribution = current_attribution()
        start = self.clock()
        record = StreamRecord(name, tokens, model_hint, attribution, start)
        rnd = self._target_round(start)
        if rnd is not None:
            rnd.streams.append(record)
        return record

    def close_stream(self, record: StreamRecord, *, failed: bool) -> None:
        record.end_ns = self.clock()
        record.failed = failed
        rnd = self._round
        if rnd is not None and rnd.implicit:
            rnd.touch(record.end_ns)

    def stream(
        self,
        source: Any,
        *args: Any,
        name: str | None = None,
        tokens: Callable[[Any], int] | None = None,
        **kwargs: Any,
    ) -> TimedStream:
        return TimedStream(self, source, args=args, kwargs=kwargs, name=name, tokens=tokens)

    # -- spans, usage, custom values ------------------------------------------------------------

    def span(self, kind: SpanKind, name: str) -> SpanScope:
        return SpanScope(kind, name, self.clock, self._close_span)

    def _close_span(self, record: SpanRecord) -> None:
        rnd = self._round or self._target_round(record.start_ns)
        if rnd is not None:
            rnd.spans.append(record)
            if rnd.implicit:
                # a span can open before the round's first recorded event: cover all of it
                rnd.start_ns = min(rnd.start_ns, record.start_ns)
                rnd.touch(record.end_ns)

    def record_usage(
        self,
        model: str,
        counts: tuple[int, int, int, int, int],
        attribution: Attribution | None = None,
    ) -> None:
        """Account one call; ``counts`` must have passed :func:`.usage.check_counts`."""
        now = self.clock()
        rnd = self._target_round(now)
        if rnd is not None:
            rnd.usages.append(UsageRecord(model, counts, attribution or current_attribution()))
            if rnd.implicit:
                rnd.touch(now)

    def record_custom(self, name: str, value: CustomValue) -> None:
        now = self.clock()
        rnd = self._target_round(now)
        if rnd is not None:
            rnd.custom[name] = value
            if rnd.implicit:
                rnd.touch(now)


# Looked up on the type, as iter() does: a class that defines __iter__ is itself a callable
# (it makes a stream), not an iterable.
def _is_iterable(obj: Any) -> bool:
    return hasattr(type(obj), "__iter__")


def _is_async_iterable(obj: Any) -> bool:
    return hasattr(type(obj), "__aiter__")


async def _resolved(value: Any) -> Any:
    """``value``, awaited if it is awaitable (an async client's call returns a coroutine)."""
    return await value if inspect.isawaitable(value) else value


class TimedStream:
    """What ``perf.stream(...)`` returns: iterate it with ``for`` or ``async for``.

    Chunks are yielded unchanged. The clock starts when iteration starts; a callable source is
    called after that, so the time to issue the request counts in TTFT. A source that is a
    context manager but not iterable (``client.messages.stream(...)``) is entered, iterated and
    exited. A ``TimedStream`` can be iterated once.
    """

    __slots__ = ("_args", "_kwargs", "_name", "_recorder", "_source", "_started", "_tokens")

    def __init__(
        self,
        recorder: Recorder,
        source: Any,
        *,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        name: str | None,
        tokens: Callable[[Any], int] | None,
    ) -> None:
        if name is not None and (not isinstance(name, str) or not name):
            raise ValueError(f"perf.stream(name=...) must be a non-empty string, got {name!r}")
        if tokens is not None and not callable(tokens):
            raise TypeError(
                f"perf.stream(tokens=...) must be a callable chunk -> int, got {tokens!r}"
            )
        direct = _is_iterable(source) or _is_async_iterable(source)
        if not direct and not callable(source):
            raise TypeError(
                "perf.stream() needs an iterable, an async iterable, or a callable returning "
                f"one; got {type(source).__name__}"
            )
        if direct and (args or kwargs):
            raise TypeError(
                "perf.stream() got arguments for a source that is already an iterable; pass "
                "the function itself (perf.stream(client.create, model=...)) to have it called"
            )
        self._recorder = recorder
        self._source = source
        self._args = args
        self._kwargs = kwargs
        self._name = name
        self._tokens = tokens
        self._started = False

    def _start(self) -> StreamRecord:
        if self._started:
            raise RuntimeError("this perf.stream(...) was already iterated; call perf.stream again")
        self._started = True
        model = self._kwargs.get("model")
        return self._recorder.open_stream(
            self._name, self._tokens, model if isinstance(model, str) else None
        )

    @property
    def _owns_result(self) -> bool:
        """Whether perf.stream made the call (and so must close what it returned)."""
        return not (_is_iterable(self._source) or _is_async_iterable(self._source))

    def _produce(self) -> Any:
        source = self._source
        if not self._owns_result:
            return source
        return source(*self._args, **self._kwargs)

    def __iter__(self) -> Iterator[Any]:
        return self._iterate()

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._aiterate()

    def _iterate(self) -> Iterator[Any]:
        __tracebackhide__ = True
        recorder = self._recorder
        record = self._start()
        failed = True
        entered: Any = None
        produced: Any = None
        error: BaseException | None = None
        try:
            produced = self._produce()
            if inspect.isawaitable(produced) or (
                _is_async_iterable(produced) and not _is_iterable(produced)
            ):
                if inspect.iscoroutine(produced):
                    produced.close()  # never awaited: close it to avoid a RuntimeWarning
                raise TypeError(
                    "this stream is asynchronous: iterate perf.stream(...) with `async for`"
                )
            if not _is_iterable(produced) and hasattr(type(produced), "__enter__"):
                entered = produced
                produced = produced.__enter__()
            clock = recorder.clock
            add_time = record.times.append
            add_chunk = record.pending.append
            chunks = iter(produced)
            for chunk in islice(chunks, PENDING_CHUNKS):
                add_time(clock())
                add_chunk(chunk)
                yield chunk
            # A long stream: what add_later does, spelled out (a call per chunk costs ~50 ns).
            add_time = record.later_times.append
            pending = record.pending
            oldest = pending.popleft
            feed = record.classifier.feed
            add_flag = record.flags.append
            for chunk in chunks:
                add_time(clock())
                if pending:
                    add_chunk(chunk)
                    add_flag(feed(oldest()))
                    add_flag(feed(oldest()))
                else:
                    add_flag(feed(chunk))
                yield chunk
            failed = False
        except GeneratorExit:
            # The consumer stopped early (break): what arrived so far is a valid stream.
            failed = False
            raise
        except BaseException as exc:
            error = exc
            raise
        finally:
            recorder.close_stream(record, failed=failed)
            self._close(produced, entered, error)

    def _close(self, produced: Any, entered: Any, error: BaseException | None) -> None:
        """Leave what the stream entered, or close what perf.stream's own call returned."""
        if entered is not None:
            entered.__exit__(type(error) if error else None, error, None)
        elif self._owns_result and produced is not None:
            # perf.stream made this call, so the caller cannot `with` its result: close it
            # (an SDK stream left open after a `break` holds its HTTP connection).
            close = getattr(produced, "close", None)
            if callable(close):
                close()

    async def _aiterate(self) -> AsyncIterator[Any]:
        __tracebackhide__ = True
        recorder = self._recorder
        record = self._start()
        failed = True
        entered: Any = None
        produced: Any = None
        error: BaseException | None = None
        try:
            produced = await _resolved(self._produce())
            if (
                not _is_async_iterable(produced)
                and not _is_iterable(produced)
                and hasattr(type(produced), "__aenter__")
            ):
                entered = produced
                produced = await produced.__aenter__()
            clock = recorder.clock
            times = record.times
            add_time = times.append
            add_chunk = record.pending.append
            add_later = record.add_later
            if _is_async_iterable(produced):
                chunks = aiter(produced)
                long_stream = False
                async for chunk in chunks:
                    add_time(clock())
                    add_chunk(chunk)
                    yield chunk
                    if len(times) >= PENDING_CHUNKS:
                        long_stream = True
                        break
                if long_stream:
                    async for chunk in chunks:
                        add_later(clock(), chunk)
                        yield chunk
            else:
                sync_chunks = iter(produced)
                for chunk in islice(sync_chunks, PENDING_CHUNKS):
                    add_time(clock())
                    add_chunk(chunk)
                    yield chunk
                for chunk in sync_chunks:
                    add_later(clock(), chunk)
                    yield chunk
            failed = False
        except GeneratorExit:
            failed = False
            raise
        except BaseException as exc:
            error = exc
            raise
        finally:
            recorder.close_stream(record, failed=failed)
            await self._aclose(produced, entered, error)

    async def _aclose(self, produced: Any, entered: Any, error: BaseException | None) -> None:
        """The async twin of :meth:`_close`."""
        if entered is not None:
            await entered.__aexit__(type(error) if error else None, error, None)
        elif self._owns_result and produced is not None:
            close = getattr(produced, "aclose", None) or getattr(produced, "close", None)
            if callable(close):
                closing = close()
                if inspect.isawaitable(closing):
                    await closing
