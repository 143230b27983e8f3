"""Per-chunk overhead of ``perf.stream`` against bare iteration, sync and async.

Run:  python benchmarks/overhead.py [--chunks 2000] [--repeats 200]

For each shape of chunk it times consuming a ready-made stream of N chunks bare and through
``perf.stream`` (including the after-stream classification and the round's metrics), many
times, interleaved so drift hits both sides alike, and prints the median extra cost per chunk
in nanoseconds. The quality bar is <= 1000 ns per chunk (median, sync) on a 2-core machine.

Three figures are printed per case:
- "in-loop": what perf.stream adds while chunks arrive (the part that could shift measured gaps);
- "total": in-loop plus classifying the chunks and computing the round's metrics afterwards
  (the figure the bar is checked against);
- "+result": total plus building the test's result (``perf.finish()``: the inter-token-gap
  histogram and the pooled gap summary) -- all the work the pytest plugin does per chunk.

What the ``perf(fn)`` harness adds per round is printed by ``benchmarks/harness.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from pytest_perfbaseline import Perf, SimulatedModel
from pytest_perfbaseline.measure.recorder import Recorder


def chunks_of(fmt: str, n: int) -> list[Any]:
    """Chunks as parsed JSON dicts, or (``*-sdk``) as the SDKs' own event objects."""
    sdk = fmt.endswith("-sdk")
    model = SimulatedModel(ttft_s=0, itl_s=0)
    dicts = list(model.stream("benchmark prompt", max_tokens=n, format=fmt.removesuffix("-sdk")))  # type: ignore[arg-type]
    if not sdk:
        return dicts
    if fmt.startswith("anthropic"):
        from anthropic._models import construct_type as build
        from anthropic.types import RawMessageStreamEvent as event_type
    elif fmt.startswith("openai-responses"):
        from openai._models import construct_type as build
        from openai.types.responses import ResponseStreamEvent as event_type
    else:
        from openai._models import construct_type as build
        from openai.types.chat import ChatCompletionChunk as event_type
    # construct_type is how the SDKs themselves build streamed events
    return [build(type_=event_type, value=d) for d in dicts]


def time_sync(run: Callable[[], None], repeats: int) -> list[float]:
    samples: list[float] = []
    for _ in range(repeats):
        start = time.perf_counter_ns()
        run()
        samples.append(time.perf_counter_ns() - start)
    return samples


def bench_sync(chunks: list[Any], repeats: int) -> tuple[float, float, float]:
    def bare() -> None:
        for _ in iter(chunks):
            pass

    def in_loop() -> None:
        recorder = Recorder()
        for _ in recorder.stream(chunks):
            pass

    def total() -> None:
        perf = Perf(cost_of=lambda usage: 0.0)
        for _ in perf.stream(chunks):
            pass
        perf.rounds  # noqa: B018  (computes the open round's metrics)

    def result() -> None:
        perf = Perf(cost_of=lambda usage: 0.0)
        for _ in perf.stream(chunks):
            pass
        perf.finish()

    runs: dict[str, Callable[[], None]] = {
        "bare": bare,
        "loop": in_loop,
        "total": total,
        "result": result,
    }
    samples: dict[str, list[float]] = {key: [] for key in runs}
    gc.disable()
    try:
        for _ in range(repeats):  # interleaved: machine drift hits all four alike
            for key, run in runs.items():
                samples[key] += time_sync(run, 1)
    finally:
        gc.enable()
    base = statistics.median(samples["bare"])
    loop, total_, result_ = (
        (statistics.median(samples[key]) - base) / len(chunks)
        for key in ("loop", "total", "result")
    )
    return loop, total_, result_


def _async_runs(chunks: list[Any]) -> dict[str, Callable[[], Awaitable[None]]]:
    async def source() -> Any:
        for chunk in chunks:
            yield chunk

    async def bare() -> None:
        async for _ in source():
            pass

    async def in_loop() -> None:
        recorder = Recorder()
        async for _ in recorder.stream(source()):
            pass

    async def total() -> None:
        perf = Perf(cost_of=lambda usage: 0.0)
        async for _ in perf.stream(source()):
            pass
        perf.rounds  # noqa: B018  (computes the open round's metrics)

    async def result() -> None:
        perf = Perf(cost_of=lambda usage: 0.0)
        async for _ in perf.stream(source()):
            pass
        perf.finish()

    return {"bare": bare, "loop": in_loop, "total": total, "result": result}


def bench_async(chunks: list[Any], repeats: int) -> tuple[float, float, float]:
    runs = _async_runs(chunks)

    async def main() -> tuple[float, float, float]:
        samples: dict[str, list[int]] = {key: [] for key in runs}
        for _ in range(repeats):
            for key, fn in runs.items():
                start = time.perf_counter_ns()
                await fn()
                samples[key].append(time.perf_counter_ns() - start)
        base = statistics.median(samples["bare"])
        loop, total_, result_ = (
            (statistics.median(samples[key]) - base) / len(chunks)
            for key in ("loop", "total", "result")
        )
        return loop, total_, result_

    gc.disable()
    try:
        return asyncio.run(main())
    finally:
        gc.enable()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chunks", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    print(f"perf.stream overhead per chunk, median of {args.repeats} runs of {args.chunks} chunks")
    print(f"{'chunks':<22}{'mode':<7}{'in-loop ns':>12}{'total ns':>12}{'+result ns':>12}")
    worst_sync_total = 0.0
    formats = ["text", "openai", "openai-responses", "anthropic"]
    try:
        import anthropic  # noqa: F401
        import openai  # noqa: F401
    except ImportError:
        print("(openai / anthropic not installed: SDK object cases skipped)")
    else:
        formats += ["openai-sdk", "openai-responses-sdk", "anthropic-sdk"]
    for fmt in formats:
        chunks = chunks_of(fmt, args.chunks)
        loop, total, result = bench_sync(chunks, args.repeats)
        worst_sync_total = max(worst_sync_total, total)
        print(f"{fmt:<22}{'sync':<7}{loop:>12.0f}{total:>12.0f}{result:>12.0f}")
        loop, total, result = bench_async(chunks, max(20, args.repeats // 4))
        print(f"{fmt:<22}{'async':<7}{loop:>12.0f}{total:>12.0f}{result:>12.0f}")
    verdict = "meets" if worst_sync_total <= 1000 else "MISSES"
    print(f"worst sync total: {worst_sync_total:.0f} ns per chunk; {verdict} the 1000 ns bar")


if __name__ == "__main__":
    main()
