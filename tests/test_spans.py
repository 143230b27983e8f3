"""Spans: exact attribution of time, tokens, calls and cost on a fake clock.

Nested spans, the same agent in two phases, usage inside and outside spans, concurrent agents
with ``asyncio.gather`` (on an event loop whose time *is* the fake clock, so the agents really
interleave) and with threads, and how an unpriced model makes cost null.
"""

from __future__ import annotations

import asyncio
import contextvars
import selectors
import sys
import threading
import warnings
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import pytest
from fakes import FakeClock, scripted

from pytest_perfbaseline import Perf, SimulatedModel, UnpricedModelWarning, Usage

# USD per million (input, output) tokens. "mystery" (and any other name) has no price.
PRICES = {"big": (2.0, 8.0), "small": (0.5, 1.5)}


def cost_of(usage: Usage) -> float | None:
    price = PRICES.get(usage.model or "")
    if price is None:
        return None
    return (usage.input_tokens * price[0] + usage.output_tokens * price[1]) / 1e6


def price(model: str, input_tokens: int, output_tokens: int) -> float:
    rate_in, rate_out = PRICES[model]
    return (input_tokens * rate_in + output_tokens * rate_out) / 1e6


def make_perf(clock: FakeClock, **kwargs: Any) -> Perf:
    return Perf(clock=clock, cost_of=cost_of, **kwargs)


def chat_events(
    model: str,
    pieces: list[str],
    *,
    ttft: float,
    itl: float,
    input_tokens: int,
    output_tokens: int,
) -> list[tuple[float, dict[str, Any]]]:
    """(delay, chunk) pairs of an OpenAI Chat Completions stream ending in a usage chunk."""
    events: list[tuple[float, dict[str, Any]]] = [
        (
            ttft if i == 0 else itl,
            {"model": model, "choices": [{"index": 0, "delta": {"content": piece}}]},
        )
        for i, piece in enumerate(pieces)
    ]
    usage = {"prompt_tokens": input_tokens, "completion_tokens": output_tokens}
    events.append((0.0, {"model": model, "choices": [], "usage": usage}))
    return events


def only_round(perf: Perf) -> dict[str, float | None]:
    rounds = perf.rounds
    assert len(rounds) == 1
    return rounds[0]


def keys_with_prefix(values: dict[str, float | None], prefix: str) -> set[str]:
    return {key for key in values if key.startswith(prefix)}


def assert_breakdown(
    values: dict[str, float | None],
    prefix: str,
    *,
    input_tokens: int,
    output_tokens: int,
    api_calls: int,
    cost: float | None,
) -> None:
    assert values[f"{prefix}.input_tokens"] == input_tokens
    assert values[f"{prefix}.output_tokens"] == output_tokens
    assert values[f"{prefix}.api_calls"] == api_calls
    if cost is None:
        assert values[f"{prefix}.cost_usd"] is None
    else:
        assert values[f"{prefix}.cost_usd"] == pytest.approx(cost)


# -- nesting -------------------------------------------------------------------------------------


def test_nested_phase_agent_operation_times_tokens_and_cost(clock: FakeClock) -> None:
    perf = make_perf(clock, rounds=2, warmup=1)
    search = chat_events(
        "big", ["a", "b", "c"], ttft=0.30, itl=0.05, input_tokens=100, output_tokens=30
    )

    def work() -> None:
        clock.advance(0.05)  # outside every span
        with perf.phase("research"):
            clock.advance(0.10)
            with perf.agent("planner"):
                clock.advance(0.20)
                with perf.operation("search"):
                    list(perf.stream(scripted(clock, search)))
                    clock.advance(0.02)
                clock.advance(0.10)
                perf.record_usage("small", 40, 10)  # in the agent, in no operation
            clock.advance(0.07)

    perf(work)
    assert len(perf.rounds) == 2
    search_cost = price("big", 100, 30)
    small_cost = price("small", 40, 10)
    for r in perf.rounds:
        assert r["operation.search.s"] == pytest.approx(0.30 + 2 * 0.05 + 0.02)
        assert r["agent.planner.s"] == pytest.approx(0.20 + 0.42 + 0.10)
        assert r["phase.research.s"] == pytest.approx(0.10 + 0.72 + 0.07)
        assert r["round_s"] == pytest.approx(0.05 + 0.89)

        assert_breakdown(
            r, "operation.search", input_tokens=100, output_tokens=30, api_calls=1, cost=search_cost
        )
        assert_breakdown(
            r,
            "agent.planner",
            input_tokens=140,
            output_tokens=40,
            api_calls=2,
            cost=search_cost + small_cost,
        )
        assert_breakdown(
            r,
            "phase.research",
            input_tokens=140,
            output_tokens=40,
            api_calls=2,
            cost=search_cost + small_cost,
        )
        assert_breakdown(
            r, "model.big", input_tokens=100, output_tokens=30, api_calls=1, cost=search_cost
        )
        assert_breakdown(
            r, "model.small", input_tokens=40, output_tokens=10, api_calls=1, cost=small_cost
        )
        # The call made outside the operation is not charged to it (or to any other operation).
        operations = keys_with_prefix(r, "operation.")
        assert "operation.search.s" in operations
        assert all(key.startswith("operation.search.") for key in operations)
        assert r["input_tokens"] == 140
        assert r["output_tokens"] == 40
        assert r["api_calls"] == 2
        assert r["cost_usd"] == pytest.approx(search_cost + small_cost)


def test_usage_goes_to_the_innermost_span_of_each_kind(clock: FakeClock) -> None:
    perf = make_perf(clock)
    with perf.phase("outer"), perf.agent("orchestrator"):
        clock.advance(0.1)
        perf.record_usage("small", 10, 1)
        with perf.agent("worker"):
            clock.advance(0.2)
            perf.record_usage("big", 20, 2)
            with perf.phase("inner"):
                clock.advance(0.4)
                perf.record_usage("big", 30, 3)
        clock.advance(0.05)
        with perf.operation("lookup"):
            clock.advance(0.3)
            perf.record_usage("small", 40, 4)
    r = only_round(perf)
    # An enclosing span's time includes its inner spans.
    assert r["agent.orchestrator.s"] == pytest.approx(0.1 + 0.6 + 0.05 + 0.3)
    assert r["agent.worker.s"] == pytest.approx(0.6)
    assert r["phase.inner.s"] == pytest.approx(0.4)
    assert r["phase.outer.s"] == pytest.approx(1.05)
    assert r["operation.lookup.s"] == pytest.approx(0.3)
    # ... but each call is charged to the innermost span of each kind only.
    assert_breakdown(
        r,
        "agent.orchestrator",
        input_tokens=50,
        output_tokens=5,
        api_calls=2,
        cost=price("small", 10, 1) + price("small", 40, 4),
    )
    assert_breakdown(
        r,
        "agent.worker",
        input_tokens=50,
        output_tokens=5,
        api_calls=2,
        cost=price("big", 20, 2) + price("big", 30, 3),
    )
    assert_breakdown(
        r, "phase.inner", input_tokens=30, output_tokens=3, api_calls=1, cost=price("big", 30, 3)
    )
    assert_breakdown(
        r,
        "phase.outer",
        input_tokens=70,
        output_tokens=7,
        api_calls=3,
        cost=price("small", 10, 1) + price("big", 20, 2) + price("small", 40, 4),
    )
    assert_breakdown(
        r,
        "operation.lookup",
        input_tokens=40,
        output_tokens=4,
        api_calls=1,
        cost=price("small", 40, 4),
    )


def test_streams_are_attributed_to_the_spans_open_when_iteration_starts(clock: FakeClock) -> None:
    perf = make_perf(clock)
    events = chat_events("big", ["x", "y"], ttft=0.1, itl=0.1, input_tokens=5, output_tokens=2)
    stream = perf.stream(scripted(clock, events))  # created outside any span ...
    with perf.agent("consumer"):
        list(stream)  # ... but iterated inside one
    r = only_round(perf)
    assert r["agent.consumer.output_tokens"] == 2
    assert r["agent.consumer.api_calls"] == 1


def test_span_names_are_validated_and_a_scope_enters_once(clock: FakeClock) -> None:
    perf = make_perf(clock)
    for open_span in (perf.phase, perf.agent, perf.operation):
        with pytest.raises(ValueError, match="non-empty name"):
            open_span("")
    scope = perf.agent("a")
    with scope, pytest.raises(RuntimeError, match="already open"), scope:
        pass


def test_a_span_closes_and_is_recorded_when_its_body_raises(clock: FakeClock) -> None:
    perf = make_perf(clock)

    def fail_inside_a_span() -> None:
        with perf.agent("failing"):
            clock.advance(0.25)
            perf.record_usage("small", 1, 1)
            raise KeyError("x")

    with pytest.raises(KeyError):
        fail_inside_a_span()
    perf.record_usage("small", 2, 2)  # after the span: charged to no agent
    r = only_round(perf)
    assert r["agent.failing.s"] == pytest.approx(0.25)
    assert r["agent.failing.api_calls"] == 1
    assert r["api_calls"] == 2


# -- the same agent in two phases -----------------------------------------------------------------


def test_the_same_agent_in_two_phases_sums_its_time_and_tokens(clock: FakeClock) -> None:
    perf = make_perf(clock, rounds=3, warmup=0)
    draft = chat_events(
        "big", ["d1", "d2", "d3"], ttft=0.2, itl=0.1, input_tokens=50, output_tokens=3
    )
    revise = chat_events(
        "small", ["r1", "r2"], ttft=0.15, itl=0.05, input_tokens=70, output_tokens=9
    )

    def work() -> None:
        with perf.phase("draft"), perf.agent("writer"):
            list(perf.stream(scripted(clock, draft)))
        with perf.phase("review"):
            with perf.agent("critic"):
                clock.advance(0.3)
                perf.record_usage("small", 80, 6)
            with perf.agent("writer"):
                list(perf.stream(scripted(clock, revise)))
        with perf.phase("review"):  # a phase opened twice adds up too
            clock.advance(0.01)

    perf(work)
    writer_cost = price("big", 50, 3) + price("small", 70, 9)
    for r in perf.rounds:
        assert r["agent.writer.s"] == pytest.approx(0.4 + 0.2)
        assert r["agent.critic.s"] == pytest.approx(0.3)
        assert r["phase.draft.s"] == pytest.approx(0.4)
        assert r["phase.review.s"] == pytest.approx(0.3 + 0.2 + 0.01)
        assert_breakdown(
            r, "agent.writer", input_tokens=120, output_tokens=12, api_calls=2, cost=writer_cost
        )
        assert_breakdown(
            r,
            "phase.draft",
            input_tokens=50,
            output_tokens=3,
            api_calls=1,
            cost=price("big", 50, 3),
        )
        assert_breakdown(
            r,
            "phase.review",
            input_tokens=150,
            output_tokens=15,
            api_calls=2,
            cost=price("small", 80, 6) + price("small", 70, 9),
        )
        assert r["round_s"] == pytest.approx(0.4 + 0.3 + 0.2 + 0.01)


# -- usage inside and outside spans ---------------------------------------------------------------


def test_usage_inside_and_outside_spans(clock: FakeClock) -> None:
    perf = make_perf(clock)
    perf.record_usage("small", 10, 1)  # outside every span
    outside = chat_events("big", ["o"], ttft=0.1, itl=0.0, input_tokens=11, output_tokens=7)
    list(perf.stream(scripted(clock, outside)))
    with perf.agent("a"):
        perf.record_usage("small", 20, 2)
        inside = chat_events("big", ["i", "j"], ttft=0.1, itl=0.1, input_tokens=13, output_tokens=5)
        list(perf.stream(scripted(clock, inside)))
    r = only_round(perf)
    # Round totals include everything ...
    assert r["input_tokens"] == 10 + 11 + 20 + 13
    assert r["output_tokens"] == 1 + 7 + 2 + 5
    assert r["api_calls"] == 4
    every_cost = price("small", 10, 1) + price("big", 11, 7)
    every_cost += price("small", 20, 2) + price("big", 13, 5)
    assert r["cost_usd"] == pytest.approx(every_cost)
    # ... breakdowns only what was attributed to them.
    assert_breakdown(
        r,
        "agent.a",
        input_tokens=33,
        output_tokens=7,
        api_calls=2,
        cost=price("small", 20, 2) + price("big", 13, 5),
    )
    assert keys_with_prefix(r, "phase.") == set()
    assert keys_with_prefix(r, "operation.") == set()
    # Per model, attribution to spans does not matter.
    assert_breakdown(
        r,
        "model.big",
        input_tokens=24,
        output_tokens=12,
        api_calls=2,
        cost=price("big", 11, 7) + price("big", 13, 5),
    )


def test_record_usage_agent_and_operation_override_the_enclosing_spans(clock: FakeClock) -> None:
    perf = make_perf(clock)
    with perf.phase("p"), perf.agent("a"), perf.operation("o"):
        perf.record_usage("small", 1, 1)
        perf.record_usage("small", 10, 2, agent="b")
        perf.record_usage("small", 100, 3, operation="q")
        perf.record_usage("small", 1000, 4, agent="c", operation="r")
        perf.record_usage("small", 5, 5)  # the overrides do not leak into later calls
    perf.record_usage("big", 7, 7, agent="loner")  # outside every span
    r = only_round(perf)
    assert r["agent.a.input_tokens"] == 1 + 100 + 5
    assert r["agent.b.input_tokens"] == 10
    assert r["agent.c.input_tokens"] == 1000
    assert r["operation.o.input_tokens"] == 1 + 10 + 5
    assert r["operation.q.input_tokens"] == 100
    assert r["operation.r.input_tokens"] == 1000
    # The phase is not overridable and still sees every call made inside it.
    assert r["phase.p.input_tokens"] == 1116
    assert r["phase.p.api_calls"] == 5
    # An agent named only by record_usage has tokens but no time: it never ran as a span.
    assert_breakdown(
        r, "agent.loner", input_tokens=7, output_tokens=7, api_calls=1, cost=price("big", 7, 7)
    )
    assert "agent.loner.s" not in r
    assert "agent.b.s" not in r
    assert r["agent.a.s"] == pytest.approx(0.0)


@pytest.mark.parametrize("first_event", ["record_usage", "stream"])
def test_implicit_round_starts_no_later_than_the_span_opened_first(
    clock: FakeClock, first_event: str
) -> None:
    perf = make_perf(clock)
    with perf.phase("everything"):
        clock.advance(0.1)  # nothing recorded yet
        if first_event == "stream":  # the implicit round is created here
            list(perf.stream(scripted(clock, [(0.2, "x")])))
        else:
            clock.advance(0.2)
            perf.record_usage("small", 1, 1)
        clock.advance(0.3)
    r = only_round(perf)
    assert r["phase.everything.s"] == pytest.approx(0.6)
    assert r["round_s"] == pytest.approx(0.6)  # the span is the whole workload


# -- concurrent agents: asyncio -------------------------------------------------------------------


class _VirtualTimeSelector(selectors.SelectSelector):
    """Polls real file descriptors without blocking; a wait for a timer moves the fake clock."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__()
        self._clock = clock

    def select(self, timeout: float | None = None) -> list[Any]:
        events = super().select(0)
        if events:
            return events
        if timeout is None:
            raise RuntimeError("virtual-time loop: every task waits for something not a timer")
        if timeout > 0:
            # At least 1 ns, so float rounding can never leave the loop spinning in place.
            self._clock.now += max(1, round(timeout * 1e9))
        return events


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An event loop whose time is the fake clock: ``asyncio.sleep`` advances it, exactly.

    Tasks interleave as on a real loop (whichever timer is due first runs first), but no
    real time passes, so concurrent streams have exact, known timing.
    """

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(selector=_VirtualTimeSelector(clock))
        self._fake_clock = clock

    def time(self) -> float:
        return self._fake_clock.now / 1e9


def run_virtual(clock: FakeClock, main: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    loop = VirtualTimeLoop(clock)
    try:
        return loop.run_until_complete(main())
    finally:
        loop.close()


async def achat(
    events: list[tuple[float, dict[str, Any]]], log: list[tuple[str, int]], name: str
) -> AsyncIterator[dict[str, Any]]:
    """An async stream that really suspends (``asyncio.sleep``) before each chunk."""
    for delay, chunk in events:
        await asyncio.sleep(delay)
        log.append((name, 0))
        yield chunk


def test_virtual_time_loop_runs_sleeps_concurrently_and_exactly(clock: FakeClock) -> None:
    start = clock.now

    async def main() -> list[int]:
        async def nap(seconds: float) -> int:
            await asyncio.sleep(seconds)
            return clock.now - start

        return list(await asyncio.gather(nap(0.3), nap(0.1), nap(0.2)))

    woke = run_virtual(clock, main)
    assert woke == [
        pytest.approx(0.3e9, abs=2),
        pytest.approx(0.1e9, abs=2),
        pytest.approx(0.2e9, abs=2),
    ]
    assert clock.now - start == pytest.approx(0.3e9, abs=2)  # concurrent, not 0.6 s


def test_agents_gathered_concurrently_are_charged_their_own_time_tokens_and_cost(
    clock: FakeClock,
) -> None:
    perf = make_perf(clock)
    log: list[tuple[str, int]] = []
    planner = chat_events(
        "big", ["p1", "p2", "p3", "p4"], ttft=0.3, itl=0.1, input_tokens=100, output_tokens=40
    )
    writer = chat_events(
        "small", ["w1", "w2", "w3"], ttft=0.1, itl=0.2, input_tokens=60, output_tokens=3
    )

    async def agent(name: str, events: list[tuple[float, dict[str, Any]]], model: str) -> None:
        async with perf.agent(name):
            log.append((name, 1))  # span open
            async with perf.operation(f"{name}-call"):
                async for _ in perf.stream(achat(events, log, name), name=name):
                    pass
            # A follow-up call after the other agent opened and closed its own spans.
            perf.record_usage(model, 7, 1)
            log.append((name, 2))  # span about to close

    async def main() -> None:
        async with perf.phase("together"):
            await asyncio.gather(agent("planner", planner, "big"), agent("writer", writer, "small"))

    run_virtual(clock, main)

    # The agents really overlapped: the writer streamed while the planner's span was open.
    planner_open = log.index(("planner", 1))
    planner_close = log.index(("planner", 2))
    writer_chunks = [i for i, event in enumerate(log) if event == ("writer", 0)]
    assert any(planner_open < i < planner_close for i in writer_chunks)

    r = only_round(perf)
    assert r["agent.planner.s"] == pytest.approx(0.3 + 3 * 0.1)
    assert r["agent.writer.s"] == pytest.approx(0.1 + 2 * 0.2)
    assert r["operation.planner-call.s"] == pytest.approx(0.6)
    assert r["operation.writer-call.s"] == pytest.approx(0.5)
    assert r["phase.together.s"] == pytest.approx(0.6)  # wall time, not the sum of the agents
    assert r["planner.ttft_s"] == pytest.approx(0.3)
    assert r["writer.ttft_s"] == pytest.approx(0.1)
    assert r["planner.e2e_s"] == pytest.approx(0.6)
    assert r["writer.e2e_s"] == pytest.approx(0.5)
    assert r["planner.tpot_s"] == pytest.approx(0.3 / 39)
    assert r["writer.tpot_s"] == pytest.approx(0.4 / 2)
    for who, model, tokens_in, tokens_out in (
        ("planner", "big", 100, 40),
        ("writer", "small", 60, 3),
    ):
        streamed = price(model, tokens_in, tokens_out)
        assert_breakdown(
            r,
            f"operation.{who}-call",
            input_tokens=tokens_in,
            output_tokens=tokens_out,
            api_calls=1,
            cost=streamed,
        )
        for prefix in (f"agent.{who}", f"model.{model}"):
            assert_breakdown(
                r,
                prefix,
                input_tokens=tokens_in + 7,
                output_tokens=tokens_out + 1,
                api_calls=2,
                cost=streamed + price(model, 7, 1),
            )
    # The gathered tasks inherited the phase opened around gather.
    assert_breakdown(
        r,
        "phase.together",
        input_tokens=160 + 14,
        output_tokens=43 + 2,
        api_calls=4,
        cost=price("big", 100, 40)
        + price("small", 60, 3)
        + price("big", 7, 1)
        + price("small", 7, 1),
    )


def test_gathered_agents_with_simulated_models_over_rounds(clock: FakeClock) -> None:
    # asleep defaults to asyncio.sleep, which the virtual-time loop turns into fake-clock time.
    fast = SimulatedModel(model="small", ttft_s=0.05, itl_s=0.01, sleep=clock.sleep)
    slow = SimulatedModel(model="big", ttft_s=0.2, itl_s=0.03, sleep=clock.sleep)
    perf = make_perf(clock, rounds=2, warmup=1)

    async def agent(name: str, llm: SimulatedModel, max_tokens: int, think: float) -> str:
        async with perf.agent(name):
            await asyncio.sleep(think)  # meanwhile the other agent opens its span
            chunks = perf.stream(llm.astream, name, max_tokens=max_tokens, format="openai")
            pieces = [c["choices"][0]["delta"] async for c in chunks if c["choices"]]
            return "".join(delta.get("content", "") for delta in pieces)

    async def workload() -> list[str]:
        scout = agent("scout", fast, 6, think=0.02)
        sage = agent("sage", slow, 11, think=0.01)
        return list(await asyncio.gather(scout, sage))

    async def main() -> list[str]:
        return await perf.arun(workload)

    answers = run_virtual(clock, main)
    assert answers == [fast.text("scout", max_tokens=6), slow.text("sage", max_tokens=11)]
    assert len(perf.rounds) == 2
    for r in perf.rounds:
        assert r["agent.scout.s"] == pytest.approx(0.02 + 0.05 + 5 * 0.01)
        assert r["agent.sage.s"] == pytest.approx(0.01 + 0.2 + 10 * 0.03)
        assert r["round_s"] == pytest.approx(0.51)
        assert r["agent.scout.output_tokens"] == 6
        assert r["agent.sage.output_tokens"] == 11
        assert r["model.small.output_tokens"] == 6
        assert r["model.big.output_tokens"] == 11
        assert r["agent.scout.api_calls"] == 1
        assert r["agent.sage.api_calls"] == 1
        assert r["output_tokens"] == 17
        scout_input = r["agent.scout.input_tokens"]
        sage_input = r["agent.sage.input_tokens"]
        assert scout_input is not None
        assert sage_input is not None
        assert r["input_tokens"] == scout_input + sage_input
        assert r["agent.scout.cost_usd"] == pytest.approx(price("small", int(scout_input), 6))
        assert r["agent.sage.cost_usd"] == pytest.approx(price("big", int(sage_input), 11))


# -- concurrent agents: threads ------------------------------------------------------------------


def run_threads(*targets: Callable[[], None], together: bool) -> None:
    """Run each target in a thread: one after another, or all at once."""
    errors: list[BaseException] = []

    def guarded(target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                target()
            except BaseException as exc:
                errors.append(exc)

        return run

    threads = [threading.Thread(target=guarded(t)) for t in targets]
    if together:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
    else:
        for thread in threads:
            thread.start()
            thread.join(timeout=10)
    assert not any(thread.is_alive() for thread in threads)
    if errors:
        raise errors[0]


def test_threads_one_after_another_each_charged_their_own_agent(clock: FakeClock) -> None:
    perf = make_perf(clock, rounds=2, warmup=0)
    alpha = chat_events("big", ["a1", "a2"], ttft=0.2, itl=0.1, input_tokens=30, output_tokens=2)
    beta = chat_events(
        "small", ["b1", "b2", "b3"], ttft=0.1, itl=0.05, input_tokens=20, output_tokens=9
    )

    def thread_agent(name: str, events: list[tuple[float, dict[str, Any]]]) -> Callable[[], None]:
        def run() -> None:
            with perf.agent(name):
                list(perf.stream(scripted(clock, events), name=name))

        return run

    def work() -> None:
        run_threads(thread_agent("alpha", alpha), thread_agent("beta", beta), together=False)

    perf(work)
    for r in perf.rounds:
        assert r["agent.alpha.s"] == pytest.approx(0.3)
        assert r["agent.beta.s"] == pytest.approx(0.2)
        assert r["alpha.ttft_s"] == pytest.approx(0.2)
        assert r["beta.e2e_s"] == pytest.approx(0.2)
        assert_breakdown(
            r,
            "agent.alpha",
            input_tokens=30,
            output_tokens=2,
            api_calls=1,
            cost=price("big", 30, 2),
        )
        assert_breakdown(
            r,
            "agent.beta",
            input_tokens=20,
            output_tokens=9,
            api_calls=1,
            cost=price("small", 20, 9),
        )
        assert r["api_calls"] == 2


def test_threads_streaming_at_the_same_time_are_charged_their_own_tokens(
    clock: FakeClock,
) -> None:
    # Both threads hold their agent span open and take turns chunk by chunk (a barrier before
    # every chunk), so a shared "current span" would mix them up. The fake clock does not
    # move: shared by two truly concurrent threads it would not be deterministic, so only
    # tokens, calls and cost are checked here.
    perf = make_perf(clock, rounds=3, warmup=0)
    barrier = threading.Barrier(2, timeout=10)

    def lockstep(model: str, n: int, input_tokens: int) -> Any:
        for i in range(n):
            barrier.wait()
            yield {"model": model, "choices": [{"index": 0, "delta": {"content": f"t{i}"}}]}
        barrier.wait()
        usage = {"prompt_tokens": input_tokens, "completion_tokens": n * 10}
        yield {"model": model, "choices": [], "usage": usage}

    def thread_agent(name: str, model: str, n: int, input_tokens: int) -> Callable[[], None]:
        def run() -> None:
            with perf.agent(name):
                barrier.wait()  # both spans are open before either streams
                list(perf.stream(lockstep(model, n, input_tokens)))
                barrier.wait()  # and stay open until both streams are done

        return run

    def work() -> None:
        run_threads(
            thread_agent("alpha", "big", 4, 31),
            thread_agent("beta", "small", 4, 17),
            together=True,
        )

    perf(work)
    assert len(perf.rounds) == 3
    for r in perf.rounds:
        assert_breakdown(
            r,
            "agent.alpha",
            input_tokens=31,
            output_tokens=40,
            api_calls=1,
            cost=price("big", 31, 40),
        )
        assert_breakdown(
            r,
            "agent.beta",
            input_tokens=17,
            output_tokens=40,
            api_calls=1,
            cost=price("small", 17, 40),
        )
        assert r["output_tokens"] == 80
        assert r["api_calls"] == 2


THREADS_INHERIT_CONTEXT = bool(getattr(sys.flags, "thread_inherit_context", False))


def test_what_a_thread_inherits_from_the_span_that_started_it(clock: FakeClock) -> None:
    """Spans live in a ContextVar. A plain ``threading.Thread`` starts with an empty context
    (before Python 3.14, and by default on the GIL build of 3.14+), so a span opened in the
    main thread is NOT seen in it; ``contextvars.copy_context().run`` carries it over."""
    perf = make_perf(clock)

    def plain() -> None:
        perf.record_usage("small", 1, 1)

    def copied() -> None:
        perf.record_usage("small", 10, 10)

    def opens_its_own() -> None:
        with perf.operation("inside-thread"):
            perf.record_usage("small", 100, 100)

    with perf.phase("main"), perf.agent("boss"):
        run_threads(plain, together=False)
        context = contextvars.copy_context()
        run_threads(lambda: context.run(copied), together=False)
        run_threads(lambda: context.run(opens_its_own), together=False)
        # The thread's operation did not leak back into the main thread's context.
        perf.record_usage("small", 1000, 1000)
    r = only_round(perf)
    assert r["api_calls"] == 4  # every call counts in the round, inherited or not
    if THREADS_INHERIT_CONTEXT:  # pragma: no cover - free-threaded builds
        assert r["phase.main.input_tokens"] == 1111
    else:
        assert r["phase.main.input_tokens"] == 1110
        assert r["agent.boss.input_tokens"] == 1110
        assert r["agent.boss.api_calls"] == 3
    # A span opened inside the thread nests under what the thread's context carried.
    assert r["operation.inside-thread.input_tokens"] == 100
    assert r["operation.inside-thread.api_calls"] == 1
    assert "operation.inside-thread.s" in r


# -- cost None propagation -------------------------------------------------------------------------


def test_an_unpriced_model_makes_its_model_agent_phase_and_round_cost_null(
    clock: FakeClock,
) -> None:
    unpriced: list[str] = []
    perf = make_perf(clock, rounds=3, warmup=1, on_unpriced=unpriced.append)
    mystery = chat_events("mystery", ["m"], ttft=0.1, itl=0.0, input_tokens=9, output_tokens=4)

    def work() -> None:
        with perf.phase("p"):
            with perf.agent("a"):
                list(perf.stream(scripted(clock, mystery)))
                perf.record_usage("small", 5, 5)
            with perf.agent("b"), perf.operation("op"):
                perf.record_usage("big", 8, 2)

    perf(work)
    assert len(perf.rounds) == 3
    for r in perf.rounds:
        assert r["model.mystery.cost_usd"] is None
        assert r["model.mystery.output_tokens"] == 4  # tokens are still counted
        assert r["model.mystery.input_tokens"] == 9
        assert r["agent.a.cost_usd"] is None  # a partial sum would understate it
        assert r["agent.a.output_tokens"] == 9
        assert r["phase.p.cost_usd"] is None
        assert r["cost_usd"] is None
        assert r["model.small.cost_usd"] == pytest.approx(price("small", 5, 5))
        assert r["agent.b.cost_usd"] == pytest.approx(price("big", 8, 2))
        assert r["operation.op.cost_usd"] == pytest.approx(price("big", 8, 2))
    # Once per model per Perf, however many rounds used it.
    assert unpriced == ["mystery"]
    perf.summary  # noqa: B018 - reading results again does not warn again
    assert unpriced == ["mystery"]
    # Null cost is left out of the summary rather than summarised as a number.
    assert "cost_usd" not in perf.summary
    assert perf.summary["agent.b.cost_usd"].n == 3


def test_unpriced_callback_fires_once_per_model_as_new_models_appear(clock: FakeClock) -> None:
    unpriced: list[str] = []
    perf = make_perf(clock, rounds=4, warmup=0, on_unpriced=unpriced.append)
    calls = 0

    def work() -> None:
        nonlocal calls
        calls += 1
        perf.record_usage("mystery", 1, 1)
        if calls >= 2:
            perf.record_usage("enigma", 1, 1)
            perf.record_usage("enigma", 2, 2)
        perf.record_usage("big", 1, 1)

    perf(work)
    assert unpriced == ["mystery", "enigma"]
    rounds = perf.rounds
    assert rounds[0]["model.mystery.cost_usd"] is None
    assert "model.enigma.cost_usd" not in rounds[0]
    assert rounds[1]["model.enigma.cost_usd"] is None
    assert rounds[1]["model.enigma.api_calls"] == 2
    assert all(r["model.big.cost_usd"] == pytest.approx(price("big", 1, 1)) for r in rounds)


def test_an_implicit_round_read_repeatedly_reports_an_unpriced_model_once(
    clock: FakeClock,
) -> None:
    unpriced: list[str] = []
    perf = make_perf(clock, on_unpriced=unpriced.append)
    perf.record_usage("mystery", 3, 3)
    assert perf.rounds[0]["cost_usd"] is None
    perf.record_usage("mystery", 3, 3)
    assert perf.rounds[0]["model.mystery.api_calls"] == 2
    perf.finish()
    assert unpriced == ["mystery"]


def test_without_a_callback_the_unpriced_warning_is_issued_once(clock: FakeClock) -> None:
    perf = make_perf(clock, rounds=3, warmup=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # so only Perf's own de-duplication can hold it back

        def work() -> None:
            perf.record_usage("mystery", 1, 1)

        perf(work)
    unpriced = [w for w in caught if issubclass(w.category, UnpricedModelWarning)]
    assert len(unpriced) == 1
    assert "'mystery'" in str(unpriced[0].message)
