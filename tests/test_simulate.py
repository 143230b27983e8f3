"""SimulatedModel: deterministic text, recognisable chunk shapes, exact timing on a fake clock."""

from __future__ import annotations

import asyncio
import itertools
import math
import statistics
from typing import Any

import pytest
from fakes import FakeClock

from pytest_perfbaseline import Perf, SimulatedModel
from pytest_perfbaseline.chunks import analyze_chunks
from pytest_perfbaseline.simulate import StreamFormat

FORMATS: tuple[StreamFormat, ...] = ("text", "openai", "openai-responses", "anthropic")
USAGE_FORMATS: tuple[StreamFormat, ...] = ("openai", "openai-responses", "anthropic")
PROMPT = "What is two plus two, in words?"


def text_of(chunk: Any, fmt: str) -> str:
    """The answer text a chunk carries, read the way a client of that API would."""
    if fmt == "text":
        return str(chunk)
    if fmt == "openai":
        choices = chunk["choices"]
        return (choices[0]["delta"].get("content") or "") if choices else ""
    if fmt == "openai-responses":
        return chunk["delta"] if chunk["type"] == "response.output_text.delta" else ""
    if chunk["type"] == "content_block_delta":
        return str(chunk["delta"]["text"])
    return ""


def model_on(clock: FakeClock, **kwargs: Any) -> SimulatedModel:
    return SimulatedModel(sleep=clock.sleep, asleep=clock.asleep, **kwargs)


def timed(clock: FakeClock, model: SimulatedModel, **kwargs: Any) -> list[tuple[int, Any]]:
    """(ns since the call, chunk) for every chunk of a streamed answer."""
    start = clock.now
    return [(clock.now - start, chunk) for chunk in model.stream(PROMPT, **kwargs)]


def output_times(events: list[tuple[int, Any]], fmt: str) -> list[int]:
    return [t for t, chunk in events if text_of(chunk, fmt)]


# -- text ---------------------------------------------------------------------------------------


def test_text_is_determined_by_seed_and_prompt() -> None:
    a = SimulatedModel(seed=3)
    b = SimulatedModel(seed=3, ttft_s=1.0, jitter=0.5, model="other")  # timing does not matter
    assert a.text(PROMPT, max_tokens=20) == b.text(PROMPT, max_tokens=20)
    assert a.text(PROMPT, max_tokens=20) == a.text(PROMPT, max_tokens=20)
    assert len(a.text(PROMPT, max_tokens=20).split()) == 20  # one word per token


def test_different_seeds_and_prompts_give_different_text() -> None:
    texts = {
        SimulatedModel(seed=seed).text(prompt, max_tokens=16)
        for seed in (0, 1, 2)
        for prompt in ("hello", "goodbye", "hello ")
    }
    assert len(texts) == 9


@pytest.mark.parametrize("tokens_per_chunk", [1, 3])
@pytest.mark.parametrize("fmt", FORMATS)
def test_streamed_text_equals_text_for_every_format(
    clock: FakeClock, fmt: StreamFormat, tokens_per_chunk: int
) -> None:
    model = model_on(clock, seed=5, tokens_per_chunk=tokens_per_chunk, jitter=0.2)
    chunks = list(model.stream(PROMPT, max_tokens=10, format=fmt))
    assert "".join(text_of(c, fmt) for c in chunks) == model.text(PROMPT, max_tokens=10)
    pieces = [text_of(c, fmt) for c in chunks if text_of(c, fmt)]
    assert len(pieces) == math.ceil(10 / tokens_per_chunk)


def test_complete_returns_the_same_text_and_usage(clock: FakeClock) -> None:
    model = model_on(clock, seed=9, cached_input_tokens=4, ttft_s=0.3, itl_s=0.02)
    start = clock.now
    text, usage = model.complete(PROMPT, max_tokens=12)
    assert text == model.text(PROMPT, max_tokens=12)
    assert clock.now - start == pytest.approx((0.3 + 11 * 0.02) * 1e9, abs=12)
    streamed = analyze_chunks(list(model.stream(PROMPT, max_tokens=12, format="openai"))).usage
    assert streamed is not None
    assert usage == {
        "input_tokens": streamed.input_tokens,
        "output_tokens": 12,
        "cached_input_tokens": 4,
    }


# -- chunk shapes --------------------------------------------------------------------------------


@pytest.mark.parametrize("tokens_per_chunk", [1, 4])
@pytest.mark.parametrize("fmt", USAGE_FORMATS)
def test_each_format_is_recognised_with_its_usage(
    clock: FakeClock, fmt: StreamFormat, tokens_per_chunk: int
) -> None:
    model = model_on(clock, model="sim-model", tokens_per_chunk=tokens_per_chunk)
    chunks = list(model.stream(PROMPT, max_tokens=9, format=fmt))
    facts = analyze_chunks(chunks)
    assert facts.token_source == "usage"
    assert facts.output_tokens == 9  # tokens, not chunks
    assert facts.model == "sim-model"
    # exactly the chunks with answer text carry output (role-only, usage, stop chunks do not)
    assert list(facts.output_indices) == [i for i, c in enumerate(chunks) if text_of(c, fmt)]
    assert len(facts.output_indices) == math.ceil(9 / tokens_per_chunk)
    assert facts.usage is not None
    assert facts.usage.output_tokens == 9
    assert facts.usage.cached_input_tokens == 0
    assert facts.usage.reasoning_tokens == 0
    assert facts.usage.input_tokens > 0


def test_plain_text_format_is_counted_by_chunks(clock: FakeClock) -> None:
    model = model_on(clock, tokens_per_chunk=2)
    facts = analyze_chunks(list(model.stream(PROMPT, max_tokens=7)))
    assert facts.token_source == "chunks"
    assert facts.output_tokens == 4
    assert facts.usage is None


def test_every_format_reports_the_same_prompt_size_and_cache_reads(clock: FakeClock) -> None:
    usages = {}
    for fmt in USAGE_FORMATS:
        model = model_on(clock, cached_input_tokens=6)
        usage = analyze_chunks(list(model.stream(PROMPT, max_tokens=5, format=fmt))).usage
        assert usage is not None
        usages[fmt] = usage
    assert len({u.input_tokens for u in usages.values()}) == 1
    assert all(u.cached_input_tokens == 6 for u in usages.values())
    assert all(u.input_tokens >= 6 for u in usages.values())


def test_anthropic_wire_input_excludes_cache_reads_but_usage_includes_them(
    clock: FakeClock,
) -> None:
    model = model_on(clock, cached_input_tokens=7)
    chunks = list(model.stream(PROMPT, max_tokens=5, format="anthropic"))
    wire = next(c for c in chunks if c["type"] == "message_start")["message"]["usage"]
    assert wire["cache_read_input_tokens"] == 7
    usage = analyze_chunks(chunks).usage
    assert usage is not None
    assert usage.cached_input_tokens == 7
    assert usage.input_tokens == wire["input_tokens"] + 7  # normalised: inclusive of cache reads
    openai = model_on(clock, cached_input_tokens=7)
    openai_chunks = list(openai.stream(PROMPT, max_tokens=5, format="openai"))
    wire_openai = openai_chunks[-1]["usage"]
    assert wire_openai["prompt_tokens_details"]["cached_tokens"] == 7
    assert wire_openai["prompt_tokens"] == usage.input_tokens  # OpenAI's count is inclusive


def test_cache_larger_than_the_prompt_still_gives_a_valid_usage(clock: FakeClock) -> None:
    for fmt in USAGE_FORMATS:
        model = model_on(clock, cached_input_tokens=500)
        usage = analyze_chunks(list(model.stream("hi", max_tokens=3, format=fmt))).usage
        assert usage is not None
        assert usage.cached_input_tokens == 500
        assert usage.input_tokens == 500


def test_zero_max_tokens_streams_no_output_but_still_reports_usage(clock: FakeClock) -> None:
    for fmt in FORMATS:
        model = model_on(clock)
        chunks = list(model.stream(PROMPT, max_tokens=0, format=fmt))
        facts = analyze_chunks(chunks)
        assert facts.output_indices == ()
        assert facts.output_tokens == 0
        assert (facts.usage is not None) == (fmt != "text")


# -- timing --------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_delays_are_exact_on_a_fake_clock(clock: FakeClock, fmt: StreamFormat) -> None:
    model = model_on(clock, ttft_s=0.25, itl_s=0.015)
    events = timed(clock, model, max_tokens=6, format=fmt)
    times = output_times(events, fmt)
    expected = [0.25e9 + i * 0.015e9 for i in range(6)]
    assert times == [pytest.approx(t, abs=2) for t in expected]
    # nothing after the last output chunk takes time (usage and stop events come at once)
    assert events[-1][0] == times[-1]


@pytest.mark.parametrize("slowdown", [0.5, 1.5, 3.0])
def test_slowdown_multiplies_every_delay(clock: FakeClock, slowdown: float) -> None:
    model = model_on(clock, ttft_s=0.1, itl_s=0.02, slowdown=slowdown)
    times = output_times(timed(clock, model, max_tokens=4, format="openai"), "openai")
    assert times[0] == pytest.approx(0.1e9 * slowdown, abs=2)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps == [pytest.approx(0.02e9 * slowdown, abs=1)] * 3


def test_tokens_per_chunk_gives_one_gap_per_chunk(clock: FakeClock) -> None:
    model = model_on(clock, ttft_s=0.2, itl_s=0.05, tokens_per_chunk=3)
    perf = Perf(clock=clock, cost_of=lambda usage: 0.0)
    list(perf.stream(model.stream, PROMPT, max_tokens=10, format="openai"))
    r = perf.rounds[0]
    assert r["ttft_s"] == pytest.approx(0.2)
    assert r["e2e_s"] == pytest.approx(0.2 + 3 * 0.05)  # 4 chunks: 3, 3, 3 and 1 tokens
    assert r["itl_max_s"] == pytest.approx(0.05)
    assert r["output_tokens"] == 10
    assert r["tpot_s"] == pytest.approx(3 * 0.05 / 9)


def test_fixed_jitter_seed_replays_the_same_delays(clock: FakeClock) -> None:
    def delays(jitter_seed: int | None) -> list[int]:
        model = model_on(clock, ttft_s=0.1, itl_s=0.01, jitter=0.3, jitter_seed=jitter_seed)
        times = output_times(timed(clock, model, max_tokens=20), "text")
        return [times[0]] + [b - a for a, b in itertools.pairwise(times)]

    first = delays(11)
    assert delays(11) == first
    assert delays(12) != first
    assert len(set(first)) > 10  # the jitter does vary the delays
    assert delays(None) != delays(None)  # fresh draws, like a real service


def test_jitter_continues_across_calls_of_one_model(clock: FakeClock) -> None:
    model = model_on(clock, ttft_s=0.1, itl_s=0.01, jitter=0.3, jitter_seed=1)
    first = output_times(timed(clock, model, max_tokens=8), "text")
    second = output_times(timed(clock, model, max_tokens=8), "text")
    assert first != second
    assert model.text(PROMPT, max_tokens=8) == SimulatedModel(seed=0).text(PROMPT, max_tokens=8)


def test_jitter_is_a_log_normal_factor_with_the_given_sigma(clock: FakeClock) -> None:
    sigma = 0.25
    model = model_on(clock, ttft_s=0.1, itl_s=0.01, jitter=sigma, jitter_seed=2024)
    times = output_times(timed(clock, model, max_tokens=2001), "text")
    logs = [math.log((b - a) / 0.01e9) for a, b in itertools.pairwise(times)]
    assert abs(statistics.fmean(logs)) < 4 * sigma / math.sqrt(len(logs))
    assert statistics.stdev(logs) == pytest.approx(sigma, rel=0.1)


@pytest.mark.parametrize("fmt", FORMATS)
def test_async_stream_equals_sync_stream(fmt: StreamFormat) -> None:
    sync_clock, async_clock = FakeClock(), FakeClock()
    kwargs: dict[str, Any] = {"ttft_s": 0.07, "itl_s": 0.004, "jitter": 0.2, "jitter_seed": 3}
    sync_model = model_on(sync_clock, **kwargs)
    async_model = model_on(async_clock, **kwargs)
    sync_events = timed(sync_clock, sync_model, max_tokens=12, format=fmt)

    async def consume() -> list[tuple[int, Any]]:
        start = async_clock.now
        return [
            (async_clock.now - start, chunk)
            async for chunk in async_model.astream(PROMPT, max_tokens=12, format=fmt)
        ]

    assert asyncio.run(consume()) == sync_events


# -- bad arguments --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ttft_s": -0.1}, "ttft_s must be a finite number >= 0"),
        ({"ttft_s": math.inf}, "ttft_s must be a finite number >= 0"),
        ({"itl_s": math.nan}, "itl_s must be a finite number >= 0"),
        ({"jitter": -1.0}, "jitter must be a finite number >= 0"),
        ({"slowdown": 0.0}, "slowdown must be a finite number > 0"),
        ({"slowdown": -2.0}, "slowdown must be a finite number > 0"),
        ({"slowdown": math.nan}, "slowdown must be a finite number > 0"),
        ({"tokens_per_chunk": 0}, "tokens_per_chunk must be a whole number >= 1"),
    ],
)
def test_bad_constructor_arguments_raise_value_error(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SimulatedModel(**kwargs)


def test_negative_cached_input_tokens_is_rejected_up_front() -> None:
    with pytest.raises(ValueError, match="cached_input_tokens"):
        SimulatedModel(cached_input_tokens=-1)


def test_bad_call_arguments_raise_value_error(clock: FakeClock) -> None:
    model = model_on(clock)
    with pytest.raises(ValueError, match="max_tokens must be >= 0"):
        model.text(PROMPT, max_tokens=-1)
    with pytest.raises(ValueError, match="max_tokens must be >= 0"):
        model.complete(PROMPT, max_tokens=-1)
    with pytest.raises(ValueError, match="max_tokens must be >= 0"):
        list(model.stream(PROMPT, max_tokens=-1, format="openai"))
    with pytest.raises(ValueError, match="format must be one of text, openai"):
        list(model.stream(PROMPT, format="xml"))  # type: ignore[arg-type]

    async def consume() -> None:
        async for _ in model.astream(PROMPT, format="gemini"):  # type: ignore[arg-type]
            pass

    with pytest.raises(ValueError, match="format must be one of"):
        asyncio.run(consume())
