"""A stream longer than the chunks it may keep waiting: same metrics, no chunk kept.

``perf.stream`` keeps at most ``PENDING_CHUNKS`` chunk objects; beyond that many it classifies
the oldest waiting chunk as each new one arrives. These tests shrink that bound so that short
scripted streams take the long-stream path, on a fake clock, and check every metric against
the same stream classified after it ended.
"""

from __future__ import annotations

import asyncio
import gc
import weakref
from typing import Any

import pytest
from fakes import FakeClock, ascripted, no_cost, scripted

from pytest_perfbaseline import Perf
from pytest_perfbaseline.measure import recorder


def chat(content: str | None, *, role: str | None = None) -> dict[str, Any]:
    delta: dict[str, Any] = {} if content is None else {"content": content}
    if role is not None:
        delta["role"] = role
    return {"model": "gpt-4o-mini", "choices": [{"index": 0, "delta": delta}]}


USAGE_CHUNK = {
    "model": "gpt-4o-mini",
    "choices": [],
    "usage": {"prompt_tokens": 9, "completion_tokens": 14, "prompt_tokens_details": {}},
}


def chat_events() -> list[tuple[float, Any]]:
    """A chat stream with no-output chunks at the start, in the middle and at the end."""
    events: list[tuple[float, Any]] = [(0.3, chat("", role="assistant"))]
    for i in range(12):
        events.append((0.01 + 0.001 * (i % 5), chat(f"w{i}")))
        if i == 6:
            events.append((0.002, chat(None)))  # no output, mid-stream
    events += [(0.004, chat(None)), (0.02, USAGE_CHUNK)]
    return events


def measured(
    clock: FakeClock, events: list[tuple[float, Any]], **stream: Any
) -> list[dict[str, float | None]]:
    perf = Perf(clock=clock, cost_of=no_cost, rounds=2, warmup=0)
    perf(lambda: list(perf.stream(scripted(clock, events), **stream)))
    return perf.rounds


@pytest.mark.parametrize("waiting", [1, 2, 5])
def test_a_long_stream_has_the_metrics_of_one_classified_after_it_ended(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch, waiting: int
) -> None:
    expected = measured(clock, chat_events())
    assert expected[0]["output_tokens"] == 14  # from the usage chunk
    monkeypatch.setattr(recorder, "PENDING_CHUNKS", waiting)
    assert measured(clock, chat_events()) == expected


def test_a_long_stream_with_a_token_counter_counts_the_same(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = [(0.1, ":keep-alive"), *((0.01 * (i % 3 + 1), f"a b{i}") for i in range(9))]
    events.append((0.01, ""))

    def counter(chunk: str) -> int:
        return 0 if chunk.startswith(":") else len(chunk.split())

    expected = measured(clock, events, tokens=counter)
    assert expected[0]["output_tokens"] == 18
    monkeypatch.setattr(recorder, "PENDING_CHUNKS", 2)
    assert measured(clock, events, tokens=counter) == expected


def test_a_counter_error_in_a_long_stream_surfaces_after_it_as_before(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recorder, "PENDING_CHUNKS", 2)
    perf = Perf(clock=clock, cost_of=no_cost)
    counts = iter([1, 1, 1, 1, -1, 1, 1])
    # the stream is not interrupted: the error is the result's, as for a short stream
    assert len(list(perf.stream(list("abcdefg"), tokens=lambda chunk: next(counts)))) == 7
    with pytest.raises(TypeError, match="non-negative int per chunk, got -1 for chunk 4"):
        perf.finish()


@pytest.mark.parametrize("waiting", [1, 3])
def test_a_long_async_stream_has_the_same_metrics(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch, waiting: int
) -> None:
    async def run() -> list[dict[str, float | None]]:
        perf = Perf(clock=clock, cost_of=no_cost, rounds=2, warmup=0)

        async def workload() -> None:
            async for _ in perf.stream(ascripted(clock, chat_events())):
                pass

        await perf.arun(workload)
        return perf.rounds

    expected = asyncio.run(run())
    monkeypatch.setattr(recorder, "PENDING_CHUNKS", waiting)
    assert asyncio.run(run()) == expected


def closed_early(clock: FakeClock) -> list[dict[str, float | None]]:
    perf = Perf(clock=clock, cost_of=no_cost, on_no_usage=lambda model: None)
    for i, _ in enumerate(perf.stream(scripted(clock, chat_events()))):
        if i == 9:
            break
    return perf.rounds


def test_a_long_stream_closed_early_keeps_what_arrived(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = closed_early(clock)
    assert expected[0]["output_tokens"] == 8  # 10 chunks: the role-only and an empty one: none
    monkeypatch.setattr(recorder, "PENDING_CHUNKS", 3)
    assert closed_early(clock) == expected


class Token:
    """A chunk that can be watched with a weak reference (a plain object: one output chunk)."""

    __slots__ = ("__weakref__",)


def test_a_stream_keeps_no_more_chunks_than_may_wait(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recorder, "PENDING_CHUNKS", 4)
    watched: list[weakref.ref[Token]] = []

    def source() -> Any:
        for _ in range(50):
            clock.advance(0.01)
            token = Token()
            watched.append(weakref.ref(token))
            yield token

    def alive() -> int:
        gc.collect()
        return sum(ref() is not None for ref in watched)

    perf = Perf(clock=clock, cost_of=no_cost)
    most = 0
    for count, _ in enumerate(perf.stream(source()), start=1):
        most = max(most, alive())  # the chunk just yielded counts: it may be waiting too
        if count == 6:
            assert alive() == 2  # the fifth and sixth each had two waiting chunks classified
    del _
    assert most == 4
    assert alive() == 0  # past the first four, each chunk was classified as it came
    result = perf.finish()
    assert result.rounds[0]["output_tokens"] == 50
    assert result.rounds[0]["itl_max_s"] == pytest.approx(0.01)
    gc.collect()
    assert all(ref() is None for ref in watched)
