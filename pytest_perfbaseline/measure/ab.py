"""The A/B loop: two workloads measured in interleaved rounds, ABBA order.

Warm-up rounds of both first (not kept), then ``pairs`` pairs: pair ``i`` runs a then b
when ``i`` is even, b then a when it is odd, so a drift of the machine during the test
(warming up, a neighbour getting busy) falls on both variants alike. Each variant has its
own recorder: the streams, spans, usage and ``perf.metric`` values recorded while it runs
belong to its rounds, and each variant's rounds are computed as a test's are.

The test's ``Perf`` hooks are told of every round as its own loop tells them
(:meth:`~.perf.Perf.round_done`): ``on_round(done, planned, warmup)`` counts the rounds of
both variants together (warm-up: ``2 * warmup`` planned; measured: ``2 * pairs``, two per
pair), and ``on_record`` gets each measured round's record, of either variant.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .recorder import Recorder

if TYPE_CHECKING:
    from .compute import RoundMetrics
    from .perf import Perf

__all__ = ["Variant", "abba", "run_ab", "run_ab_async"]


@dataclass
class Variant:
    """One side of an A/B test: its workload, its recorder and its kept rounds."""

    label: str
    fn: Callable[..., Any]
    recorder: Recorder
    results: list[RoundMetrics] = field(default_factory=list)


def abba(pairs: int) -> Iterator[int]:
    """The variant (0: a, 1: b) of each measured round: a, b, b, a, a, b, b, a, ..."""
    for i in range(pairs):
        yield from (0, 1) if i % 2 == 0 else (1, 0)


def _schedule(warmup: int, pairs: int) -> Iterator[tuple[int, bool, int, int]]:
    """(variant, keep the round, rounds of its kind once it has run, of its kind planned) in
    order: warm-ups of both (a first), then the pairs; both variants' rounds counted."""
    for done in range(1, 2 * warmup + 1):
        yield (done - 1) % 2, False, done, 2 * warmup
    for done, index in enumerate(abba(pairs), 1):
        yield index, True, done, 2 * pairs


def check_labels(labels: tuple[str, str]) -> tuple[str, str]:
    """Two distinct non-empty strings; ValueError otherwise."""
    if (
        not isinstance(labels, tuple | list)
        or len(labels) != 2
        or not all(isinstance(label, str) and label.strip() for label in labels)
        or labels[0] == labels[1]
    ):
        raise ValueError(f"labels must be two different non-empty strings, got {labels!r}")
    return str(labels[0]), str(labels[1])


def _variants(
    perf: Perf, a: Callable[..., Any], b: Callable[..., Any], labels: tuple[str, str]
) -> tuple[Variant, Variant]:
    clock = perf.clock
    variants = (Variant(labels[0], a, Recorder(clock)), Variant(labels[1], b, Recorder(clock)))
    for variant in variants:
        variant.recorder.allow_implicit = False
    return variants


def run_ab(
    perf: Perf,
    a: Callable[..., Any],
    b: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    labels: tuple[str, str],
) -> tuple[Variant, Variant]:
    """Run both workloads (warm-ups, then ABBA pairs); each variant with its kept rounds."""
    __tracebackhide__ = True
    for fn in (a, b):
        if inspect.iscoroutinefunction(fn):
            raise TypeError("perf.ab() got a coroutine function: use `await perf.arun_ab(...)`")
    variants = _variants(perf, a, b, labels)
    for index, keep, done, planned in _schedule(*perf.ab_plan()):
        variant = variants[index]
        with _round(perf, variant, keep, (done, planned)):
            returned = variant.fn(*args, **kwargs)
            if returned is not None and inspect.isawaitable(returned):
                if inspect.iscoroutine(returned):
                    returned.close()
                raise TypeError("the workload returned an awaitable: use `await perf.arun_ab(...)`")
    return variants


async def run_ab_async(
    perf: Perf,
    a: Callable[..., Awaitable[Any]],
    b: Callable[..., Awaitable[Any]],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    labels: tuple[str, str],
) -> tuple[Variant, Variant]:
    """:func:`run_ab` for coroutine functions."""
    __tracebackhide__ = True
    variants = _variants(perf, a, b, labels)
    for index, keep, done, planned in _schedule(*perf.ab_plan()):
        variant = variants[index]
        with _round(perf, variant, keep, (done, planned)):
            awaitable = variant.fn(*args, **kwargs)
            if not inspect.isawaitable(awaitable):
                raise TypeError(
                    "perf.arun_ab() needs coroutine functions (async def); for plain "
                    "functions use perf.ab(...)"
                )
            await awaitable
    return variants


@contextmanager
def _round(perf: Perf, variant: Variant, keep: bool, progress: tuple[int, int]) -> Iterator[None]:
    """One round of ``variant``: what the ``with`` block records is its, kept if ``keep``;
    the hooks told of it with ``progress`` (rounds done, planned) once it is computed."""
    with perf.attributed(variant.recorder):
        variant.recorder.begin_round()
        try:
            yield
        except BaseException:
            variant.recorder.discard_round()
            raise
        record = variant.recorder.end_round()
    if keep:
        variant.results.append(perf.compute_round(record))
        perf.round_done(*progress, warmup=False, record=record)
    else:
        perf.round_done(*progress, warmup=True)
