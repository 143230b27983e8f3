"""What usage and span tracking cost: per operation, and on the examples' agent pipeline.

Run:  python benchmarks/tracking_overhead.py [--repeats 30]

1. Span enter + exit (``with perf.agent(name)``) and ``perf.record_usage(...)`` inside an open
   round, in nanoseconds per operation (median of repeats). Bar: under 2 us each.
2. The agent pipeline of examples/test_agent.py (plan with one model, a non-streamed rerank,
   write with another), run plainly (iterating the simulated streams, no perf at all) and fully
   tracked (perf.stream, phases, agents, an operation, record_usage, and the round's metrics
   and cost computed), interleaved. Bar: tracking adds under 5%.
   - "realistic": the examples' own delays (30-40 ms to the first token, 4-5 ms per token);
   - "no delays": the same pipeline with every delay at zero, so only CPU work is left --
     a worst case that no real API call comes near.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections.abc import Callable

from pytest_perfbaseline import Perf, SimulatedModel


def per_op_ns(body: Callable[[Perf], None], n: int, repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        perf = Perf(cost_of=lambda usage: 0.0)
        perf._recorder.begin_round()
        start = time.perf_counter_ns()
        for _ in range(n):
            body(perf)
        samples.append((time.perf_counter_ns() - start) / n)
    return statistics.median(samples)


def empty(perf: Perf) -> None:
    pass


def span(perf: Perf) -> None:
    with perf.agent("writer"):
        pass


def nested_spans(perf: Perf) -> None:
    with perf.phase("write"), perf.agent("writer"), perf.operation("draft"):
        pass


def usage(perf: Perf) -> None:
    perf.record_usage("gpt-4o-mini", 120, 30, cached_input_tokens=20)


def text_of(chunk: dict) -> str:  # type: ignore[type-arg]
    if chunk.get("choices"):
        return chunk["choices"][0]["delta"].get("content") or ""
    if chunk.get("type") == "content_block_delta":
        return chunk["delta"].get("text", "")
    return ""


def pipeline_plain(planner: SimulatedModel, writer: SimulatedModel) -> str:
    plan = "".join(text_of(c) for c in planner.stream("question", max_tokens=16, format="openai"))
    planner.complete(plan, max_tokens=4)
    return "".join(text_of(c) for c in writer.stream(plan, max_tokens=40, format="anthropic"))


def pipeline_tracked(perf: Perf, planner: SimulatedModel, writer: SimulatedModel) -> str:
    with perf.phase("plan"), perf.agent("planner"):
        chunks = perf.stream(
            planner.stream, "question", max_tokens=16, format="openai", name="planner"
        )
        plan = "".join(text_of(c) for c in chunks)
    with perf.phase("retrieve"), perf.operation("rerank"):
        _, used = planner.complete(plan, max_tokens=4)
        perf.record_usage("gpt-4o-mini", used["input_tokens"], used["output_tokens"])
    with perf.phase("write"), perf.agent("writer"):
        chunks = perf.stream(writer.stream, plan, max_tokens=40, format="anthropic", name="writer")
        return "".join(text_of(c) for c in chunks)


def pipeline_overhead(delays: bool, repeats: int) -> tuple[float, float]:
    scale = 1.0 if delays else 0.0
    planner = SimulatedModel(model="gpt-4o-mini", ttft_s=0.030 * scale, itl_s=0.004 * scale)
    writer = SimulatedModel(model="claude-haiku-4-5", ttft_s=0.040 * scale, itl_s=0.005 * scale)
    plain: list[float] = []
    tracked: list[float] = []
    for _ in range(repeats):
        start = time.perf_counter()
        pipeline_plain(planner, writer)
        plain.append(time.perf_counter() - start)

        perf = Perf(rounds=1, warmup=0)
        start = time.perf_counter()
        perf(pipeline_tracked, perf, planner, writer)  # includes computing the round's metrics
        tracked.append(time.perf_counter() - start)
    return statistics.median(plain), statistics.median(tracked)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()

    gc.disable()
    try:
        base = per_op_ns(empty, 20_000, 15)
        print("per operation, inside an open round (median):")
        for label, body in (
            ("span enter + exit", span),
            ("three nested spans (phase/agent/operation)", nested_spans),
            ("record_usage", usage),
        ):
            cost = per_op_ns(body, 20_000, 15) - base
            print(f"  {label:<44}{cost:8.0f} ns")
    finally:
        gc.enable()

    print("agent pipeline of examples/test_agent.py, median of", args.repeats, "runs:")
    for label, delays, repeats in (
        ("realistic (examples' delays)", True, args.repeats),
        ("no delays (CPU work only)", False, args.repeats * 20),
    ):
        plain, tracked = pipeline_overhead(delays, repeats)
        extra = (tracked - plain) / plain
        print(
            f"  {label:<30} plain {plain * 1e3:9.3f} ms   tracked {tracked * 1e3:9.3f} ms"
            f"   overhead {extra:+6.1%}"
        )


if __name__ == "__main__":
    main()
