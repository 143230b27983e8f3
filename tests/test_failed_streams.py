"""Streams that fail midway, and the cold first stream of an implicit round (fake clock)."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from fakes import INI, FakeClock, ascripted, scripted

from pytest_perfbaseline import ColdStartWarning, Perf
from pytest_perfbaseline.usage.tokens import Usage

SONNET = "claude-sonnet-4-5"
HAIKU = "claude-haiku-4-5"


def cost_of(usage: Usage) -> float | None:
    """A dollar per thousand tokens, in or out."""
    return (usage.input_tokens + usage.output_tokens) / 1000


def message_start(model: str, input_tokens: int) -> dict[str, Any]:
    return {
        "type": "message_start",
        "message": {
            "id": "msg_01",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [],
            "stop_reason": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": 1},
        },
    }


def text_delta(text: str) -> dict[str, Any]:
    return {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "text_delta", "text": text},
    }


BLOCK_START = {
    "type": "content_block_start",
    "index": 0,
    "content_block": {"type": "text", "text": ""},
}


def complete_message(model: str, input_tokens: int, output_tokens: int) -> list[dict[str, Any]]:
    return [
        message_start(model, input_tokens),
        BLOCK_START,
        *(text_delta(f"t{i}") for i in range(output_tokens)),
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": output_tokens},
        },
        {"type": "message_stop"},
    ]


class Overloaded(Exception):
    """What an SDK raises for an in-band ``event: error`` (type overloaded_error)."""


def failing_after_start(clock: FakeClock, model: str, input_tokens: int) -> Iterator[Any]:
    """message_start and two words, then the API's in-band error surfaces as an exception."""
    yield from scripted(
        clock,
        [(0.5, message_start(model, input_tokens)), (0.1, BLOCK_START), (0.1, text_delta("Hi"))],
    )
    clock.advance(0.1)
    yield text_delta(" there")
    raise Overloaded("overloaded_error")


def make_perf(clock: FakeClock, **kwargs: Any) -> Perf:
    return Perf(clock=clock, cost_of=cost_of, **kwargs)


def test_a_retried_failure_is_a_call_with_its_tokens_and_an_unknown_cost(clock: FakeClock) -> None:
    perf = make_perf(clock, rounds=1, warmup=0)

    def work() -> None:
        with perf.agent("writer"):
            try:
                list(perf.stream(failing_after_start(clock, SONNET, 25)))
            except Overloaded:  # the workload's retry logic: fall back to another model
                events = [(0.2, c) for c in complete_message(HAIKU, 30, 4)]
                list(perf.stream(scripted(clock, events)))

    perf(work)
    (r,) = perf.rounds
    assert r["api_calls"] == 2
    # message_start's input tokens and the two words that arrived are kept
    assert r["input_tokens"] == 25 + 30
    assert r["output_tokens"] == 2 + 4
    assert r["cost_usd"] is None  # never 0: the failed call's bill is unknown
    assert r["model.claude-sonnet-4-5.api_calls"] == 1
    assert r["model.claude-sonnet-4-5.input_tokens"] == 25
    assert r["model.claude-sonnet-4-5.cost_usd"] is None
    assert r["model.claude-haiku-4-5.cost_usd"] == pytest.approx(34 / 1000)
    assert r["agent.writer.api_calls"] == 2
    assert r["agent.writer.cost_usd"] is None
    # Only the retry is timed: its clock starts at its own call, and its first text arrives
    # after message_start and content_block_start (0.2 s each).
    assert r["ttft_s"] == pytest.approx(0.6)
    assert r["e2e_s"] == pytest.approx(1.2)


def test_a_caught_failure_in_an_implicit_round_is_counted(clock: FakeClock) -> None:
    perf = make_perf(clock)
    with pytest.raises(Overloaded):
        for _ in perf.stream(failing_after_start(clock, SONNET, 25), name="planner"):
            pass
    (r,) = perf.finish().rounds
    assert r["api_calls"] == 1
    assert r["input_tokens"] == 25
    assert r["output_tokens"] == 2
    assert r["cost_usd"] is None
    assert r["model.claude-sonnet-4-5.api_calls"] == 1
    assert "ttft_s" not in r  # a failed stream is not timed
    assert "planner.ttft_s" not in r
    assert r["round_s"] == pytest.approx(0.8)


def test_a_call_refused_before_any_chunk_still_counts(clock: FakeClock) -> None:
    perf = make_perf(clock)

    def create(**kwargs: Any) -> Iterator[Any]:
        clock.advance(0.05)
        raise ConnectionRefusedError("connection refused")

    with pytest.raises(ConnectionRefusedError):
        list(perf.stream(create, model=SONNET))
    (r,) = perf.finish().rounds
    assert r["api_calls"] == 1
    assert r["model.claude-sonnet-4-5.api_calls"] == 1
    assert r["input_tokens"] == 0
    assert r["cost_usd"] is None


def test_an_async_failure_caught_by_the_workload_is_counted(clock: FakeClock) -> None:
    perf = make_perf(clock, rounds=2, warmup=0)

    async def dropped() -> Any:
        yield message_start(SONNET, 10)
        raise ConnectionResetError("peer closed connection")

    async def work() -> None:
        try:
            async for _ in perf.stream(dropped):
                pass
        except ConnectionResetError:
            events = [(0.1, c) for c in complete_message(SONNET, 10, 2)]
            async for _ in perf.stream(ascripted(clock, events)):
                pass

    asyncio.run(perf.arun(work))
    assert [r["api_calls"] for r in perf.rounds] == [2, 2]
    assert [r["input_tokens"] for r in perf.rounds] == [20, 20]
    assert [r["cost_usd"] for r in perf.rounds] == [None, None]


# -- the first stream of an implicit round -----------------------------------------------------


def test_an_implicit_round_with_a_stream_warns_that_it_had_no_warm_up(clock: FakeClock) -> None:
    perf = make_perf(clock, warn_cold_start=True)
    list(perf.stream(scripted(clock, [(0.1, "a")])))
    with pytest.warns(ColdStartWarning, match="one-time start-up"):
        perf.finish()


def test_no_cold_start_warning_after_warm_up_or_without_streams(clock: FakeClock) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", ColdStartWarning)
        measured = make_perf(clock, warn_cold_start=True, rounds=2, warmup=1)
        measured(lambda: list(measured.stream(scripted(clock, [(0.1, "a")]))))
        measured.finish()
        usage_only = make_perf(clock, warn_cold_start=True)
        usage_only.record_usage(SONNET, 10, 2)
        usage_only.finish()
        plain = make_perf(clock)  # a script controls its own process: no warning asked for
        list(plain.stream(scripted(clock, [(0.1, "a")])))
        plain.finish()


COLD_SUITE = """
import pytest

@pytest.fixture
def perf_clock():
    now = [0]
    def clock():
        now[0] += 1_000_000
        return now[0]
    return clock

def test_first(perf):
    assert list(perf.stream(iter(["a", "b"]))) == ["a", "b"]

def test_second(perf):
    assert list(perf.stream(iter(["c", "d"]))) == ["c", "d"]

def test_with_warm_up(perf):
    perf(lambda: list(perf.stream(iter(["e"]))))
"""


def test_the_plugin_warns_once_per_session_and_the_warning_can_be_filtered(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(COLD_SUITE)
    result = pytester.runpytest("-W", "default::pytest_perfbaseline.ColdStartWarning")
    result.assert_outcomes(passed=3, warnings=1)
    result.stdout.fnmatch_lines(["*test_first*", "*ColdStartWarning: perf.stream was used*"])
    quiet = pytester.runpytest("-W", "ignore::pytest_perfbaseline.ColdStartWarning")
    quiet.assert_outcomes(passed=3, warnings=0)
