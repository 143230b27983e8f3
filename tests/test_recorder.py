"""Stream timing and metric definitions, exact on a fake clock."""

from __future__ import annotations

import asyncio
from contextlib import contextmanager

import pytest
from fakes import FakeClock, ascripted, no_cost, scripted

from pytest_perfbaseline import Perf, UnpricedModelWarning


def make_perf(clock: FakeClock, **kwargs: object) -> Perf:
    return Perf(clock=clock, cost_of=no_cost, **kwargs)  # type: ignore[arg-type]


def chat_chunk(
    content: str | None = None, *, role: str | None = None, usage: dict | None = None
) -> dict:
    delta: dict = {}
    if role is not None:
        delta["role"] = role
    if content is not None:
        delta["content"] = content
    choices = [] if usage is not None else [{"index": 0, "delta": delta}]
    chunk: dict = {"object": "chat.completion.chunk", "model": "gpt-4o-mini", "choices": choices}
    if usage is not None:
        chunk["usage"] = usage
    return chunk


def one_round(perf: Perf) -> dict[str, float | None]:
    rounds = perf.rounds
    assert len(rounds) == 1
    return rounds[0]


def test_plain_strings_give_exact_ttft_e2e_gaps_and_tpot(clock: FakeClock) -> None:
    perf = make_perf(clock)
    events = [(0.200, "a"), (0.010, "b"), (0.030, "c"), (0.020, "d")]
    assert list(perf.stream(scripted(clock, events))) == ["a", "b", "c", "d"]
    r = one_round(perf)
    assert r["ttft_s"] == pytest.approx(0.200)
    assert r["e2e_s"] == pytest.approx(0.260)
    # gaps 10, 30, 20 ms: median 20, p95 by linear interpolation 29, max 30
    assert r["itl_p50_s"] == pytest.approx(0.020)
    assert r["itl_p95_s"] == pytest.approx(0.029)
    assert r["itl_max_s"] == pytest.approx(0.030)
    assert r["output_tokens"] == 4
    assert r["tpot_s"] == pytest.approx((0.260 - 0.200) / 3)
    assert r["tokens_per_s"] == pytest.approx(4 / 0.260)
    assert r["api_calls"] == 1
    assert perf.finish().token_sources == {"": "chunks"}


def test_role_only_first_chunk_and_usage_last_chunk_carry_no_output(clock: FakeClock) -> None:
    perf = make_perf(clock)
    usage = {
        "prompt_tokens": 11,
        "completion_tokens": 7,
        "prompt_tokens_details": {"cached_tokens": 3},
    }
    events = [
        (0.100, chat_chunk("", role="assistant")),
        (0.050, chat_chunk("Hel")),
        (0.010, chat_chunk("lo")),
        (0.005, chat_chunk(None)),  # finish chunk: empty delta
        (0.040, chat_chunk(usage=usage)),
    ]
    list(perf.stream(scripted(clock, events)))
    r = one_round(perf)
    assert r["ttft_s"] == pytest.approx(0.150)  # not 0.100: the role-only chunk is no output
    assert r["e2e_s"] == pytest.approx(0.160)  # not 0.205: the usage chunk is no output
    assert r["output_tokens"] == 7  # usage wins over the 2 output chunks
    assert r["tpot_s"] == pytest.approx(0.010 / 6)
    assert r["input_tokens"] == 11
    assert r["cached_input_tokens"] == 3
    assert perf.finish().token_sources == {"": "usage"}


def test_multi_token_chunks_give_one_gap_each(clock: FakeClock) -> None:
    perf = make_perf(clock)
    events = [(0.1, "one two"), (0.02, "three four five"), (0.04, "six")]
    list(perf.stream(scripted(clock, events), tokens=lambda c: len(c.split())))
    r = one_round(perf)
    assert r["output_tokens"] == 6
    assert r["itl_p50_s"] == pytest.approx(0.03)  # two gaps: 20 ms and 40 ms
    assert r["itl_max_s"] == pytest.approx(0.04)
    assert r["tpot_s"] == pytest.approx(0.06 / 5)
    assert perf.finish().token_sources == {"": "counter"}


def test_counter_returning_zero_marks_a_keepalive(clock: FakeClock) -> None:
    perf = make_perf(clock)
    events = [(0.05, ":keepalive"), (0.05, "tok"), (0.01, "tok")]
    list(perf.stream(scripted(clock, events), tokens=lambda c: 0 if c.startswith(":") else 1))
    r = one_round(perf)
    assert r["ttft_s"] == pytest.approx(0.10)
    assert r["output_tokens"] == 2


def test_counter_must_return_a_nonnegative_int(clock: FakeClock) -> None:
    perf = make_perf(clock)
    list(perf.stream(["a"], tokens=lambda c: -1))
    with pytest.raises(TypeError, match="non-negative int"):
        perf.finish()


def test_empty_stream_has_no_timing_but_counts_a_call(clock: FakeClock) -> None:
    perf = make_perf(clock)
    assert list(perf.stream([])) == []
    r = one_round(perf)
    for name in ("ttft_s", "e2e_s", "tpot_s", "itl_p50_s", "tokens_per_s"):
        assert name not in r
    assert r["output_tokens"] == 0
    assert r["api_calls"] == 1


def test_one_token_stream_has_no_tpot_and_no_gaps(clock: FakeClock) -> None:
    perf = make_perf(clock)
    list(perf.stream(scripted(clock, [(0.3, "only")])))
    r = one_round(perf)
    assert r["ttft_s"] == pytest.approx(0.3)
    assert r["e2e_s"] == pytest.approx(0.3)
    assert "tpot_s" not in r
    assert "itl_p50_s" not in r
    assert r["tokens_per_s"] == pytest.approx(1 / 0.3)


def test_stream_raising_midway_propagates_and_the_round_is_not_recorded(clock: FakeClock) -> None:
    perf = make_perf(clock, rounds=3, warmup=0)

    def broken():
        clock.advance(0.1)
        yield "a"
        raise ConnectionError("server went away")

    calls = 0

    def work() -> str:
        nonlocal calls
        calls += 1
        return "".join(perf.stream(broken))

    with pytest.raises(ConnectionError, match="server went away"):
        perf(work)
    assert calls == 1
    assert perf.rounds == []


def test_a_stream_error_caught_by_the_workload_leaves_that_stream_untimed(
    clock: FakeClock,
) -> None:
    perf = make_perf(clock, rounds=1, warmup=0)

    def broken():
        yield "a"
        raise TimeoutError

    def work() -> None:
        with pytest.raises(TimeoutError):
            list(perf.stream(broken))
        list(perf.stream(scripted(clock, [(0.2, "x"), (0.1, "y")])))  # the retry

    perf(work)
    r = one_round(perf)
    assert r["api_calls"] == 2  # the failed call was made, and may be billed
    assert r["ttft_s"] == pytest.approx(0.2)


def test_consumer_breaking_early_keeps_what_arrived(clock: FakeClock) -> None:
    perf = make_perf(clock)
    for chunk in perf.stream(scripted(clock, [(0.1, "a"), (0.1, "b"), (0.1, "c")])):
        if chunk == "b":
            break
    r = one_round(perf)
    assert r["output_tokens"] == 2
    assert r["e2e_s"] == pytest.approx(0.2)


def test_callable_source_is_called_after_the_clock_starts(clock: FakeClock) -> None:
    perf = make_perf(clock)
    seen: dict[str, object] = {}

    def request(prompt: str, *, model: str):
        seen.update(prompt=prompt, model=model)
        clock.advance(0.25)  # connecting and sending the request
        return scripted(clock, [(0.05, "x"), (0.01, "y")])

    stream = perf.stream(request, "hi", model="gpt-4o-mini")
    assert seen == {}  # nothing happens until iteration starts
    assert list(stream) == ["x", "y"]
    assert seen == {"prompt": "hi", "model": "gpt-4o-mini"}
    # a named model whose stream reports no usage has an unknown cost, and says so once
    with pytest.warns(UnpricedModelWarning, match="'gpt-4o-mini' reported no token usage"):
        assert one_round(perf)["ttft_s"] == pytest.approx(0.30)
    assert perf.rounds[0]["cost_usd"] is None


def test_model_keyword_names_the_model_over_the_streams_own(clock: FakeClock) -> None:
    perf = make_perf(clock)

    def request(model: str):
        return iter(
            [chat_chunk("x"), chat_chunk(usage={"prompt_tokens": 2, "completion_tokens": 1})]
        )

    list(perf.stream(request, model="my-alias"))
    r = one_round(perf)
    assert "model.my-alias.output_tokens" in r
    assert not any(k.startswith("model.gpt-4o-mini") for k in r)


def test_context_manager_source_is_entered_and_exited(clock: FakeClock) -> None:
    perf = make_perf(clock)
    log: list[str] = []

    @contextmanager
    def stream_manager():
        log.append("enter")
        yield scripted(clock, [(0.1, "a"), (0.1, "b")])
        log.append("exit")

    class Manager:  # like anthropic's MessageStreamManager: a context manager, not iterable
        def __enter__(self):
            self._cm = stream_manager()
            return self._cm.__enter__()

        def __exit__(self, *exc):
            return self._cm.__exit__(*exc)

    assert list(perf.stream(Manager)) == ["a", "b"]
    assert log == ["enter", "exit"]
    assert one_round(perf)["ttft_s"] == pytest.approx(0.1)


def test_a_timed_stream_iterates_once(clock: FakeClock) -> None:
    perf = make_perf(clock)
    stream = perf.stream(["a"])
    list(stream)
    with pytest.raises(RuntimeError, match="already iterated"):
        list(stream)


def test_bad_sources_and_arguments_are_rejected_clearly(clock: FakeClock) -> None:
    perf = make_perf(clock)
    with pytest.raises(TypeError, match="needs an iterable"):
        perf.stream(42)
    with pytest.raises(TypeError, match="already an iterable"):
        perf.stream(["a"], "extra")
    with pytest.raises(ValueError, match="name"):
        perf.stream(["a"], name="")
    with pytest.raises(TypeError, match="tokens"):
        perf.stream(["a"], tokens=3)  # type: ignore[arg-type]


def test_async_source_iterated_with_plain_for_says_to_use_async_for(clock: FakeClock) -> None:
    perf = make_perf(clock)

    async def agen():
        yield "a"

    with pytest.raises(TypeError, match="async for"):
        list(perf.stream(agen))


def test_async_stream_from_coroutine_returning_an_async_iterator(clock: FakeClock) -> None:
    perf = make_perf(clock)

    async def create(prompt: str):
        clock.advance(0.2)  # the awaited request
        return ascripted(clock, [(0.05, "x"), (0.02, "y"), (0.03, "z")])

    async def consume() -> list[str]:
        return [c async for c in perf.stream(create, "hi")]

    assert asyncio.run(consume()) == ["x", "y", "z"]
    r = one_round(perf)
    assert r["ttft_s"] == pytest.approx(0.25)
    assert r["e2e_s"] == pytest.approx(0.30)
    assert r["tpot_s"] == pytest.approx(0.025)


def test_async_for_over_a_sync_iterable_works(clock: FakeClock) -> None:
    perf = make_perf(clock)

    async def consume() -> list[str]:
        return [c async for c in perf.stream(scripted(clock, [(0.1, "a"), (0.1, "b")]))]

    assert asyncio.run(consume()) == ["a", "b"]
    assert one_round(perf)["e2e_s"] == pytest.approx(0.2)


def test_async_stream_error_propagates(clock: FakeClock) -> None:
    perf = make_perf(clock, rounds=2, warmup=0)

    async def broken():
        yield "a"
        raise ConnectionResetError("reset")

    async def work() -> None:
        async for _ in perf.stream(broken):
            pass

    with pytest.raises(ConnectionResetError):
        asyncio.run(perf.arun(work))
    assert perf.rounds == []


def test_named_streams_report_under_their_name_and_together(clock: FakeClock) -> None:
    perf = make_perf(clock)
    list(perf.stream(scripted(clock, [(0.10, "a"), (0.02, "b")]), name="planner"))
    list(perf.stream(scripted(clock, [(0.30, "c"), (0.04, "d"), (0.04, "e")]), name="writer"))
    r = one_round(perf)
    assert r["planner.ttft_s"] == pytest.approx(0.10)
    assert r["writer.ttft_s"] == pytest.approx(0.30)
    assert r["writer.output_tokens"] == 3
    assert r["planner.tpot_s"] == pytest.approx(0.02)
    # Bare names describe all streams: means of per-stream times, pooled gaps, summed tokens.
    assert r["ttft_s"] == pytest.approx(0.20)
    assert r["e2e_s"] == pytest.approx((0.12 + 0.38) / 2)
    assert r["itl_max_s"] == pytest.approx(0.04)
    assert r["output_tokens"] == 5
    assert r["api_calls"] == 2


def test_streams_sharing_a_name_are_averaged(clock: FakeClock) -> None:
    perf = make_perf(clock)
    for ttft in (0.1, 0.3):
        list(perf.stream(scripted(clock, [(ttft, "a"), (0.01, "b")]), name="tool"))
    r = one_round(perf)
    assert r["tool.ttft_s"] == pytest.approx(0.2)
    assert r["tool.output_tokens"] == 4


def test_round_time_covers_the_whole_workload(clock: FakeClock) -> None:
    perf = make_perf(clock, rounds=2, warmup=1)

    def work() -> None:
        clock.advance(0.5)  # work outside any stream counts in round_s
        list(perf.stream(scripted(clock, [(0.1, "a")])))

    perf(work)
    assert [r["round_s"] for r in perf.rounds] == [pytest.approx(0.6), pytest.approx(0.6)]


def test_served_model_is_priced_when_the_requested_name_has_no_price(clock: FakeClock) -> None:
    prices = {"gpt-4o-2024-05-13": 5.0}  # the served snapshot is priced, the deployment name not
    perf = Perf(clock=clock, cost_of=lambda usage: prices.get(usage.model or ""))

    def request(model: str):
        usage = {"prompt_tokens": 3, "completion_tokens": 1}
        return iter(
            [
                {**chat_chunk("x"), "model": "gpt-4o-2024-05-13"},
                {**chat_chunk(usage=usage), "model": "gpt-4o-2024-05-13"},
            ]
        )

    list(perf.stream(request, model="my-deployment"))
    r = one_round(perf)
    assert r["cost_usd"] == 5.0
    assert r["model.my-deployment.cost_usd"] == 5.0  # keyed by the requested, stable name


def test_a_stream_perf_created_is_closed_when_the_consumer_stops_early(clock: FakeClock) -> None:
    perf = make_perf(clock)
    closed: list[str] = []

    class SDKStream:  # like an SDK stream: iterable, with a close() that frees the connection
        def __iter__(self):
            yield from ("a", "b", "c")

        def close(self) -> None:
            closed.append("sync")

    for _ in perf.stream(SDKStream):
        break
    assert closed == ["sync"]

    given = SDKStream()
    for _ in perf.stream(given):  # the caller made this one: closing it is the caller's call
        break
    assert closed == ["sync"]


def test_an_async_stream_perf_created_is_closed_when_the_consumer_stops_early(
    clock: FakeClock,
) -> None:
    perf = make_perf(clock)
    closed: list[str] = []

    class AsyncSDKStream:
        async def __aiter__(self):
            for chunk in ("a", "b"):
                yield chunk

        async def aclose(self) -> None:
            closed.append("async")

    async def create() -> AsyncSDKStream:
        return AsyncSDKStream()

    async def consume() -> None:
        async for _ in perf.stream(create):
            break

    asyncio.run(consume())
    assert closed == ["async"]
